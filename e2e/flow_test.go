package e2e

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// world is the demo data the tests share: a township, a village, a
// trainer, a trainee with an account, a published course and a session
// happening now in that village.
type world struct {
	township, village  region
	trainerID, trainer string // id, token
	trainerLogin       string
	traineeID, trainee string // id, token
	traineePhone       string
	courseID           string
	sessionID          string
}

var (
	seq        atomic.Int64
	worldOnce  sync.Once
	theWorld   *world
	worldError string
)

const userPassword = "e2e-user-pass-1"

// seed builds a fresh world (each call makes new users, course and session).
func seed(t *testing.T, a *app) *world {
	t.Helper()
	n := int(seq.Add(1))
	w := &world{}
	rs := a.regions(t)
	for _, r := range rs {
		if r.Level == "township" && w.township.ID == "" {
			w.township = r
		}
	}
	for _, r := range rs {
		if r.Level == "village" && r.ParentID == w.township.ID {
			w.village = r
			break
		}
	}
	var u struct {
		ID string `json:"id"`
	}
	w.trainerLogin = fmt.Sprintf("trainer%d", n)
	a.must(t, a.admin, "POST", "/api/v1/users", map[string]any{"username": w.trainerLogin, "password": userPassword, "role": "trainer", "name": fmt.Sprintf("李老师%d", n)}, &u, 201)
	w.trainerID = u.ID
	w.trainer = a.login(t, w.trainerLogin, userPassword)

	w.traineePhone = fmt.Sprintf("1380000%04d", n)
	a.must(t, a.admin, "POST", "/api/v1/trainees", map[string]any{"name": fmt.Sprintf("王学员%d", n), "id_number": idNumber(n), "phone": w.traineePhone,
		"gender": "female", "region_id": w.village.ID, "groups": []string{"poverty", "woman"}, "password": userPassword}, &u, 201)
	w.traineeID = u.ID
	w.trainee = a.login(t, w.traineePhone, userPassword)

	a.must(t, a.admin, "POST", "/api/v1/courses", map[string]any{"title": fmt.Sprintf("网店开设实操 %d", n), "description": "e2e", "category": "网店开设",
		"hours": 4, "pass_ratio": 0.5, "published": true}, &u, 201)
	w.courseID = u.ID
	start := time.Now().Add(-10 * time.Minute).UTC()
	a.must(t, a.admin, "POST", "/api/v1/courses/"+w.courseID+"/sessions", map[string]any{"starts_at": start.Format(time.RFC3339),
		"ends_at": start.Add(2 * time.Hour).Format(time.RFC3339), "location": fmt.Sprintf("%s村委会 %d 号会议室", w.village.Name, n), "region_id": w.village.ID,
		"trainer_id": w.trainerID, "capacity": 50}, &u, 201)
	w.sessionID = u.ID
	a.must(t, a.admin, "POST", "/api/v1/courses/"+w.courseID+"/enrollments", map[string]any{"trainee_id": w.traineeID}, nil, 200, 201)
	return w
}

// code fetches the session's current check-in code as its trainer.
func (w *world) code(t *testing.T, a *app) string {
	t.Helper()
	var c struct {
		Code string `json:"code"`
	}
	a.must(t, w.trainer, "GET", "/api/v1/sessions/"+w.sessionID+"/checkin-code", nil, &c, 200)
	return c.Code
}

// TestCheckinReachesReports runs the real app: a check-in made through the
// API shows up in the monthly report, the dashboard and the public page.
func TestCheckinReachesReports(t *testing.T) {
	a := startApp(t)
	month := shanghaiMonth()
	var before struct {
		Totals map[string]int64 `json:"totals"`
	}
	a.must(t, a.admin, "GET", "/api/v1/reports/monthly?month="+month, nil, &before, 200)
	w := seed(t, a) // a new poverty-household trainee, a session this month

	var res struct {
		Status string `json:"status"`
	}
	a.must(t, w.trainee, "POST", "/api/v1/checkins", map[string]any{"session_id": w.sessionID, "code": w.code(t, a), "client_id": fmt.Sprintf("e2e-%d", time.Now().UnixNano())}, &res, 201)
	if res.Status != "present" {
		t.Fatalf("check-in status %q", res.Status)
	}

	var m struct {
		Rows []struct {
			TownshipID string           `json:"township_id"`
			Figures    map[string]int64 `json:"figures"`
		} `json:"rows"`
		Totals map[string]int64 `json:"totals"`
	}
	a.must(t, a.admin, "GET", "/api/v1/reports/monthly?month="+month, nil, &m, 200)
	if got := m.Totals["person_times"] - before.Totals["person_times"]; got != 1 {
		t.Errorf("monthly person_times grew by %d, want 1", got)
	}
	for _, k := range []string{"new_trainees", "new_poverty_trainees", "sessions_held"} {
		if got := m.Totals[k] - before.Totals[k]; got != 1 {
			t.Errorf("monthly %s grew by %d, want 1", k, got)
		}
	}
	found := false
	for _, r := range m.Rows {
		if r.TownshipID == w.township.ID {
			found = r.Figures["person_times"] >= 1 && r.Figures["sessions_held"] >= 1
		}
	}
	if !found {
		t.Errorf("township %s row lacks the session and the check-in: %+v", w.township.Name, m.Rows)
	}

	// the township's officer sees it in their own report, and only theirs
	var off struct {
		ID string `json:"id"`
	}
	login := fmt.Sprintf("officer%d", seq.Add(1))
	a.must(t, a.admin, "POST", "/api/v1/users", map[string]any{"username": login, "password": userPassword, "role": "officer", "name": "乡镇联络员", "township_id": w.township.ID}, &off, 201)
	otok := a.login(t, login, userPassword)
	var mo struct {
		Rows []struct {
			TownshipID string `json:"township_id"`
		} `json:"rows"`
		Totals map[string]int64 `json:"totals"`
	}
	a.must(t, otok, "GET", "/api/v1/reports/monthly?month="+month, nil, &mo, 200)
	if len(mo.Rows) != 1 || mo.Rows[0].TownshipID != w.township.ID || mo.Totals["person_times"] < 1 {
		t.Errorf("officer's report %+v", mo)
	}
	// dashboard figures are cached for a few seconds: poll briefly
	var d struct {
		Pace struct {
			Actual int64 `json:"actual"`
		} `json:"pace"`
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		a.must(t, a.admin, "GET", "/api/v1/reports/dashboard", nil, &d, 200)
		if d.Pace.Actual >= 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if d.Pace.Actual < 1 {
		t.Errorf("dashboard person-times %d", d.Pace.Actual)
	}
	var p struct {
		PersonTimes int64 `json:"person_times"`
	}
	a.must(t, "", "GET", "/api/v1/public/summary", nil, &p, 200)
	if p.PersonTimes < 1 {
		t.Errorf("public person-times %d", p.PersonTimes)
	}
	// a fund allocation and a new programme deadline reach the dashboard and
	// the public page (saving the settings drops the reports' cached copies)
	a.must(t, a.admin, "POST", "/api/v1/funds/entries", map[string]any{"kind": "allocation", "category": "upward", "use": "cold_chain",
		"purpose": "农产品冷链与分拣", "amount_fen": 123_456_00}, nil, 201)
	now := time.Now()
	a.must(t, a.admin, "PUT", "/api/v1/reports/settings", map[string]any{"start_date": now.AddDate(-1, 0, 0).Format("2006-01-02"),
		"end_date": now.AddDate(1, 0, 0).Format("2006-01-02")}, nil, 200)
	var dash struct {
		Pace struct {
			DeadlinePassed bool  `json:"deadline_passed"`
			NeededPerMonth int64 `json:"needed_per_month"`
		} `json:"pace"`
		Funds struct {
			AllocatedFen int64            `json:"allocated_fen"`
			ByCategory   map[string]int64 `json:"by_category"`
		} `json:"funds"`
	}
	a.must(t, a.admin, "GET", "/api/v1/reports/dashboard", nil, &dash, 200)
	if dash.Pace.DeadlinePassed || dash.Pace.NeededPerMonth == 0 || dash.Funds.ByCategory["upward"] < 123_456_00 {
		t.Errorf("dashboard after a fund allocation and a new deadline: %+v", dash)
	}
	var pub struct {
		Funds struct {
			ByCategory map[string]int64 `json:"by_category"`
		} `json:"funds"`
	}
	a.must(t, "", "GET", "/api/v1/public/summary", nil, &pub, 200)
	if pub.Funds.ByCategory["upward"] < 123_456_00 {
		t.Errorf("public fund use %+v", pub.Funds)
	}
	// the XLSX of the month downloads
	body := a.must(t, a.admin, "GET", "/api/v1/reports/monthly?month="+month+"&format=xlsx", nil, nil, 200)
	if len(body) < 100 || body[:2] != "PK" {
		t.Errorf("xlsx %d bytes", len(body))
	}
}
