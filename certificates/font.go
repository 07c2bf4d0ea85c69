package certificates

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"

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
