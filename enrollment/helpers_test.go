package enrollment

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/courses"
	"nongxun/server"
	"nongxun/store"
	"nongxun/testkit"
)

func TestMain(m *testing.M) { store.RunTests(m) }

type fixture struct {
	*testkit.Env
	s   *Service
	mc  *MemCourses
	now time.Time
}

func (f *fixture) clock() time.Time { return f.now }

func newFixture(t testing.TB) *fixture {
	t.Helper()
	e := testkit.New(t)
	mc := NewMemCourses()
	s, err := New(e.Ctx, Deps{Store: e.Store, Config: e.Config, Regions: e.Regions, Users: e.Users, Audit: e.Audit, Log: e.Log, Courses: mc})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{Env: e, s: s, mc: mc, now: time.Date(2019, 5, 20, 2, 0, 10, 0, time.UTC)}
	s.SetClock(func() time.Time { return f.now })
	s.Register(e.API)
	return f
}

var idSeq atomic.Int64

// idnum makes a valid, unique 18-digit ID number.
func idnum() string {
	n := idSeq.Add(1)
	d17 := fmt.Sprintf("5303261990%02d%02d%03d", 1+n/28%12, 1+n%28, n%1000)
	return d17 + string(checkDigit(d17))
}

// trainee registers a trainee of village (township i, village j) with a
// login principal (no password hashing) and returns them with a caller.
func (f *fixture) trainee(t testing.TB, i, j int, groups ...string) (*Trainee, *testkit.Caller) {
	t.Helper()
	r, err := f.s.AddTrainee(f.Ctx, NewTrainee{Name: "学员", IDNumber: idnum(), Phone: fmt.Sprintf("136%08d", idSeq.Add(1)),
		RegionID: f.Village(i, j).ID, Groups: groups}, false, "staff", "test")
	if err != nil {
		t.Fatal(err)
	}
	uid := store.NewID()
	if _, err := f.s.trainees.UpdateOne(f.Ctx, bson.M{"_id": r.ID}, bson.M{"$set": bson.M{"user_id": uid}}); err != nil {
		t.Fatal(err)
	}
	if err := f.s.keys.InsertOne(f.Ctx, traineeKey{ID: userKey(uid), TraineeID: r.ID}); err != nil {
		t.Fatal(err)
	}
	r.Trainee.UserID = uid
	tok, err := f.Tokens.Issue(server.Principal{UserID: uid, Role: server.RoleTrainee, Name: "学员"})
	if err != nil {
		t.Fatal(err)
	}
	tr := r.Trainee
	return &tr, &testkit.Caller{Token: tok}
}

// session adds a session held around f.now by trainer.
func (f *fixture) session(trainer *testkit.Caller, capacity int, fence *courses.Geofence) *courses.Session {
	c := f.mc.AddCourse("网店运营")
	v := f.Village(0, 0)
	return f.mc.AddSession(courses.Session{CourseID: c.ID, StartsAt: f.now.Add(-10 * time.Minute), EndsAt: f.now.Add(2 * time.Hour),
		RegionID: v.ID, TownshipID: v.ParentID, TrainerID: trainer.User.ID, Capacity: capacity, Geofence: fence})
}

func (f *fixture) progress(t testing.TB) *Progress {
	t.Helper()
	p, err := f.s.Progress(f.Ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// records counts counted attendance records directly.
func (f *fixture) records(t testing.TB) int64 {
	t.Helper()
	n, err := f.s.attendance.Count(f.Ctx, bson.M{"status": bson.M{"$in": bson.A{StatusPresent, StatusLate}}})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// noDrift fails unless a recount finds every counter right.
func (f *fixture) noDrift(t testing.TB) {
	t.Helper()
	res, err := f.s.Recount(f.Ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if res.DriftTotal != 0 {
		t.Fatalf("counters drifted: %+v", res.Drift)
	}
}
