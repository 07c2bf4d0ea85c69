package certificates

import (
	"fmt"
	"os/exec"
	"sync/atomic"
	"testing"
	"time"

	"nongxun/courses"
	"nongxun/enrollment"
	"nongxun/server"
	"nongxun/store"
	"nongxun/testkit"
)

func TestMain(m *testing.M) { store.RunTests(m) }

// fixture is a running API with courses, enrollment and certificates.
type fixture struct {
	*testkit.Env
	courses *courses.Service
	enroll  *enrollment.Service
	svc     *Service
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	env := testkit.New(t)
	cs, err := courses.New(env.Ctx, courses.Deps{Store: env.Store, Config: env.Config, Regions: env.Regions, Users: env.Users, Audit: env.Audit, Log: env.Log})
	if err != nil {
		t.Fatal(err)
	}
	es, err := enrollment.New(env.Ctx, enrollment.Deps{Store: env.Store, Config: env.Config, Regions: env.Regions, Users: env.Users, Audit: env.Audit, Log: env.Log, Courses: cs})
	if err != nil {
		t.Fatal(err)
	}
	env.Config.PublicURL = "https://nx.example.cn"
	env.Config.Issuer = "会泽县电子商务进农村综合示范项目办公室"
	svc, err := New(env.Ctx, Deps{Store: env.Store, Config: env.Config, Regions: env.Regions, Audit: env.Audit, Log: env.Log,
		Courses: cs, Roster: EnrollmentRoster{S: es}})
	if err != nil {
		t.Fatal(err)
	}
	svc.Register(env.API)
	svc.RegisterPublic(env.App)
	return &fixture{Env: env, courses: cs, enroll: es, svc: svc}
}

func admin(f *fixture) *server.Principal {
	p := f.Admin.User.Principal()
	return &p
}

// course makes a course with sessions that started daysAgo[i] days ago
// (negative: in the future), taught by a new trainer, and returns it.
func (f *fixture) course(title string, passRatio float64, daysAgo ...int) (*courses.Course, []courses.Session, *testkit.Caller) {
	f.T.Helper()
	hours, cat, pub := 24.0, "网店开设", true
	c, err := f.courses.CreateCourse(f.Ctx, admin(f), courses.CourseInput{Title: &title, Category: &cat, Hours: &hours, PassRatio: &passRatio, Published: &pub})
	if err != nil {
		f.T.Fatal(err)
	}
	trainer := f.NewCaller(server.RoleTrainer, "")
	var out []courses.Session
	for _, d := range daysAgo {
		start := time.Now().Add(-time.Duration(d)*24*time.Hour - time.Hour).Truncate(time.Minute)
		s1, s2 := start.Format(time.RFC3339), start.Add(50*time.Minute).Format(time.RFC3339)
		loc, reg, tr, capa := "乡政府会议室", f.Village(0, 0).ID, trainer.User.ID, 0
		x, err := f.courses.CreateSession(f.Ctx, admin(f), c.ID, courses.SessionInput{StartsAt: &s1, EndsAt: &s2, Location: &loc, RegionID: &reg, TrainerID: &tr, Capacity: &capa})
		if err != nil {
			f.T.Fatal(err)
		}
		out = append(out, *x)
	}
	return c, out, trainer
}

var idSeq atomic.Int64

// idNumber makes a valid GB 11643 resident ID number, different each call.
func idNumber() string {
	n := idSeq.Add(1)
	d17 := fmt.Sprintf("530326%s%03d", time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(n%15000)).Format("20060102"), n%1000)
	w := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, c := range d17 {
		sum += int(c-'0') * w[i]
	}
	return d17 + string("10X98765432"[sum%11])
}

var phoneSeq atomic.Int64

// trainee registers a trainee (with a login account) in the i-th township.
func (f *fixture) trainee(name string, township int) (*enrollment.Trainee, *testkit.Caller) {
	f.T.Helper()
	phone := fmt.Sprintf("138%08d", phoneSeq.Add(1))
	r, err := f.enroll.AddTrainee(f.Ctx, enrollment.NewTrainee{Name: name, IDNumber: idNumber(), Phone: phone,
		RegionID: f.Village(township, 0).ID, Password: "password-123"}, true, "staff", f.Admin.User.ID)
	if err != nil {
		f.T.Fatalf("%v %v", err, server.ToError(err).Fields)
	}
	u, err := f.Users.Get(f.Ctx, r.Trainee.UserID)
	if err != nil {
		f.T.Fatal(err)
	}
	return &r.Trainee, f.CallerFor(u)
}

// plainTrainee registers a trainee without a login account (quicker).
func (f *fixture) plainTrainee(name string, township int) *enrollment.Trainee {
	f.T.Helper()
	r, err := f.enroll.AddTrainee(f.Ctx, enrollment.NewTrainee{Name: name, IDNumber: idNumber(), Phone: fmt.Sprintf("137%08d", phoneSeq.Add(1)),
		RegionID: f.Village(township, 0).ID}, false, "staff", f.Admin.User.ID)
	if err != nil {
		f.T.Fatalf("%v %v", err, server.ToError(err).Fields)
	}
	return &r.Trainee
}

// enrol puts trainees on the course and marks them present at the given sessions.
func (f *fixture) enrol(c *courses.Course, sessions []courses.Session, present []int, ts ...*enrollment.Trainee) {
	f.T.Helper()
	for _, t := range ts {
		if _, err := f.enroll.Enroll(f.Ctx, c.ID, t, f.Admin.User.ID); err != nil {
			f.T.Fatal(err)
		}
	}
	ids := make([]string, len(ts))
	for i, t := range ts {
		ids[i] = t.ID
	}
	for _, i := range present {
		if _, err := f.enroll.RollCall(f.Ctx, &sessions[i], ids, f.Admin.User.ID); err != nil {
			f.T.Fatal(err)
		}
	}
}

// issueAll issues a course's certificates through the API as admin.
func (f *fixture) issueAll(courseID string) IssueResult {
	f.T.Helper()
	var res IssueResult
	f.Do(f.Admin, "POST", "/api/v1/courses/"+courseID+"/certificates", map[string]any{}).Want(f.T, 200).Decode(f.T, &res)
	return res
}

func (f *fixture) count() int64 {
	f.T.Helper()
	n, err := f.svc.certs.Count(f.Ctx, map[string]any{})
	if err != nil {
		f.T.Fatal(err)
	}
	return n
}

func needBin(t testing.TB, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			t.Fatalf("%s not installed (scripts/deps.sh installs poppler-utils and zbar-tools)", n)
		}
	}
}
