package stations

import (
	"sync"
	"testing"
	"time"

	"nongxun/server"
	"nongxun/store"
	"nongxun/testkit"
)

func TestMain(m *testing.M) { store.RunTests(m) }

type fixture struct {
	*testkit.Env
	S *Service
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	env := testkit.New(t)
	s, err := New(env.Ctx, Deps{Store: env.Store, Config: env.Config, Regions: env.Regions, Audit: env.Audit, Users: env.Users, Log: env.Log})
	if err != nil {
		t.Fatal(err)
	}
	s.Register(env.API)
	return &fixture{Env: env, S: s}
}

// base is a time safely in the past from which test steps are dated.
var base = time.Now().UTC().Add(-72 * time.Hour).Truncate(time.Second)

func at(h int) string { return base.Add(time.Duration(h) * time.Hour).Format(time.RFC3339) }

var allChecks = map[string]bool{"area": true, "computer": true, "display": true, "recorder": true, "baskets": true, "notice_board": true, "door_sign": true}

// station creates a station through the API and returns its id.
func (f *fixture) station(kind, regionID, origin string) string {
	f.T.Helper()
	r := f.Do(f.Admin, "POST", "/api/v1/stations", map[string]any{"name": kind + "站" + regionID[18:], "kind": kind, "region_id": regionID, "origin": origin}).Want(f.T, 201)
	return r.JSON()["id"].(string)
}

// walk moves a station through the statuses up to and including to.
func (f *fixture) walk(id, to string) {
	f.T.Helper()
	for i, st := range []string{StatusBuilt, StatusAccepted, StatusOperating, StatusClosed} {
		body := map[string]any{"status": st, "at": at(i + 1)}
		if st == StatusAccepted {
			body["inspector"], body["checklist"] = "县工信局 张三", allChecks
		}
		f.Do(f.Admin, "POST", "/api/v1/stations/"+id+"/status", body).Want(f.T, 200)
		if st == to {
			return
		}
	}
}

// operating creates a station and runs it to operating.
func (f *fixture) operating(kind, regionID string) string {
	f.T.Helper()
	id := f.station(kind, regionID, OriginNew)
	f.walk(id, StatusOperating)
	return id
}

func (f *fixture) coverage(c *testkit.Caller, q string) Coverage {
	f.T.Helper()
	var cv Coverage
	f.Do(c, "GET", "/api/v1/stations/coverage"+q, nil).Want(f.T, 200).Decode(f.T, &cv)
	return cv
}

func (f *fixture) rule(r *testkit.Response) string {
	e, _ := r.JSON()["error"].(map[string]any)
	s, _ := e["rule"].(string)
	return s
}

func admin() *server.Principal { return &server.Principal{UserID: "admin", Role: server.RoleAdmin} }

// race runs do n times at once and counts the 201s; any status but 201
// and 409 fails the test.
func race(t testing.TB, n int, do func() int) int {
	t.Helper()
	var wg sync.WaitGroup
	codes := make([]int, n)
	for i := range codes {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			codes[i] = do()
		}(i)
	}
	wg.Wait()
	ok := 0
	for _, c := range codes {
		if c == 201 {
			ok++
		} else if c != 409 {
			t.Fatalf("status %d", c)
		}
	}
	return ok
}
