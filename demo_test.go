package main

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"nongxun/cli"
	"nongxun/demo"
)

// logWriter sends the loader's progress lines to the test log.
type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	for _, line := range strings.Split(strings.ReplaceAll(string(p), "\r", "\n"), "\n") {
		if strings.HasPrefix(line, "[") { // the step lines; not every progress bar
			w.t.Log(line)
		}
	}
	return len(p), nil
}

// TestDemoCounty loads a small demo county into the whole app, through the
// API as the CLI does, and looks at it as the county office would: the
// dashboard mid-programme, a funnel that narrows, stations at every stage,
// a fund inside its rules, the public page, a session being held today,
// and every printed login working. A second load writes nothing.
func TestDemoCounty(t *testing.T) {
	app, tokens, _, _ := testApp(t, nil)
	tok, revoke, err := tokens.IssueLocal(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer revoke()
	c := cli.NewApp(app, tok)
	start := time.Now()
	res, err := demo.Load(context.Background(), c.Conn(), demo.Options{Scale: 0.06, Out: logWriter{t}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("loaded in %s: %v", time.Since(start).Round(time.Millisecond), res.Counts)
	if res.Already {
		t.Fatal("a fresh database reported as already loaded")
	}

	var d struct {
		Pace struct {
			Target int64 `json:"target"`
			Actual int64 `json:"actual"`
		} `json:"pace"`
		Conversion *struct {
			Trained    int64 `json:"trained"`
			Certified  int64 `json:"certified"`
			FollowedUp int64 `json:"followed_up"`
			ShopOpened int64 `json:"shop_opened"`
			Selling    int64 `json:"selling"`
			Incubated  int64 `json:"incubated"`
		} `json:"conversion"`
	}
	if err := c.Call("GET", "/reports/dashboard", nil, &d); err != nil {
		t.Fatal(err)
	}
	if d.Pace.Actual <= 0 || d.Pace.Actual >= d.Pace.Target || d.Pace.Target != 10000 {
		t.Errorf("person-times %d of %d: want some, below the target", d.Pace.Actual, d.Pace.Target)
	}
	if v := d.Conversion; v == nil {
		t.Error("dashboard without a conversion funnel")
	} else {
		steps := []int64{v.Trained, v.Certified, v.FollowedUp, v.ShopOpened, v.Selling, v.Incubated}
		for i := 1; i < len(steps); i++ {
			if steps[i] > steps[i-1] || steps[i] == 0 {
				t.Errorf("conversion steps %v: want each step above zero and not above the one before", steps)
				break
			}
		}
	}

	var stations struct {
		Items []struct {
			Status string `json:"status"`
		} `json:"items"`
	}
	if err := c.Call("GET", "/stations", nil, &stations); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, s := range stations.Items {
		seen[s.Status]++
	}
	for _, st := range []string{"planned", "built", "accepted", "operating", "closed"} {
		if seen[st] == 0 {
			t.Errorf("no station %s (have %v)", st, seen)
		}
	}

	var fund struct {
		PaidFen int64 `json:"paid_fen"`
		Rules   []struct {
			Rule string `json:"rule"`
			OK   bool   `json:"ok"`
		} `json:"rules"`
		Tranches []struct {
			Tranche int   `json:"tranche"`
			PaidFen int64 `json:"paid_fen"`
		} `json:"tranches"`
	}
	if err := c.Call("GET", "/funds/summary", nil, &fund); err != nil {
		t.Fatal(err)
	}
	if fund.PaidFen <= 0 || len(fund.Rules) == 0 {
		t.Errorf("fund paid %d with %d rules: want payments under the rules", fund.PaidFen, len(fund.Rules))
	}
	for _, r := range fund.Rules {
		if !r.OK {
			t.Errorf("fund rule %s broken", r.Rule)
		}
	}
	var drift struct {
		OK bool `json:"ok"`
	}
	if err := c.Call("GET", "/funds/reconcile", nil, &drift); err != nil || !drift.OK {
		t.Errorf("fund ledger and balance disagree: %v %v", drift, err)
	}

	resp, err := app.Test(httptest.NewRequest("GET", "/public", nil), -1)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "演示") {
		t.Errorf("/public: %d, demo programme named: %v", resp.StatusCode, strings.Contains(string(page), "演示"))
	}

	// A session being held now, with check-ins, and the trainer's login.
	var courses []struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	if err := c.Call("GET", "/courses", nil, &courses); err != nil {
		t.Fatal(err)
	}
	held := 0
	now := time.Now()
	for _, co := range courses {
		if !strings.HasSuffix(co.Title, "（演示）") {
			t.Errorf("course %q without the demo mark", co.Title)
		}
		var ss []struct {
			ID       string    `json:"id"`
			StartsAt time.Time `json:"starts_at"`
			EndsAt   time.Time `json:"ends_at"`
		}
		if err := c.Call("GET", "/courses/"+co.ID+"/sessions", nil, &ss); err != nil {
			t.Fatal(err)
		}
		for _, s := range ss {
			if !s.StartsAt.After(now) && s.EndsAt.After(now) {
				held++
				var att struct {
					Present int `json:"present"`
				}
				if err := c.Call("GET", "/sessions/"+s.ID+"/attendance", nil, &att); err != nil || att.Present == 0 {
					t.Errorf("today's session: %d present, %v", att.Present, err)
				}
			}
		}
	}
	if held == 0 {
		t.Error("no session being held today")
	}

	// Every printed login works.
	roles := map[string]bool{}
	for _, l := range res.Logins {
		if l.Login == "admin" {
			continue
		}
		if _, err := c.Login(l.Login, l.Password); err != nil {
			t.Errorf("login %s (%s): %v", l.Login, l.Role, err)
		}
		roles[l.Role] = true
	}
	for _, r := range []string{"trainer", "officer", "station", "auditor", "trainee"} {
		if !roles[r] {
			t.Errorf("no %s login printed", r)
		}
	}

	// Loading again writes nothing and says so.
	var before, after struct {
		PersonTimes int `json:"person_times"`
	}
	_ = c.Call("GET", "/progress", nil, &before)
	again, err := demo.Load(context.Background(), c.Conn(), demo.Options{Scale: 0.06})
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Call("GET", "/progress", nil, &after)
	if !again.Already || !strings.Contains(again.Message, "已经装入") || after.PersonTimes != before.PersonTimes {
		t.Errorf("second load: already %v (%q), person-times %d → %d", again.Already, again.Message, before.PersonTimes, after.PersonTimes)
	}
}
