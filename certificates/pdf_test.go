package certificates

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"golang.org/x/image/font/sfnt"
	"nongxun/server"
)

func testFont(t testing.TB) *pdfFont {
	t.Helper()
	pf, err := loadFont(os.Getenv("FONT_PATH"))
	if err != nil {
		t.Fatalf("no certificate font (install Debian fonts-lxgw-wenkai: scripts/deps.sh): %v", err)
	}
	return pf
}

func sampleCert(name string) *Certificate {
	now := time.Now().UTC()
	return &Certificate{ID: "0123456789abcdef01234567", Serial: "HZDS-2026-00042", Code: server.RandomToken(10),
		TraineeID: "t", CourseID: "c", IssuedAt: now, Status: StatusValid, Name: name,
		CourseTitle: "农产品网店开设与运营（Taobao/JD）", Hours: 24, From: "2026-05-03", To: "2026-06-01", Attended: 5, Held: 6}
}

func pdftotext(t *testing.T, pdf []byte) string {
	t.Helper()
	dir := t.TempDir()
	in := filepath.Join(dir, "c.pdf")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-layout", in, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

// Every rune drawn, rare characters included, has a glyph in the font,
// and the text a reader extracts carries the certificate's content.
func TestPDFTextAndGlyphs(t *testing.T) {
	pf := testFont(t)
	needBin(t, "pdftotext")
	name := "张䶮堃喆玥𠮷"
	c := sampleCert(name)
	pdf, drawn, err := render(pf, c, renderOptions{Issuer: "会泽县电子商务进农村综合示范项目办公室", VerifyURL: "https://nx.example.cn/verify/" + c.Code})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatal("not a PDF")
	}
	var b sfnt.Buffer
	for _, r := range drawn {
		if r == '\n' || r == ' ' {
			continue
		}
		if g, err := pf.f.GlyphIndex(&b, r); err != nil || g == 0 {
			t.Errorf("rune %q (%U) has no glyph in %s", r, r, pf.path)
		}
	}
	for _, want := range []string{name, "结业证书", c.CourseTitle, c.Serial, c.Code, "24 学时"} {
		if !strings.Contains(strings.ReplaceAll(drawn, "\n", ""), want) {
			t.Errorf("drawn text lacks %q", want)
		}
	}
	text := strings.Join(strings.Fields(pdftotext(t, pdf)), "")
	// 𠮷 lies beyond the Basic Multilingual Plane: fpdf cannot encode it, so it
	// is drawn as an outline, which a text extractor does not read back.
	for _, want := range []string{"张䶮堃喆玥", "结业证书", "农产品网店开设与运营（Taobao/JD）", c.Serial, c.Code, "24学时", "2026年5月3日至2026年6月1日", "会泽县电子商务进农村综合示范项目办公室"} {
		if !strings.Contains(text, want) {
			t.Errorf("pdftotext lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "已撤销") {
		t.Error("valid certificate says 已撤销")
	}

	c.Status, c.RevokedReason = StatusRevoked, "培训记录不实"
	now := time.Now()
	c.RevokedAt = &now
	pdf, _, err = render(pf, c, renderOptions{Issuer: "x", VerifyURL: "https://nx.example.cn/verify/" + c.Code})
	if err != nil {
		t.Fatal(err)
	}
	text = pdftotext(t, pdf)
	if !strings.Contains(text, "已撤销") || !strings.Contains(text, "培训记录不实") {
		t.Errorf("revoked PDF lacks the mark:\n%s", text)
	}
}

// The QR code on the page decodes to the verification URL.
func TestPDFQRCode(t *testing.T) {
	pf := testFont(t)
	needBin(t, "pdftoppm", "zbarimg")
	c := sampleCert("李𠮷")
	url := "https://nx.example.cn/verify/" + c.Code
	pdf, _, err := render(pf, c, renderOptions{Issuer: "颁证单位", VerifyURL: url})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "c.pdf")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("pdftoppm", "-png", "-r", "150", "-singlefile", in, filepath.Join(dir, "page")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v %s", err, out)
	}
	out, err := exec.Command("zbarimg", "--quiet", "--raw", filepath.Join(dir, "page.png")).Output()
	if err != nil {
		t.Fatalf("zbarimg found no code: %v", err)
	}
	if got := strings.TrimSpace(string(out)); got != url {
		t.Fatalf("QR says %q, want %q", got, url)
	}
}

// A name with a character the font lacks is still issued; the response and
// the certificate say which characters will print as boxes.
func TestMissingGlyphStillIssues(t *testing.T) {
	f := newFixture(t)
	if f.svc.font == nil {
		t.Fatal("no certificate font (install Debian fonts-lxgw-wenkai: scripts/deps.sh)")
	}
	c, ss, _ := f.course("农村电商基础", 1, 1)
	a, _ := f.trainee("张𪚥", 0) // U+2A6A5: not in LXGW WenKai
	f.enrol(c, ss, []int{0}, a)
	res := f.issueAll(c.ID)
	if len(res.Issued) != 1 || res.Issued[0].MissingGlyphs != "𪚥" {
		t.Fatalf("%+v", res)
	}
	r := f.Do(f.Admin, "GET", "/api/v1/certificates/"+res.Issued[0].ID+"/pdf", nil).Want(t, 200)
	if !bytes.HasPrefix(r.Body, []byte("%PDF-")) {
		t.Fatal("no PDF")
	}
}

// PDFs are drawn once and cached; revocation drops the cache and the new
// PDF carries 已撤销; revocation is recorded and never deletes.
func TestPDFCacheAndRevocation(t *testing.T) {
	f := newFixture(t)
	if f.svc.font == nil {
		t.Fatal("no certificate font (install Debian fonts-lxgw-wenkai: scripts/deps.sh)")
	}
	c, ss, trainer := f.course("短视频营销", 1, 1)
	a, _ := f.trainee("蒋小玥", 0)
	f.enrol(c, ss, []int{0}, a)
	id := f.issueAll(c.ID).Issued[0].ID
	pdfPath := "/api/v1/certificates/" + id + "/pdf"
	first := f.Do(f.Admin, "GET", pdfPath, nil).Want(t, 200)
	if ct := first.Header.Get("Content-Type"); ct != "application/pdf" {
		t.Fatalf("content type %q", ct)
	}
	second := f.Do(trainer, "GET", pdfPath, nil).Want(t, 200)
	if first.Header.Get("ETag") == "" || first.Header.Get("ETag") != second.Header.Get("ETag") || !bytes.Equal(first.Body, second.Body) {
		t.Fatal("second request was not served from the cache")
	}
	cert, _ := f.svc.cert(f.Ctx, id)
	o, _ := f.svc.renderOptions(f.Ctx, cert)
	var e pdfEntry
	if err := f.svc.pdfs.Get(f.Ctx, pdfKey(id, StatusValid, o.digest()), &e); err != nil || `"`+e.Blob+`"` != first.Header.Get("ETag") {
		t.Fatalf("cache not recorded by _id: %+v %v", e, err)
	}
	// A restarted service finds the cached page.
	again, err := New(f.Ctx, f.svc.d)
	if err != nil {
		t.Fatal(err)
	}
	c2, _ := again.cert(f.Ctx, id)
	if b, etag, err := again.PDF(f.Ctx, c2); err != nil || `"`+etag+`"` != first.Header.Get("ETag") {
		t.Fatalf("after restart: etag %s, err %v", etag, err)
	} else {
		b.Close()
	}

	rv := "/api/v1/certificates/" + id + "/revoke"
	f.Do(trainer, "POST", rv, map[string]any{"reason": "冒名顶替"}).Want(t, 403)
	f.Do(f.Admin, "POST", rv, map[string]any{"reason": "   "}).Want(t, 400)
	f.Do(f.Admin, "POST", rv, map[string]any{}).Want(t, 400)
	f.Do(f.Admin, "POST", rv, map[string]any{"reason": strings.Repeat("长", 201)}).Want(t, 400)
	f.Do(f.Admin, "POST", "/api/v1/certificates/"+"0123456789abcdef01234567"+"/revoke", map[string]any{"reason": "x"}).Want(t, 404)
	f.Do(f.Admin, "POST", "/api/v1/certificates/zzz/revoke", map[string]any{"reason": "x"}).Want(t, 400)
	if cert, _ := f.svc.cert(f.Ctx, id); cert.Status != StatusValid {
		t.Fatal("refused revocation changed the certificate")
	}
	got := f.Do(f.Admin, "POST", rv, map[string]any{"reason": "冒名顶替"}).Want(t, 200).JSON()
	if got["status"] != "revoked" || got["revoked_reason"] != "冒名顶替" {
		t.Fatalf("%v", got)
	}
	f.Do(f.Admin, "POST", rv, map[string]any{"reason": "再次撤销"}).Want(t, 409)

	third := f.Do(f.Admin, "GET", pdfPath, nil).Want(t, 200)
	if third.Header.Get("ETag") == first.Header.Get("ETag") {
		t.Fatal("revoked certificate served the cached valid PDF")
	}
	if _, err := exec.LookPath("pdftotext"); err == nil && !strings.Contains(pdftotext(t, third.Body), "已撤销") {
		t.Fatal("revoked PDF lacks 已撤销")
	}
	if n, _ := f.svc.pdfs.Count(f.Ctx, bson.M{"cert_id": id}); n != 2 {
		t.Fatalf("a rendering per status: %d", n)
	}
	// A new public address redraws the page (its QR code points there).
	f.svc.d.Config.PublicURL = "https://px.example.cn"
	fourth := f.Do(f.Admin, "GET", pdfPath, nil).Want(t, 200)
	if fourth.Header.Get("ETag") == third.Header.Get("ETag") {
		t.Fatal("a PDF drawn for the old PUBLIC_URL was served")
	}
	if n, _ := f.svc.certs.Count(f.Ctx, bson.M{"_id": id}); n != 1 {
		t.Fatal("certificate deleted")
	}
	entries, err := f.Audit.List(f.Ctx, id, "certificates.revoke", time.Time{}, 10)
	if err != nil || len(entries) != 1 {
		t.Fatalf("audit %v %v", entries, err)
	}
	ae := entries[0]
	if ae.UserID != f.Admin.User.ID || ae.Detail["reason"] != "冒名顶替" || ae.At.IsZero() {
		t.Fatalf("audit entry %+v", ae)
	}
}

// The common-character subset draws ordinary certificates; a rarer
// character sends the page to the full font.
func TestCommonSubset(t *testing.T) {
	pf := testFont(t)
	needBin(t, "pdftotext")
	var sub *commonFont
	for i := 0; i < 300 && sub == nil; i++ { // made in the background at load
		if sub = pf.common.Load(); sub == nil {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if sub == nil {
		t.Fatal("common subset not made")
	}
	o := renderOptions{Issuer: "会泽县电子商务进农村综合示范项目办公室", VerifyURL: "https://nx.example.cn/verify/X"}
	c := sampleCert("张三丰")
	c.Status, c.RevokedReason = StatusRevoked, "重复颁发（见编号 HZDS-2026-00001）"
	now := time.Now()
	c.RevokedAt = &now
	pdf, drawn, miss, err := draw(pf, sub, c, o)
	if err != nil || miss {
		t.Fatalf("common page left the subset: miss %v err %v", miss, err)
	}
	text := strings.Join(strings.Fields(pdftotext(t, pdf)), "")
	for _, want := range []string{"张三丰", c.Serial, "已撤销", "重复颁发"} {
		if !strings.Contains(text, want) {
			t.Errorf("subset page lacks %q:\n%s", want, text)
		}
	}
	for _, r := range strings.ReplaceAll(drawn, "\n", "") {
		if r != ' ' && r <= 0xFFFF && !sub.has[r] {
			t.Errorf("drawn rune %q not in the subset", r)
		}
	}
	rare := sampleCert("王䶮")
	if _, _, miss, _ := draw(pf, sub, rare, o); !miss {
		t.Fatal("a rare character did not leave the subset")
	}
	pdf, _, err = render(pf, rare, o)
	if err != nil || !strings.Contains(pdftotext(t, pdf), "王䶮") {
		t.Fatalf("full-font page: %v", err)
	}
}
