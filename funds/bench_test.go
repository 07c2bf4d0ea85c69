package funds

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sort"
	"testing"
	"time"

	"nongxun/store"
	"nongxun/testkit"
)

// seedLedger writes n ledger entries and their audit records in batches
// (as Record would, but fast), and moves the balance to match.
func seedLedger(b *testing.B, env *testkit.Env, svc *Service, n int) {
	b.Helper()
	at := time.Date(2019, 5, 1, 0, 0, 0, 0, time.UTC)
	var docs, audits []any
	var alloc, paid int64
	for i := 1; i <= n; i++ {
		e := Entry{ID: store.NewID(), Seq: int64(i), Kind: KindAllocation, Category: CatUpward, Use: "logistics",
			Purpose: "基准测试", AmountFen: 100, At: at, RecordedAt: at, RecordedBy: env.Admin.User.ID}
		if i%2 == 0 {
			e.Kind, e.Payee = KindPayment, "承办企业"
			paid += 100
		} else {
			alloc += 100
		}
		docs = append(docs, e)
		audits = append(audits, map[string]any{"_id": store.NewID(), "at": at, "user_id": env.Admin.User.ID, "action": "funds.entry." + e.Kind, "target": e.ID})
		if len(docs) == 1000 || i == n {
			if _, err := svc.entries.InsertMany(env.Ctx, docs); err != nil {
				b.Fatal(err)
			}
			if _, err := env.Store.C("audit").InsertMany(env.Ctx, audits); err != nil {
				b.Fatal(err)
			}
			docs, audits = nil, nil
		}
	}
	inc := map[string]any{"alloc_upward": alloc, "headroom_upward": alloc - paid, "alloc_total": alloc, "paid_upward": paid, "paid_total": paid, "entries": int64(n), "seq": int64(n)}
	if _, err := svc.bal.UpdateOne(env.Ctx, map[string]any{"_id": balanceID}, map[string]any{"$inc": inc}); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkSummary measures GET /funds/summary with 5,000 ledger entries;
// it reports the median (p50-ms) and p95 of the requests.
func BenchmarkSummary(b *testing.B) {
	env := testkit.New(b)
	svc, err := New(env.Ctx, Deps{Store: env.Store, Config: env.Config, Audit: env.Audit, Log: env.Log})
	if err != nil {
		b.Fatal(err)
	}
	svc.Register(env.API)
	seedLedger(b, env, svc, 5000)
	for _, g := range []string{"contract_start", "city_acceptance"} {
		if _, err := svc.RecordGate(env.Ctx, nil, g, "2019-06-01", ""); err != nil {
			b.Fatal(err)
		}
	}
	get := func() time.Duration {
		req := httptest.NewRequest(http.MethodGet, "/api/v1/funds/summary", nil)
		req.Header.Set("Authorization", "Bearer "+env.Admin.Token)
		start := time.Now()
		resp, err := env.App.Test(req, -1)
		d := time.Since(start)
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("summary: %v %v", err, resp)
		}
		resp.Body.Close()
		return d
	}
	get()
	ds := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ds = append(ds, get())
	}
	b.StopTimer()
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	b.ReportMetric(float64(ds[len(ds)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(ds[len(ds)*95/100].Microseconds())/1000, "p95-ms")
	s, err := svc.Summary(env.Ctx)
	if err != nil || s.Entries != 5000 {
		b.Fatalf("summary %+v %v", s, err)
	}
}

// BenchmarkLedgerPage measures GET /funds/ledger with 5,000 entries: the
// first page of 50, an older page, a filtered page (by kind and category)
// and one entry; each reports its median (p50-ms).
func BenchmarkLedgerPage(b *testing.B) {
	env := testkit.New(b)
	svc, err := New(env.Ctx, Deps{Store: env.Store, Config: env.Config, Audit: env.Audit, Log: env.Log})
	if err != nil {
		b.Fatal(err)
	}
	svc.Register(env.API)
	seedLedger(b, env, svc, 5000)
	var one struct{ Items []EntryView }
	for _, q := range []struct{ name, path string }{
		{"first", "/api/v1/funds/ledger?limit=50"},
		{"older", "/api/v1/funds/ledger?limit=50&before=2501"},
		{"filtered", "/api/v1/funds/ledger?limit=50&kind=payment&category=upward"},
		{"entry", ""},
	} {
		b.Run(q.name, func(b *testing.B) {
			path := q.path
			if path == "" {
				path = "/api/v1/funds/entries/" + one.Items[0].ID
			}
			ds := make([]time.Duration, 0, b.N)
			for i := 0; i < b.N; i++ {
				req := httptest.NewRequest(http.MethodGet, path, nil)
				req.Header.Set("Authorization", "Bearer "+env.Admin.Token)
				t0 := time.Now()
				resp, err := env.App.Test(req, -1)
				ds = append(ds, time.Since(t0))
				if err != nil || resp.StatusCode != 200 {
					b.Fatalf("%s: %v %v", path, err, resp)
				}
				if q.name == "first" && one.Items == nil {
					_ = json.NewDecoder(resp.Body).Decode(&one)
				}
				resp.Body.Close()
			}
			sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
			b.ReportMetric(float64(ds[len(ds)/2].Microseconds())/1000, "p50-ms")
		})
	}
}
