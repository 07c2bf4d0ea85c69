package certificates

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/go-pdf/fpdf"
)

// extB are names with characters beyond the BMP that the font has
// (CJK Extension B): 𠮷 alone made fpdf's subsetter panic with "index out
// of range [65536] with length 65536".
var extB = []string{"𠮷野家", "王𠀋", "李𠂉明", "𡨚𣎴", "陈𠮟"}

// TestTextWriterBeyondBMP draws names with Extension B characters through
// the exported TextWriter (what the sign-in sheet uses) without a panic,
// and pdftotext finds every one of them.
func TestTextWriterBeyondBMP(t *testing.T) {
	needBin(t, "pdftotext")
	font, err := LoadFont("")
	if err != nil {
		t.Fatal("no certificate font (install Debian fonts-lxgw-wenkai: scripts/deps.sh)")
	}
	for _, n := range extB {
		if m := font.Missing(n); m != "" {
			t.Fatalf("the font lacks %q", m)
		}
	}
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.AddPage()
	w := font.Writer(pdf, "cjk", 12)
	for i, n := range extB {
		w.Text(20, 30+float64(i)*10, n)
	}
	pdf.SetXY(20, 100)
	for _, n := range extB {
		w.Cell(30, 8, n, "1", 0, "C", false)
	}
	var out bytes.Buffer
	if err := pdf.Output(&out); err != nil {
		t.Fatal(err)
	}
	text := pdftotext(t, out.Bytes())
	for _, n := range extB {
		if strings.Count(text, n) < 2 {
			t.Errorf("pdftotext does not show %q twice (text and cell):\n%s", n, text)
		}
	}
	if strings.Contains(text, standIn) {
		t.Errorf("the stand-in shows in the extracted text:\n%s", text)
	}
}

// TestCertificateNameBeyondBMP: a certificate for 𠮷 prints the name, and
// the PDF's text carries it.
func TestCertificateNameBeyondBMP(t *testing.T) {
	needBin(t, "pdftotext")
	f := newFixture(t)
	if f.svc.font == nil {
		t.Fatal("no certificate font (install Debian fonts-lxgw-wenkai: scripts/deps.sh)")
	}
	c := &Certificate{ID: "c1", Serial: "HZDS-2026-00001", Code: "ABCDEFGHJKLMNPQR", Name: "𠮷野𠂉", CourseTitle: "网店𡨚营", Hours: 8,
		From: "2026-05-01", To: "2026-05-02", Attended: 2, Held: 2, IssuedAt: time.Now(), Status: StatusValid}
	raw, _, err := render(f.svc.font, c, renderOptions{Issuer: "会泽县电子商务进农村综合示范项目办公室", VerifyURL: "https://nx.example.cn/verify/x"})
	if err != nil {
		t.Fatal(err)
	}
	text := pdftotext(t, raw)
	for _, want := range []string{"𠮷野𠂉", "网店𡨚营"} {
		if !strings.Contains(text, want) {
			t.Errorf("pdftotext lacks %q:\n%s", want, text)
		}
	}
}
