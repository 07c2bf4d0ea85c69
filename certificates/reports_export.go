package certificates

import (
	"context"
	"os"

	"github.com/go-pdf/fpdf"
	"nongxun/server"
)

// This file is what the reports package reads of certificates, kept by the
// reports engineer; the certificates engineer keeps it true when the seal,
// the issuer, the counters or the font drawing change.

// ReportMonthly is the certificates issued in month "YYYY-MM" for the
// monthly report: township id → {"certificates": n}, and under "" those
// issued to trainees of no township. The month counter also holds the
// county's total (MonthlyFigures gives it under ""), which the report
// must not add a second time: the total is the sum of the rows.
func (s *Service) ReportMonthly(ctx context.Context, month string) (map[string]map[string]int64, error) {
	doc, err := s.counters.Counter(ctx, monthCtr(month))
	if err != nil {
		return nil, err
	}
	byTwp := counterMap(doc)
	total := byTwp[""]
	delete(byTwp, "")
	out := map[string]map[string]int64{}
	var sum int64
	for t, n := range byTwp {
		if n != 0 {
			out[t] = map[string]int64{"certificates": n}
			sum += n
		}
	}
	if rest := total - sum; rest != 0 {
		out[""] = map[string]int64{"certificates": rest}
	}
	return out, nil
}

// SealSet reports whether the issuer's seal is set: a PNG at Deps.SealPath
// (DATA_DIR/seal.png), checked the way New reads it, at every call, so a
// seal put there later (the admin's seal upload) counts at once.
func (s *Service) SealSet() bool {
	if s.d.SealPath == "" {
		return false
	}
	b, err := os.ReadFile(s.d.SealPath)
	return err == nil && isPNG(b)
}

// DefaultIssuer is the issuer CERT_ISSUER names when unset (server.Vars).
func DefaultIssuer() string {
	for _, v := range server.Vars {
		if v.Name == "CERT_ISSUER" {
			return v.Default
		}
	}
	return ""
}

// IssuerName is the issuer printed on certificates and whether it is still the default.
func (s *Service) IssuerName() (string, bool) {
	return s.d.Config.Issuer, s.d.Config.Issuer == "" || s.d.Config.Issuer == DefaultIssuer()
}

// PDFText draws text on another package's fpdf document with the
// certificates' font and drawing: every character, those outside the
// Basic Multilingual Plane (𠮷) included, which fpdf cannot encode and
// which are drawn as outlines from the same font (pdf.go, page).
type PDFText struct{ w *page }

// NewPDFText adds the certificates' font to pdf (as "wk") and returns its
// text drawing; an error when no font is loaded (FONT_PATH).
func (s *Service) NewPDFText(pdf *fpdf.Fpdf) (*PDFText, error) {
	if s.font == nil {
		return nil, server.Conflict("服务器缺少中文字体（FONT_PATH），无法生成 PDF")
	}
	pdf.AddUTF8FontFromBytes("wk", "", s.font.raw)
	if err := pdf.Error(); err != nil {
		return nil, err
	}
	return &PDFText{w: &page{pdf: pdf, font: s.font}}, nil
}

// SetSize sets the font size in points.
func (t *PDFText) SetSize(pt float64) { t.w.setSize(pt) }

// Text writes s with its baseline at y (mm), from x.
func (t *PDFText) Text(x, y float64, s string) { t.w.text(x, y, s) }

// Width is how wide s is drawn at the current size, in mm.
func (t *PDFText) Width(s string) float64 { return t.w.width(s) }

// Drawn is every string written so far, one a line (for tests).
func (t *PDFText) Drawn() string { return t.w.drawn.String() }

// Missing lists the runes of s the font has no glyph for (drawn as boxes).
func (t *PDFText) Missing(s string) string { return t.w.font.Missing(s) }

// QR draws a QR code of text, size mm square, with its top left at x, y.
func (t *PDFText) QR(text string, x, y, size float64) error { return drawQR(t.w.pdf, text, x, y, size) }
