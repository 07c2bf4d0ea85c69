package funds

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"nongxun/server"
	"nongxun/store"
	"nongxun/testkit"
)

func TestMain(m *testing.M) { store.RunTests(m) }

// fakeStations stands in for the stations package (not the database):
// due maps station id → amount; paid marks are kept in memory.
type fakeStations struct {
	mu       sync.Mutex
	due      map[string]int64
	paid     map[string]string
	failMark map[string]bool
}

func (f *fakeStations) SubsidyDue(_ context.Context, id string) (int64, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	amt, ok := f.due[id]
	if !ok {
		return 0, false, server.NotFound("站点不存在")
	}
	_, paid := f.paid[id]
	return amt, paid, nil
}

func (f *fakeStations) MarkSubsidyPaid(_ context.Context, id, entryID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failMark[id] {
		return server.Conflict("站点状态已变化")
	}
	if _, ok := f.paid[id]; ok {
		return server.Conflict("补助已登记为已付")
	}
	f.paid[id] = entryID
	return nil
}

func (f *fakeStations) list(context.Context) ([]Subsidy, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Subsidy
	for id, amt := range f.due {
		if amt > 0 {
			_, paid := f.paid[id]
			out = append(out, Subsidy{StationID: id, AmountFen: amt, Paid: paid})
		}
	}
	return out, nil
}

type fixture struct {
	*testkit.Env
	svc      *Service
	stations *fakeStations
	auditor  *testkit.Caller
}

// setup starts an API with the fund service; total 0 keeps the configured 15,000,000 yuan.
func setup(t testing.TB, total int64) *fixture {
	t.Helper()
	env := testkit.New(t)
	cfg := env.Config
	if total > 0 {
		cfg.FundTotalFen = total
	}
	fs := &fakeStations{due: map[string]int64{}, paid: map[string]string{}, failMark: map[string]bool{}}
	svc, err := New(env.Ctx, Deps{Store: env.Store, Config: cfg, Audit: env.Audit, Log: env.Log, Stations: fs, Subsidies: fs.list})
	if err != nil {
		t.Fatal(err)
	}
	svc.Register(env.API)
	return &fixture{Env: env, svc: svc, stations: fs, auditor: env.NewCaller(server.RoleAuditor, "")}
}

func (f *fixture) entry(kind, cat string, amount int64, extra ...any) *testkit.Response {
	f.T.Helper()
	body := map[string]any{"kind": kind, "category": cat, "use": "branding", "purpose": "测试用途", "amount_fen": amount}
	for i := 0; i+1 < len(extra); i += 2 {
		body[extra[i].(string)] = extra[i+1]
	}
	return f.Do(f.Admin, "POST", "/api/v1/funds/entries", body)
}

func (f *fixture) ok(kind, cat string, amount int64, extra ...any) string {
	f.T.Helper()
	r := f.entry(kind, cat, amount, extra...).Want(f.T, 201)
	id, _ := r.JSON()["id"].(string)
	return id
}

func (f *fixture) gate(g, at string) *testkit.Response {
	f.T.Helper()
	return f.Do(f.Admin, "POST", "/api/v1/funds/gates", map[string]any{"gate": g, "at": at})
}

func (f *fixture) summary() Summary {
	f.T.Helper()
	var s Summary
	f.Do(f.Admin, "GET", "/api/v1/funds/summary", nil).Want(f.T, 200).Decode(f.T, &s)
	return s
}

// reconciled fails unless the balance document matches the ledger's sums.
func (f *fixture) reconciled() {
	f.T.Helper()
	var out struct {
		OK    bool
		Drift map[string]Drift
	}
	f.Do(f.auditor, "GET", "/api/v1/funds/reconcile", nil).Want(f.T, 200).Decode(f.T, &out)
	if !out.OK || len(out.Drift) != 0 {
		f.T.Fatalf("balance drifts from the ledger: %+v", out.Drift)
	}
}

// wantRule fails unless r is the error status with the rule named and a message.
func wantRule(t *testing.T, r *testkit.Response, status int, rule string) {
	t.Helper()
	r.Want(t, status)
	e, _ := r.JSON()["error"].(map[string]any)
	if e["rule"] != rule || e["message"] == "" || e["code"] == "" {
		t.Fatalf("want rule %q: %s", rule, r.Body)
	}
}

// snapshot is the fund's whole visible state, to prove a refusal wrote nothing.
func (f *fixture) snapshot() string {
	f.T.Helper()
	s := f.summary()
	l := f.Do(f.Admin, "GET", "/api/v1/funds/ledger?limit=200", nil).Want(f.T, 200)
	a, err := f.Audit.List(f.Ctx, "", "", time.Time{}, 500)
	if err != nil {
		f.T.Fatal(err)
	}
	b, _ := json.Marshal(s)
	return fmt.Sprintf("%s|%s|%d", b, l.Body, len(a))
}

const small = 1_000_000 // 10,000 yuan: half 500,000; 15% 150,000; tranches 300,000/300,000/300,000/100,000

func TestForbiddenUsesAlwaysRefused(t *testing.T) {
	f := setup(t, small)
	f.ok("allocation", "upward", 500_000)
	before := f.snapshot()
	cases := []struct{ name, kind, use, purpose string }{
		{"platform", "allocation", "platform_building", "建设县级电商平台"},
		{"buildings", "allocation", "buildings", "办公楼"},
		{"office", "payment", "office_expenses", "差旅"},
		{"traffic", "payment", "traffic_purchase", "直播推广"},
		{"upper case", "allocation", "Traffic-Purchase", "推广"},
		{"purpose text", "allocation", "branding", "购买流量推广本地品牌"},
		{"purpose text 2", "payment", "other", "网络交易平台建设二期"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := f.Do(f.Admin, "POST", "/api/v1/funds/entries", map[string]any{"kind": c.kind, "category": "upward", "use": c.use, "purpose": c.purpose, "amount_fen": 1000})
			wantRule(t, r, 400, RuleForbiddenUse)
		})
	}
	if after := f.snapshot(); after != before {
		t.Fatalf("a refused write changed the fund:\n%s\n%s", before, after)
	}
}

func TestAllocationRules(t *testing.T) {
	type step struct {
		kind, cat string
		amount    int64
		status    int
		rule      string
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"non-upward together at most half", []step{
			{"allocation", "training", 300_000, 201, ""},
			{"allocation", "other", 200_000, 201, ""},
			{"allocation", "other", 1, 409, RuleUpwardMin50},
			{"allocation", "training", 1, 409, RuleUpwardMin50},
			{"allocation", "upward", 500_000, 201, ""},
		}},
		{"public service at most 15%", []step{
			{"allocation", "public_service", 150_000, 201, ""},
			{"allocation", "public_service", 1, 409, RulePublicServiceMax15},
			{"allocation", "training", 350_000, 201, ""},
			{"allocation", "training", 1, 409, RuleUpwardMin50},
		}},
		{"nothing beyond the total", []step{
			{"allocation", "upward", 999_999, 201, ""},
			{"allocation", "upward", 2, 409, RuleTotalCap},
			{"allocation", "upward", 1, 201, ""},
			{"allocation", "upward", 1, 409, RuleTotalCap},
		}},
		{"payments within the category's allocation", []step{
			{"payment", "training", 1, 409, RuleCategoryAllocation},
			{"allocation", "training", 100_000, 201, ""},
			{"payment", "training", 100_001, 409, RuleCategoryAllocation},
			{"payment", "upward", 1, 409, RuleCategoryAllocation},
			{"payment", "training", 100_000, 201, ""},
			{"payment", "training", 1, 409, RuleCategoryAllocation},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := setup(t, small)
			for i, s := range c.steps {
				var before string
				if s.rule != "" {
					before = f.snapshot()
				}
				r := f.entry(s.kind, s.cat, s.amount)
				if s.rule == "" {
					r.Want(t, s.status)
					continue
				}
				wantRule(t, r, s.status, s.rule)
				if after := f.snapshot(); after != before {
					t.Fatalf("step %d: refused write changed the fund", i)
				}
			}
		})
	}
}

func TestBadInputRefusedWithFields(t *testing.T) {
	f := setup(t, small)
	cases := []struct {
		name  string
		body  any
		field string
	}{
		{"kind", map[string]any{"kind": "gift", "category": "upward", "use": "x", "purpose": "p", "amount_fen": 1}, "kind"},
		{"category", map[string]any{"kind": "allocation", "category": "misc", "use": "x", "purpose": "p", "amount_fen": 1}, "category"},
		{"zero amount", map[string]any{"kind": "allocation", "category": "upward", "use": "x", "purpose": "p", "amount_fen": 0}, "amount_fen"},
		{"negative", map[string]any{"kind": "payment", "category": "upward", "use": "x", "purpose": "p", "amount_fen": -5}, "amount_fen"},
		{"tranche on allocation", map[string]any{"kind": "allocation", "category": "upward", "use": "x", "purpose": "p", "amount_fen": 1, "tranche": 1}, "tranche"},
		{"tranche 5", map[string]any{"kind": "payment", "category": "upward", "use": "x", "purpose": "p", "amount_fen": 1, "tranche": 5}, "tranche"},
		{"no use", map[string]any{"kind": "allocation", "category": "upward", "purpose": "p", "amount_fen": 1}, "use"},
		{"bad date", map[string]any{"kind": "allocation", "category": "upward", "use": "x", "purpose": "p", "amount_fen": 1, "at": "May 5"}, "at"},
		{"reverses on payment", map[string]any{"kind": "payment", "category": "upward", "use": "x", "purpose": "p", "amount_fen": 1, "reverses": "0123456789abcdef01234567"}, "reverses"},
		{"overflowing amount", map[string]any{"kind": "allocation", "category": "upward", "use": "x", "purpose": "p", "amount_fen": int64(9_223_372_036_854_775_000)}, "amount_fen"},
		{"amount as text", `{"kind":"allocation","category":"upward","use":"x","purpose":"p","amount_fen":"100"}`, "amount_fen"},
	}
	before := f.snapshot()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := f.Do(f.Admin, "POST", "/api/v1/funds/entries", c.body).Want(t, 400)
			fields, _ := r.JSON()["error"].(map[string]any)["fields"].(map[string]any)
			if _, ok := fields[c.field]; !ok {
				t.Fatalf("want field %s: %s", c.field, r.Body)
			}
		})
	}
	if f.snapshot() != before {
		t.Fatal("bad input changed the fund")
	}
}

func TestTranchesGatesAndCaps(t *testing.T) {
	f := setup(t, small)
	f.ok("allocation", "upward", 1_000_000)
	pay := func(tr int, amt int64) *testkit.Response {
		return f.entry("payment", "upward", amt, "tranche", tr, "payee", "承办企业")
	}
	wantRule(t, pay(1, 1), 409, RuleTrancheGate)
	f.gate("contract_start", "2019-04-01").Want(t, 201)
	wantRule(t, f.entry("payment", "upward", 1, "tranche", 1, "at", "2019-03-31"), 409, RuleTrancheGate) // dated before the gate
	pay(1, 300_000).Want(t, 201)
	wantRule(t, pay(1, 1), 409, RuleTrancheCap)
	wantRule(t, pay(2, 1), 409, RuleTrancheGate)
	wantRule(t, pay(4, 1), 409, RuleTrancheGate)
	f.gate("city_acceptance", "2019-10-20").Want(t, 201)
	wantRule(t, pay(2, 300_001), 409, RuleTrancheCap)
	pay(2, 299_999).Want(t, 201)
	f.gate("national_acceptance", "2020-02-01").Want(t, 201)
	f.gate("one_year_operation", "2021-02-01").Want(t, 201)
	pay(3, 300_000).Want(t, 201)
	pay(4, 100_000).Want(t, 201)
	wantRule(t, pay(4, 1), 409, RuleTrancheCap)
	pay(2, 1).Want(t, 201)
	s := f.summary()
	if s.PaidFen != 1_000_000 || len(s.Tranches) != 4 {
		t.Fatalf("summary %+v", s)
	}
	for i, want := range []int64{300_000, 300_000, 300_000, 100_000} {
		tr := s.Tranches[i]
		if tr.CapFen != want || tr.PaidFen != want || !tr.Open || tr.GateAt == nil {
			t.Fatalf("tranche %d: %+v", i+1, tr)
		}
	}
	for _, r := range s.Rules {
		if !r.OK && r.Rule != RuleUpwardMin50 {
			t.Fatalf("rule %s not ok: %+v", r.Rule, r)
		}
	}
	f.reconciled()
}

func TestGatesInOrderOnce(t *testing.T) {
	f := setup(t, small)
	wantRule(t, f.gate("city_acceptance", "2019-10-01"), 409, RuleGateOrder)
	f.gate("contract_start", "2019-04-01").Want(t, 201)
	wantRule(t, f.gate("contract_start", "2019-04-02"), 409, RuleGateOnce)
	wantRule(t, f.gate("national_acceptance", "2020-01-01"), 409, RuleGateOrder)
	wantRule(t, f.gate("city_acceptance", "2019-03-01"), 400, RuleGateOrder)
	f.gate("nope", "2019-04-01").Want(t, 400)
	f.gate("city_acceptance", "").Want(t, 400)
	f.gate("city_acceptance", "2999-01-01").Want(t, 400)
	var g struct{ Items []GateStatus }
	f.Do(f.auditor, "GET", "/api/v1/funds/gates", nil).Want(t, 200).Decode(t, &g)
	if len(g.Items) != 4 || !g.Items[0].Recorded || g.Items[1].Recorded {
		t.Fatalf("gates %+v", g.Items)
	}
}

func TestReversals(t *testing.T) {
	f := setup(t, small)
	alloc := f.ok("allocation", "upward", 500_000)
	pay := f.ok("payment", "upward", 400_000, "payee", "某合作社")
	rev := func(id string, amount int64) *testkit.Response {
		return f.Do(f.Admin, "POST", "/api/v1/funds/entries", map[string]any{"kind": "reversal", "reverses": id, "amount_fen": amount, "purpose": "录入错误"})
	}
	before := f.snapshot()
	wantRule(t, rev(alloc, 200_000), 409, RuleCategoryAllocation) // would leave payments above the allocation
	wantRule(t, rev(pay, 400_001), 400, RuleReversalAmount)
	rev("0123456789abcdef01234567", 1).Want(t, 400)
	rev("xyz", 1).Want(t, 400)
	if f.snapshot() != before {
		t.Fatal("a refused reversal changed the fund")
	}
	r := rev(pay, 0).Want(t, 201) // 0: the whole amount
	revID, _ := r.JSON()["id"].(string)
	if r.JSON()["amount_fen"].(float64) != 400_000 || r.JSON()["category"] != "upward" {
		t.Fatalf("reversal %s", r.Body)
	}
	wantRule(t, rev(pay, 1), 409, RuleReversalOnce)
	wantRule(t, rev(revID, 1), 400, RuleReversalTarget)
	f.Do(f.Admin, "POST", "/api/v1/funds/entries", map[string]any{"kind": "reversal", "reverses": alloc, "amount_fen": 1, "purpose": "误录，并非工作经费"}).Want(t, 201)
	wantRule(t, rev(alloc, 100_000), 409, RuleReversalOnce)
	s := f.summary()
	if s.PaidFen != 0 || s.AllocatedFen != 499_999 || s.ByCategory["upward"].AllocatedFen != 499_999 {
		t.Fatalf("summary %+v", s)
	}
	var v EntryView
	f.Do(f.Admin, "GET", "/api/v1/funds/entries/"+pay, nil).Want(t, 200).Decode(t, &v)
	if v.ReversedBy != revID || v.AmountFen != 400_000 {
		t.Fatalf("entry after reversal %+v", v)
	}
	f.reconciled()
}

func TestEntriesCannotBeEdited(t *testing.T) {
	f := setup(t, small)
	id := f.ok("allocation", "upward", 500_000)
	before := f.snapshot()
	orig := f.Do(f.Admin, "GET", "/api/v1/funds/entries/"+id, nil).Want(t, 200).Body
	for _, m := range []string{"PUT", "PATCH", "DELETE"} {
		for _, p := range []string{"/api/v1/funds/entries/" + id, "/api/v1/funds/entries"} {
			r := f.Do(f.Admin, m, p, map[string]any{"amount_fen": 1, "category": "training"})
			if r.Status != 404 && r.Status != 405 {
				t.Fatalf("%s %s: %d %s", m, p, r.Status, r.Body)
			}
			if r.ErrCode() == "" {
				t.Fatalf("%s %s: not an API error: %s", m, p, r.Body)
			}
		}
	}
	if got := f.Do(f.Admin, "GET", "/api/v1/funds/entries/"+id, nil).Want(t, 200).Body; !bytes.Equal(got, orig) {
		t.Fatalf("entry changed:\n%s\n%s", orig, got)
	}
	if f.snapshot() != before {
		t.Fatal("an edit attempt changed the fund")
	}
}

// TestConcurrentTranchePayments fires parallel HTTP payments at one
// tranche: exactly the cap is paid, never more.
func TestConcurrentTranchePayments(t *testing.T) {
	f := setup(t, small)
	f.ok("allocation", "upward", 1_000_000)
	f.gate("contract_start", "2019-04-01").Want(t, 201)
	f.ok("payment", "upward", 10_000, "tranche", 1) // 290,000 left in tranche 1
	const n, amount = 24, 20_000                    // 14 fit (280,000), 10 must be refused
	body, _ := json.Marshal(map[string]any{"kind": "payment", "category": "upward", "use": "logistics", "purpose": "并发测试", "amount_fen": amount, "tranche": 1})
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := httptest.NewRequest(http.MethodPost, "/api/v1/funds/entries", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+f.Admin.Token)
			resp, err := f.App.Test(req, -1)
			if err != nil {
				statuses <- 0
				return
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	wg.Wait()
	close(statuses)
	count := map[int]int{}
	for s := range statuses {
		count[s]++
	}
	if count[201] != 14 || count[409] != 10 {
		t.Fatalf("statuses %v, want 14×201 and 10×409", count)
	}
	s := f.summary()
	if s.Tranches[0].PaidFen != 290_000 || s.PaidFen != 290_000 || s.Entries != 16 {
		t.Fatalf("tranche 1 paid %d, total paid %d, entries %d", s.Tranches[0].PaidFen, s.PaidFen, s.Entries)
	}
	ledger, err := f.svc.Ledger(f.Ctx)
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	seqs := map[int64]bool{}
	for _, e := range ledger {
		if e.Kind == KindPayment {
			sum += e.AmountFen
		}
		if seqs[e.Seq] {
			t.Fatalf("duplicate seq %d", e.Seq)
		}
		seqs[e.Seq] = true
	}
	if sum != 290_000 || len(ledger) != 16 {
		t.Fatalf("ledger payments %d in %d entries", sum, len(ledger))
	}
	f.reconciled()
}

// TestConditionalUpdateHoldsWithoutLane shows the database itself refuses
// an $inc past a cap, as it must on MongoDB with several app nodes.
func TestConditionalUpdateHoldsWithoutLane(t *testing.T) {
	f := setup(t, small)
	ctx := f.Ctx
	cap1 := f.svc.lim.tranche[1]
	if _, err := f.svc.bal.UpdateOne(ctx, map[string]any{"_id": balanceID}, map[string]any{"$set": map[string]any{"gate_1": true, "paid_tranche_1": cap1 - 10, "headroom_upward": int64(1_000_000)}}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		amount int64
		match  bool
	}{{11, false}, {10, true}, {1, false}} {
		d := deltas(KindPayment, CatUpward, 1, c.amount, false, 1)
		matched, err := f.svc.bal.UpdateIf(ctx, balanceID, f.svc.lim.cond(d, 1), map[string]any{"$inc": d})
		if err != nil {
			t.Fatal(err)
		}
		if matched != c.match {
			t.Fatalf("amount %d: matched %v, want %v", c.amount, matched, c.match)
		}
	}
	drift, err := f.svc.Reconcile(ctx) // the hand-made balance no longer matches the (empty) ledger
	if err != nil || drift["paid_tranche_1"].Balance != cap1 || drift["paid_tranche_1"].Ledger != 0 {
		t.Fatalf("reconcile %+v %v", drift, err)
	}
}

func TestSubsidies(t *testing.T) {
	f := setup(t, 0)
	a, b, c, d := store.NewID(), store.NewID(), store.NewID(), store.NewID()
	f.stations.due = map[string]int64{a: 1_000_000, b: 0, c: 300_000, d: 300_000}
	f.stations.paid[c] = "earlier"
	f.stations.failMark[d] = true
	pay := func(id string) *testkit.Response {
		return f.Do(f.Admin, "POST", "/api/v1/funds/subsidies", map[string]any{"station_id": id, "approver": "县工信局"})
	}
	wantRule(t, pay(a), 409, RuleCategoryAllocation) // no public-service budget yet
	f.ok("allocation", "public_service", 5_000_000)
	before := f.snapshot()
	wantRule(t, pay(b), 409, RuleSubsidyDue)
	wantRule(t, pay(c), 409, RuleSubsidyOnce)
	pay(d).Want(t, 409) // stations refuses the mark: everything undone
	pay("bad").Want(t, 400)
	pay(store.NewID()).Want(t, 404)
	if f.snapshot() != before {
		t.Fatal("a refused subsidy changed the fund")
	}
	r := pay(a).Want(t, 201)
	id, _ := r.JSON()["id"].(string)
	if r.JSON()["amount_fen"].(float64) != 1_000_000 || r.JSON()["category"] != "public_service" || f.stations.paid[a] != id {
		t.Fatalf("subsidy %s, marked %q", r.Body, f.stations.paid[a])
	}
	wantRule(t, pay(a), 409, RuleSubsidyOnce)
	delete(f.stations.paid, a) // even if stations forgot, funds pays once
	wantRule(t, pay(a), 409, RuleSubsidyOnce)
	f.stations.paid[a] = id
	rv := f.Do(f.Admin, "POST", "/api/v1/funds/entries", map[string]any{"kind": "reversal", "reverses": id, "purpose": "撤回"})
	wantRule(t, rv, 409, RuleSubsidyFinal)
	s := f.summary()
	if s.Subsidies.PaidFen != 1_300_000 || s.Subsidies.PaidCount != 2 || s.Subsidies.OwedFen != 300_000 || s.Subsidies.LedgerPaidFen != 1_000_000 {
		t.Fatalf("subsidies %+v", s.Subsidies)
	}
	if s.ByCategory["public_service"].PaidFen != 1_000_000 {
		t.Fatalf("public service %+v", s.ByCategory["public_service"])
	}
	f.reconciled()
}

func TestRolesAndAudit(t *testing.T) {
	f := setup(t, small)
	id := f.ok("allocation", "upward", 100_000)
	f.gate("contract_start", "2019-04-01").Want(t, 201)
	officer := f.NewCaller(server.RoleOfficer, "")
	station := f.NewCaller(server.RoleStation, "")
	for _, p := range []string{"/api/v1/funds/summary", "/api/v1/funds/ledger", "/api/v1/funds/entries/" + id, "/api/v1/funds/gates"} {
		f.Do(f.auditor, "GET", p, nil).Want(t, 200)
		f.Do(officer, "GET", p, nil).Want(t, 403)
		f.Do(station, "GET", p, nil).Want(t, 403)
		f.Do(nil, "GET", p, nil).Want(t, 401)
	}
	before := f.snapshot()
	f.Do(f.auditor, "POST", "/api/v1/funds/entries", map[string]any{"kind": "allocation", "category": "upward", "use": "x", "purpose": "p", "amount_fen": 1}).Want(t, 403)
	f.Do(f.auditor, "POST", "/api/v1/funds/gates", map[string]any{"gate": "city_acceptance", "at": "2019-10-01"}).Want(t, 403)
	f.Do(f.auditor, "POST", "/api/v1/funds/subsidies", map[string]any{"station_id": store.NewID()}).Want(t, 403)
	f.Upload(f.auditor, "/api/v1/funds/entries/"+id+"/evidence", "a.pdf", []byte("%PDF-1.4"), nil).Want(t, 403)
	if f.snapshot() != before {
		t.Fatal("the auditor changed something")
	}
	for _, a := range []string{"funds.entry.allocation", "funds.gate"} {
		items, err := f.Audit.List(f.Ctx, "", a, time.Time{}, 10)
		if err != nil || len(items) != 1 || items[0].UserID != f.Admin.User.ID {
			t.Fatalf("audit %s: %+v %v", a, items, err)
		}
	}
	f.Do(f.auditor, "GET", "/api/v1/audit?action=funds.entry.allocation", nil).Want(t, 200)
}

func TestEvidence(t *testing.T) {
	f := setup(t, small)
	id := f.ok("allocation", "upward", 100_000, "contract", "HZ-2019-01", "approver", "张三")
	content := []byte("%PDF-1.4 invoice")
	r := f.Upload(f.Admin, "/api/v1/funds/entries/"+id+"/evidence", "发票.pdf", content, nil).Want(t, 201)
	evID, _ := r.JSON()["id"].(string)
	f.Upload(f.Admin, "/api/v1/funds/entries/"+store.NewID()+"/evidence", "a.pdf", content, nil).Want(t, 404)
	f.Upload(f.Admin, "/api/v1/funds/entries/"+id+"/evidence", "", nil, nil).Want(t, 400)
	var v EntryView
	f.Do(f.auditor, "GET", "/api/v1/funds/entries/"+id, nil).Want(t, 200).Decode(t, &v)
	if len(v.Evidence) != 1 || v.Evidence[0].Name != "发票.pdf" || v.Contract != "HZ-2019-01" || v.Approver != "张三" {
		t.Fatalf("entry %+v", v)
	}
	got := f.Do(f.auditor, "GET", "/api/v1/funds/evidence/"+evID, nil).Want(t, 200)
	if !bytes.Equal(got.Body, content) || got.Header.Get("Content-Type") != "application/pdf" {
		t.Fatalf("evidence %q %s", got.Body, got.Header.Get("Content-Type"))
	}
}

func TestLedgerPagesAndFilters(t *testing.T) {
	f := setup(t, small)
	f.ok("allocation", "upward", 100_000, "at", "2019-05-01")
	f.ok("allocation", "training", 100_000, "at", "2019-05-02")
	f.ok("payment", "upward", 1_000, "at", "2019-05-10")
	f.ok("payment", "training", 2_000, "at", "2019-06-10")
	f.ok("payment", "upward", 3_000, "at", "2019-06-11")
	var seen []int64
	next := ""
	for page := 0; page < 5; page++ {
		var out struct {
			Items      []EntryView
			NextBefore int64 `json:"next_before"`
		}
		f.Do(f.auditor, "GET", "/api/v1/funds/ledger?limit=2"+next, nil).Want(t, 200).Decode(t, &out)
		for _, e := range out.Items {
			seen = append(seen, e.Seq)
		}
		if out.NextBefore == 0 {
			break
		}
		next = fmt.Sprintf("&before=%d", out.NextBefore)
	}
	if fmt.Sprint(seen) != "[5 4 3 2 1]" {
		t.Fatalf("pages %v", seen)
	}
	for q, want := range map[string]int{"kind=payment": 3, "category=training": 2, "kind=payment&category=upward": 2,
		"from=2019-06-01": 2, "to=2019-05-02": 2, "from=2019-05-02&to=2019-06-10": 3} {
		var out struct{ Items []EntryView }
		f.Do(f.Admin, "GET", "/api/v1/funds/ledger?"+q, nil).Want(t, 200).Decode(t, &out)
		if len(out.Items) != want {
			t.Fatalf("%s: %d entries, want %d", q, len(out.Items), want)
		}
	}
	for _, q := range []string{"kind=x", "limit=0", "limit=500", "tranche=9", "from=yesterday", "before=-1"} {
		f.Do(f.Admin, "GET", "/api/v1/funds/ledger?"+q, nil).Want(t, 400)
	}
	m, err := f.svc.MonthlyFigures(f.Ctx, "2019-06")
	if err != nil || m[""]["fund_payments_fen"] != 5_000 {
		t.Fatalf("monthly %v %v", m, err)
	}
	if m, _ := f.svc.MonthlyFigures(f.Ctx, "2019-05"); m[""]["fund_payments_fen"] != 1_000 {
		t.Fatalf("monthly May %v", m)
	}
}

func TestSummaryOfTheConfiguredFund(t *testing.T) {
	f := setup(t, 0)
	s := f.summary()
	if s.TotalFen != 1_500_000_000 || s.AllocatedFen != 0 || len(s.Rules) < 6 || len(s.ByCategory) != 4 {
		t.Fatalf("summary %+v", s)
	}
	for i, want := range []int64{450_000_000, 450_000_000, 450_000_000, 150_000_000} {
		if s.Tranches[i].CapFen != want || s.Tranches[i].Open {
			t.Fatalf("tranche %d %+v", i+1, s.Tranches[i])
		}
	}
	f.ok("allocation", "public_service", 225_000_000) // exactly 15%
	wantRule(t, f.entry("allocation", "public_service", 1), 409, RulePublicServiceMax15)
	f.ok("allocation", "training", 525_000_000) // non-upward now exactly 50%
	wantRule(t, f.entry("allocation", "other", 1), 409, RuleUpwardMin50)
	s = f.summary()
	if s.ByCategory["public_service"].Ratio != 0.15 || s.UnallocatedFen != 750_000_000 {
		t.Fatalf("summary %+v", s)
	}
}
