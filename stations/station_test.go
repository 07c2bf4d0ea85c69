package stations

import (
	"bytes"
	"strings"
	"sync"
	"testing"

	"nongxun/clock"
	"nongxun/server"
	"nongxun/testkit"
)

func TestCreateRules(t *testing.T) {
	f := newFixture(t)
	county := f.Regions.All(f.Ctx)[0].ID
	tw, v := f.Township(0).ID, f.Village(0, 0).ID
	f.station(KindCountyCenter, county, OriginNew)
	f.station(KindTownship, tw, OriginNew)
	f.station(KindVillage, v, OriginNew)
	officer := f.NewCaller(server.RoleOfficer, tw)
	cases := []struct {
		name   string
		caller bool
		body   map[string]any
		status int
		rule   string
	}{
		{"second county centre", true, map[string]any{"name": "第二中心", "kind": "county_center", "region_id": county}, 409, "one_county_center"},
		{"second township station", true, map[string]any{"name": "第二站", "kind": "township", "region_id": tw}, 409, "one_township_station"},
		{"village point in a township", true, map[string]any{"name": "点", "kind": "village", "region_id": tw}, 400, "village_point_in_village"},
		{"village point in the county", true, map[string]any{"name": "点", "kind": "village", "region_id": county}, 400, "village_point_in_village"},
		{"township station in a village", true, map[string]any{"name": "站", "kind": "township", "region_id": v}, 400, "township_station_in_township"},
		{"warehouse in a village", true, map[string]any{"name": "仓", "kind": "warehouse", "region_id": v}, 400, "county_node_in_county"},
		{"unknown region", true, map[string]any{"name": "点", "kind": "village", "region_id": "0123456789abcdef01234567"}, 400, ""},
		{"bad kind", true, map[string]any{"name": "点", "kind": "shop", "region_id": v}, 400, ""},
		{"bad origin", true, map[string]any{"name": "点", "kind": "village", "region_id": v, "origin": "bought"}, 400, ""},
		{"lat without lng", true, map[string]any{"name": "点", "kind": "village", "region_id": v, "lat": 26.4}, 400, ""},
		{"officer may not create", false, map[string]any{"name": "点", "kind": "village", "region_id": v}, 403, ""},
		{"second point in one village is fine", true, map[string]any{"name": "点二", "kind": "village", "region_id": v, "origin": "integrated"}, 201, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			caller := f.Admin
			if !c.caller {
				caller = officer
			}
			r := f.Do(caller, "POST", "/api/v1/stations", c.body).Want(t, c.status)
			if got := f.rule(r); got != c.rule {
				t.Fatalf("rule %q, want %q: %s", got, c.rule, r.Body)
			}
			if c.status == 201 && r.JSON()["status"] != "planned" {
				t.Fatalf("new station not planned: %s", r.Body)
			}
		})
	}
}

func TestOneCountyCentreUnderRace(t *testing.T) {
	f := newFixture(t)
	county := f.Regions.All(f.Ctx)[0].ID
	created := race(t, 8, func() int {
		return f.Do(f.Admin, "POST", "/api/v1/stations", map[string]any{"name": "中心", "kind": "county_center", "region_id": county}).Status
	})
	if created != 1 {
		t.Fatalf("%d county centres created", created)
	}
}

func TestStatusSteps(t *testing.T) {
	f := newFixture(t)
	id := f.station(KindVillage, f.Village(1, 0).ID, OriginNew)
	path := "/api/v1/stations/" + id + "/status"
	steps := []struct {
		name   string
		body   map[string]any
		status int
		rule   string
	}{
		{"skip to operating", map[string]any{"status": "operating", "at": at(1)}, 409, "status_no_skip"},
		{"skip to accepted", map[string]any{"status": "accepted", "at": at(1), "inspector": "李四", "checklist": allChecks}, 409, "acceptance_after_built"},
		{"back to planned is no target", map[string]any{"status": "planned", "at": at(1)}, 400, ""},
		{"missing at", map[string]any{"status": "built"}, 400, ""},
		{"future at", map[string]any{"status": "built", "at": "2999-01-01T00:00:00Z"}, 400, ""},
		{"built", map[string]any{"status": "built", "at": at(2)}, 200, ""},
		{"built again", map[string]any{"status": "built", "at": at(2)}, 409, "status_no_backward"},
		{"accepted without inspector", map[string]any{"status": "accepted", "at": at(3), "checklist": allChecks}, 400, ""},
		{"accepted with a required item missing", map[string]any{"status": "accepted", "at": at(3), "inspector": "李四", "checklist": map[string]bool{"computer": true}}, 400, "acceptance_checklist"},
		{"accepted with an unknown item", map[string]any{"status": "accepted", "at": at(3), "inspector": "李四", "checklist": map[string]bool{"rocket": true}}, 400, ""},
		{"accepted as a fail", map[string]any{"status": "accepted", "at": at(3), "inspector": "李四", "result": "fail"}, 400, ""},
		{"accepted dated before built", map[string]any{"status": "accepted", "at": at(1), "inspector": "李四", "checklist": allChecks}, 409, "status_time_order"},
		{"accepted", map[string]any{"status": "accepted", "at": at(3), "inspector": "李四", "checklist": allChecks}, 200, ""},
		{"back to built", map[string]any{"status": "built", "at": at(4)}, 409, "status_no_backward"},
		{"skip to closed", map[string]any{"status": "closed", "at": at(4)}, 409, "status_no_skip"},
		{"operating", map[string]any{"status": "operating", "at": at(4)}, 200, ""},
		{"closed", map[string]any{"status": "closed", "at": at(5)}, 200, ""},
		{"reopen", map[string]any{"status": "operating", "at": at(6)}, 409, "status_no_backward"},
	}
	for _, s := range steps {
		r := f.Do(f.Admin, "POST", path, s.body)
		if r.Status != s.status || f.rule(r) != s.rule {
			t.Fatalf("%s: status %d rule %q, want %d %q: %s", s.name, r.Status, f.rule(r), s.status, s.rule, r.Body)
		}
	}
	x, err := f.S.Station(f.Ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(x.History) != 5 || len(x.Inspections) != 1 || x.Inspections[0].Inspector != "李四" || len(x.Inspections[0].Items) != 7 {
		t.Fatalf("history %+v inspections %+v", x.History, x.Inspections)
	}
	// every change is in the audit log, readable by the auditor
	var audit struct {
		Items []map[string]any `json:"items"`
	}
	f.Do(f.NewCaller(server.RoleAuditor, ""), "GET", "/api/v1/audit?target="+id+"&action=station.status", nil).Want(t, 200).Decode(t, &audit)
	if len(audit.Items) != 4 {
		t.Fatalf("%d status audit entries, want 4", len(audit.Items))
	}
	// non-admins cannot move a station
	f.Do(f.NewCaller(server.RoleStation, id), "POST", path, map[string]any{"status": "closed", "at": at(7)}).Want(t, 403)
	f.Do(f.Admin, "POST", "/api/v1/stations/nothex/status", map[string]any{"status": "built", "at": at(1)}).Want(t, 400)
}

func TestFailedInspectionKeepsBuilt(t *testing.T) {
	f := newFixture(t)
	id := f.station(KindVillage, f.Village(2, 0).ID, OriginNew)
	f.walk(id, StatusBuilt)
	r := f.Do(f.Admin, "POST", "/api/v1/stations/"+id+"/acceptance", map[string]any{"at": at(2), "inspector": "王五", "result": "fail", "checklist": map[string]bool{"computer": true}}).Want(t, 201)
	if r.JSON()["status"] != StatusBuilt {
		t.Fatalf("failed inspection moved the station: %s", r.Body)
	}
	if due, _, _ := f.S.SubsidyDue(f.Ctx, id); due != 0 {
		t.Fatalf("subsidy due after a failed inspection: %d", due)
	}
	f.Do(f.Admin, "POST", "/api/v1/stations/"+id+"/acceptance", map[string]any{"at": at(3), "inspector": "王五", "result": "pass", "checklist": allChecks}).Want(t, 201)
	recs, err := f.S.AcceptanceRecords(f.Ctx)
	if err != nil || len(recs) != 2 || recs[0].Result != "fail" || recs[1].Result != "pass" {
		t.Fatalf("records %+v %v", recs, err)
	}
}

func TestChecklistConfigurable(t *testing.T) {
	f := newFixture(t)
	f.Do(f.Admin, "PUT", "/api/v1/stations/checklist", map[string]any{"items": []map[string]any{{"key": "Bad Key", "label": "x"}}}).Want(t, 400)
	f.Do(f.Admin, "PUT", "/api/v1/stations/checklist", map[string]any{"items": []map[string]any{
		{"key": "sign", "label": "门牌", "required": true}, {"key": "wifi", "label": "无线网络", "required": false}}}).Want(t, 200)
	id := f.station(KindVillage, f.Village(3, 0).ID, OriginNew)
	f.walk(id, StatusBuilt)
	body := map[string]any{"status": "accepted", "at": at(2), "inspector": "赵六", "checklist": allChecks}
	f.Do(f.Admin, "POST", "/api/v1/stations/"+id+"/status", body).Want(t, 400) // old keys are unknown now
	body["checklist"] = map[string]bool{"sign": true}
	f.Do(f.Admin, "POST", "/api/v1/stations/"+id+"/status", body).Want(t, 200)
	f.Do(f.NewCaller(server.RoleOfficer, ""), "PUT", "/api/v1/stations/checklist", map[string]any{"items": []any{}}).Want(t, 403)
}

func TestCoverage(t *testing.T) {
	f := newFixture(t)
	t0, t1 := f.Township(0).ID, f.Township(1).ID
	// village (0,2) is a poverty village in the demo county (every third)
	var poor, plain string
	for j := 0; j < 6; j++ {
		v := f.Village(0, j)
		if v.Poverty && poor == "" {
			poor = v.ID
		} else if !v.Poverty && plain == "" {
			plain = v.ID
		}
	}
	empty := f.coverage(f.Admin, "")
	if empty.VillagesTotal == 0 || empty.PovertyVillagesTotal == 0 || empty.TownshipsTotal != 23 || empty.TargetRatio != 0.5 || empty.VillagesCovered != 0 {
		t.Fatalf("empty coverage %+v", empty)
	}
	a := f.operating(KindVillage, plain)
	b := f.operating(KindVillage, plain) // a second point in the same village
	f.operating(KindVillage, poor)
	f.station(KindVillage, f.Village(0, 5).ID, OriginNew) // planned: covers nothing
	hub := f.operating(KindTownship, t0)
	cv := f.coverage(f.Admin, "")
	if cv.VillagesCovered != 2 || cv.PovertyVillagesCovered != 1 || cv.OperatingPoints != 3 || cv.TownshipsCovered != 1 {
		t.Fatalf("coverage %+v", cv)
	}
	if cv.Ratio != ratio(2, cv.VillagesTotal) {
		t.Fatalf("ratio %v", cv.Ratio)
	}
	// the officer sees their own township only, whatever they ask for
	off0 := f.NewCaller(server.RoleOfficer, t0)
	c0 := f.coverage(off0, "?township_id="+t1)
	if c0.TownshipsTotal != 1 || c0.VillagesCovered != 2 || c0.TownshipsCovered != 1 || c0.VillagesTotal >= cv.VillagesTotal {
		t.Fatalf("officer coverage %+v", c0)
	}
	if c1 := f.coverage(f.NewCaller(server.RoleOfficer, t1), ""); c1.VillagesCovered != 0 || c1.OperatingPoints != 0 {
		t.Fatalf("other township %+v", c1)
	}
	// closing one of two points keeps the village covered; closing both uncovers it
	f.Do(f.Admin, "POST", "/api/v1/stations/"+a+"/status", map[string]any{"status": "closed", "at": at(5)}).Want(t, 200)
	if cv := f.coverage(f.Admin, ""); cv.VillagesCovered != 2 || cv.OperatingPoints != 2 {
		t.Fatalf("after one close %+v", cv)
	}
	f.Do(f.Admin, "POST", "/api/v1/stations/"+b+"/status", map[string]any{"status": "closed", "at": at(5)}).Want(t, 200)
	f.Do(f.Admin, "POST", "/api/v1/stations/"+hub+"/status", map[string]any{"status": "closed", "at": at(5)}).Want(t, 200)
	if cv := f.coverage(f.Admin, ""); cv.VillagesCovered != 1 || cv.PovertyVillagesCovered != 1 || cv.OperatingPoints != 1 || cv.TownshipsCovered != 0 {
		t.Fatalf("after both closed %+v", cv)
	}
	// a closed township station frees the township for a new one
	f.station(KindTownship, t0, OriginIntegrated)
	// recount rebuilds the same figures from the stations
	want := f.coverage(f.Admin, "")
	var got Coverage
	f.Do(f.Admin, "POST", "/api/v1/stations/coverage/recount", nil).Want(t, 200).Decode(t, &got)
	if got != want {
		t.Fatalf("recount %+v, want %+v", got, want)
	}
	f.Do(f.NewCaller(server.RoleTrainee, ""), "GET", "/api/v1/stations/coverage", nil).Want(t, 403)
}

func TestStationVisibilityAndUpdate(t *testing.T) {
	f := newFixture(t)
	t0 := f.Township(0).ID
	mine := f.station(KindVillage, f.Village(0, 0).ID, OriginNew)
	other := f.station(KindVillage, f.Village(1, 0).ID, OriginNew)
	op := f.NewCaller(server.RoleStation, mine)
	stranger := f.NewCaller(server.RoleStation, other)
	var list struct {
		Items []Station `json:"items"`
	}
	f.Do(op, "GET", "/api/v1/stations", nil).Want(t, 200).Decode(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != mine {
		t.Fatalf("station user sees %+v", list.Items)
	}
	f.Do(f.NewCaller(server.RoleOfficer, t0), "GET", "/api/v1/stations/"+other, nil).Want(t, 403)
	f.Do(op, "GET", "/api/v1/stations/"+other, nil).Want(t, 403)
	// operator: must be a station user of this station
	f.Do(f.Admin, "PATCH", "/api/v1/stations/"+mine, map[string]any{"operator_id": stranger.User.ID}).Want(t, 400)
	r := f.Do(f.Admin, "PATCH", "/api/v1/stations/"+mine, map[string]any{"operator_id": op.User.ID, "hours": "8:00-20:00"}).Want(t, 200)
	if r.JSON()["operator_name"] != op.User.Name {
		t.Fatalf("operator not set: %s", r.Body)
	}
	f.Do(op, "PATCH", "/api/v1/stations/"+mine, map[string]any{"address": "村委会旁", "services": []string{"代买", "缴费"}}).Want(t, 200)
	f.Do(op, "PATCH", "/api/v1/stations/"+mine, map[string]any{"services": []string{"卖房"}}).Want(t, 400)
	f.Do(op, "PATCH", "/api/v1/stations/"+mine, map[string]any{"name": "改名"}).Want(t, 403)
	f.Do(op, "PATCH", "/api/v1/stations/"+other, map[string]any{"hours": "全天"}).Want(t, 403)
	f.Do(f.NewCaller(server.RoleAuditor, ""), "PATCH", "/api/v1/stations/"+mine, map[string]any{"hours": "全天"}).Want(t, 403)
}

func TestSubsidies(t *testing.T) {
	f := newFixture(t)
	newVillage := f.station(KindVillage, f.Village(0, 0).ID, OriginNew)
	integrated := f.station(KindVillage, f.Village(0, 1).ID, OriginIntegrated)
	newTownship := f.station(KindTownship, f.Township(0).ID, OriginNew)
	planned := f.station(KindVillage, f.Village(0, 2).ID, OriginNew)
	for _, id := range []string{newVillage, integrated, newTownship} {
		f.walk(id, StatusAccepted)
	}
	cases := []struct {
		id   string
		want int64
	}{{newVillage, SubsidyVillageFen}, {integrated, 0}, {newTownship, SubsidyTownshipFen}, {planned, 0}}
	for _, c := range cases {
		got, paid, err := f.S.SubsidyDue(f.Ctx, c.id)
		if err != nil || got != c.want || paid {
			t.Fatalf("SubsidyDue(%s) = %d %v %v, want %d", c.id, got, paid, err, c.want)
		}
	}
	for _, id := range []string{integrated, planned} {
		if err := f.S.MarkSubsidyPaid(f.Ctx, id, "e1"); server.ToError(err).Rule != "subsidy_not_due" {
			t.Fatalf("paid a subsidy not due: %v", err)
		}
	}
	// concurrent payments of one subsidy: exactly one wins
	var wg sync.WaitGroup
	errs := make([]error, 10)
	for i := range errs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs[i] = f.S.MarkSubsidyPaid(f.Ctx, newVillage, "entry")
		}(i)
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else if server.ToError(err).Rule != "subsidy_paid_once" {
			t.Fatalf("unexpected %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d payments succeeded", ok)
	}
	if _, paid, _ := f.S.SubsidyDue(f.Ctx, newVillage); !paid {
		t.Fatal("not marked paid")
	}
	list, err := f.S.Subsidies(f.Ctx)
	if err != nil || len(list) != 2 {
		t.Fatalf("subsidies %+v %v", list, err)
	}
	var body struct {
		OwedFen int64 `json:"owed_fen"`
		PaidFen int64 `json:"paid_fen"`
	}
	f.Do(f.NewCaller(server.RoleAuditor, ""), "GET", "/api/v1/stations/subsidies", nil).Want(t, 200).Decode(t, &body)
	if body.OwedFen != SubsidyTownshipFen || body.PaidFen != SubsidyVillageFen {
		t.Fatalf("owed/paid %+v", body)
	}
	if err := f.S.MarkSubsidyPaid(f.Ctx, "0123456789abcdef01234567", "e"); server.ToError(err).Code != server.CodeNotFound {
		t.Fatalf("unknown station: %v", err)
	}
}

func TestServicesLog(t *testing.T) {
	f := newFixture(t)
	mine := f.operating(KindVillage, f.Village(0, 0).ID)
	other := f.operating(KindVillage, f.Village(1, 0).ID)
	planned := f.station(KindVillage, f.Village(2, 0).ID, OriginNew)
	op := f.NewCaller(server.RoleStation, mine)
	path := "/api/v1/stations/" + mine + "/services"
	cases := []struct {
		name   string
		caller *testkit.Caller
		path   string
		body   map[string]any
		status int
	}{
		{"own station", op, path, map[string]any{"kind": "代买", "count": 3, "amount_fen": 12000}, 201},
		{"with client id", op, path, map[string]any{"kind": "缴费", "count": 1, "amount_fen": 5000, "client_id": "p1-0001"}, 201},
		{"retried upload", op, path, map[string]any{"kind": "缴费", "count": 1, "amount_fen": 5000, "client_id": "p1-0001"}, 200},
		{"another station", op, "/api/v1/stations/" + other + "/services", map[string]any{"kind": "代买", "count": 1}, 403},
		{"not operating", f.Admin, "/api/v1/stations/" + planned + "/services", map[string]any{"kind": "代买", "count": 1}, 409},
		{"bad kind", op, path, map[string]any{"kind": "理发", "count": 1}, 400},
		{"zero count", op, path, map[string]any{"kind": "代买", "count": 0}, 400},
		{"negative amount", op, path, map[string]any{"kind": "代买", "count": 1, "amount_fen": -1}, 400},
		{"future", op, path, map[string]any{"kind": "代买", "count": 1, "at": "2999-01-01T00:00:00Z"}, 400},
		{"admin too", f.Admin, "/api/v1/stations/" + other + "/services", map[string]any{"kind": "快递代收", "count": 5}, 201},
		{"officer cannot", f.NewCaller(server.RoleOfficer, ""), path, map[string]any{"kind": "代买", "count": 1}, 403},
	}
	for _, c := range cases {
		r := f.Do(c.caller, "POST", c.path, c.body)
		if r.Status != c.status {
			t.Fatalf("%s: %d, want %d: %s", c.name, r.Status, c.status, r.Body)
		}
	}
	var got struct {
		Totals ServiceTotals  `json:"totals"`
		Items  []ServiceEntry `json:"items"`
	}
	f.Do(op, "GET", path, nil).Want(t, 200).Decode(t, &got)
	if got.Totals.Count != 4 || got.Totals.AmountFen != 17000 || len(got.Items) != 2 || got.Totals.Kinds["缴费"].Count != 1 {
		t.Fatalf("totals %+v items %d", got.Totals, len(got.Items))
	}
	m, err := f.S.MonthlyFigures(f.Ctx, clock.Month(f.S.now()))
	if err != nil {
		t.Fatal(err)
	}
	if m[f.Township(0).ID]["station_services"] != 4 || m[f.Township(1).ID]["station_services"] != 5 {
		t.Fatalf("monthly %+v", m)
	}
	// the station's counter keeps only the latest 20 entries, newest first
	for i := 0; i < 22; i++ {
		if _, _, err := f.S.LogService(f.Ctx, admin(), other, NewServiceEntry{Kind: "其他", Count: int64(i + 1)}); err != nil {
			t.Fatal(err)
		}
	}
	tot, items, err := f.S.Services(f.Ctx, other, recentServices)
	if err != nil || len(items) != recentServices || items[0].Count != 22 || items[19].Count != 3 || tot.Count != 5+253 {
		t.Fatalf("recent %d items (first %+v), totals %+v, %v", len(items), items[0], tot, err)
	}
	if _, err := f.S.MonthlyFigures(f.Ctx, "2019-13"); err == nil {
		t.Fatal("bad month accepted")
	}
}

// TestConcurrentStatusSteps: eight requests for the same step at once
// (built): exactly one is recorded, the others are refused naming the rule;
// the history has one step more, never two.
func TestConcurrentStatusSteps(t *testing.T) {
	f := newFixture(t)
	id := f.station(KindVillage, f.Village(4, 0).ID, OriginNew)
	var mu sync.Mutex
	rules := map[string]int{}
	ok := race(t, 8, func() int {
		r := f.Do(f.Admin, "POST", "/api/v1/stations/"+id+"/status", map[string]any{"status": "built", "at": at(1)})
		if r.Status == 200 {
			return 201
		}
		mu.Lock()
		rules[f.rule(r)]++
		mu.Unlock()
		return r.Status
	})
	x, err := f.S.Station(f.Ctx, id)
	if ok != 1 || err != nil || x.Status != StatusBuilt || len(x.History) != 2 {
		t.Fatalf("%d accepted, station %+v %v", ok, x, err)
	}
	for r := range rules {
		if r != "status_no_backward" && r != "status_changed" {
			t.Fatalf("refused with %q", r)
		}
	}
}

// TestSubsidyTotalsAndRepair: the subsidy counter follows acceptance and
// payment, and the repair rebuilds it and the coverage from the stations.
func TestSubsidyTotalsAndRepair(t *testing.T) {
	f := newFixture(t)
	v := f.station(KindVillage, f.Village(0, 0).ID, OriginNew)
	tw := f.station(KindTownship, f.Township(0).ID, OriginNew)
	f.walk(v, StatusOperating)
	f.walk(tw, StatusAccepted)
	if err := f.S.MarkSubsidyPaid(f.Ctx, v, "entry-1"); err != nil {
		t.Fatal(err)
	}
	want := SubsidyTotals{OwedFen: SubsidyTownshipFen, OwedCount: 1, PaidFen: SubsidyVillageFen, PaidCount: 1}
	if got, err := f.S.Totals(f.Ctx); err != nil || got != want {
		t.Fatalf("totals %+v %v, want %+v", got, err, want)
	}
	cov := f.coverage(f.Admin, "")
	if drifted, err := f.S.RepairCounters(f.Ctx); err != nil || drifted {
		t.Fatalf("repair of consistent counters: %v %v", drifted, err)
	}
	// lose counts as a crash between two writes would
	if err := f.S.counters.Inc(f.Ctx, subsidyKey, map[string]int64{"paid_fen": -1}); err != nil {
		t.Fatal(err)
	}
	if err := f.S.counters.Inc(f.Ctx, "cov:all", map[string]int64{"villages": 5}); err != nil {
		t.Fatal(err)
	}
	if drifted, err := f.S.RepairCounters(f.Ctx); err != nil || !drifted {
		t.Fatalf("repair: %v %v", drifted, err)
	}
	if got, _ := f.S.Totals(f.Ctx); got != want {
		t.Fatalf("totals after the repair %+v", got)
	}
	if got := f.coverage(f.Admin, ""); got != cov {
		t.Fatalf("coverage after the repair %+v, want %+v", got, cov)
	}
}

// TestStationDatesBounded: a step dated in year 1 or 9999 is refused in
// Chinese, naming the field.
func TestStationDatesBounded(t *testing.T) {
	f := newFixture(t)
	id := f.station(KindVillage, f.Village(5, 0).ID, OriginNew)
	for _, at := range []string{"0001-01-01T00:00:00Z", "9999-12-31T00:00:00Z"} {
		r := f.Do(f.Admin, "POST", "/api/v1/stations/"+id+"/status", map[string]any{"status": "built", "at": at}).Want(t, 400)
		msg, _ := r.JSON()["error"].(map[string]any)["fields"].(map[string]any)["at"].(string)
		if !strings.Contains(msg, "2000 年至 2100 年") {
			t.Fatalf("%s: %s", at, r.Body)
		}
	}
}

// TestPhotos: a station's operator uploads a photo of their own station,
// readers of the station download it, others cannot; the blob sweep keeps
// it (the photos are declared to the store).
func TestPhotos(t *testing.T) {
	f := newFixture(t)
	mine := f.station(KindVillage, f.Village(0, 0).ID, OriginNew)
	other := f.station(KindVillage, f.Village(1, 0).ID, OriginNew)
	op := f.NewCaller(server.RoleStation, mine)
	png := append([]byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}, make([]byte, 64)...)
	r := f.Upload(op, "/api/v1/stations/"+mine+"/photos", "门牌.png", png, nil).Want(t, 201)
	pid, _ := r.JSON()["id"].(string)
	f.Upload(op, "/api/v1/stations/"+other+"/photos", "x.png", png, nil).Want(t, 403)
	f.Upload(op, "/api/v1/stations/"+mine+"/photos", "a.txt", []byte("not an image"), nil).Want(t, 400)
	f.Upload(f.NewCaller(server.RoleAuditor, ""), "/api/v1/stations/"+mine+"/photos", "x.png", png, nil).Want(t, 403)
	if rep, err := f.Store.SweepBlobs(f.Ctx, 0); err != nil || len(rep.Removed) != 1 { // only the refused text file
		t.Fatalf("sweep %+v %v", rep, err)
	}
	got := f.Do(f.NewCaller(server.RoleOfficer, f.Township(0).ID), "GET", "/api/v1/stations/"+mine+"/photos/"+pid, nil).Want(t, 200)
	if !bytes.Equal(got.Body, png) || got.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("photo %q %s", got.Body, got.Header.Get("Content-Type"))
	}
	f.Do(f.NewCaller(server.RoleOfficer, f.Township(1).ID), "GET", "/api/v1/stations/"+mine+"/photos/"+pid, nil).Want(t, 403)
	var x Station
	f.Do(op, "GET", "/api/v1/stations/"+mine, nil).Want(t, 200).Decode(t, &x)
	if len(x.Photos) != 1 || x.Photos[0].Name != "门牌.png" {
		t.Fatalf("photos %+v", x.Photos)
	}
}

// TestListPack checks that the station list's pack, kept by every write
// (create, update, status, subsidy), is what the repair rebuilds from the
// stations; that a lost pack is built from the stations on the next read;
// and that a pack that drifted is rebuilt by the repair.
func TestListPack(t *testing.T) {
	f := newFixture(t)
	v := f.station(KindVillage, f.Village(1, 0).ID, OriginNew)
	tw := f.station(KindTownship, f.Township(1).ID, OriginNew)
	f.walk(v, StatusOperating)
	f.walk(tw, StatusClosed)
	f.Do(f.Admin, "PATCH", "/api/v1/stations/"+v, map[string]any{"hours": "8:00-18:00", "address": "村委会旁", "area_m2": 12.5}).Want(t, 200)
	if err := f.S.MarkSubsidyPaid(f.Ctx, v, "entry-9"); err != nil {
		t.Fatal(err)
	}
	if drifted, err := f.S.repairList(f.Ctx); err != nil || drifted {
		t.Fatalf("the maintained list differs from the stations: %v %v", drifted, err)
	}
	list := func() map[string]Station {
		var out struct{ Items []Station }
		f.Do(f.Admin, "GET", "/api/v1/stations", nil).Want(t, 200).Decode(t, &out)
		m := map[string]Station{}
		for _, x := range out.Items {
			m[x.ID] = x
		}
		return m
	}
	got := list()
	if x := got[v]; len(got) != 2 || x.Hours != "8:00-18:00" || x.AreaM2 != 12.5 || !x.SubsidyPaid || x.Status != StatusOperating || got[tw].Status != StatusClosed {
		t.Fatalf("list %+v", got)
	}
	if _, err := f.S.lists.Collection().DeleteMany(f.Ctx, map[string]any{}); err != nil {
		t.Fatal(err)
	}
	if again := list(); len(again) != 2 || again[v].Hours != "8:00-18:00" {
		t.Fatalf("list after the pack was lost: %+v", again)
	}
	if err := f.S.lists.Remove(f.Ctx, listID, v); err != nil {
		t.Fatal(err)
	}
	if drifted, err := f.S.RepairCounters(f.Ctx); err != nil || !drifted {
		t.Fatalf("repair of a drifted list: %v %v", drifted, err)
	}
	if drifted, err := f.S.repairList(f.Ctx); err != nil || drifted {
		t.Fatalf("after the repair: %v %v", drifted, err)
	}
}
