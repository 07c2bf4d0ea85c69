package enrollment

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"nongxun/courses"
	"nongxun/events"
	"nongxun/server"
	"nongxun/store"
	"nongxun/testkit"
)

// course adds a published course with one session per start offset (from f.now), of capacity.
func (f *fixture) course(trainer string, capacity int, starts ...time.Duration) (*courses.Course, []*courses.Session) {
	c := f.mc.AddCourse("电商直播带货")
	v := f.Village(0, 0)
	var ss []*courses.Session
	for _, d := range starts {
		ss = append(ss, f.mc.AddSession(courses.Session{CourseID: c.ID, StartsAt: f.now.Add(d), EndsAt: f.now.Add(d + 2*time.Hour),
			RegionID: v.ID, TownshipID: v.ParentID, TrainerID: trainer, Capacity: capacity}))
	}
	return c, ss
}

func errRule(r interface{ JSON() map[string]any }) string {
	e, _ := r.JSON()["error"].(map[string]any)
	s, _ := e["rule"].(string)
	return s
}

func TestEnrolmentRules(t *testing.T) {
	f := newFixture(t)
	trainer := f.NewCaller(server.RoleTrainer, "")
	c, _ := f.course(trainer.User.ID, 2, 24*time.Hour)
	a, me := f.trainee(t, 0, 0)
	b, _ := f.trainee(t, 0, 1)
	x, _ := f.trainee(t, 0, 2)
	path := "/api/v1/courses/" + c.ID + "/enrollments"

	// A trainee enrols themself; a second time answers "已报名".
	r := f.Do(me, "POST", path, map[string]any{}).Want(t, 201)
	if r.JSON()["message"] != "报名成功" {
		t.Fatalf("first enrolment %s", r.Body)
	}
	r = f.Do(me, "POST", path, map[string]any{}).Want(t, 200)
	if r.JSON()["already"] != true || !strings.Contains(string(r.Body), "已报名") {
		t.Fatalf("second enrolment %s", r.Body)
	}
	f.Do(me, "POST", path, map[string]any{"trainee_id": b.ID}).Want(t, 403)
	// Full: the second place goes to b, x is refused in Chinese.
	f.Do(f.Admin, "POST", path, map[string]any{"trainee_id": b.ID}).Want(t, 201)
	r = f.Do(f.Admin, "POST", path, map[string]any{"trainee_id": x.ID}).Want(t, 409)
	if errRule(r) != "course_full" || !strings.Contains(string(r.Body), "名额已满") {
		t.Fatalf("full course %s", r.Body)
	}
	// Status for the trainee page: no places left, enrolled, may cancel.
	var st struct{ Items []CourseStatus }
	f.Do(me, "GET", "/api/v1/enrollment-status?course_ids="+c.ID, nil).Want(t, 200).Decode(t, &st)
	if len(st.Items) != 1 || *st.Items[0].PlacesLeft != 0 || st.Items[0].Open || st.Items[0].Mine == nil || !*st.Items[0].Mine || !st.Items[0].CanCancel {
		t.Fatalf("status %+v", st.Items)
	}
	f.Do(me, "GET", "/api/v1/enrollment-status?course_ids=nope", nil).Want(t, 400)
	// Cancelling frees the place; the counter stays exact.
	f.Do(me, "DELETE", path+"/me", nil).Want(t, 200)
	f.Do(me, "DELETE", path+"/me", nil).Want(t, 404)
	f.Do(f.Admin, "POST", path, map[string]any{"trainee_id": x.ID}).Want(t, 201)
	if ok, _ := f.s.IsEnrolled(f.Ctx, c.ID, a.ID); ok {
		t.Fatal("cancelled enrolment still there")
	}
	n, _, err := f.s.CourseCounts(f.Ctx, c.ID)
	if err != nil || n != 2 {
		t.Fatalf("enrolled counter %d %v", n, err)
	}
	ids, err := f.s.EnrolledTrainees(f.Ctx, c.ID)
	if err != nil || len(ids) != 2 {
		t.Fatalf("enrolled list %v %v", ids, err)
	}
	f.noDrift(t)

	// Once the course has started a trainee cannot cancel alone; staff can
	// while the trainee has no attendance.
	f.now = f.now.Add(25 * time.Hour)
	r = f.Do(f.NewCallerFor(t, b), "DELETE", path+"/me", nil).Want(t, 409)
	if errRule(r) != "course_started" {
		t.Fatalf("cancel after start %s", r.Body)
	}
	f.Do(f.Admin, "DELETE", path+"/"+b.ID, nil).Want(t, 200)
	// Finished: enrolment refused (the admin may still back-fill paper records).
	f.now = f.now.Add(3 * time.Hour)
	r = f.Do(f.NewCaller(server.RoleOfficer, f.Township(0).ID), "POST", path, map[string]any{"trainee_id": a.ID}).Want(t, 409)
	if errRule(r) != "course_finished" || !strings.Contains(string(r.Body), "课程已结束") {
		t.Fatalf("finished course %s", r.Body)
	}
	r = f.Do(f.NewCallerFor(t, a), "POST", path, map[string]any{}).Want(t, 409)
	if errRule(r) != "course_finished" {
		t.Fatalf("trainee into a finished course %s", r.Body)
	}
	f.Do(f.Admin, "POST", path, map[string]any{"trainee_id": a.ID}).Want(t, 201)
	f.noDrift(t)
}

// NewCallerFor signs a trainee token for a trainee made by f.trainee.
func (f *fixture) NewCallerFor(t testing.TB, tr *Trainee) *testkit.Caller {
	tok, err := f.Tokens.Issue(server.Principal{UserID: tr.UserID, Role: server.RoleTrainee})
	if err != nil {
		t.Fatal(err)
	}
	return &testkit.Caller{Token: tok}
}

func TestStaffEnrolsMany(t *testing.T) {
	f := newFixture(t)
	trainer := f.NewCaller(server.RoleTrainer, "")
	c, _ := f.course(trainer.User.ID, 3, 24*time.Hour)
	a, _ := f.trainee(t, 0, 0)
	b, _ := f.trainee(t, 0, 1)
	far, _ := f.trainee(t, 1, 0)
	d, _ := f.trainee(t, 0, 2)
	e, _ := f.trainee(t, 0, 3)
	officer := f.NewCaller(server.RoleOfficer, f.Township(0).ID)
	f.Do(officer, "POST", "/api/v1/courses/"+c.ID+"/enrollments", map[string]any{"trainee_id": a.ID}).Want(t, 201)
	var rep struct {
		Enrolled int
		Rows     []EnrolRow
	}
	f.Do(officer, "POST", "/api/v1/courses/"+c.ID+"/enrollments", map[string]any{"trainee_ids": []string{a.ID, b.ID, far.ID, "bad", store.NewID(), d.ID, e.ID}}).
		Want(t, 200).Decode(t, &rep)
	want := map[string]string{a.ID: "already", b.ID: "enrolled", far.ID: "refused", "bad": "refused", d.ID: "enrolled", e.ID: "refused"}
	if rep.Enrolled != 2 || len(rep.Rows) != 7 {
		t.Fatalf("report %+v", rep)
	}
	for _, r := range rep.Rows {
		if w, ok := want[r.TraineeID]; ok && r.Status != w {
			t.Errorf("%s: %s (%s), want %s", r.Name, r.Status, r.Reason, w)
		}
		if r.Status == "refused" && r.Reason == "" || r.Label == "" {
			t.Errorf("row without a reason or label: %+v", r)
		}
		if r.TraineeID == e.ID && !strings.Contains(r.Reason, "名额已满") {
			t.Errorf("full row %+v", r)
		}
		if r.TraineeID == a.ID && r.Label != "已报名" {
			t.Errorf("already row %+v", r)
		}
	}
	f.noDrift(t)
}

func TestTypedCodeForAnyTrainee(t *testing.T) {
	f := newFixture(t)
	trainer := f.NewCaller(server.RoleTrainer, "")
	sess := f.session(trainer, 0, nil)
	tr, me := f.trainee(t, 2, 0) // enrolled nowhere
	digits := f.code(t, trainer, sess.ID).Digits
	r := f.Do(me, "POST", "/api/v1/checkins", map[string]any{"code": digits, "client_id": "t1"}).Want(t, 201)
	if r.JSON()["walk_in"] != true {
		t.Fatalf("typed code %s", r.Body)
	}
	if ok, _ := f.s.IsEnrolled(f.Ctx, sess.CourseID, tr.ID); !ok {
		t.Fatal("not enrolled as a walk-in")
	}
	// A wrong code: one clear message, said once.
	_, you := f.trainee(t, 2, 1)
	wrong := "000000"
	if digits == wrong {
		wrong = "000001"
	}
	r = f.Do(you, "POST", "/api/v1/checkins", map[string]any{"code": wrong, "client_id": "t2"}).Want(t, 400)
	e, _ := r.JSON()["error"].(map[string]any)
	m, _ := e["message"].(string)
	if strings.Count(string(r.Body), "不正确") != 1 || !strings.Contains(m, "6 位数字") {
		t.Fatalf("wrong code message %s", r.Body)
	}
	// A restarted service (nothing in memory) finds the session the same way.
	s2, err := New(f.Ctx, Deps{Store: f.Store, Config: f.Config, Regions: f.Regions, Users: f.Users, Audit: f.Audit, Log: f.Log, Courses: f.mc})
	if err != nil {
		t.Fatal(err)
	}
	s2.SetClock(f.clock)
	t3, _ := f.trainee(t, 3, 0)
	res, created, err := s2.Checkin(f.Ctx, t3, CheckinIn{Code: digits, ClientID: "t3"}, false)
	if err != nil || !created || !res.WalkIn {
		t.Fatalf("after a restart: %+v %v %v", res, created, err)
	}
	f.noDrift(t)
}

func TestDuplicateCheckinOneAnswer(t *testing.T) {
	f := newFixture(t)
	trainer := f.NewCaller(server.RoleTrainer, "")
	sess := f.session(trainer, 0, nil)
	_, me := f.trainee(t, 0, 0)
	c := f.code(t, trainer, sess.ID)
	var wg sync.WaitGroup
	bodies := make([]string, 6)
	statuses := make([]int, 6)
	for i := range bodies {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r := f.Do(me, "POST", "/api/v1/checkins", map[string]any{"session_id": sess.ID, "code": c.Code, "client_id": "same"})
			statuses[i], bodies[i] = r.Status, string(r.Body)
		}(i)
	}
	wg.Wait()
	created := 0
	for i, b := range bodies {
		if !strings.Contains(b, `"status":"present"`) {
			t.Fatalf("copy %d answered %d %s", i, statuses[i], b)
		}
		if statuses[i] == 201 {
			created++
		}
	}
	if created != 1 || f.records(t) != 1 {
		t.Fatalf("created %d, records %d", created, f.records(t))
	}
	f.noDrift(t)
}

func TestCourseFinishedEvent(t *testing.T) {
	f := newFixture(t)
	var mu sync.Mutex
	got := map[string]events.Finished{}
	f.Store.Events().Subscribe(events.CourseFinished, "test", func(ctx context.Context, e store.Event) error {
		var x events.Finished
		if err := e.Decode(&x); err != nil {
			return err
		}
		mu.Lock()
		got[e.Key] = x
		mu.Unlock()
		return nil
	})
	f.Store.Events().Start()
	trainer := f.NewCaller(server.RoleTrainer, "")
	sess := f.session(trainer, 0, nil)
	a, _ := f.trainee(t, 0, 0)
	b, _ := f.trainee(t, 0, 1)
	if _, err := f.s.RollCall(f.Ctx, sess, []string{a.ID}, trainer.User.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Enroll(f.Ctx, sess.CourseID, b, "x"); err != nil {
		t.Fatal(err)
	}
	if err := f.s.CheckFinished(f.Ctx); err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(3 * time.Hour)
	for i := 0; i < 2; i++ { // twice: published once
		if err := f.s.CheckFinished(f.Ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Store.Events().Wait(f.Ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[sess.CourseID+"/"+a.ID].TraineeID != a.ID {
		t.Fatalf("events %+v", got)
	}
}
