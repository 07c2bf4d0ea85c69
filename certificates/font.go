package certificates

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"

	"github.com/go-pdf/fpdf"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

// fontFallbacks are tried after FONT_PATH: where Debian's fonts-lxgw-wenkai
// puts the font, and the older path.
var fontFallbacks = []string{
	"/usr/share/fonts/truetype/lxgw-wenkai/LXGWWenKai-Regular.ttf",
	"/usr/share/fonts/truetype/lxgw/LXGWWenKai-Regular.ttf",
}

// pdfFont is the TrueType font certificates are drawn with, parsed once.
type pdfFont struct {
	path   string
	raw    []byte
	f      *sfnt.Font
	upem   float64
	common atomic.Pointer[commonFont] // the common-character subset, once made
}

// fonts keeps each font loaded once per process (tests make many services).
var fonts = struct {
	sync.Mutex
	m map[string]*pdfFont
}{m: map[string]*pdfFont{}}

// loadFont returns the first font that exists of path and the fallbacks,
// and starts making its common-character subset in the background.
func loadFont(path string) (*pdfFont, error) {
	fonts.Lock()
	defer fonts.Unlock()
	if pf, ok := fonts.m[path]; ok {
		return pf, nil
	}
	pf, err := readFont(path)
	if err != nil {
		return nil, err
	}
	fonts.m[path] = pf
	go func() {
		if c, err := buildCommon(pf); err == nil {
			pf.common.Store(c)
		}
	}()
	return pf, nil
}

func readFont(path string) (*pdfFont, error) {
	var errs []error
	for _, p := range append([]string{path}, fontFallbacks...) {
		if p == "" {
			continue
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		f, err := sfnt.Parse(raw)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p, err))
			continue
		}
		return &pdfFont{path: p, raw: raw, f: f, upem: float64(f.UnitsPerEm())}, nil
	}
	return nil, errors.Join(errs...)
}

// glyph is the glyph index of r, 0 when the font lacks it.
func (pf *pdfFont) glyph(b *sfnt.Buffer, r rune) sfnt.GlyphIndex {
	g, err := pf.f.GlyphIndex(b, r)
	if err != nil {
		return 0
	}
	return g
}

// advance is r's advance width in font units.
func (pf *pdfFont) advance(b *sfnt.Buffer, g sfnt.GlyphIndex) float64 {
	a, err := pf.f.GlyphAdvance(b, g, fixed.I(int(pf.upem)), 0)
	if err != nil {
		return pf.upem
	}
	return float64(a) / 64
}

// Missing lists, once each, the printable runes of s the font has no glyph for.
func (pf *pdfFont) Missing(s string) string {
	var b sfnt.Buffer
	var out strings.Builder
	seen := map[rune]bool{}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || seen[r] {
			continue
		}
		seen[r] = true
		if pf.glyph(&b, r) == 0 {
			out.WriteRune(r)
		}
	}
	return out.String()
}

// missingGlyphs is Missing on the service's font ("" when no font is loaded).
func (s *Service) missingGlyphs(text string) string {
	if s.font == nil {
		return ""
	}
	return s.font.Missing(text)
}

// Font is the Chinese font certificates are drawn with, for other
// packages' PDFs (the sign-in sheet). fpdf encodes only the Basic
// Multilingual Plane and panics on a rune beyond it (𠮷 and the other CJK
// Extension B+ characters found in names); a TextWriter draws those as
// outlines taken from the same font, under an /ActualText so pdftotext and
// search still find them, and draws runes the font lacks as empty boxes.
// Never hand such text to fpdf's own Text, Cell or MultiCell.
type Font struct{ pf *pdfFont }

// LoadFont loads the font at path (FONT_PATH), or the Debian LXGW WenKai.
func LoadFont(path string) (*Font, error) {
	pf, err := loadFont(path)
	if err != nil {
		return nil, err
	}
	return &Font{pf: pf}, nil
}

// Missing lists, once each, the printable runes of s the font cannot draw.
func (f *Font) Missing(s string) string { return f.pf.Missing(s) }

// Writer registers the whole font with pdf as family and returns a writer
// drawing with it at size pt.
func (f *Font) Writer(pdf *fpdf.Fpdf, family string, pt float64) *TextWriter {
	pdf.AddUTF8FontFromBytes(family, "", f.pf.raw)
	w := &TextWriter{p: page{pdf: pdf, family: family, font: f.pf}}
	w.SetSize(pt)
	return w
}

// TextWriter draws text that may hold any rune onto one fpdf document.
type TextWriter struct{ p page }

// SetSize selects the font at pt points.
func (w *TextWriter) SetSize(pt float64) { w.p.setSize(pt) }

// Text writes s from x with its baseline at y (the document's units: mm).
func (w *TextWriter) Text(x, y float64, s string) { w.p.text(x, y, s) }

// Width is the width s takes at the current size.
func (w *TextWriter) Width(s string) float64 { return w.p.width(s) }

// Cell is fpdf's CellFormat for text with any rune: it draws the cell (its
// border and fill), then s inside it aligned "L", "C" or "R", and moves as
// CellFormat does after it (ln 0: right, 1: next line, 2: below).
func (w *TextWriter) Cell(width, height float64, s, border string, ln int, align string, fill bool) {
	pdf := w.p.pdf
	x, y := pdf.GetXY()
	if width == 0 {
		pw, _ := pdf.GetPageSize()
		_, _, r, _ := pdf.GetMargins()
		width = pw - r - x
	}
	pdf.CellFormat(width, height, "", border, ln, align, fill, 0, "")
	margin := pdf.GetCellMargin()
	tw := w.p.width(s)
	tx := x + margin
	switch align {
	case "C":
		tx = x + (width-tw)/2
	case "R":
		tx = x + width - margin - tw
	}
	ty := y + height/2 + 0.35*w.p.size*ptMM
	w.p.text(tx, ty, s)
}
