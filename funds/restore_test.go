package funds

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/backup"
	"nongxun/server"
	"nongxun/store"
)

func (f *fixture) seqs() []int64 {
	f.T.Helper()
	var out struct{ Items []EntryView }
	f.Do(f.Admin, "GET", "/api/v1/funds/ledger?limit=200", nil).Want(f.T, 200).Decode(f.T, &out)
	var s []int64
	for _, e := range out.Items {
		s = append(s, e.Seq)
	}
	return s
}

func (f *fixture) nextSeq() int64 {
	f.T.Helper()
	r := f.entry("allocation", "upward", 1_000).Want(f.T, 201)
	return int64(r.JSON()["seq"].(float64))
}

// TestSeqAfterRestore: after a restore of an earlier backup the next entry
// follows the restored ledger (no number repeated, none from the lost
// future), and the pages read back in order.
func TestSeqAfterRestore(t *testing.T) {
	f := setup(t, small)
	for i := 0; i < 3; i++ {
		f.ok("allocation", "upward", 1_000)
	}
	var dump bytes.Buffer
	if _, err := backup.Dump(f.Ctx, f.Store, &dump, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	f.ok("allocation", "upward", 1_000)
	f.ok("allocation", "upward", 1_000)
	if _, err := backup.Restore(f.Ctx, f.Store, bytes.NewReader(dump.Bytes())); err != nil {
		t.Fatal(err)
	}
	if got := f.nextSeq(); got != 4 {
		t.Fatalf("next seq after the restore %d, want 4", got)
	}
	if fmt.Sprint(f.seqs()) != "[4 3 2 1]" {
		t.Fatalf("ledger %v", f.seqs())
	}
	f.reconciled()
}

// TestSeqAfterSimulatedRestore replaces the ledger and the counters as a
// restore would — consistent, without the balance, or with a balance
// behind the ledger — then appends: seq is the restored maximum + 1.
func TestSeqAfterSimulatedRestore(t *testing.T) {
	for _, c := range []struct {
		name    string
		balance func(f *fixture, restored []any)
	}{
		{"consistent", func(f *fixture, restored []any) { f.restoreBalance(3) }},
		{"no balance", func(f *fixture, restored []any) {}},
		{"balance behind", func(f *fixture, restored []any) { f.restoreBalance(1) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := setup(t, small)
			for i := 0; i < 5; i++ {
				f.ok("allocation", "upward", 1_000)
			}
			var restored []any
			at := time.Date(2019, 5, 1, 0, 0, 0, 0, time.UTC)
			for i := 1; i <= 3; i++ {
				restored = append(restored, Entry{ID: store.NewID(), Seq: int64(i), Kind: KindAllocation, Category: CatUpward, Use: "logistics",
					Purpose: "恢复的分录", AmountFen: 2_000, At: at, RecordedAt: at, RecordedBy: "x"})
			}
			for _, name := range []string{"fund_entries", "fund_balance", "fund_blocks", "fund_months", "fund_marks"} {
				if _, err := f.Store.C(name).DeleteMany(f.Ctx, bson.M{}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := f.Store.C("fund_entries").InsertMany(f.Ctx, restored); err != nil {
				t.Fatal(err)
			}
			c.balance(f, restored)
			if got := f.nextSeq(); got != 4 {
				t.Fatalf("next seq %d, want 4", got)
			}
			if fmt.Sprint(f.seqs()) != "[4 3 2 1]" {
				t.Fatalf("ledger %v", f.seqs())
			}
			if c.name != "balance behind" { // its totals were made inconsistent on purpose
				f.reconciled()
			}
		})
	}
}

// restoreBalance writes a balance document as a backup holding three
// allocations of 2,000 fen would, with sequence seq.
func (f *fixture) restoreBalance(seq int64) {
	f.T.Helper()
	doc := bson.M{"_id": balanceID}
	for _, k := range balanceFields() {
		doc[k] = int64(0)
	}
	for n := 1; n <= 4; n++ {
		doc[fmt.Sprintf("gate_%d", n)] = false
	}
	doc["alloc_upward"], doc["headroom_upward"], doc["alloc_total"], doc["entries"], doc["seq"] = int64(6_000), int64(6_000), int64(6_000), int64(3), seq
	if err := f.Store.C("fund_balance").InsertOne(f.Ctx, doc); err != nil {
		f.T.Fatal(err)
	}
}

// TestTrancheCapAcrossTwoNodes: 24 payments at once against one tranche,
// through two services on one database (two app nodes): exactly the ones
// that fit are accepted, and the numbers stay unique.
func TestTrancheCapAcrossTwoNodes(t *testing.T) {
	f := setup(t, small)
	second, err := New(f.Ctx, Deps{Store: f.Store, Config: f.svc.d.Config, Audit: f.Audit, Log: f.Log, Stations: f.stations, Subsidies: f.stations.list})
	if err != nil {
		t.Fatal(err)
	}
	f.ok("allocation", "upward", 1_000_000)
	f.gate("contract_start", "2019-04-01").Want(t, 201)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, refused := 0, 0
	for i := 0; i < 24; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			svc := f.svc
			if i%2 == 1 {
				svc = second
			}
			_, err := svc.Record(context.Background(), &server.Principal{UserID: "a", Role: server.RoleAdmin},
				NewEntry{Kind: KindPayment, Category: CatUpward, Use: "logistics", Purpose: "两节点并发", AmountFen: 40_000, Tranche: 1})
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				ok++
			} else if server.ToError(err).Status() == http.StatusConflict {
				refused++
			} else {
				t.Errorf("unexpected %v", err)
			}
		}(i)
	}
	wg.Wait()
	if ok != 7 || refused != 17 { // 7 × 40,000 = 280,000 ≤ 300,000
		t.Fatalf("%d accepted, %d refused; want 7 and 17", ok, refused)
	}
	s := f.summary()
	if s.Tranches[0].PaidFen != 280_000 || s.Entries != 8 {
		t.Fatalf("tranche 1 %+v, entries %d", s.Tranches[0], s.Entries)
	}
	if fmt.Sprint(f.seqs()) != "[8 7 6 5 4 3 2 1]" {
		t.Fatalf("ledger %v", f.seqs())
	}
	f.reconciled()
}

var asciiWord = regexp.MustCompile(`[a-z]{3,}`)

// TestDatesBounded: an entry, a gate or a subsidy dated in year 1 or 9999
// is refused in Chinese naming the field; the office may back-fill entries
// older than five years, others may not.
func TestDatesBounded(t *testing.T) {
	f := setup(t, small)
	f.ok("allocation", "upward", 500_000)
	before := f.snapshot()
	for _, at := range []string{"0001-01-01", "9999-12-31", "0001-01-01T00:00:00Z", "1999-12-31", "2101-01-01"} {
		r := f.entry("allocation", "upward", 1_000, "at", at).Want(t, 400)
		msg := r.JSON()["error"].(map[string]any)["fields"].(map[string]any)["at"].(string)
		if !strings.Contains(msg, "年") || asciiWord.MatchString(msg) {
			t.Fatalf("%s: %s", at, r.Body)
		}
		f.gate("contract_start", at).Want(t, 400)
	}
	f.Do(f.Admin, "POST", "/api/v1/funds/subsidies", map[string]any{"station_id": store.NewID(), "at": "9999-01-01"}).Want(t, 400)
	if f.snapshot() != before {
		t.Fatal("a refused date changed the fund")
	}
	old := time.Now().AddDate(-7, 0, 0).Format("2006-01-02")
	f.entry("allocation", "upward", 1_000, "at", old).Want(t, 201) // the office back-fills
	_, err := f.svc.Record(f.Ctx, &server.Principal{UserID: "x", Role: server.RoleAuditor},
		NewEntry{Kind: KindAllocation, Category: CatUpward, Use: "logistics", Purpose: "补录", AmountFen: 1_000, At: old})
	if e := server.ToError(err); e.Code != server.CodeInvalid || !strings.Contains(e.Fields["at"], "年以内") {
		t.Fatalf("a back-fill by another role: %v", err)
	}
}

// TestRuleMessagesNameTheRuleInChinese: every refusal for a broken rule
// keeps its code in error.rule and says in Chinese which rule it is.
func TestRuleMessagesNameTheRuleInChinese(t *testing.T) {
	f := setup(t, small)
	check := func(rule string, body map[string]any) {
		t.Helper()
		r := f.Do(f.Admin, "POST", "/api/v1/funds/entries", body)
		e, _ := r.JSON()["error"].(map[string]any)
		msg, _ := e["message"].(string)
		if e["rule"] != rule || !strings.Contains(msg, RuleNames[rule]) || strings.Contains(msg, rule) {
			t.Fatalf("%s: %s", rule, r.Body)
		}
	}
	check(RuleForbiddenUse, map[string]any{"kind": "allocation", "category": "upward", "use": "buildings", "purpose": "p", "amount_fen": 1})
	check(RuleCategoryAllocation, map[string]any{"kind": "payment", "category": "training", "use": "x", "purpose": "p", "amount_fen": 1})
	check(RuleTrancheGate, map[string]any{"kind": "payment", "category": "upward", "use": "x", "purpose": "p", "amount_fen": 1, "tranche": 1})
	check(RuleTotalCap, map[string]any{"kind": "allocation", "category": "upward", "use": "x", "purpose": "p", "amount_fen": small + 1})
	for name := range RuleNames {
		if asciiWord.MatchString(RuleNames[name]) {
			t.Fatalf("rule %s has no Chinese name", name)
		}
	}
}

// TestEvidenceSurvivesTheSweep: the evidence files are declared to the
// store, so the blob sweep keeps them.
func TestEvidenceSurvivesTheSweep(t *testing.T) {
	f := setup(t, small)
	id := f.ok("allocation", "upward", 100_000)
	r := f.Upload(f.Admin, "/api/v1/funds/entries/"+id+"/evidence", "合同.pdf", []byte("%PDF-1.4 contract"), nil).Want(t, 201)
	ev, _ := r.JSON()["id"].(string)
	rep, err := f.Store.SweepBlobs(f.Ctx, 0)
	if err != nil || len(rep.Removed) != 0 {
		t.Fatalf("sweep removed %v %v", rep, err)
	}
	f.Do(f.auditor, "GET", "/api/v1/funds/evidence/"+ev, nil).Want(t, 200)
}
