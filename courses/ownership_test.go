package courses

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/clock"
	"nongxun/server"
	"nongxun/store"
	"nongxun/testkit"
)

// TestCourseTakeoverRefused reproduces M6: a trainer who neither made nor
// was assigned to a course could create a session of it without naming a
// trainer, become its trainer, then upload materials to it.
func TestCourseTakeoverRefused(t *testing.T) {
	f := newFixture(t)
	cid := f.course(f.Admin, true) // f.trainer assigned
	intruder := f.NewCaller(server.RoleTrainer, "")
	f.Do(intruder, "POST", "/api/v1/courses/"+cid+"/sessions", f.sessionBody(24, 26, 30)).Want(t, 403)
	ss, _ := f.svc.Sessions(f.Ctx, cid)
	must(t, len(ss) == 0, "no session made: %v", ss)
	r := f.Upload(intruder, "/api/v1/courses/"+cid+"/materials", "课件.pdf", append([]byte("%PDF-1.5\n"), make([]byte, 3000)...), nil)
	must(t, r.Status == 403, "upload by a trainer of another course: %d %s", r.Status, r.Body)
	f.Do(intruder, "PUT", "/api/v1/courses/"+cid+"/trainers", map[string]any{"trainer_ids": []string{intruder.User.ID}}).Want(t, 403)
	f.Do(f.trainer, "PUT", "/api/v1/courses/"+cid+"/trainers", map[string]any{"trainer_ids": []string{intruder.User.ID}}).Want(t, 403) // assigned, not a maker
	// An officer may schedule only an assigned trainer.
	officer := f.NewCaller(server.RoleOfficer, f.Township(0).ID)
	body := f.sessionBody(30, 32, 30)
	body["trainer_id"] = intruder.User.ID
	r = f.Do(officer, "POST", "/api/v1/courses/"+cid+"/sessions", body).Want(t, 400)
	must(t, errField(r, "trainer_id") != "", "reason: %s", r.Body)
	// The assigned trainer and the course's maker may.
	f.session(cid, 24, 26)
	mine := f.course(intruder, true)
	f.Do(intruder, "POST", "/api/v1/courses/"+mine+"/sessions", f.sessionBody(40, 42, 30)).Want(t, 201)
	// The maker assigns a trainer, who may then schedule.
	other := f.NewCaller(server.RoleTrainer, "")
	f.Do(other, "POST", "/api/v1/courses/"+mine+"/sessions", f.sessionBody(50, 52, 30)).Want(t, 403)
	f.Do(intruder, "PUT", "/api/v1/courses/"+mine+"/trainers", map[string]any{"trainer_ids": []string{other.User.ID, "bad"}}).Want(t, 400)
	f.Do(intruder, "PUT", "/api/v1/courses/"+mine+"/trainers", map[string]any{"trainer_ids": []string{f.trainee.User.ID}}).Want(t, 400)
	var c Course
	f.Do(intruder, "PUT", "/api/v1/courses/"+mine+"/trainers", map[string]any{"trainer_ids": []string{other.User.ID}}).Want(t, 200).Decode(t, &c)
	must(t, c.Teaches(other.User.ID) && c.IsMaker(intruder.User.ID), "assigned: %+v", c)
	f.Do(other, "POST", "/api/v1/courses/"+mine+"/sessions", f.sessionBody(50, 52, 30)).Want(t, 201)
	// The admin picks any trainer: they are assigned by it.
	body = f.sessionBody(60, 62, 30)
	body["trainer_id"] = intruder.User.ID
	f.Do(f.Admin, "POST", "/api/v1/courses/"+cid+"/sessions", body).Want(t, 201)
	f.Do(f.Admin, "GET", "/api/v1/courses/"+cid, nil).Want(t, 200).Decode(t, &c)
	must(t, contains(c.Trainers, intruder.User.ID), "admin's pick assigned: %+v", c)
}

func TestSessionBounds(t *testing.T) {
	f := newFixture(t)
	cid := f.course(f.Admin, true)
	for _, c := range []struct {
		name, start, end, field string
	}{
		{"year 1", "0001-01-01T09:00:00+08:00", "0001-01-01T10:00:00+08:00", "starts_at"},
		{"year 9999", "9999-12-31T09:00:00+08:00", "9999-12-31T10:00:00+08:00", "starts_at"},
		{"far future", time.Now().AddDate(clock.RecentYears, 1, 0).Format(time.RFC3339), time.Now().AddDate(clock.RecentYears, 1, 0).Add(time.Hour).Format(time.RFC3339), "starts_at"},
		{"13 hours", at(24), at(37), "ends_at"},
	} {
		body := f.sessionBody(0, 0, 10)
		body["starts_at"], body["ends_at"] = c.start, c.end
		for _, who := range []*testkit.Caller{f.trainer, f.Admin} {
			if who == f.Admin {
				body["trainer_id"] = f.trainer.User.ID
			}
			r := f.Do(who, "POST", "/api/v1/courses/"+cid+"/sessions", body).Want(t, 400)
			msg := errField(r, c.field)
			must(t, msg != "" && !strings.ContainsAny(msg, "abcdefghijklmnopqrstuvwxyz"), "%s by %s: a Chinese reason for %s: %s", c.name, who.User.Role, c.field, r.Body)
		}
	}
	// Back-filling a past session is the admin's, within the bound.
	body := f.sessionBody(-24*300, -24*300+3, 10)
	f.Do(f.trainer, "POST", "/api/v1/courses/"+cid+"/sessions", body).Want(t, 400)
	body["trainer_id"] = f.trainer.User.ID
	var x Session
	f.Do(f.Admin, "POST", "/api/v1/courses/"+cid+"/sessions", body).Want(t, 201).Decode(t, &x)
	must(t, x.Backfilled, "back-filled: %+v", x)
}

func TestStartNow(t *testing.T) {
	f := newFixture(t)
	cid := f.course(f.Admin, true)
	// A session created "now": no start time, it starts at once.
	body := f.sessionBody(0, 2, 30)
	delete(body, "starts_at")
	body["start_now"] = true
	var x Session
	f.Do(f.trainer, "POST", "/api/v1/courses/"+cid+"/sessions", body).Want(t, 201).Decode(t, &x)
	must(t, time.Since(x.StartsAt) < time.Minute && !x.Backfilled, "starts now: %+v", x)
	body["starts_at"] = at(5)
	f.Do(f.trainer, "POST", "/api/v1/courses/"+cid+"/sessions", body).Want(t, 400)

	// A planned session started early; its trainer's days follow it.
	planned := f.session(cid, 30, 32)
	other := f.NewCaller(server.RoleTrainer, "")
	f.Do(other, "POST", "/api/v1/sessions/"+planned+"/start", nil).Want(t, 403)
	f.Do(f.trainee, "POST", "/api/v1/sessions/"+planned+"/start", nil).Want(t, 403)
	f.Do(f.trainer, "POST", "/api/v1/sessions/"+x.ID+"/start", nil).Want(t, 409)    // already started
	f.Do(f.trainer, "POST", "/api/v1/sessions/"+planned+"/start", nil).Want(t, 409) // it would overlap x
	f.Do(f.trainer, "POST", "/api/v1/sessions/"+x.ID+"/cancel", map[string]any{"reason": "开错了"}).Want(t, 200)
	var y Session
	f.Do(f.trainer, "POST", "/api/v1/sessions/"+planned+"/start", nil).Want(t, 200).Decode(t, &y)
	must(t, time.Since(y.StartsAt) < time.Minute && y.EndsAt.Sub(y.StartsAt) == 2*time.Hour && y.StartedEarly, "started early, planned length kept (it was over a day away): %+v", y)
	f.Do(f.trainer, "POST", "/api/v1/sessions/"+planned+"/start", nil).Want(t, 409)
	// The first one and the started one now overlap? The start was refused if so.
	ss, _ := f.svc.SessionsByTrainer(f.Ctx, f.trainer.User.ID)
	must(t, len(ss) == 2, "sessions: %v", ss) // x (cancelled) and planned
	// The planned slot (in 30 h) is free again; now is taken.
	f.session(cid, 30, 32)
	f.Do(f.trainer, "POST", "/api/v1/courses/"+cid+"/sessions", f.sessionBody(1, 3, 10)).Want(t, 409)
	figs, _ := f.svc.MonthlyFigures(f.Ctx, clock.Month(time.Now()))
	n := int64(0)
	for _, m := range figs {
		n += m[MetricSessionsHeld]
	}
	if clock.Month(time.Now()) == clock.Month(time.Now().Add(30*time.Hour)) {
		must(t, n == 2, "held this month: %v", figs)
	} else {
		must(t, n == 1, "held this month: %v", figs)
	}
	es, _ := f.Audit.List(f.Ctx, "session:"+planned, "session.start", time.Time{}, 10)
	must(t, len(es) == 1, "start audited: %v", es)
}

// TestOverlapTwoNodes: two services on one database (two app nodes) that
// schedule one trainer at once; the trainer's day documents let only one
// of each overlapping pair through, across midnight too.
func TestOverlapTwoNodes(t *testing.T) {
	f := newFixture(t)
	cid := f.course(f.Admin, true)
	node2, err := New(f.Ctx, f.svc.d)
	if err != nil {
		t.Fatal(err)
	}
	p := &server.Principal{UserID: f.trainer.User.ID, Role: server.RoleTrainer}
	// 23:00–01:00 Shanghai the day after tomorrow, and sessions around it.
	mid := time.Now().In(clock.Shanghai).AddDate(0, 0, 2)
	mid = time.Date(mid.Year(), mid.Month(), mid.Day(), 23, 0, 0, 0, clock.Shanghai)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			svc := f.svc
			if i%2 == 1 {
				svc = node2
			}
			from := mid.Add(time.Duration(i) * 15 * time.Minute)
			s, e := from.Format(time.RFC3339), from.Add(2*time.Hour).Format(time.RFC3339)
			_, err := svc.CreateSession(context.Background(), p, cid, SessionInput{StartsAt: &s, EndsAt: &e,
				Location: ptr("会议室"), RegionID: ptr(f.Village(0, 1).ID), Capacity: ptr(10)})
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				ok++
			} else if server.ToError(err).Code != server.CodeConflict {
				t.Errorf("unexpected: %v", err)
			}
		}(i)
	}
	wg.Wait()
	must(t, ok == 1, "one of 8 overlapping sessions: %d", ok)
	ss, _ := f.svc.SessionsByTrainer(f.Ctx, f.trainer.User.ID)
	must(t, len(ss) == 1, "stored: %d", len(ss))
	// The next morning's session on the second day collides with the part after midnight.
	from := mid.Add(90 * time.Minute)
	s, e := from.Format(time.RFC3339), from.Add(time.Hour).Format(time.RFC3339)
	if ss[0].EndsAt.After(from) {
		_, err := node2.CreateSession(f.Ctx, p, cid, SessionInput{StartsAt: &s, EndsAt: &e, Location: ptr("x"), RegionID: ptr(f.Village(0, 1).ID), Capacity: ptr(1)})
		must(t, server.ToError(err).Code == server.CodeConflict, "after midnight: %v", err)
	}
}

// TestUpgradeOwnership: a course stored before ownership gets its creator
// and its sessions' trainers as makers, once; older sessions are put on
// their trainers' days.
func TestUpgradeOwnership(t *testing.T) {
	f := newFixture(t)
	old := store.NewID()
	creator := f.NewCaller(server.RoleTrainer, "")
	if err := f.svc.courses.InsertOne(f.Ctx, bson.M{"_id": old, "title": "旧课程", "category": "网店开设", "hours": 8.0, "pass_ratio": 0.8,
		"published": true, "created_by": creator.User.ID, "created_at": time.Now().UTC(), "target_groups": bson.A{}}); err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Minute)
	if err := f.svc.sessions.InsertOne(f.Ctx, Session{ID: store.NewID(), CourseID: old, StartsAt: start, EndsAt: start.Add(2 * time.Hour),
		Location: "x", RegionID: f.Village(0, 0).ID, TownshipID: f.Township(0).ID, TrainerID: f.trainer.User.ID, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	for _, mark := range []string{upgradeDaysID, upgradeListsID} {
		if _, err := f.svc.counters.DeleteOne(f.Ctx, bson.M{"_id": mark}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 2; i++ {
		if _, err := New(f.Ctx, f.svc.d); err != nil {
			t.Fatal(err)
		}
	}
	c, err := f.svc.Course(f.Ctx, old)
	must(t, err == nil && len(c.Makers) == 2 && c.IsMaker(creator.User.ID) && c.IsMaker(f.trainer.User.ID), "makers: %+v %v", c, err)
	// The old session holds its trainer's time.
	f.Do(f.trainer, "POST", "/api/v1/courses/"+old+"/sessions", map[string]any{"starts_at": start.Add(time.Hour).Format(time.RFC3339),
		"ends_at": start.Add(3 * time.Hour).Format(time.RFC3339), "location": "x", "region_id": f.Village(0, 0).ID, "capacity": 1}).Want(t, 409)
}
