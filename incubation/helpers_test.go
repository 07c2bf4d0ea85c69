package incubation

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/certificates"
	"nongxun/events"
	"nongxun/server"
	"nongxun/store"
	"nongxun/testkit"
)

func TestMain(m *testing.M) { store.RunTests(m) }

// memTrainees is an in-memory trainee register standing in for the
// enrollment package (the database under test is real; only the other
// package is not).
type memTrainees struct {
	mu      sync.Mutex
	byID    map[string]*Trainee
	trained map[string]bool
}

func newMemTrainees() *memTrainees {
	return &memTrainees{byID: map[string]*Trainee{}, trained: map[string]bool{}}
}

func (m *memTrainees) add(t Trainee) *Trainee {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t.ID == "" {
		t.ID = store.NewID()
	}
	m.byID[t.ID] = &t
	return &t
}

func (m *memTrainees) train(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.trained[id] = true
}

func (m *memTrainees) Trainee(_ context.Context, id string) (*Trainee, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.byID[id]
	if !ok {
		return nil, server.NotFound("学员不存在")
	}
	c := *t
	return &c, nil
}

func (m *memTrainees) TraineeByUser(_ context.Context, uid string) (*Trainee, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, t := range m.byID {
		if t.UserID == uid && uid != "" {
			c := *t
			return &c, nil
		}
	}
	return nil, server.NotFound("学员不存在")
}

func (m *memTrainees) Trained(_ context.Context, twp string) (*Trained, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := &Trained{ByTownship: map[string]int64{}, ByGroup: map[string]int64{}}
	for id := range m.trained {
		t := m.byID[id]
		if twp != "" && t.TownshipID != twp {
			continue
		}
		out.Total++
		out.ByTownship[t.TownshipID]++
		for _, g := range t.Groups {
			out.ByGroup[g]++
		}
	}
	return out, nil
}

// fixedAssignees assigns every course to one trainer.
type fixedAssignees struct{ trainer string }

func (a fixedAssignees) CourseTrainer(context.Context, string) string { return a.trainer }

// testClock is a settable test clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// env is one test's API with the incubation package registered.
type env struct {
	*testkit.Env
	svc      *Service
	trainees *memTrainees
	clock    *testClock
	trainer  *testkit.Caller
	officer  *testkit.Caller // of township 0
	officer1 *testkit.Caller // of township 1
}

// start is 2019-06-15 10:00 Asia/Shanghai.
var start = time.Date(2019, 6, 15, 2, 0, 0, 0, time.UTC)

func newEnv(t testing.TB) *env {
	t.Helper()
	k := testkit.New(t)
	e := &env{Env: k, trainees: newMemTrainees(), clock: &testClock{t: start}}
	e.trainer = k.NewCaller(server.RoleTrainer, "")
	e.officer = k.NewCaller(server.RoleOfficer, k.Township(0).ID)
	e.officer1 = k.NewCaller(server.RoleOfficer, k.Township(1).ID)
	svc, err := New(k.Ctx, Deps{Store: k.Store, Regions: k.Regions, Audit: k.Audit, Log: k.Log, Trainees: e.trainees,
		Assignees: fixedAssignees{trainer: e.trainer.User.ID}, Now: e.clock.now})
	if err != nil {
		t.Fatal(err)
	}
	svc.Register(k.API)
	e.svc = svc
	return e
}

// trainee adds a trainee living in village j of township i.
func (e *env) trainee(i, j int, groups ...string) *Trainee {
	v := e.Village(i, j)
	n := len(e.trainees.byID) + 1
	return e.trainees.add(Trainee{Name: fmt.Sprintf("学员%d", n), Phone: fmt.Sprintf("1380000%04d", n), RegionID: v.ID, TownshipID: v.ParentID, Groups: groups})
}

var urlSeq struct {
	sync.Mutex
	n int
}

func nextURL() string {
	urlSeq.Lock()
	defer urlSeq.Unlock()
	urlSeq.n++
	return fmt.Sprintf("https://shop%d.taobao.com/", urlSeq.n)
}

// shop registers a shop for t as admin and returns its id.
func (e *env) shop(t *Trainee) string {
	e.T.Helper()
	r := e.Do(e.Admin, "POST", "/api/v1/shops", map[string]any{"trainee_id": t.ID, "platform": "taobao", "name": t.Name + "的店",
		"url": nextURL(), "opened_on": "2019-01-10"}).Want(e.T, 201)
	return r.JSON()["id"].(string)
}

func (e *env) sale(shopID, month string, orders, rev int64) *testkit.Response {
	e.T.Helper()
	return e.Do(e.Admin, "POST", "/api/v1/shops/"+shopID+"/sales", map[string]any{"month": month, "orders": orders, "revenue_fen": rev})
}

func (e *env) conversion(caller *testkit.Caller, q string) *Conversion {
	e.T.Helper()
	var c Conversion
	e.Do(caller, "GET", "/api/v1/conversion"+q, nil).Want(e.T, 200).Decode(e.T, &c)
	return &c
}

// recountOK fails the test unless a recount finds the counters equal to the records.
func (e *env) recountOK() {
	e.T.Helper()
	var r RecountResult
	e.Do(e.Admin, "POST", "/api/v1/conversion/recount?fix=false", nil).Want(e.T, 200).Decode(e.T, &r)
	if !r.OK {
		e.T.Fatalf("recount disagrees with the counters: %v", r.Differences)
	}
}

// event wraps a payload as the bus hands it to a handler.
func event(t testing.TB, topic, key string, payload any) store.Event {
	t.Helper()
	raw, err := bson.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	return store.Event{ID: topic + "/incubation/" + key, Topic: topic, Sub: "incubation", Key: key, Payload: raw}
}

// issued delivers a certificate.issued event to the handler.
func (e *env) issued(c certificates.Certificate) {
	e.T.Helper()
	ev := event(e.T, events.CertificateIssued, c.ID, events.Certificate{ID: c.ID, Serial: c.Serial, TraineeID: c.TraineeID, CourseID: c.CourseID, IssuedAt: c.IssuedAt})
	if err := e.svc.OnCertificateIssued(e.Ctx, ev); err != nil {
		e.T.Errorf("certificate.issued: %v", err)
	}
}

// revoked delivers a certificate.revoked event to the handler.
func (e *env) revoked(c certificates.Certificate, othersValid int64) {
	e.T.Helper()
	ev := event(e.T, events.CertificateRevoked, c.ID, events.Certificate{ID: c.ID, TraineeID: c.TraineeID, CourseID: c.CourseID, OthersValid: othersValid})
	if err := e.svc.OnCertificateRevoked(e.Ctx, ev); err != nil {
		e.T.Errorf("certificate.revoked: %v", err)
	}
}

// finished delivers a course.finished event to the handler.
func (e *env) finished(courseID, traineeID string) {
	e.T.Helper()
	ev := event(e.T, events.CourseFinished, courseID+"/"+traineeID, events.Finished{CourseID: courseID, TraineeID: traineeID, At: e.clock.now()})
	if err := e.svc.OnCourseFinished(e.Ctx, ev); err != nil {
		e.T.Errorf("course.finished: %v", err)
	}
}
