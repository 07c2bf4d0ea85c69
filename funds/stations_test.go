package funds

import (
	"context"
	"testing"
	"time"

	"nongxun/stations"
	"nongxun/testkit"
)

// TestSubsidyThroughRealStations pays a station subsidy with the real
// stations service wired as main.go wires it: a new township station that
// passed acceptance is paid 10,000 yuan once; the station then shows paid.
func TestSubsidyThroughRealStations(t *testing.T) {
	env := testkit.New(t)
	st, err := stations.New(env.Ctx, stations.Deps{Store: env.Store, Config: env.Config, Regions: env.Regions, Audit: env.Audit, Users: env.Users, Log: env.Log})
	if err != nil {
		t.Fatal(err)
	}
	st.Register(env.API)
	svc, err := New(env.Ctx, Deps{Store: env.Store, Config: env.Config, Audit: env.Audit, Log: env.Log, Stations: st,
		Subsidies: func(ctx context.Context) ([]Subsidy, error) {
			list, err := st.Subsidies(ctx)
			out := make([]Subsidy, 0, len(list))
			for _, x := range list {
				out = append(out, Subsidy{StationID: x.StationID, Name: x.Name, AmountFen: x.AmountFen, Paid: x.Paid})
			}
			return out, err
		}})
	if err != nil {
		t.Fatal(err)
	}
	svc.Register(env.API)

	r := env.Do(env.Admin, "POST", "/api/v1/stations", map[string]any{"name": "测试乡服务站", "kind": "township", "region_id": env.Township(2).ID, "origin": "new"}).Want(t, 201)
	id, _ := r.JSON()["id"].(string)
	var cl struct{ Items []stations.CheckItem }
	env.Do(env.Admin, "GET", "/api/v1/stations/checklist", nil).Want(t, 200).Decode(t, &cl)
	answers := map[string]bool{}
	for _, it := range cl.Items {
		answers[it.Key] = true
	}
	pay := func() *testkit.Response {
		return env.Do(env.Admin, "POST", "/api/v1/funds/subsidies", map[string]any{"station_id": id})
	}
	env.Do(env.Admin, "POST", "/api/v1/funds/entries", map[string]any{"kind": "allocation", "category": "public_service", "use": "township_station", "purpose": "乡镇服务站补助", "amount_fen": 10_000_000}).Want(t, 201)
	wantRule(t, pay(), 409, RuleSubsidyDue) // planned, not accepted
	at := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	env.Do(env.Admin, "POST", "/api/v1/stations/"+id+"/status", map[string]any{"status": "built", "at": at}).Want(t, 200)
	env.Do(env.Admin, "POST", "/api/v1/stations/"+id+"/status", map[string]any{"status": "accepted", "at": at, "inspector": "李四", "result": "pass", "checklist": answers}).Want(t, 200)
	r = pay().Want(t, 201)
	if r.JSON()["amount_fen"].(float64) != 1_000_000 || r.JSON()["payee"] != "测试乡服务站" {
		t.Fatalf("subsidy %s", r.Body)
	}
	wantRule(t, pay(), 409, RuleSubsidyOnce)
	amt, paid, err := st.SubsidyDue(env.Ctx, id)
	if err != nil || !paid || amt != 1_000_000 {
		t.Fatalf("stations says %d %v %v", amt, paid, err)
	}
	s, err := svc.Summary(env.Ctx)
	if err != nil || s.Subsidies.PaidFen != 1_000_000 || s.Subsidies.OwedFen != 0 || s.ByCategory[CatPublicService].PaidFen != 1_000_000 {
		t.Fatalf("summary %+v %v", s, err)
	}
}
