package reports

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/go-pdf/fpdf"
	"nongxun/server"
)

var (
	pdfFontOnce  sync.Once
	pdfFontBytes []byte
)

// fontBytes reads the CJK font once: FONT_PATH, else the Debian LXGW WenKai.
func fontBytes(path string) []byte {
	pdfFontOnce.Do(func() {
		cands := []string{path}
		m, _ := filepath.Glob("/usr/share/fonts/truetype/lxgw*/LXGWWenKai-Regular.ttf")
		cands = append(cands, m...)
		for _, p := range cands {
			if p == "" {
				continue
			}
			if b, err := os.ReadFile(p); err == nil && len(b) > 0 {
				pdfFontBytes = b
				return
			}
		}
	})
	return pdfFontBytes
}

// newPDF starts an A4 document with the CJK font as "cjk".
func (s *Service) newPDF(orientation string) (*fpdf.Fpdf, error) {
	fb := fontBytes(s.d.Config.FontPath)
	if fb == nil {
		return nil, server.Conflict("服务器缺少中文字体（FONT_PATH），无法生成 PDF")
	}
	pdf := fpdf.New(orientation, "mm", "A4", "")
	pdf.AddUTF8FontFromBytes("cjk", "", fb)
	if err := pdf.Error(); err != nil {
		return nil, err
	}
	pdf.SetFont("cjk", "", 11)
	pdf.SetAutoPageBreak(true, 15)
	pdf.AliasNbPages("{nb}")
	pdf.SetFooterFunc(func() {
		pdf.SetY(-12)
		pdf.SetFont("cjk", "", 8)
		pdf.CellFormat(0, 6, "第 "+strconv.Itoa(pdf.PageNo())+" 页，共 {nb} 页", "", 0, "C", false, 0, "")
	})
	return pdf, nil
}

// pdfTable draws a simple bordered table that breaks across pages, repeating the header.
func pdfTable(pdf *fpdf.Fpdf, widths []float64, head []string, rows [][]string) {
	lh := 6.5
	drawHead := func() {
		pdf.SetFillColor(227, 236, 230)
		for i, h := range head {
			pdf.CellFormat(widths[i], lh, h, "1", 0, "C", true, 0, "")
		}
		pdf.Ln(-1)
	}
	drawHead()
	_, pageH := pdf.GetPageSize()
	for _, r := range rows {
		// the tallest cell decides the row height
		lines := 1
		for i, v := range r {
			if n := len(splitLines(pdf, v, widths[i]-2)); n > lines {
				lines = n
			}
		}
		h := float64(lines) * lh
		if pdf.GetY()+h > pageH-18 {
			pdf.AddPage()
			drawHead()
		}
		x, y := pdf.GetXY()
		for i, v := range r {
			pdf.Rect(x, y, widths[i], h, "D")
			for j, line := range splitLines(pdf, v, widths[i]-2) {
				pdf.SetXY(x, y+float64(j)*lh)
				pdf.CellFormat(widths[i], lh, line, "", 0, "L", false, 0, "")
			}
			x += widths[i]
		}
		pdf.SetXY(10, y+h)
	}
}

func writePDF(pdf *fpdf.Fpdf, w io.Writer) error { return pdf.Output(w) }

// splitLines breaks s into lines that fit width, rune by rune (fpdf's
// SplitText drops a character at each break of unspaced CJK text).
func splitLines(pdf *fpdf.Fpdf, s string, width float64) []string {
	var out []string
	for _, para := range strings.Split(s, "\n") {
		line := []rune{}
		for _, r := range para {
			if len(line) > 0 && pdf.GetStringWidth(string(append(line, r))) > width {
				out = append(out, string(line))
				line = line[:0]
			}
			line = append(line, r)
		}
		out = append(out, string(line))
	}
	return out
}
