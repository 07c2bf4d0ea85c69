package enrollment

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"nongxun/courses"
	"nongxun/server"
	"nongxun/testkit"
)

func (f *fixture) code(t testing.TB, trainer *testkit.Caller, sid string) CheckinCode {
	t.Helper()
	var c CheckinCode
	f.Do(trainer, "GET", "/api/v1/sessions/"+sid+"/checkin-code", nil).Want(t, 200).Decode(t, &c)
	return c
}

func TestCheckinLive(t *testing.T) {
	f := newFixture(t)
	trainer := f.NewCaller(server.RoleTrainer, "")
	sess := f.session(trainer, 0, nil)
	other := f.session(trainer, 0, nil)
	tr, me := f.trainee(t, 0, 0, GroupPoverty)
	f.Do(f.NewCaller(server.RoleTrainer, ""), "GET", "/api/v1/sessions/"+sess.ID+"/checkin-code", nil).Want(t, 403)
	f.Do(me, "GET", "/api/v1/sessions/"+sess.ID+"/checkin-code", nil).Want(t, 403)
	c := f.code(t, trainer, sess.ID)
	if len(c.Digits) != 6 || c.QRPNG == "" || !c.ExpiresAt.After(f.now) {
		t.Fatalf("code %+v", c)
	}
	png := f.Do(trainer, "GET", c.QRPNG, nil).Want(t, 200)
	if png.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("qr type %s", png.Header.Get("Content-Type"))
	}
	f.Do(trainer, "GET", "/api/v1/sessions/"+sess.ID+"/checkin-qr.png?code=forged", nil).Want(t, 400)

	oc := f.code(t, trainer, other.ID)
	refused := []struct {
		name string
		in   map[string]any
	}{
		{"forged", map[string]any{"session_id": sess.ID, "code": c.Code[:len(c.Code)-2] + "AA"}},
		{"foreign", map[string]any{"session_id": sess.ID, "code": oc.Code}},
		{"malformed", map[string]any{"session_id": sess.ID, "code": "hello"}},
		{"wrong digits", map[string]any{"session_id": sess.ID, "code": fmt.Sprintf("%06d", (atoi(c.Digits)+1)%1000000)}},
		{"no client id", map[string]any{"session_id": sess.ID, "code": c.Code, "client_id": ""}},
	}
	for i, x := range refused {
		if _, ok := x.in["client_id"]; !ok {
			x.in["client_id"] = fmt.Sprintf("bad-%d", i)
		}
		if r := f.Do(me, "POST", "/api/v1/checkins", x.in); r.Status != 400 {
			t.Errorf("%s: %d %s", x.name, r.Status, r.Body)
		}
	}
	if p := f.progress(t); p.PersonTimes != 0 {
		t.Fatalf("refusals counted: %+v", p)
	}
	r := f.Do(me, "POST", "/api/v1/checkins", map[string]any{"session_id": sess.ID, "code": c.Code, "client_id": "c1"}).Want(t, 201)
	if r.JSON()["status"] != "present" {
		t.Fatalf("%s", r.Body)
	}
	f.Do(me, "POST", "/api/v1/checkins", map[string]any{"session_id": sess.ID, "code": c.Code, "client_id": "c1"}).Want(t, 200)
	f.Do(me, "POST", "/api/v1/checkins", map[string]any{"session_id": sess.ID, "code": c.Digits, "client_id": "c2"}).Want(t, 200)
	// A refused client_id keeps its answer.
	f.Do(me, "POST", "/api/v1/checkins", map[string]any{"session_id": sess.ID, "code": "hello", "client_id": "bad-2"}).Want(t, 400)

	// The previous window is still good; two windows later the code has expired.
	f.now = f.now.Add(Window)
	_, you := f.trainee(t, 0, 1)
	f.Do(you, "POST", "/api/v1/checkins", map[string]any{"code": c.Code, "client_id": "y1"}).Want(t, 201)
	f.now = f.now.Add(Window)
	_, him := f.trainee(t, 0, 2)
	f.Do(him, "POST", "/api/v1/checkins", map[string]any{"session_id": sess.ID, "code": c.Code, "client_id": "h1"}).Want(t, 400)
	f.Do(him, "POST", "/api/v1/checkins", map[string]any{"session_id": sess.ID, "code": f.code(t, trainer, sess.ID).Digits, "client_id": "h2"}).Want(t, 201)
	// An enrolled trainee may type the digits without the session id.
	f.now = f.now.Add(Window)
	f.Do(me, "POST", "/api/v1/checkins", map[string]any{"code": f.code(t, trainer, sess.ID).Digits, "client_id": "c3"}).Want(t, 200)
	f.Do(me, "POST", "/api/v1/checkins", map[string]any{"code": "000000", "client_id": "c4"}).Want(t, 400)

	p := f.progress(t)
	if p.PersonTimes != 3 || p.Trainees != 3 || p.ByGroup[GroupPoverty] != 1 || p.ByMonth["2019-05"] != 3 {
		t.Fatalf("progress %+v", p)
	}
	if ok, _ := f.s.IsEnrolled(f.Ctx, sess.CourseID, tr.ID); !ok {
		t.Fatal("walk-in not enrolled")
	}
	f.noDrift(t)
}

func atoi(s string) int {
	n := 0
	fmt.Sscan(s, &n)
	return n
}

func TestCheckinSessionRules(t *testing.T) {
	f := newFixture(t)
	trainer := f.NewCaller(server.RoleTrainer, "")
	fence := &courses.Geofence{Lat: 26.41, Lng: 103.30, RadiusM: 100}
	sess := f.session(trainer, 0, fence)
	_, me := f.trainee(t, 0, 0)
	c := f.code(t, trainer, sess.ID)
	try := func(in map[string]any) *testkit.Response {
		in["session_id"], in["code"] = sess.ID, c.Code
		in["client_id"] = fmt.Sprintf("x%d", time.Now().UnixNano())
		return f.Do(me, "POST", "/api/v1/checkins", in)
	}
	try(map[string]any{}).Want(t, 400)                                                   // no position
	try(map[string]any{"lat": 26.42, "lng": 103.30}).Want(t, 400)                        // ~1.1 km away
	try(map[string]any{"lat": 26.4145, "lng": 103.30, "accuracy": 10000.0}).Want(t, 400) // 500 m: the claimed accuracy is capped at 200 m
	if p := f.progress(t); p.PersonTimes != 0 {
		t.Fatalf("counted %d", p.PersonTimes)
	}
	try(map[string]any{"lat": 26.4115, "lng": 103.30, "accuracy": 80.0}).Want(t, 201) // 167 m, within 100 m + 80 m
}

func TestOfflineBatch(t *testing.T) {
	f := newFixture(t)
	trainer := f.NewCaller(server.RoleTrainer, "")
	sess := f.session(trainer, 0, nil)
	_, me := f.trainee(t, 0, 0)
	scanned := f.now
	c := f.code(t, trainer, sess.ID)
	// Minutes later, back in signal.
	f.now = f.now.Add(7 * time.Minute)
	batch := map[string]any{"checkins": []map[string]any{{"session_id": sess.ID, "code": c.Code, "client_id": "off-1", "scanned_at": scanned}}}
	var out struct {
		Results []struct {
			ClientID, Status string
			Already          bool
			Error            *server.Error
		}
	}
	f.Do(me, "POST", "/api/v1/checkins/batch", batch).Want(t, 200).Decode(t, &out)
	if len(out.Results) != 1 || out.Results[0].Status != "present" || out.Results[0].Already {
		t.Fatalf("first upload %+v", out)
	}
	f.Do(me, "POST", "/api/v1/checkins/batch", batch).Want(t, 200).Decode(t, &out)
	if out.Results[0].Status != "present" || !out.Results[0].Already {
		t.Fatalf("second upload %+v", out)
	}
	// The same code sent live after expiry is refused, for anyone.
	_, you := f.trainee(t, 0, 1)
	f.Do(you, "POST", "/api/v1/checkins", map[string]any{"session_id": sess.ID, "code": c.Code, "client_id": "live"}).Want(t, 400)
	// A payload from outside the session's time is refused offline too.
	early := f.s.Payload(sess.ID, windowOf(sess.StartsAt.Add(-time.Hour)))
	f.Do(you, "POST", "/api/v1/checkins/batch", map[string]any{"checkins": []map[string]any{{"code": early, "client_id": "early"}}}).Want(t, 200).Decode(t, &out)
	if out.Results[0].Error == nil {
		t.Fatalf("early payload accepted %+v", out)
	}
	if p := f.progress(t); p.PersonTimes != 1 {
		t.Fatalf("person-times %d", p.PersonTimes)
	}
	f.noDrift(t)
}

func TestConcurrentCheckins(t *testing.T) {
	f := newFixture(t)
	trainer := f.NewCaller(server.RoleTrainer, "")
	sessions := []*courses.Session{f.session(trainer, 0, nil), f.session(trainer, 0, nil)}
	var callers []*testkit.Caller
	for i := 0; i < 60; i++ {
		_, c := f.trainee(t, i%5, i%3, []string{GroupPoverty, GroupYouth}[i%2])
		callers = append(callers, c)
	}
	codes := []CheckinCode{f.code(t, trainer, sessions[0].ID), f.code(t, trainer, sessions[1].ID)}
	var wg sync.WaitGroup
	statuses := make([]int, 200)
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			k := i % 2
			cl := callers[(i/2)%len(callers)] // 60 trainees × 2 sessions, with repeats
			r := f.Do(cl, "POST", "/api/v1/checkins", map[string]any{"session_id": sessions[k].ID, "code": codes[k].Code, "client_id": fmt.Sprintf("c%d", i%150)})
			statuses[i] = r.Status
		}(i)
	}
	wg.Wait()
	created := 0
	for _, s := range statuses {
		if s == 201 {
			created++
		} else if s != 200 {
			t.Fatalf("status %d", s)
		}
	}
	recs := f.records(t)
	p := f.progress(t)
	if int64(created) != recs || p.PersonTimes != recs || recs != 120 || p.Trainees != 60 {
		t.Fatalf("created %d, records %d, counters %+v", created, recs, p)
	}
	var byT int64
	for _, n := range p.ByTownship {
		byT += n
	}
	if byT != recs || p.ByGroup[GroupPoverty]+p.ByGroup[GroupYouth] != recs {
		t.Fatalf("break-downs %+v", p)
	}
	f.noDrift(t)
}

func TestWalkInCapacity(t *testing.T) {
	f := newFixture(t)
	trainer := f.NewCaller(server.RoleTrainer, "")
	sess := f.session(trainer, 3, nil)
	c := f.code(t, trainer, sess.ID)
	var wg sync.WaitGroup
	var mu sync.Mutex
	got := map[int]int{}
	for i := 0; i < 8; i++ {
		_, cl := f.trainee(t, 0, i%3)
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r := f.Do(cl, "POST", "/api/v1/checkins", map[string]any{"session_id": sess.ID, "code": c.Code, "client_id": "w"})
			mu.Lock()
			got[r.Status]++
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	if got[201] != 3 || got[409] != 5 {
		t.Fatalf("statuses %v", got)
	}
	// Staff enrolment is refused when the course is full.
	tr, _ := f.trainee(t, 0, 0)
	f.Do(f.Admin, "POST", "/api/v1/courses/"+sess.CourseID+"/enrollments", map[string]any{"trainee_id": tr.ID}).Want(t, 409)
	f.noDrift(t)
}

func TestCancelledAndNotStarted(t *testing.T) {
	f := newFixture(t)
	trainer := f.NewCaller(server.RoleTrainer, "")
	sess := f.session(trainer, 0, nil)
	_, me := f.trainee(t, 0, 0)
	c := f.code(t, trainer, sess.ID)
	f.mc.Update(sess.ID, func(s *courses.Session) { s.StartsAt = f.now.Add(time.Hour) })
	f.Do(me, "POST", "/api/v1/checkins", map[string]any{"session_id": sess.ID, "code": c.Code, "client_id": "a"}).Want(t, 400)
	f.mc.Update(sess.ID, func(s *courses.Session) { s.StartsAt = f.now.Add(-time.Hour); s.Cancelled = true })
	f.Do(me, "POST", "/api/v1/checkins", map[string]any{"session_id": sess.ID, "code": c.Code, "client_id": "b"}).Want(t, 400)
	f.Do(trainer, "GET", "/api/v1/sessions/"+sess.ID+"/checkin-code", nil).Want(t, 409)
	// Staff may not check in as a trainee.
	f.Do(trainer, "POST", "/api/v1/checkins", map[string]any{"session_id": sess.ID, "code": c.Code, "client_id": "c"}).Want(t, 403)
	if p := f.progress(t); p.PersonTimes != 0 {
		t.Fatalf("counted %d", p.PersonTimes)
	}
}
