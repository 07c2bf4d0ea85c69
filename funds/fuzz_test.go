package funds

import (
	"bytes"
	"io"
	"math/rand/v2"
	"net/http/httptest"
	"strconv"
	"testing"

	"nongxun/store"
	"nongxun/testkit"
)

// FuzzEntryBodies posts arbitrary bodies to the entry, gate and subsidy
// routes: never a 500, and after every request each rule still holds and
// the balance document still matches the ledger.
func FuzzEntryBodies(f *testing.F) {
	seeds := []string{
		`{"kind":"allocation","category":"upward","use":"logistics","purpose":"p","amount_fen":600000}`,
		`{"kind":"allocation","category":"training","use":"training","purpose":"p","amount_fen":400000}`,
		`{"kind":"payment","category":"upward","use":"logistics","purpose":"p","amount_fen":300000,"tranche":1}`,
		`{"kind":"payment","category":"training","use":"training","purpose":"p","amount_fen":5000}`,
		`{"kind":"reversal","reverses":"000000000000000000000000","purpose":"p"}`,
		`{"gate":"contract_start","at":"2019-04-01"}`,
		`{"kind":"payment","category":"upward","use":"buildings","amount_fen":9223372036854775807,"tranche":9}`,
		`{"kind":"allocation","category":"public_service","use":"x","purpose":"p","amount_fen":150001}`,
		`{}`, `[]`, `null`, `{"amount_fen":1e309}`, `{"station_id":"zz"}`,
	}
	for i, s := range seeds {
		f.Add(uint8(i), []byte(s))
	}
	fx := setup(f, small)
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		path := []string{"/api/v1/funds/entries", "/api/v1/funds/gates", "/api/v1/funds/subsidies"}[int(route)%3]
		req := httptest.NewRequest("POST", path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+fx.Admin.Token)
		resp, err := fx.App.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Fatalf("%s %q: %d %s", path, body, resp.StatusCode, b)
		}
		s, err := fx.svc.Summary(fx.Ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range s.Rules {
			if !r.OK {
				t.Fatalf("after %q: rule %s broken: %+v", body, r.Rule, r)
			}
		}
		if d, err := fx.svc.Reconcile(fx.Ctx); err != nil || len(d) > 0 {
			t.Fatalf("after %q: drift %+v %v", body, d, err)
		}
	})
}

// TestRandomOperationsKeepRules runs a seeded random mix of allocations,
// payments, reversals, gates and subsidies through the API and checks
// after each that no rule is broken and the balance matches the ledger.
func TestRandomOperationsKeepRules(t *testing.T) {
	fx := setup(t, small)
	stations := []string{store.NewID(), store.NewID(), store.NewID()}
	fx.stations.due = map[string]int64{stations[0]: 100_000, stations[1]: 30_000, stations[2]: 30_000}
	rnd := rand.New(rand.NewPCG(7, 11))
	var ids []string
	status := map[int]int{}
	for i := 0; i < 200; i++ {
		var r *testkit.Response
		switch op := rnd.IntN(10); {
		case op < 4:
			r = fx.entry("allocation", Categories[rnd.IntN(4)], 1+rnd.Int64N(200_000))
		case op < 7:
			r = fx.entry("payment", Categories[rnd.IntN(4)], 1+rnd.Int64N(150_000), "tranche", rnd.IntN(5))
		case op < 8 && len(ids) > 0:
			r = fx.Do(fx.Admin, "POST", "/api/v1/funds/entries", map[string]any{"kind": "reversal", "reverses": ids[rnd.IntN(len(ids))], "amount_fen": rnd.Int64N(100_000), "purpose": "更正"})
		case op < 9:
			r = fx.gate(Gates[rnd.IntN(4)], "2019-0"+strconv.Itoa(1+rnd.IntN(9))+"-01")
		default:
			r = fx.Do(fx.Admin, "POST", "/api/v1/funds/subsidies", map[string]any{"station_id": stations[rnd.IntN(3)]})
		}
		status[r.Status]++
		if r.Status >= 500 {
			t.Fatalf("op %d: %d %s", i, r.Status, r.Body)
		}
		if id, ok := r.JSON()["id"].(string); ok && r.Status == 201 {
			ids = append(ids, id)
		}
		s, err := fx.svc.Summary(fx.Ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range s.Rules {
			if !x.OK {
				t.Fatalf("op %d: rule %s broken: %+v", i, x.Rule, x)
			}
		}
		if d, err := fx.svc.Reconcile(fx.Ctx); err != nil || len(d) > 0 {
			t.Fatalf("op %d: drift %+v %v", i, d, err)
		}
	}
	if status[201] < 40 || status[409] < 20 {
		t.Fatalf("the mix did too little: %v", status)
	}
	t.Logf("statuses %v", status)
}
