package courses

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"nongxun/clock"
	"nongxun/server"
	"nongxun/testkit"
)

func TestSessionRules(t *testing.T) {
	f := newFixture(t)
	cid := f.course(f.Admin, true)
	other := f.NewCaller(server.RoleTrainer, "")
	officer := f.NewCaller(server.RoleOfficer, f.Township(0).ID)
	farOfficer := f.NewCaller(server.RoleOfficer, f.Township(1).ID)
	existing := f.session(cid, 48, 50) // the fixture trainer, in two days, 2 h

	with := func(m map[string]any, kv ...any) map[string]any {
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(m, kv[i].(string))
			} else {
				m[kv[i].(string)] = kv[i+1]
			}
		}
		return m
	}
	base := func() map[string]any { return f.sessionBody(72, 74, 40) }
	cases := []struct {
		name   string
		caller *testkitCaller
		path   string
		body   map[string]any
		status int
		field  string
		msg    string
	}{
		{"trainer ok", f.trainer, "", base(), 201, "", ""},
		{"admin for a trainer", f.Admin, "", with(base(), "trainer_id", other.User.ID, "starts_at", at(100), "ends_at", at(101)), 201, "", ""},
		{"admin without trainer", f.Admin, "", base(), 400, "trainer_id", ""},
		{"officer in own township", officer, "", with(base(), "trainer_id", other.User.ID, "starts_at", at(110), "ends_at", at(111)), 201, "", ""},
		{"officer elsewhere", farOfficer, "", with(base(), "trainer_id", other.User.ID, "starts_at", at(120), "ends_at", at(121)), 403, "", ""},
		{"trainee refused", f.trainee, "", base(), 403, "", ""},
		{"trainer for another", f.trainer, "", with(base(), "trainer_id", other.User.ID), 403, "", ""},
		{"trainer id not a trainer", f.Admin, "", with(base(), "trainer_id", f.trainee.User.ID), 400, "trainer_id", ""},
		{"trainer id unknown", f.Admin, "", with(base(), "trainer_id", "0123456789abcdef01234567"), 400, "trainer_id", ""},
		{"trainer id malformed", f.Admin, "", with(base(), "trainer_id", "x"), 400, "trainer_id", ""},
		{"end before start", f.trainer, "", with(base(), "ends_at", at(71)), 400, "ends_at", ""},
		{"end equals start", f.trainer, "", with(base(), "ends_at", at(72)), 400, "ends_at", ""},
		{"too long", f.trainer, "", with(base(), "ends_at", at(72+30)), 400, "ends_at", ""},
		{"missing start", f.trainer, "", with(base(), "starts_at", nil), 400, "starts_at", ""},
		{"bad time", f.trainer, "", with(base(), "starts_at", "tomorrow 9am"), 400, "starts_at", ""},
		{"time wrong type", f.trainer, "", with(base(), "starts_at", 12), 400, "starts_at", ""},
		{"negative capacity", f.trainer, "", with(base(), "capacity", -1), 400, "capacity", ""},
		{"capacity wrong type", f.trainer, "", with(base(), "capacity", "30"), 400, "capacity", ""},
		{"missing capacity", f.trainer, "", with(base(), "capacity", nil), 400, "capacity", ""},
		{"missing location", f.trainer, "", with(base(), "location", nil), 400, "location", ""},
		{"unknown region", f.trainer, "", with(base(), "region_id", "0123456789abcdef01234567"), 400, "region_id", ""},
		{"malformed region", f.trainer, "", with(base(), "region_id", "abc"), 400, "region_id", ""},
		{"malformed station", f.trainer, "", with(base(), "station_id", "abc"), 400, "station_id", ""},
		{"bad geofence", f.trainer, "", with(base(), "geofence", map[string]any{"lat": 95, "lng": 103, "radius_m": 200}), 400, "geofence", ""},
		{"zero radius", f.trainer, "", with(base(), "geofence", map[string]any{"lat": 26.4, "lng": 103.3, "radius_m": 0}), 400, "geofence", ""},
		{"geofence ok", f.trainer, "", with(base(), "starts_at", at(130), "ends_at", at(131), "geofence", map[string]any{"lat": 26.4, "lng": 103.3, "radius_m": 300}), 201, "", ""},
		{"past by trainer", f.trainer, "", with(base(), "starts_at", at(-30), "ends_at", at(-28)), 400, "starts_at", ""},
		{"overlap", f.trainer, "", with(base(), "starts_at", at(49), "ends_at", at(51)), 409, "", existing},
		{"overlap inside", f.trainer, "", with(base(), "starts_at", at(48.5), "ends_at", at(49.5)), 409, "", existing},
		{"overlap around", f.trainer, "", with(base(), "starts_at", at(47), "ends_at", at(52)), 409, "", existing},
		{"back to back", f.trainer, "", with(base(), "starts_at", at(50), "ends_at", at(51)), 201, "", ""},
		{"unknown course", f.trainer, "/api/v1/courses/0123456789abcdef01234567/sessions", base(), 404, "", ""},
		{"malformed course", f.trainer, "/api/v1/courses/zz/sessions", base(), 400, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := c.path
			if path == "" {
				path = "/api/v1/courses/" + cid + "/sessions"
			}
			r := f.Do(c.caller, "POST", path, c.body).Want(t, c.status)
			if c.field != "" && errField(r, c.field) == "" {
				t.Fatalf("no reason for field %s: %s", c.field, r.Body)
			}
			if c.msg != "" && !strings.Contains(string(r.Body), c.msg) {
				t.Fatalf("the conflict should name session %s: %s", c.msg, r.Body)
			}
		})
	}
	var x Session
	f.Do(f.Admin, "POST", "/api/v1/courses/"+cid+"/sessions", with(base(), "trainer_id", other.User.ID, "starts_at", at(-24*30), "ends_at", at(-24*30+2))).Want(t, 201).Decode(t, &x)
	must(t, x.Backfilled && x.TownshipID == f.Township(0).ID && x.RegionID == f.Village(0, 0).ID, "admin back-fill flagged, township derived: %+v", x)
	f.Do(f.trainer, "POST", "/api/v1/courses/"+cid+"/sessions", with(base(), "starts_at", at(140), "ends_at", at(141), "region_id", f.Township(2).ID)).Want(t, 201).Decode(t, &x)
	must(t, !x.Backfilled && x.TownshipID == f.Township(2).ID, "a township region is its own township: %+v", x)
}

// testkitCaller shortens the table's field type.
type testkitCaller = testkit.Caller

func TestOverlapIsRaceFree(t *testing.T) {
	f := newFixture(t)
	cid := f.course(f.Admin, true)
	p := &server.Principal{UserID: f.trainer.User.ID, Role: server.RoleTrainer}
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, conflicts := 0, 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			s, e := at(24+float64(i)*0.25), at(26+float64(i)*0.25)
			_, err := f.svc.CreateSession(context.Background(), p, cid, SessionInput{StartsAt: &s, EndsAt: &e,
				Location: ptr("会议室"), RegionID: ptr(f.Village(0, 1).ID), Capacity: ptr(10)})
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				ok++
			} else if server.ToError(err).Code == server.CodeConflict {
				conflicts++
			} else {
				t.Errorf("unexpected: %v", err)
			}
		}(i)
	}
	wg.Wait()
	must(t, ok == 1 && conflicts == 7, "one of 8 overlapping sessions may be created: ok=%d conflicts=%d", ok, conflicts)
	ss, _ := f.svc.SessionsByTrainer(f.Ctx, f.trainer.User.ID)
	must(t, len(ss) == 1, "stored: %d", len(ss))
}

func ptr[T any](v T) *T { return &v }

func TestCancelSession(t *testing.T) {
	f := newFixture(t)
	cid := f.course(f.Admin, true)
	sid := f.session(cid, 24, 26)
	month := clock.Month(time.Now().Add(24 * time.Hour))
	tw := f.Township(0).ID
	figs, err := f.svc.MonthlyFigures(f.Ctx, month)
	must(t, err == nil && figs[tw][MetricSessionsHeld] == 1, "held before cancel: %v %v", figs, err)

	other := f.NewCaller(server.RoleTrainer, "")
	farOfficer := f.NewCaller(server.RoleOfficer, f.Township(3).ID)
	f.Do(f.trainer, "POST", "/api/v1/sessions/"+sid+"/cancel", map[string]any{}).Want(t, 400)
	f.Do(f.trainer, "POST", "/api/v1/sessions/"+sid+"/cancel", map[string]any{"reason": 5}).Want(t, 400)
	f.Do(other, "POST", "/api/v1/sessions/"+sid+"/cancel", map[string]any{"reason": "下雨"}).Want(t, 403)
	f.Do(farOfficer, "POST", "/api/v1/sessions/"+sid+"/cancel", map[string]any{"reason": "下雨"}).Want(t, 403)
	f.Do(f.trainee, "POST", "/api/v1/sessions/"+sid+"/cancel", map[string]any{"reason": "下雨"}).Want(t, 403)
	f.Do(f.trainer, "POST", "/api/v1/sessions/bad/cancel", map[string]any{"reason": "下雨"}).Want(t, 400)
	f.Do(f.trainer, "POST", "/api/v1/sessions/0123456789abcdef01234567/cancel", map[string]any{"reason": "下雨"}).Want(t, 404)
	f.Do(f.trainer, "POST", "/api/v1/sessions/"+sid+"/cancel", map[string]any{"reason": "暴雨，道路中断"}).Want(t, 200)
	f.Do(f.trainer, "POST", "/api/v1/sessions/"+sid+"/cancel", map[string]any{"reason": "again"}).Want(t, 409)

	var x Session
	f.Do(f.trainer, "GET", "/api/v1/sessions/"+sid, nil).Want(t, 200).Decode(t, &x)
	must(t, x.Cancelled && x.CancelReason == "暴雨，道路中断" && x.CancelledAt != nil, "cancelled session kept: %+v", x)
	var list []Session
	f.Do(f.trainer, "GET", "/api/v1/courses/"+cid+"/sessions", nil).Want(t, 200).Decode(t, &list)
	must(t, len(list) == 1 && list[0].Cancelled, "still listed: %v", list)
	figs, _ = f.svc.MonthlyFigures(f.Ctx, month)
	must(t, figs[tw][MetricSessionsHeld] == 0, "held after cancel: %v", figs)
	es, _ := f.Audit.List(f.Ctx, "session:"+sid, "session.cancel", time.Time{}, 10)
	must(t, len(es) == 1, "cancel audited: %v", es)
	// The slot is free again.
	f.session(cid, 24, 26)
}

func TestSessionScopeAndSchedules(t *testing.T) {
	f := newFixture(t)
	cid := f.course(f.Admin, true)
	draft := f.course(f.Admin, false)
	here := f.session(cid, 24, 26)
	body := f.sessionBody(30, 32, 0)
	body["region_id"] = f.Village(5, 2).ID
	var there Session
	f.Do(f.trainer, "POST", "/api/v1/courses/"+cid+"/sessions", body).Want(t, 201).Decode(t, &there)
	f.session(draft, 40, 41)

	officer := f.NewCaller(server.RoleOfficer, f.Township(0).ID)
	var list []Session
	f.Do(officer, "GET", "/api/v1/courses/"+cid+"/sessions", nil).Want(t, 200).Decode(t, &list)
	must(t, len(list) == 1 && list[0].ID == here, "officer sees own township only: %v", list)
	f.Do(officer, "GET", "/api/v1/sessions/"+there.ID, nil).Want(t, 404)
	f.Do(officer, "GET", "/api/v1/sessions/"+here, nil).Want(t, 200)
	f.Do(f.Admin, "GET", "/api/v1/courses/"+cid+"/sessions", nil).Want(t, 200).Decode(t, &list)
	must(t, len(list) == 2 && list[0].ID == here && list[1].ID == there.ID, "admin sees all by start: %v", list)
	f.Do(f.Admin, "GET", "/api/v1/sessions/zz", nil).Want(t, 400)

	var mine []sessionView
	f.Do(f.trainer, "GET", "/api/v1/my/sessions", nil).Want(t, 200).Decode(t, &mine)
	must(t, len(mine) == 3 && mine[0].CourseTitle != "", "trainer schedule: %v", mine)
	f.Do(f.trainer, "GET", "/api/v1/my/sessions?from="+at(28), nil).Want(t, 200).Decode(t, &mine)
	must(t, len(mine) == 2, "from filters: %v", mine)
	f.Do(f.trainer, "GET", "/api/v1/my/sessions?from=soon", nil).Want(t, 400)
	f.Do(f.Admin, "GET", "/api/v1/my/sessions", nil).Want(t, 403)

	// A trainee's schedule comes from enrollment; without it, nothing.
	f.Do(f.trainee, "GET", "/api/v1/my/sessions", nil).Want(t, 200).Decode(t, &mine)
	must(t, len(mine) == 0, "no enrollment hook: %v", mine)
	f.svc.Enrolled = func(_ context.Context, userID, courseID string) (bool, error) {
		return userID == f.trainee.User.ID, nil
	}
	f.Do(f.trainee, "GET", "/api/v1/my/sessions", nil).Want(t, 200).Decode(t, &mine)
	must(t, len(mine) == 2, "enrolled trainee sees the published course's sessions: %v", mine)
	f.Do(f.trainee, "GET", "/api/v1/sessions/"+here, nil).Want(t, 200)
	ss, _ := f.svc.Sessions(f.Ctx, draft)
	f.Do(f.trainee, "GET", "/api/v1/sessions/"+ss[0].ID, nil).Want(t, 404)
	_ = http.StatusOK
}

func TestMonthlyFigures(t *testing.T) {
	f := newFixture(t)
	cid := f.course(f.Admin, true)
	p := &server.Principal{UserID: f.Admin.User.ID, Role: server.RoleAdmin}
	trainers := []string{f.trainer.User.ID, f.NewCaller(server.RoleTrainer, "").User.ID}
	mk := func(start time.Time, region string, trainer int) {
		s, e := start.Format(time.RFC3339), start.Add(2*time.Hour).Format(time.RFC3339)
		if _, err := f.svc.CreateSession(f.Ctx, p, cid, SessionInput{StartsAt: &s, EndsAt: &e, Location: ptr("x"), RegionID: &region,
			TrainerID: &trainers[trainer], Capacity: ptr(0)}); err != nil {
			t.Fatal(err)
		}
	}
	may := time.Date(time.Now().Year()-1, 5, 10, 1, 0, 0, 0, time.UTC)
	a, b := f.Township(0).ID, f.Township(1).ID
	mk(may, f.Village(0, 0).ID, 0)
	mk(may.Add(24*time.Hour), f.Village(0, 1).ID, 0)
	mk(may, b, 1)
	// 05-31 17:00 UTC is 06-01 01:00 in Shanghai: a June session.
	mk(time.Date(may.Year(), 5, 31, 17, 0, 0, 0, time.UTC), a, 1)
	figs, err := f.svc.MonthlyFigures(f.Ctx, clock.Month(may))
	must(t, err == nil && figs[a][MetricSessionsHeld] == 2 && figs[b][MetricSessionsHeld] == 1 && len(figs) == 2, "May: %v %v", figs, err)
	figs, _ = f.svc.MonthlyFigures(f.Ctx, clock.Month(may.AddDate(0, 1, 0)))
	must(t, figs[a][MetricSessionsHeld] == 1, "June: %v", figs)
	_, err = f.svc.MonthlyFigures(f.Ctx, "May")
	must(t, err != nil, "bad month refused")
}
