package main

import (
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"nongxun/regions"
	"nongxun/server"
	"nongxun/users"
)

type caller struct {
	t   *testing.T
	app *fiber.App
	tok string
}

func (c caller) do(method, path string, body any) (int, map[string]any, string) {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = strings.NewReader(string(b))
	}
	req := httptest.NewRequest(method, path, r)
	req.Header.Set("Content-Type", "application/json")
	if c.tok != "" {
		req.Header.Set("Authorization", "Bearer "+c.tok)
	}
	resp, err := c.app.Test(req, -1)
	if err != nil {
		c.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := map[string]any{}
	_ = json.Unmarshal(b, &m)
	return resp.StatusCode, m, string(b)
}

func (c caller) must(method, path string, body any, want int) map[string]any {
	c.t.Helper()
	st, m, raw := c.do(method, path, body)
	if st != want {
		c.t.Fatalf("%s %s: %d, want %d: %s", method, path, st, want, raw)
	}
	return m
}

// TestScopingAcrossTwoTownships checks officer and station scoping on the
// whole app with data in two townships.
func TestScopingAcrossTwoTownships(t *testing.T) {
	app, tokens, st, _ := testApp(t, nil)
	ctx := t.Context()
	us, err := users.New(ctx, st, tokens)
	if err != nil {
		t.Fatal(err)
	}
	adminU, err := us.ByLogin(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	atok, _ := tokens.Issue(adminU.Principal())
	admin := caller{t: t, app: app, tok: atok}
	admin.must("POST", "/api/v1/regions/demo", map[string]any{}, 200)
	regs, err := regions.New(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	tw := regs.Townships(ctx)
	t1, t2 := tw[3], tw[9]
	var v1, v2 string
	for _, v := range regs.Villages(ctx) {
		if v.ParentID == t1.ID && v1 == "" {
			v1 = v.ID
		}
		if v.ParentID == t2.ID && v2 == "" {
			v2 = v.ID
		}
	}
	mk := func(n users.NewUser) caller {
		u, err := us.Create(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := tokens.Issue(u.Principal())
		if err != nil {
			t.Fatal(err)
		}
		return caller{t: t, app: app, tok: tok}
	}
	o1 := mk(users.NewUser{Username: "officer1", Password: "password-1", Role: server.RoleOfficer, Name: "联络员甲", TownshipID: t1.ID})

	tr1 := admin.must("POST", "/api/v1/trainees", map[string]any{"name": "甲乡学员", "id_number": validID(11), "phone": "13800001111", "region_id": v1, "groups": []string{"poverty"}}, 201)
	tr2 := admin.must("POST", "/api/v1/trainees", map[string]any{"name": "乙乡学员", "id_number": validID(22), "phone": "13800002222", "region_id": v2, "groups": []string{"woman"}}, 201)

	// Trainees: an officer lists and reads only their township's.
	list := o1.must("GET", "/api/v1/trainees", nil, 200)
	raw, _ := json.Marshal(list)
	if !strings.Contains(string(raw), "甲乡学员") || strings.Contains(string(raw), "乙乡学员") {
		t.Fatalf("officer's trainee list crosses townships: %s", raw)
	}
	if st, _, _ := o1.do("GET", "/api/v1/trainees/"+tr2["id"].(string), nil); st != 403 && st != 404 {
		t.Fatalf("officer read another township's trainee: %d", st)
	}
	o1.must("GET", "/api/v1/trainees/"+tr1["id"].(string), nil, 200)
	// Corrections, enrolments and merges of another township's trainee are refused.
	id2 := tr2["id"].(string)
	for _, x := range []struct{ method, path string }{{"PATCH", "/api/v1/trainees/" + id2}, {"GET", "/api/v1/trainees/" + id2 + "/enrollments"},
		{"GET", "/api/v1/trainees/" + id2 + "/attendance"}} {
		if st, _, raw := o1.do(x.method, x.path, map[string]any{"name": "改名"}); st != 403 && st != 404 {
			t.Errorf("officer %s %s of another township: %d %s", x.method, x.path, st, raw)
		}
	}
	if st, _, raw := o1.do("POST", "/api/v1/trainees/merge", map[string]any{"keep": tr1["id"], "drop": id2}); st != 403 {
		t.Errorf("officer merged another township's trainee: %d %s", st, raw)
	}
	if st, _, raw := o1.do("GET", "/api/v1/trainees?q=%E4%B9%99", nil); st != 200 || strings.Contains(raw, "乙乡学员") {
		t.Errorf("officer's search crosses townships: %d %s", st, raw)
	}
	if st, _, _ := o1.do("POST", "/api/v1/trainees", map[string]any{"name": "越界", "id_number": validID(33), "phone": "13800003333", "region_id": v2}); st != 400 && st != 403 {
		t.Fatalf("officer registered a trainee in another township: %d", st)
	}

	// Progress and coverage: only their township's figures.
	for _, path := range []string{"/api/v1/progress", "/api/v1/stations/coverage", "/api/v1/conversion"} {
		_, m, raw := o1.do("GET", path, nil)
		if strings.Contains(raw, t2.ID) {
			t.Errorf("%s shows another township to an officer: %s", path, raw)
		}
		_ = m
	}
	// Reports: asking for another township is refused.
	month := time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01")
	if st, _, raw := o1.do("GET", "/api/v1/reports/monthly?format=json&month="+month+"&township_id="+t2.ID, nil); st != 403 {
		t.Errorf("officer's monthly report for another township: %d %s", st, raw)
	}
	o1.must("GET", "/api/v1/reports/monthly?format=json&month="+month, nil, 200)

	// Stations: an operator logs services only at their own station.
	s1 := admin.must("POST", "/api/v1/stations", map[string]any{"name": "甲村服务点", "kind": "village", "region_id": v1, "origin": "new"}, 201)
	s2 := admin.must("POST", "/api/v1/stations", map[string]any{"name": "乙村服务点", "kind": "village", "region_id": v2, "origin": "new"}, 201)
	checks := map[string]bool{"area": true, "computer": true, "display": true, "recorder": true, "baskets": true, "notice_board": true, "door_sign": true}
	for _, step := range []string{"built", "accepted", "operating"} {
		admin.must("POST", "/api/v1/stations/"+s1["id"].(string)+"/status", map[string]any{"status": step, "at": time.Now().UTC().Format(time.RFC3339),
			"inspector": "验收组", "result": "pass", "checklist": checks}, 200)
	}
	op := mk(users.NewUser{Username: "operator1", Password: "password-1", Role: server.RoleStation, Name: "站长", StationID: s1["id"].(string)})
	svc := map[string]any{"kind": "代买", "count": 2, "amount_fen": 1500, "at": time.Now().UTC().Format(time.RFC3339)}
	if st, _, raw := op.do("POST", "/api/v1/stations/"+s2["id"].(string)+"/services", svc); st != 403 {
		t.Errorf("station operator logged a service at another station: %d %s", st, raw)
	}
	if st, _, raw := op.do("POST", "/api/v1/stations/"+s1["id"].(string)+"/services", svc); st != 201 && st != 200 {
		t.Errorf("station operator at their own station: %d %s", st, raw)
	}
	if st, _, _ := op.do("GET", "/api/v1/stations/"+s2["id"].(string)+"/services", nil); st != 403 && st != 404 {
		t.Errorf("station operator read another station's services: %d", st)
	}
}
