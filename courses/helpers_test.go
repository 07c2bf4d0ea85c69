package courses

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"nongxun/server"
	"nongxun/store"
	"nongxun/testkit"
)

func TestMain(m *testing.M) { store.RunTests(m) }

// fixture is a running API with the courses routes and a blob directory the test can inspect.
type fixture struct {
	*testkit.Env
	svc     *Service
	blobDir string
	trainer *testkit.Caller
	trainee *testkit.Caller
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	env := testkit.New(t)
	dir := filepath.Join(t.TempDir(), "blobs")
	blobs, err := store.NewFileBlobs(env.Store, dir)
	if err != nil {
		t.Fatal(err)
	}
	env.Store.Blobs = blobs
	svc, err := New(env.Ctx, Deps{Store: env.Store, Config: env.Config, Regions: env.Regions, Users: env.Users, Audit: env.Audit, Log: env.Log})
	if err != nil {
		t.Fatal(err)
	}
	svc.Register(env.API)
	return &fixture{Env: env, svc: svc, blobDir: dir,
		trainer: env.NewCaller(server.RoleTrainer, ""), trainee: env.NewCaller(server.RoleTrainee, "")}
}

// course creates a course as caller and returns its id; a course the
// admin makes gets the fixture's trainer assigned.
func (f *fixture) course(caller *testkit.Caller, published bool) string {
	f.T.Helper()
	r := f.Do(caller, "POST", "/api/v1/courses", map[string]any{"title": "网店开设入门", "description": "从注册到上架",
		"category": "网店开设", "hours": 8, "pass_ratio": 0.8, "published": published}).Want(f.T, http.StatusCreated)
	id := r.JSON()["id"].(string)
	if caller == f.Admin {
		f.Do(f.Admin, "PUT", "/api/v1/courses/"+id+"/trainers", map[string]any{"trainer_ids": []string{f.trainer.User.ID}}).Want(f.T, 200)
	}
	return id
}

// at is a time n hours from now (rounded to the minute) in RFC 3339.
func at(h float64) string {
	return time.Now().Add(time.Duration(h * float64(time.Hour))).Truncate(time.Minute).Format(time.RFC3339)
}

func (f *fixture) sessionBody(startH, endH float64, capacity int) map[string]any {
	return map[string]any{"starts_at": at(startH), "ends_at": at(endH), "location": "乡政府会议室",
		"region_id": f.Village(0, 0).ID, "capacity": capacity}
}

// session creates a session as the fixture's trainer.
func (f *fixture) session(courseID string, startH, endH float64) string {
	f.T.Helper()
	r := f.Do(f.trainer, "POST", "/api/v1/courses/"+courseID+"/sessions", f.sessionBody(startH, endH, 30)).Want(f.T, http.StatusCreated)
	return r.JSON()["id"].(string)
}

// files lists every regular file under the blob directory (tmp included).
func (f *fixture) files() []string {
	f.T.Helper()
	var out []string
	_ = filepath.Walk(f.blobDir, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			out = append(out, p)
		}
		return nil
	})
	return out
}

func (f *fixture) tmpFiles() []string {
	f.T.Helper()
	es, err := os.ReadDir(filepath.Join(f.blobDir, "tmp"))
	if err != nil {
		f.T.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

func errField(r *testkit.Response, field string) string {
	e, _ := r.JSON()["error"].(map[string]any)
	fs, _ := e["fields"].(map[string]any)
	s, _ := fs[field].(string)
	return s
}

func must(t *testing.T, ok bool, format string, args ...any) {
	t.Helper()
	if !ok {
		t.Fatalf(format, args...)
	}
}
