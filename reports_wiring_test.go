package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-pdf/fpdf"
	"github.com/gofiber/fiber/v2"
	"github.com/xuri/excelize/v2"
	"nongxun/certificates"
	"nongxun/clock"
	"nongxun/regions"
	"nongxun/server"
	"nongxun/store"
	"nongxun/users"
)

// county is the whole app with the demo county loaded, an admin, and a
// way to make callers of other roles.
type county struct {
	app   *fiber.App
	st    *store.Store
	cfg   server.Config
	admin caller
	twps  []regions.Region
	vils  []regions.Region
	mk    func(users.NewUser) (caller, string)
}

func newCounty(t *testing.T) *county {
	t.Helper()
	app, tokens, st, cfg := testApp(t, nil)
	ctx := t.Context()
	us, err := users.New(ctx, st, tokens)
	if err != nil {
		t.Fatal(err)
	}
	adm, err := us.ByLogin(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := tokens.Issue(adm.Principal())
	c := &county{app: app, st: st, cfg: cfg, admin: caller{t: t, app: app, tok: tok}}
	c.admin.must("POST", "/api/v1/regions/demo", map[string]any{}, 200)
	regs, err := regions.New(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	c.twps, c.vils = regs.Townships(ctx), regs.Villages(ctx)
	c.mk = func(n users.NewUser) (caller, string) {
		u, err := us.Create(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := tokens.Issue(u.Principal())
		if err != nil {
			t.Fatal(err)
		}
		return caller{t: t, app: app, tok: tok}, u.ID
	}
	return c
}

// village is the first village of township tid.
func (c *county) village(tid string) string {
	for _, v := range c.vils {
		if v.ParentID == tid {
			return v.ID
		}
	}
	return ""
}

// TestMonthlyReportCountsCertificatesOnce issues 5 certificates to trainees
// of one township through the real services and checks the monthly
// report's certificates column in JSON, CSV and XLSX: the township's row
// says 5, no other row (the county-level line included) says any, and the
// total is the sum of the rows, 5.
func TestMonthlyReportCountsCertificatesOnce(t *testing.T) {
	c := newCounty(t)
	admin := c.admin
	twp := c.twps[4]
	village := c.village(twp.ID)
	trainer := admin.must("POST", "/api/v1/users", map[string]any{"username": "mtrainer", "password": "password-123", "role": "trainer", "name": "讲师"}, 201)["id"].(string)
	course := admin.must("POST", "/api/v1/courses", map[string]any{"title": "网店运营", "category": "网店开设", "hours": 4, "pass_ratio": 0.5, "published": true}, 201)["id"].(string)
	start := time.Now().Add(-3 * time.Hour).UTC()
	session := admin.must("POST", "/api/v1/courses/"+course+"/sessions", map[string]any{"starts_at": start.Format(time.RFC3339),
		"ends_at": start.Add(2 * time.Hour).Format(time.RFC3339), "location": "乡会议室", "region_id": village, "trainer_id": trainer, "capacity": 50}, 201)["id"].(string)
	var ids []string
	for i := 0; i < 5; i++ {
		id := admin.must("POST", "/api/v1/trainees", map[string]any{"name": fmt.Sprintf("证书学员%d", i), "id_number": validID(40 + i),
			"phone": fmt.Sprintf("1390000%04d", i), "region_id": village}, 201)["id"].(string)
		admin.must("POST", "/api/v1/courses/"+course+"/enrollments", map[string]any{"trainee_id": id}, 201)
		ids = append(ids, id)
	}
	admin.must("POST", "/api/v1/sessions/"+session+"/rollcall", map[string]any{"trainee_ids": ids}, 200)
	res := admin.must("POST", "/api/v1/courses/"+course+"/certificates", map[string]any{}, 200)
	if issued, _ := res["issued"].([]any); len(issued) != 5 {
		t.Fatalf("issued %v", res)
	}
	month := clock.Month(time.Now())
	var m struct {
		Rows []struct {
			TownshipID string           `json:"township_id"`
			Figures    map[string]int64 `json:"figures"`
		} `json:"rows"`
		Totals map[string]int64 `json:"totals"`
	}
	_, _, raw := admin.do("GET", "/api/v1/reports/monthly?format=json&month="+month, nil)
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, r := range m.Rows {
		n := r.Figures["certificates"]
		sum += n
		if r.TownshipID == twp.ID && n != 5 || r.TownshipID != twp.ID && n != 0 {
			t.Errorf("JSON row %q: %d certificates", r.TownshipID, n)
		}
	}
	if sum != 5 || m.Totals["certificates"] != 5 {
		t.Fatalf("JSON: rows sum to %d, total %d, want 5", sum, m.Totals["certificates"])
	}

	// CSV: the 颁发证书 column, each township row and the 合计 line
	_, _, body := admin.do("GET", "/api/v1/reports/monthly?format=csv&month="+month, nil)
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "\ufeff"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := -1
	for i, h := range recs[0] {
		if h == "颁发证书" {
			col = i
		}
	}
	if col < 0 {
		t.Fatalf("CSV header %v", recs[0])
	}
	sum = 0
	for _, r := range recs[1 : len(recs)-1] {
		n, _ := strconv.ParseInt(r[col], 10, 64)
		sum += n
		if want := map[bool]int64{true: 5, false: 0}[r[0] == twp.Name]; n != want {
			t.Errorf("CSV row %s: %d", r[0], n)
		}
	}
	last := recs[len(recs)-1]
	if last[0] != "合计" || last[col] != "5" || sum != 5 {
		t.Fatalf("CSV: rows sum to %d, total line %v", sum, last)
	}

	// XLSX: the 培训 sheet
	_, _, body = admin.do("GET", "/api/v1/reports/monthly?format=xlsx&month="+month, nil)
	x, err := excelize.OpenReader(bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	rows, err := x.GetRows("培训")
	if err != nil {
		t.Fatal(err)
	}
	col = -1
	for i, h := range rows[1] {
		if h == "颁发证书" {
			col = i
		}
	}
	sum = 0
	for _, r := range rows[2 : len(rows)-1] {
		n := int64(0)
		if col < len(r) {
			n, _ = strconv.ParseInt(r[col], 10, 64)
		}
		sum += n
	}
	tot := rows[len(rows)-1]
	if col < 0 || tot[0] != "合计" || tot[col] != "5" || sum != 5 {
		t.Fatalf("XLSX: column %d, rows sum to %d, total line %v", col, sum, tot)
	}
}

// TestSignInSheetScopeAndContent: the sign-in sheet PDF of a township-A
// session is served to those who may read the session's records (admin,
// auditor, A's officer, the trainer who teaches the course) and is 404 to
// B's officer and to a trainer of another course, exactly as the
// session's attendance is. It masks names and ID numbers, gives each
// check-in's date and time, and its QR code opens the session's page.
func TestSignInSheetScopeAndContent(t *testing.T) {
	c := newCounty(t)
	admin, mk, cfg := c.admin, c.mk, c.cfg
	a, b := c.twps[2], c.twps[7]
	village := c.village(a.ID)
	offA, _ := mk(users.NewUser{Username: "offa", Password: "Teach-Yun-2026", Role: "officer", Name: "甲联络员", TownshipID: a.ID})
	offB, _ := mk(users.NewUser{Username: "offb", Password: "Teach-Yun-2026", Role: "officer", Name: "乙联络员", TownshipID: b.ID})
	own, ownID := mk(users.NewUser{Username: "owntr", Password: "Teach-Yun-2026", Role: "trainer", Name: "王讲师"})
	other, otherID := mk(users.NewUser{Username: "othertr", Password: "Teach-Yun-2026", Role: "trainer", Name: "李讲师"})
	aud, _ := mk(users.NewUser{Username: "aud", Password: "Teach-Yun-2026", Role: "auditor", Name: "审计"})
	course := admin.must("POST", "/api/v1/courses", map[string]any{"title": "直播带货", "category": "网店开设", "hours": 2, "pass_ratio": 0.5, "published": true}, 201)["id"].(string)
	course2 := admin.must("POST", "/api/v1/courses", map[string]any{"title": "农产品包装", "category": "网店开设", "hours": 2, "pass_ratio": 0.5, "published": true}, 201)["id"].(string)
	start := time.Now().Add(-2 * time.Hour).UTC()
	sess := admin.must("POST", "/api/v1/courses/"+course+"/sessions", map[string]any{"starts_at": start.Format(time.RFC3339),
		"ends_at": start.Add(3 * time.Hour).Format(time.RFC3339), "location": "甲乡会议室", "region_id": village, "trainer_id": ownID, "capacity": 50}, 201)["id"].(string)
	admin.must("POST", "/api/v1/courses/"+course2+"/sessions", map[string]any{"starts_at": start.Format(time.RFC3339),
		"ends_at": start.Add(3 * time.Hour).Format(time.RFC3339), "location": "乙乡会议室", "region_id": village, "trainer_id": otherID, "capacity": 50}, 201)
	names := []string{"张三丰", "𠮷祥"}
	var ids []string
	for i, n := range names {
		id := admin.must("POST", "/api/v1/trainees", map[string]any{"name": n, "id_number": validID(60 + i), "phone": fmt.Sprintf("1370000%04d", i), "region_id": village}, 201)["id"].(string)
		admin.must("POST", "/api/v1/courses/"+course+"/enrollments", map[string]any{"trainee_id": id}, 201)
		ids = append(ids, id)
	}
	admin.must("POST", "/api/v1/sessions/"+sess+"/rollcall", map[string]any{"trainee_ids": ids}, 200)

	path := "/api/v1/reports/exports/signin/" + sess
	for who, c := range map[string]caller{"admin": admin, "auditor": aud, "officer of A": offA, "trainer of the course": own} {
		if st, _, raw := c.do("GET", path, nil); st != 200 || !strings.HasPrefix(raw, "%PDF") {
			t.Errorf("%s: %d", who, st)
		}
	}
	for who, c := range map[string]caller{"officer of B": offB, "trainer of another course": other} {
		if st, _, _ := c.do("GET", path, nil); st != 404 {
			t.Errorf("%s: sign-in sheet %d, want 404", who, st)
		}
	}
	// the same as the session's own record for B's officer
	if st, _, _ := offB.do("GET", "/api/v1/sessions/"+sess+"/attendance", nil); st != 404 {
		t.Errorf("officer of B: attendance %d, want 404", st)
	}

	_, _, pdf := admin.do("GET", path, nil)
	dir := t.TempDir()
	file := dir + "/s.pdf"
	if err := os.WriteFile(file, []byte(pdf), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Skip("pdftotext not installed (scripts/deps.sh installs it)")
	}
	out, err := exec.Command("pdftotext", "-layout", file, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	text := string(out)
	today := clock.Day(time.Now())
	for _, want := range []string{"培训签到表", "直播带货", "甲乡会议室", "王讲师", "张**", today + " "} {
		if !strings.Contains(text, want) {
			t.Errorf("sheet lacks %q:\n%s", want, text)
		}
	}
	for i := range names {
		if id := validID(60 + i); strings.Contains(text, id) || strings.Contains(text, id[4:14]) {
			t.Errorf("sheet shows ID number %s unmasked", id)
		}
	}
	if strings.Contains(text, "张三丰") || strings.Contains(text, "祥") {
		t.Errorf("sheet shows a name unmasked:\n%s", text)
	}
	// The QR code opens the session's check-in and roll-call page.
	if _, err := exec.LookPath("pdftoppm"); err != nil {
		t.Skip("pdftoppm not installed")
	}
	if _, err := exec.LookPath("zbarimg"); err != nil {
		t.Skip("zbarimg not installed")
	}
	if err := exec.Command("pdftoppm", "-r", "200", "-png", "-singlefile", file, dir+"/p").Run(); err != nil {
		t.Fatal(err)
	}
	qr, err := exec.Command("zbarimg", "-q", "--raw", dir+"/p.png").Output()
	if err != nil {
		t.Fatalf("zbarimg: %v", err)
	}
	if want := strings.TrimRight(cfg.PublicURL, "/") + "/#/session-checkin/" + sess; strings.TrimSpace(string(qr)) != want {
		t.Errorf("QR %q, want %q", qr, want)
	}
}

// TestSignInSheetDrawsRareNames: the sign-in sheet draws with the
// certificates' font API (reports_wiring.go wires certificates.NewPDFText),
// so a name outside the Basic Multilingual Plane (𠮷, U+20BB7) is drawn
// from the font, not left as an empty box: its glyph is in the font and
// drawing it adds an outline to the page.
func TestSignInSheetDrawsRareNames(t *testing.T) {
	_, _, st, cfg := testApp(t, nil)
	cs, err := certificates.New(t.Context(), certificates.Deps{Store: st, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	render := func(s string) []byte {
		pdf := fpdf.New("P", "mm", "A4", "")
		tw, err := cs.NewPDFText(pdf)
		if err != nil {
			t.Skipf("no CJK font on this machine (FONT_PATH): %v", err)
		}
		pdf.AddPage()
		tw.SetSize(12)
		tw.Text(20, 20, s)
		if m := tw.Missing(s); m != "" {
			t.Errorf("the font has no glyph for %q", m)
		}
		if !strings.Contains(tw.Drawn(), s) {
			t.Errorf("drawn %q, want %q", tw.Drawn(), s)
		}
		var b bytes.Buffer
		if err := pdf.Output(&b); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	blank, rare := render("*"), render("𠮷*")
	if len(rare) <= len(blank)+200 {
		t.Errorf("𠮷 added %d bytes to the page: not drawn as an outline", len(rare)-len(blank))
	}
}
