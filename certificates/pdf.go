package certificates

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf16"

	"github.com/go-pdf/fpdf"
	qrcode "github.com/skip2/go-qrcode"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

// Page geometry, A4 landscape, in mm.
const (
	pageW = 297.0
	pageH = 210.0
	ptMM  = 25.4 / 72
)

// Page colours.
var (
	inkRed  = [3]int{176, 30, 35}
	inkDark = [3]int{40, 30, 25}
)

// page draws text with the certificate font. fpdf encodes only the Basic
// Multilingual Plane, so runes beyond it (𠮷 and the other CJK extension B+
// characters) are drawn as filled outlines taken from the same font; runes
// the font lacks are drawn as empty boxes. drawn keeps every rune written,
// for the glyph-coverage test.
type page struct {
	pdf    *fpdf.Fpdf
	family string // the name the font is registered under ("wk" when empty)
	font   *pdfFont
	only   map[rune]bool // the runes fpdf's font holds, when it is the common subset
	miss   bool          // a rune outside only was drawn: draw again with the full font
	buf    sfnt.Buffer
	size   float64 // pt
	drawn  strings.Builder
}

func (w *page) setSize(pt float64) {
	w.size = pt
	fam := w.family
	if fam == "" {
		fam = "wk"
	}
	w.pdf.SetFont(fam, "", pt)
}

func (w *page) color(c [3]int) {
	w.pdf.SetTextColor(c[0], c[1], c[2])
	w.pdf.SetFillColor(c[0], c[1], c[2])
	w.pdf.SetDrawColor(c[0], c[1], c[2])
}

// run is a stretch of text drawn one way: by fpdf (kind 0), as an outline
// (kind 1, one rune) or as a box (kind 2, one rune).
type run struct {
	kind  int
	text  string
	glyph sfnt.GlyphIndex
}

func (w *page) runs(s string) []run {
	var out []run
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			out = append(out, run{text: cur.String()})
			cur.Reset()
		}
	}
	for _, r := range s {
		g := w.font.glyph(&w.buf, r)
		switch {
		case r == ' ' || g != 0 && r <= 0xFFFF:
			if w.only != nil && !w.only[r] {
				w.miss = true
			}
			cur.WriteRune(r)
		case g != 0:
			flush()
			out = append(out, run{kind: 1, text: string(r), glyph: g})
		default:
			flush()
			out = append(out, run{kind: 2, text: string(r)})
		}
	}
	flush()
	return out
}

func (w *page) runWidth(r run) float64 {
	switch r.kind {
	case 0:
		return w.pdf.GetStringWidth(r.text)
	case 1:
		return w.font.advance(&w.buf, r.glyph) / w.font.upem * w.size * ptMM
	}
	return w.size * ptMM
}

func (w *page) width(s string) float64 {
	var t float64
	for _, r := range w.runs(s) {
		t += w.runWidth(r)
	}
	return t
}

// text writes s with its baseline at y, from x.
func (w *page) text(x, y float64, s string) {
	w.drawn.WriteString(s)
	w.drawn.WriteByte('\n')
	for _, r := range w.runs(s) {
		switch r.kind {
		case 0:
			w.pdf.Text(x, y, r.text)
		case 1:
			w.actualText(x, y, r.text)
			w.outline(x, y, r.glyph)
		case 2:
			em := w.size * ptMM
			w.pdf.SetLineWidth(0.2)
			w.pdf.Rect(x+em*0.1, y-em*0.8, em*0.8, em*0.9, "D")
		}
		x += w.runWidth(r)
	}
}

// standIn is the invisible character a rune beyond the BMP is written as,
// under its ActualText, so that text extraction and search find the rune.
const standIn = "口"

// actualText writes s (runes beyond the BMP, which fpdf cannot encode) as
// an invisible stand-in marked with /ActualText: pdftotext, search and
// copy then give s itself, while the outline drawn over it is what shows.
func (w *page) actualText(x, y float64, s string) {
	var hex strings.Builder
	hex.WriteString("FEFF")
	for _, u := range utf16.Encode([]rune(s)) {
		fmt.Fprintf(&hex, "%04X", u)
	}
	w.pdf.RawWriteStr("/Span <</ActualText <" + hex.String() + ">>> BDC 3 Tr\n")
	w.pdf.Text(x, y, standIn)
	w.pdf.RawWriteStr("0 Tr EMC\n")
}

// outline fills glyph g at x on baseline y.
func (w *page) outline(x, y float64, g sfnt.GlyphIndex) {
	segs, err := w.font.f.LoadGlyph(&w.buf, g, fixed.I(int(w.font.upem)), nil)
	if err != nil || len(segs) == 0 {
		return
	}
	k := w.size * ptMM / w.font.upem
	px := func(p fixed.Point26_6) (float64, float64) {
		return x + float64(p.X)/64*k, y + float64(p.Y)/64*k // sfnt's y grows downwards, as fpdf's does
	}
	open := false
	for _, s := range segs {
		switch s.Op {
		case sfnt.SegmentOpMoveTo:
			if open {
				w.pdf.ClosePath()
			}
			w.pdf.MoveTo(px(s.Args[0]))
			open = true
		case sfnt.SegmentOpLineTo:
			w.pdf.LineTo(px(s.Args[0]))
		case sfnt.SegmentOpQuadTo:
			cx, cy := px(s.Args[0])
			ex, ey := px(s.Args[1])
			w.pdf.CurveTo(cx, cy, ex, ey)
		case sfnt.SegmentOpCubeTo:
			ax, ay := px(s.Args[0])
			bx, by := px(s.Args[1])
			ex, ey := px(s.Args[2])
			w.pdf.CurveBezierCubicTo(ax, ay, bx, by, ex, ey)
		}
	}
	if open {
		w.pdf.ClosePath()
	}
	w.pdf.DrawPath("F")
}

func (w *page) centered(y float64, s string) { w.text((pageW-w.width(s))/2, y, s) }

// noLineStart are marks a Chinese line must not begin with; they hang past the margin.
const noLineStart = "，。、；：！？）》”’」』…,.;:!?)"

// wrap breaks s into lines no wider than max.
func (w *page) wrap(s string, max float64) []string {
	var lines []string
	var cur []rune
	for _, r := range s {
		if w.width(string(append(cur, r))) > max && len(cur) > 0 && !strings.ContainsRune(noLineStart, r) {
			lines = append(lines, string(cur))
			cur = cur[:0]
		}
		cur = append(cur, r)
	}
	if len(cur) > 0 {
		lines = append(lines, string(cur))
	}
	return lines
}

// render draws the certificate; it returns the PDF and the text drawn.
// It uses the common-character subset when that holds every character.
func render(pf *pdfFont, c *Certificate, o renderOptions) ([]byte, string, error) {
	if sub := pf.common.Load(); sub != nil {
		out, drawn, miss, err := draw(pf, sub, c, o)
		if err != nil || !miss {
			return out, drawn, err
		}
	}
	out, drawn, _, err := draw(pf, nil, c, o)
	return out, drawn, err
}

// draw draws the page with sub's font program, or the full font when sub is nil.
func draw(pf *pdfFont, sub *commonFont, c *Certificate, o renderOptions) ([]byte, string, bool, error) {
	pdf := fpdf.New("L", "mm", "A4", "")
	pdf.SetAutoPageBreak(false, 0)
	pdf.SetMargins(0, 0, 0)
	pdf.SetTitle("结业证书 "+c.Serial, true)
	pdf.SetCreator("nongxun", true)
	w := &page{pdf: pdf, font: pf}
	if sub != nil {
		pdf.AddUTF8FontFromBytes("wk", "", sub.raw)
		w.only = sub.has
	} else {
		pdf.AddUTF8FontFromBytes("wk", "", pf.raw)
	}
	pdf.AddPage()

	// Frame.
	pdf.SetFillColor(253, 250, 240)
	pdf.Rect(0, 0, pageW, pageH, "F")
	w.color(inkRed)
	pdf.SetLineWidth(1.4)
	pdf.Rect(10, 10, pageW-20, pageH-20, "D")
	pdf.SetLineWidth(0.4)
	pdf.Rect(14, 14, pageW-28, pageH-28, "D")

	w.setSize(40)
	w.centered(46, "结业证书")
	w.color(inkDark)
	w.setSize(13)
	w.centered(58, "电子商务进农村综合示范项目 · 电子商务培训")

	w.setSize(28)
	w.centered(84, c.Name)
	pdf.SetLineWidth(0.3)
	pdf.Line(pageW/2-45, 87, pageW/2+45, 87)

	w.setSize(16)
	when := cnDate(c.From)
	if c.To != "" && c.To != c.From {
		when += "至" + cnDate(c.To)
	}
	body := fmt.Sprintf("　　该学员于%s参加“%s”培训，完成 %s 学时，出勤 %d/%d 次，成绩合格，准予结业，特发此证。",
		when, c.CourseTitle, hoursText(c.Hours), c.Attended, c.Held)
	y := 102.0
	for _, line := range w.wrap(body, 220) {
		w.text(38.5, y, line)
		y += 10
	}

	w.setSize(12)
	w.text(30, 166, "证书编号："+c.Serial)
	w.text(30, 174, "颁发日期："+cnDate(day(c.IssuedAt)))
	w.text(30, 182, "验证码："+c.Code)

	w.setSize(14)
	issuer := o.Issuer
	iw := w.width(issuer)
	ix := 228 - iw
	if len(o.Seal) > 0 {
		pdf.RegisterImageOptionsReader("seal", fpdf.ImageOptions{ImageType: "PNG"}, bytes.NewReader(o.Seal))
		if pdf.Ok() {
			pdf.ImageOptions("seal", ix+iw/2-18, 146, 36, 36, false, fpdf.ImageOptions{ImageType: "PNG"}, 0, "")
		}
		pdf.ClearError()
	}
	w.text(ix, 166, issuer)
	w.setSize(12)
	w.text(228-w.width(cnDate(day(c.IssuedAt))), 174, cnDate(day(c.IssuedAt)))

	if err := drawQR(pdf, o.VerifyURL, 240, 143, 36); err != nil {
		return nil, "", false, err
	}
	w.setSize(9)
	w.text(258-w.width("扫码验证真伪")/2, 184, "扫码验证真伪")

	if c.Status == StatusRevoked {
		revokedMark(w, c)
	}
	if w.miss {
		return nil, "", true, nil
	}
	var out bytes.Buffer
	if err := pdf.Output(&out); err != nil {
		return nil, "", false, err
	}
	return out.Bytes(), w.drawn.String(), false, nil
}

// revokedMark stamps 已撤销 across the page and prints the reason and date.
func revokedMark(w *page, c *Certificate) {
	pdf := w.pdf
	w.color(inkRed)
	pdf.SetAlpha(0.35, "Normal")
	pdf.TransformBegin()
	pdf.TransformRotate(20, pageW/2, pageH/2)
	w.setSize(110)
	w.text((pageW-w.width("已撤销"))/2, pageH/2+15, "已撤销")
	pdf.TransformEnd()
	pdf.SetAlpha(1, "Normal")
	w.setSize(12)
	when := ""
	if c.RevokedAt != nil {
		when = cnDate(day(*c.RevokedAt))
	}
	lines := w.wrap("【已撤销】本证书于"+when+"撤销，原因："+c.RevokedReason, 250)
	if len(lines) > 2 {
		lines = append(lines[:1], string([]rune(lines[1])[:len([]rune(lines[1]))-1])+"…")
	}
	y := 24.0
	for _, line := range lines {
		w.centered(y, line)
		y += 6
	}
	w.color(inkDark)
}

// drawQR draws the QR code of text as vector squares, size mm wide, quiet zone included.
func drawQR(pdf *fpdf.Fpdf, text string, x, y, size float64) error {
	q, err := qrcode.New(text, qrcode.Medium)
	if err != nil {
		return err
	}
	bm := q.Bitmap() // with its quiet zone
	m := size / float64(len(bm))
	pdf.SetFillColor(255, 255, 255)
	pdf.Rect(x, y, size, size, "F")
	pdf.SetFillColor(0, 0, 0)
	for r, row := range bm {
		for c := 0; c < len(row); {
			if !row[c] {
				c++
				continue
			}
			start := c
			for c < len(row) && row[c] {
				c++
			}
			// A run of dark modules as one rectangle, slightly overlapping the next row so no hairline shows.
			pdf.Rect(x+float64(start)*m, y+float64(r)*m, float64(c-start)*m, m*1.02, "F")
		}
	}
	return nil
}
