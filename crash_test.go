package main

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"nongxun/cli"
	"nongxun/enrollment"
)

// api is a JSON client of a running nongxun process that fails the test
// on a refused setup call.
type api struct {
	t *testing.T
	*cli.Client
}

func newAPI(t *testing.T, base string) *api {
	return &api{t: t, Client: cli.NewHTTP(base, "", 10*time.Second)}
}

func (a *api) call(token, method, path string, in, out any) (int, error) {
	return a.As(token).Do(method, path, in, out)
}

func (a *api) must(token, method, path string, in, out any) {
	a.t.Helper()
	if _, err := a.call(token, method, path, in, out); err != nil {
		a.t.Fatal(err)
	}
}

func (a *api) login(who, pw string) string {
	a.t.Helper()
	tok, err := a.Login(who, pw)
	if err != nil {
		a.t.Fatal(err)
	}
	return tok
}

// validID is the i-th valid test ID number.
func validID(i int) string { return enrollment.MakeIDNumber(i) }

// checkinWorld sets up a session under way with n enrolled trainees who
// can log in, and returns the session id and the trainees' phones.
func checkinWorld(t *testing.T, a *api, admin string, n int) (string, []string) {
	t.Helper()
	a.must(admin, "POST", "/regions/demo", map[string]any{}, nil)
	var villages []struct{ ID string }
	a.must(admin, "GET", "/regions?level=village", nil, &villages)
	var trainer struct{ ID string }
	a.must(admin, "POST", "/users", map[string]any{"username": "crashtrainer", "password": "trainer-pw-1", "role": "trainer", "name": "讲师"}, &trainer)
	var course struct{ ID string }
	a.must(admin, "POST", "/courses", map[string]any{"title": "网店开设基础", "description": "x", "category": "网店开设", "hours": 2, "pass_ratio": 0.5, "published": true}, &course)
	var sess struct{ ID string }
	now := time.Now().UTC()
	a.must(admin, "POST", "/courses/"+course.ID+"/sessions", map[string]any{"starts_at": now.Add(-time.Minute).Format(time.RFC3339),
		"ends_at": now.Add(2 * time.Hour).Format(time.RFC3339), "location": "村委会", "region_id": villages[0].ID, "trainer_id": trainer.ID, "capacity": n + 5}, &sess)
	phones := make([]string, n)
	for i := range phones {
		phones[i] = fmt.Sprintf("1380000%04d", i)
		var tr struct{ ID string }
		a.must(admin, "POST", "/trainees", map[string]any{"name": fmt.Sprintf("学员%d", i), "id_number": validID(i), "phone": phones[i],
			"region_id": villages[i%len(villages)].ID, "groups": []string{"poverty"}, "password": "trainee-pw-1"}, &tr)
		a.must(admin, "POST", "/courses/"+course.ID+"/enrollments", map[string]any{"trainee_id": tr.ID}, nil)
	}
	return sess.ID, phones
}

// TestCrashMidCheckinStorm kills the server with SIGKILL in the middle of
// a check-in storm, restarts it on the same DATA_DIR, and checks that
// every check-in that was answered 2xx is there, once, and that the
// person-time counters agree with the records.
func TestCrashMidCheckinStorm(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()
	port := freePort(t)
	p := start(t, bin, dir, port, "ADMIN_PASSWORD=admin-password-1")
	p.waitHealthy(t, time.Now())
	a := newAPI(t, p.url(""))
	admin := a.login("admin", "admin-password-1")
	const n = 60
	sessionID, phones := checkinWorld(t, a, admin, n)
	tokens := make([]string, n)
	for i := range tokens {
		tokens[i] = a.login(phones[i], "trainee-pw-1")
	}
	var code struct{ Code string }
	a.must(admin, "GET", "/sessions/"+sessionID+"/checkin-code", nil, &code)

	var mu sync.Mutex
	acked := map[int]bool{}
	var answered atomic.Int64
	var wg sync.WaitGroup
	killed := make(chan struct{})
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := g; i < n; i += 16 {
				for try := 0; try < 2; try++ { // a retrying phone sends twice
					st, err := a.call(tokens[i], "POST", "/checkins", map[string]any{"session_id": sessionID, "code": code.Code, "client_id": fmt.Sprintf("c%d", i)}, nil)
					if err == nil && st/100 == 2 {
						mu.Lock()
						acked[i] = true
						mu.Unlock()
						if answered.Add(1) == n/2 {
							_ = p.cmd.Process.Signal(syscall.SIGKILL)
							close(killed)
						}
					}
				}
			}
		}(g)
	}
	wg.Wait()
	select {
	case <-killed:
	default:
		t.Fatal("the storm ended before the kill")
	}
	_ = p.cmd.Wait()
	t.Logf("killed after %d acknowledged check-ins (%d trainees)", answered.Load(), len(acked))

	p2 := start(t, bin, dir, port, "ADMIN_PASSWORD=admin-password-1")
	p2.waitHealthy(t, time.Now())
	admin = a.login("admin", "admin-password-1")
	var roster struct {
		Present int `json:"present"`
		Roster  []struct {
			TraineeID string `json:"trainee_id"`
			Name      string `json:"name"`
			Status    string `json:"status"`
		} `json:"roster"`
	}
	a.must(admin, "GET", "/sessions/"+sessionID+"/attendance", nil, &roster)
	presentByName := map[string]bool{}
	for _, r := range roster.Roster {
		if r.Status == "present" {
			presentByName[r.Name] = true
		}
	}
	for i := range acked {
		if !presentByName[fmt.Sprintf("学员%d", i)] {
			t.Errorf("trainee %d got a 2xx but is not recorded after the crash", i)
		}
	}
	var rc struct {
		Attendance int64 `json:"attendance"`
		DriftTotal int   `json:"drift_total"`
		Drift      []any `json:"drift"`
	}
	a.must(admin, "POST", "/progress/recount", map[string]any{"fix": false}, &rc)
	if rc.Attendance != int64(len(presentByName)) {
		t.Errorf("attendance records %d, distinct present trainees %d: something is there twice", rc.Attendance, len(presentByName))
	}
	if rc.DriftTotal != 0 {
		t.Errorf("counters drifted after the crash and were not repaired at start-up: %v", rc.Drift)
	}
	var prog struct {
		PersonTimes int64 `json:"person_times"`
	}
	a.must(admin, "GET", "/progress", nil, &prog)
	if prog.PersonTimes != rc.Attendance {
		t.Errorf("progress says %d person-times, records say %d", prog.PersonTimes, rc.Attendance)
	}

	// Nothing secret reached either process's log: passwords, tokens, ID numbers.
	secrets := []string{"admin-password-1", "trainee-pw-1", "trainer-pw-1", admin, tokens[0], code.Code}
	for i := 0; i < n; i++ {
		secrets = append(secrets, validID(i), validID(i)[6:14]+validID(i)[14:])
	}
	for _, logs := range []string{p.stderr.String(), p2.stderr.String()} {
		if len(logs) < 100 {
			t.Fatal("the server logged almost nothing; the check would prove nothing")
		}
		for _, s := range secrets {
			if strings.Contains(logs, s) {
				t.Errorf("the log contains a secret or ID number: %.12s…", s)
			}
		}
	}
}
