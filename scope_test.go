package main

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"nongxun/regions"
	"nongxun/server"
	"nongxun/testkit"
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
	o1 := mk(users.NewUser{Username: "officer1", Password: "Teach-Yun-2026", Role: server.RoleOfficer, Name: "联络员甲", TownshipID: t1.ID})

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
	// Imports: a roster row in another township is refused, in the preview,
	// the commit and the refused-rows workbook alike, and never written.
	for _, path := range []string{"/api/v1/trainees/import?preview=1", "/api/v1/trainees/import", "/api/v1/trainees/import/refused"} {
		body, ct := multipartBody(t, 0, 0, []byte("姓名,身份证号,手机号,村\n越界导入,"+validID(34)+",13800003434,"+v2+"\n"))
		req := httptest.NewRequest("POST", path, body)
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Authorization", "Bearer "+o1.tok)
		resp, err := app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || (!strings.HasSuffix(path, "refused") && (!strings.Contains(string(b), "不在您负责的乡镇") || !strings.Contains(string(b), `"created":0`))) {
			t.Fatalf("officer imported into another township via %s: %d %s", path, resp.StatusCode, b)
		}
	}
	if raw, _ := json.Marshal(admin.must("GET", "/api/v1/trainees?q=%E8%B6%8A%E7%95%8C", nil, 200)); strings.Contains(string(raw), "越界导入") {
		t.Fatalf("an officer's import wrote a trainee of another township: %s", raw)
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
	op := mk(users.NewUser{Username: "operator1", Password: "Teach-Yun-2026", Role: server.RoleStation, Name: "站长", StationID: s1["id"].(string)})
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

	// Parcels: the operator sends from their own station; an officer of
	// another township and an operator off the route cannot read it.
	wh := admin.must("POST", "/api/v1/stations", map[string]any{"name": "县仓储物流中心", "kind": "warehouse", "region_id": t1.ID, "origin": "new"}, 201)
	for _, step := range []string{"built", "accepted", "operating"} {
		admin.must("POST", "/api/v1/stations/"+wh["id"].(string)+"/status", map[string]any{"status": step, "at": time.Now().UTC().Format(time.RFC3339),
			"inspector": "验收组", "result": "pass", "checklist": map[string]bool{}}, 200)
	}
	op.must("POST", "/api/v1/parcels", map[string]any{"waybill": "SCOPE00001", "direction": "up", "origin_id": s1["id"], "destination_id": wh["id"]}, 201)
	o1.must("GET", "/api/v1/parcels/SCOPE00001", nil, 200)
	op.must("GET", "/api/v1/parcels/SCOPE00001", nil, 200)
	o2 := mk(users.NewUser{Username: "officer2", Password: "Teach-Yun-2026", Role: server.RoleOfficer, Name: "联络员乙", TownshipID: t2.ID})
	op2 := mk(users.NewUser{Username: "operator2", Password: "Teach-Yun-2026", Role: server.RoleStation, Name: "乙站长", StationID: s2["id"].(string)})
	for name, c := range map[string]caller{"officer of another township": o2, "operator off the route": op2} {
		if st, _, raw := c.do("GET", "/api/v1/parcels/SCOPE00001", nil); st != 403 && st != 404 {
			t.Errorf("%s read a parcel: %d %s", name, st, raw)
		}
		if st, _, raw := c.do("POST", "/api/v1/parcels/SCOPE00001/scans", map[string]any{"node_id": s1["id"], "kind": "received"}); st != 403 && st != 404 {
			t.Errorf("%s scanned a parcel: %d %s", name, st, raw)
		}
	}
	if st, _, raw := o2.do("GET", "/api/v1/parcels/volumes?township_id="+t1.ID, nil); st != 200 || strings.Contains(raw, s1["id"].(string)) {
		t.Errorf("officer of another township sees its parcel volumes: %d %s", st, raw)
	}

	// Station photos: read by those who may read the station.
	png := append([]byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}, make([]byte, 64)...)
	body, ct := testkit.Multipart("门牌.png", png, nil)
	req := httptest.NewRequest("POST", "/api/v1/stations/"+s1["id"].(string)+"/photos", body)
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", "Bearer "+op.tok)
	resp, err := app.Test(req, -1)
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("photo upload: %v %v", err, resp)
	}
	var ph map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&ph)
	resp.Body.Close()
	photo := "/api/v1/stations/" + s1["id"].(string) + "/photos/" + ph["id"].(string)
	o1.must("GET", photo, nil, 200)
	for name, c := range map[string]caller{"officer of another township": o2, "operator of another station": op2} {
		if st, _, _ := c.do("GET", photo, nil); st != 403 && st != 404 {
			t.Errorf("%s read a station photo: %d", name, st)
		}
	}
}

// TestCourseOwnershipAndCertificateScope reproduces M6 (a trainer took over
// a course by creating a session of it without trainer_id, then uploaded
// its materials and issued its certificates) and L5 (any trainer read any
// certificate's PDF and the course ZIP), and checks every file route of
// courses and certificates against a trainer of another course and an
// officer of another township.
func TestCourseOwnershipAndCertificateScope(t *testing.T) {
	app, tokens, st, _ := testApp(t, nil)
	ctx := t.Context()
	us, err := users.New(ctx, st, tokens)
	if err != nil {
		t.Fatal(err)
	}
	adminU, _ := us.ByLogin(ctx, "admin")
	atok, _ := tokens.Issue(adminU.Principal())
	admin := caller{t: t, app: app, tok: atok}
	admin.must("POST", "/api/v1/regions/demo", map[string]any{}, 200)
	regs, _ := regions.New(ctx, st)
	tw := regs.Townships(ctx)
	t1, t2 := tw[3], tw[9]
	var v1 string
	for _, v := range regs.Villages(ctx) {
		if v.ParentID == t1.ID && v1 == "" {
			v1 = v.ID
		}
	}
	mk := func(n users.NewUser) (caller, string) {
		u, err := us.Create(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		tok, _ := tokens.Issue(u.Principal())
		return caller{t: t, app: app, tok: tok}, u.ID
	}
	teacher, teacherID := mk(users.NewUser{Username: "teacher1", Password: "Teach-Yun-2026", Role: server.RoleTrainer, Name: "本课讲师"})
	intruder, _ := mk(users.NewUser{Username: "intruder1", Password: "Teach-Yun-2026", Role: server.RoleTrainer, Name: "别课讲师"})
	farOfficer, _ := mk(users.NewUser{Username: "officer9", Password: "Teach-Yun-2026", Role: server.RoleOfficer, Name: "乙乡联络员", TownshipID: t2.ID})
	nearOfficer, _ := mk(users.NewUser{Username: "officer3", Password: "Teach-Yun-2026", Role: server.RoleOfficer, Name: "甲乡联络员", TownshipID: t1.ID})

	course := admin.must("POST", "/api/v1/courses", map[string]any{"title": "农产品网店", "category": "网店开设", "hours": 4, "pass_ratio": 0.5, "published": true}, 201)
	cid := course["id"].(string)
	past := time.Now().Add(-48 * time.Hour).Truncate(time.Minute)
	sess := admin.must("POST", "/api/v1/courses/"+cid+"/sessions", map[string]any{"starts_at": past.Format(time.RFC3339), "ends_at": past.Add(2 * time.Hour).Format(time.RFC3339),
		"location": "甲乡会议室", "region_id": v1, "trainer_id": teacherID, "capacity": 0}, 201)
	tr := admin.must("POST", "/api/v1/trainees", map[string]any{"name": "甲乡学员", "id_number": validID(41), "phone": "13800004141", "region_id": v1}, 201)
	admin.must("POST", "/api/v1/courses/"+cid+"/enrollments", map[string]any{"trainee_id": tr["id"]}, 201)
	admin.must("POST", "/api/v1/sessions/"+sess["id"].(string)+"/rollcall", map[string]any{"trainee_ids": []string{tr["id"].(string)}}, 200)

	// M6: a trainer of another course cannot make themself its trainer.
	future := time.Now().Add(72 * time.Hour).Truncate(time.Minute)
	if st, _, raw := intruder.do("POST", "/api/v1/courses/"+cid+"/sessions", map[string]any{"starts_at": future.Format(time.RFC3339),
		"ends_at": future.Add(time.Hour).Format(time.RFC3339), "location": "x", "region_id": v1, "capacity": 0}); st != 403 {
		t.Fatalf("M6: a trainer of another course created a session of it: %d %s", st, raw)
	}
	if st, _, raw := intruder.do("POST", "/api/v1/courses/"+cid+"/certificates", map[string]any{}); st != 403 {
		t.Fatalf("M6: a trainer of another course issued its certificates: %d %s", st, raw)
	}
	if st := upload(t, app, intruder.tok, "/api/v1/courses/"+cid+"/materials"); st != 403 {
		t.Fatalf("M6: a trainer of another course uploaded a material: %d", st)
	}
	if st := upload(t, app, teacher.tok, "/api/v1/courses/"+cid+"/materials"); st != 201 {
		t.Fatalf("the course's trainer uploads: %d", st)
	}
	var mats []map[string]any
	_, _, raw := teacher.do("GET", "/api/v1/courses/"+cid+"/materials", nil)
	_ = json.Unmarshal([]byte(raw), &mats)
	if len(mats) != 1 {
		t.Fatalf("materials: %s", raw)
	}
	res := teacher.must("POST", "/api/v1/courses/"+cid+"/certificates", map[string]any{}, 200)
	issued := res["issued"].([]any)
	if len(issued) != 1 {
		t.Fatalf("issued: %v", res)
	}
	certID := issued[0].(map[string]any)["id"].(string)

	// L5 and the scope of every file route: the record, the PDF, the ZIP,
	// the register (CSV and XLSX), the course's list, a material.
	files := []string{
		"/api/v1/certificates/" + certID,
		"/api/v1/certificates/" + certID + "/pdf",
		"/api/v1/courses/" + cid + "/certificates/zip",
		"/api/v1/certificates/register?course_id=" + cid,
		"/api/v1/certificates/register?format=xlsx&course_id=" + cid,
		"/api/v1/courses/" + cid + "/certificates",
		"/api/v1/materials/" + mats[0]["id"].(string),
	}
	for _, path := range files {
		if st, _, raw := intruder.do("GET", path, nil); st != 403 && st != 404 {
			t.Errorf("L5: a trainer of another course read %s: %d %.200s", path, st, raw)
		}
		st, _, raw := farOfficer.do("GET", path, nil)
		switch {
		case st == 403 || st == 404:
		case st == 200 && strings.Contains(path, "/zip"):
			t.Errorf("an officer of another township got the ZIP of a course without their trainees")
		case st == 200 && (strings.Contains(path, "register") || strings.HasSuffix(path, "/certificates")):
			if strings.Contains(raw, "甲乡学员") || strings.Contains(raw, certID) {
				t.Errorf("an officer of another township sees %s: %.300s", path, raw)
			}
		default:
			t.Errorf("an officer of another township read %s: %d %.200s", path, st, raw)
		}
		for _, c := range []caller{teacher, admin, nearOfficer} {
			if st, _, raw := c.do("GET", path, nil); st != 200 {
				t.Errorf("%s refused to a caller in scope: %d %.200s", path, st, raw)
			}
		}
	}

	// A paper sign-in sheet is imported only by the session's trainer (or
	// admin): another course's trainer and officers get 403/404.
	sheet := []byte("身份证号,姓名,签到\r\n" + validID(41) + ",甲乡学员,√\r\n")
	imp := "/api/v1/sessions/" + sess["id"].(string) + "/attendance/import?preview=1"
	for _, c := range []caller{intruder, farOfficer, nearOfficer} {
		if st := uploadFile(t, app, c.tok, imp, "签到表.csv", sheet); st != 403 && st != 404 {
			t.Errorf("a caller out of scope imported a sign-in sheet: %d", st)
		}
	}
	if st := uploadFile(t, app, teacher.tok, imp, "签到表.csv", sheet); st != 200 {
		t.Errorf("the session's trainer cannot preview a sign-in sheet: %d", st)
	}
}

// uploadFile posts content as the multipart file "file" and returns the status.
func uploadFile(t *testing.T, app *fiber.App, tok, path, name string, content []byte) int {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	w, _ := mw.CreateFormFile("file", name)
	_, _ = w.Write(content)
	_ = mw.Close()
	req := httptest.NewRequest("POST", path, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// upload posts a small PDF as a course material and returns the status.
func upload(t *testing.T, app *fiber.App, tok, path string) int {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	w, _ := mw.CreateFormFile("file", "讲义.pdf")
	_, _ = w.Write(append([]byte("%PDF-1.5\n"), make([]byte, 2000)...))
	_ = mw.Close()
	req := httptest.NewRequest("POST", path, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestScopingAccounts: an officer reads and resets only the trainee
// accounts of their own township; staff accounts are out of their reach.
func TestScopingAccounts(t *testing.T) {
	admin, p := secApp(t)
	admin.must("POST", "/api/v1/regions/demo", map[string]any{}, 200)
	var tw []map[string]any
	_, _, raw := admin.do("GET", "/api/v1/regions?level=township", nil)
	_ = json.Unmarshal([]byte(raw), &tw)
	var vs []map[string]any
	_, _, raw = admin.do("GET", "/api/v1/regions?level=village", nil)
	_ = json.Unmarshal([]byte(raw), &vs)
	t1, t2 := tw[3]["id"].(string), tw[9]["id"].(string)
	village := func(twp string) string {
		for _, v := range vs {
			if v["parent_id"] == twp {
				return v["id"].(string)
			}
		}
		t.Fatal("no village")
		return ""
	}
	admin.must("POST", "/api/v1/users", map[string]any{"username": "officera", "password": "officer-pass-77", "role": "officer", "name": "甲乡联络员", "township_id": t1}, 201)
	o1 := p.as(p.login("officera", "officer-pass-77"))
	mine := admin.must("POST", "/api/v1/trainees", map[string]any{"name": "甲乡学员", "id_number": validID(41), "phone": "13800004111", "region_id": village(t1), "groups": []string{"poverty"}, "password": "trainee-pass-77"}, 201)
	theirs := admin.must("POST", "/api/v1/trainees", map[string]any{"name": "乙乡学员", "id_number": validID(42), "phone": "13800004222", "region_id": village(t2), "groups": []string{"woman"}, "password": "trainee-pass-77"}, 201)
	trainer := admin.must("POST", "/api/v1/users", map[string]any{"username": "trainerx", "password": "trainer-pass-77", "role": "trainer", "name": "讲师"}, 201)
	mineU, theirsU := mine["user_id"].(string), theirs["user_id"].(string)

	list := o1.must("GET", "/api/v1/users?q=1380000", nil, 200)
	b, _ := json.Marshal(list)
	if !strings.Contains(string(b), mineU) || strings.Contains(string(b), theirsU) || strings.Contains(string(b), trainer["id"].(string)) {
		t.Fatalf("officer's account list crosses townships or shows staff: %s", b)
	}
	o1.must("GET", "/api/v1/users/"+mineU, nil, 200)
	for _, id := range []string{theirsU, trainer["id"].(string)} {
		if st, _, raw := o1.do("GET", "/api/v1/users/"+id, nil); st != 403 {
			t.Errorf("officer read account %s outside their township: %d %s", id, st, raw)
		}
		if st, _, raw := o1.do("POST", "/api/v1/users/"+id+"/password-reset", map[string]any{}); st != 403 {
			t.Errorf("officer reset account %s outside their township: %d %s", id, st, raw)
		}
	}
	res := o1.must("POST", "/api/v1/users/"+mineU+"/password-reset", map[string]any{}, 200)
	p.login("13800004111", res["temporary_password"].(string))
	// The other township's trainee still logs in with their own password.
	p.login("13800004222", "trainee-pass-77")
}

// TestReportsAndIncubationScope: every reports and incubation route that
// serves a record, or a file made from records, answers an officer of
// another township (and, where it applies, a trainer of another course)
// the way the record itself does: refused, or only their own township.
func TestReportsAndIncubationScope(t *testing.T) {
	c := newCounty(t)
	admin := c.admin
	t1, t2 := c.twps[3], c.twps[9]
	v2 := c.village(t2.ID)
	mk := func(n users.NewUser) caller { cl, _ := c.mk(n); return cl }
	o1 := mk(users.NewUser{Username: "scope-o1", Password: "Teach-Yun-2026", Role: server.RoleOfficer, Name: "甲乡联络员", TownshipID: t1.ID})
	o2 := mk(users.NewUser{Username: "scope-o2", Password: "Teach-Yun-2026", Role: server.RoleOfficer, Name: "乙乡联络员", TownshipID: t2.ID})
	trOther := mk(users.NewUser{Username: "scope-tr", Password: "Teach-Yun-2026", Role: server.RoleTrainer, Name: "别班讲师"})
	_, trOwnID := c.mk(users.NewUser{Username: "scope-tr2", Password: "Teach-Yun-2026", Role: server.RoleTrainer, Name: "本班讲师"})
	month := time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01")

	// Records of township 2: a trainee with a shop and sales, a written report with an attachment, a session.
	tr2 := admin.must("POST", "/api/v1/trainees", map[string]any{"name": "乙乡学员", "id_number": validID(71), "phone": "13800007171", "region_id": v2}, 201)["id"].(string)
	shop := admin.must("POST", "/api/v1/shops", map[string]any{"trainee_id": tr2, "platform": "taobao", "name": "乙乡小店", "url": "https://scope2.taobao.com", "opened_on": "2019-01-10"}, 201)["id"].(string)
	admin.must("POST", "/api/v1/shops/"+shop+"/sales", map[string]any{"month": month, "orders": 3, "revenue_fen": 9000}, 201)
	o2.must("PUT", "/api/v1/reports/written/"+month, map[string]any{"text": "乙乡本月进展"}, 201)
	course := admin.must("POST", "/api/v1/courses", map[string]any{"title": "乙乡课程", "category": "网店开设", "hours": 2, "pass_ratio": 0.5, "published": true}, 201)["id"].(string)
	start := time.Now().Add(-time.Hour).UTC()
	sess := admin.must("POST", "/api/v1/courses/"+course+"/sessions", map[string]any{"starts_at": start.Format(time.RFC3339),
		"ends_at": start.Add(2 * time.Hour).Format(time.RFC3339), "location": "乙乡", "region_id": v2, "trainer_id": trOwnID, "capacity": 30}, 201)["id"].(string)

	refused := func(who caller, path string, codes ...int) {
		t.Helper()
		st, _, raw := who.do("GET", path, nil)
		for _, c := range codes {
			if st == c {
				return
			}
		}
		t.Errorf("GET %s: %d, want one of %v: %.200s", path, st, codes, raw)
	}
	// reports
	refused(o1, "/api/v1/reports/monthly?format=json&month="+month+"&township_id="+t2.ID, 403)
	refused(o1, "/api/v1/reports/monthly?format=xlsx&month="+month+"&township_id="+t2.ID, 403)
	refused(o1, "/api/v1/reports/dashboard?township_id="+t2.ID, 403)
	refused(o1, "/api/v1/reports/charts/progress?township_id="+t2.ID, 403)
	refused(o1, "/api/v1/reports/written/"+month+"/"+t2.ID, 403)
	refused(o1, "/api/v1/reports/written/"+month+"/"+t2.ID+"/attachments/1", 403)
	refused(o1, "/api/v1/reports/exports/roster?format=csv&township_id="+t2.ID, 403)
	refused(o1, "/api/v1/reports/exports/ledger?format=csv", 403)
	refused(o1, "/api/v1/reports/self-evaluation?format=xlsx", 403)
	refused(o1, "/api/v1/reports/exports/signin/"+sess, 404)
	refused(trOther, "/api/v1/reports/exports/signin/"+sess, 404)
	refused(o1, "/api/v1/setup", 403)
	// an officer's own roster and written list name no one of township 2
	for _, path := range []string{"/api/v1/reports/exports/roster?format=csv", "/api/v1/reports/written?month=" + month} {
		_, _, raw := o1.do("GET", path, nil)
		if strings.Contains(raw, "乙乡学员") || strings.Contains(raw, t2.ID) {
			t.Errorf("%s shows township 2 to an officer of township 1: %.300s", path, raw)
		}
	}
	// incubation
	refused(o1, "/api/v1/shops/"+shop, 403)
	refused(o1, "/api/v1/shops/"+shop+"/sales", 403)
	refused(o1, "/api/v1/followups?trainee_id="+tr2, 403)
	refused(trOther, "/api/v1/followups/tasks?scope=all", 403)
	for _, path := range []string{"/api/v1/shops?township_id=" + t2.ID, "/api/v1/conversion?township_id=" + t2.ID,
		"/api/v1/conversion/steps/shop_opened?township_id=" + t2.ID, "/api/v1/incubation/growth?township_id=" + t2.ID,
		"/api/v1/followups/tasks?scope=all&township_id=" + t2.ID} {
		st, _, raw := o1.do("GET", path, nil)
		if st == 200 && (strings.Contains(raw, "乙乡") || strings.Contains(raw, t2.ID) || strings.Contains(raw, tr2)) {
			t.Errorf("%s shows township 2 to an officer of township 1: %.300s", path, raw)
		}
	}
	// the township's own officer sees them
	o2.must("GET", "/api/v1/shops/"+shop, nil, 200)
	o2.must("GET", "/api/v1/reports/exports/signin/"+sess, nil, 200)
}
