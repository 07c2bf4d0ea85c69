package reports

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"nongxun/clock"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"
)

// yuanFmt shows an amount in yuan with thousands separators.
const yuanFmt = `#,##0.00`

// Column is one column of a generic table sheet.
type Column struct {
	Label string
	Fen   bool // the cell is int64 fen, shown in yuan
	Width float64
}

// Sheet is one table of an XLSX workbook: a title line, a frozen header
// row, the rows, and an optional totals row.
type Sheet struct {
	Name    string
	Title   string
	Columns []Column
	Rows    [][]any
	Totals  []any
}

// book holds the shared styles of one workbook.
type book struct {
	f                                      *excelize.File
	title, head, yuan, yuanBold, bold, txt int
}

func newBook() (*book, error) {
	f := excelize.NewFile()
	b := &book{f: f}
	var err error
	mk := func(st *excelize.Style) int {
		if err != nil {
			return 0
		}
		var id int
		id, err = f.NewStyle(st)
		return id
	}
	custom := yuanFmt
	border := []excelize.Border{{Type: "bottom", Color: "999999", Style: 1}}
	b.title = mk(&excelize.Style{Font: &excelize.Font{Bold: true, Size: 13}})
	b.head = mk(&excelize.Style{Font: &excelize.Font{Bold: true}, Fill: excelize.Fill{Type: "pattern", Color: []string{"E3ECE6"}, Pattern: 1},
		Border: border, Alignment: &excelize.Alignment{WrapText: true, Vertical: "center"}})
	b.yuan = mk(&excelize.Style{CustomNumFmt: &custom})
	b.yuanBold = mk(&excelize.Style{CustomNumFmt: &custom, Font: &excelize.Font{Bold: true}})
	b.bold = mk(&excelize.Style{Font: &excelize.Font{Bold: true}})
	b.txt = mk(&excelize.Style{Alignment: &excelize.Alignment{WrapText: true, Vertical: "top"}})
	if err != nil {
		return nil, err
	}
	return b, nil
}

// add writes one sheet with a stream writer (rows never held twice).
func (b *book) add(sh Sheet, first bool) error {
	name := sh.Name
	if first {
		if err := b.f.SetSheetName("Sheet1", name); err != nil {
			return err
		}
	} else if _, err := b.f.NewSheet(name); err != nil {
		return err
	}
	sw, err := b.f.NewStreamWriter(name)
	if err != nil {
		return err
	}
	for i, c := range sh.Columns {
		w := c.Width
		if w == 0 {
			w = 14
		}
		if err := sw.SetColWidth(i+1, i+1, w); err != nil {
			return err
		}
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 2, TopLeftCell: "A3", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	if err := sw.SetRow("A1", []any{excelize.Cell{StyleID: b.title, Value: sh.Title}}); err != nil {
		return err
	}
	head := make([]any, len(sh.Columns))
	for i, c := range sh.Columns {
		head[i] = excelize.Cell{StyleID: b.head, Value: c.Label}
	}
	if err := sw.SetRow("A2", head); err != nil {
		return err
	}
	row := 3
	put := func(vals []any, bold bool) error {
		cells := make([]any, len(vals))
		for i, v := range vals {
			st := 0
			if bold {
				st = b.bold
			}
			if i < len(sh.Columns) && sh.Columns[i].Fen {
				if n, ok := v.(int64); ok {
					v = float64(n) / 100
					st = b.yuan
					if bold {
						st = b.yuanBold
					}
				}
			}
			if t, ok := v.(time.Time); ok {
				if t.IsZero() {
					v = ""
				} else {
					v = t.In(clock.Shanghai).Format("2006-01-02 15:04")
				}
			}
			cells[i] = excelize.Cell{StyleID: st, Value: v}
		}
		cell, _ := excelize.CoordinatesToCellName(1, row)
		row++
		return sw.SetRow(cell, cells)
	}
	for _, r := range sh.Rows {
		if err := put(r, false); err != nil {
			return err
		}
	}
	if sh.Totals != nil {
		if err := put(sh.Totals, true); err != nil {
			return err
		}
	}
	return sw.Flush()
}

func (b *book) write(w io.Writer) error {
	defer b.f.Close()
	_, err := b.f.WriteTo(w)
	return err
}

// WriteXLSX writes the sheets as one workbook.
func WriteXLSX(w io.Writer, sheets []Sheet) error {
	b, err := newBook()
	if err != nil {
		return err
	}
	for i, sh := range sheets {
		if err := b.add(sh, i == 0); err != nil {
			b.f.Close()
			return err
		}
	}
	return b.write(w)
}

// cellText renders a cell for CSV.
func cellText(v any, fen bool) string {
	switch x := v.(type) {
	case int64:
		if fen {
			return yuan(x)
		}
		return strconv.FormatInt(x, 10)
	case int:
		return strconv.Itoa(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case string:
		return x
	case time.Time:
		if x.IsZero() {
			return ""
		}
		return x.In(clock.Shanghai).Format("2006-01-02 15:04")
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// yuan formats fen as yuan with two decimals, exactly (CSV cells).
func yuan(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return fmt.Sprintf("%s%d.%02d", sign, fen/100, fen%100)
}

// yuanText is yuan with thousands separators, for text people read.
func yuanText(fen int64) string {
	s := yuan(fen)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	intPart, dec := s[:len(s)-3], s[len(s)-3:]
	var b strings.Builder
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String() + dec
	}
	return b.String() + dec
}

// WriteCSV writes one table as UTF-8 CSV with a BOM (so Excel reads the Chinese).
func WriteCSV(w io.Writer, cols []Column, rows [][]any, totals []any) error {
	if _, err := w.Write([]byte("\xef\xbb\xbf")); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	head := make([]string, len(cols))
	for i, c := range cols {
		head[i] = c.Label
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	line := func(r []any) error {
		rec := make([]string, len(r))
		for i, v := range r {
			rec[i] = safeCSV(cellText(v, i < len(cols) && cols[i].Fen))
		}
		return cw.Write(rec)
	}
	for _, r := range rows {
		if err := line(r); err != nil {
			return err
		}
	}
	if totals != nil {
		if err := line(totals); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// safeCSV defuses a cell a spreadsheet would run as a formula.
func safeCSV(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '@' || (s[0] == '-' && len(s) > 1 && (s[1] < '0' || s[1] > '9'))) {
		return "'" + s
	}
	return s
}

// monthlySheets lays the monthly report out as one sheet per section.
func monthlySheets(m *Monthly) []Sheet {
	gen := m.GeneratedAt.In(clock.Shanghai).Format("2006-01-02 15:04")
	var out []Sheet
	for _, sec := range m.Sections {
		sh := Sheet{Name: sec.Name, Title: fmt.Sprintf("电子商务进农村综合示范 每月一报 %s · %s（生成于 %s）", m.Month, sec.Name, gen)}
		sh.Columns = append(sh.Columns, Column{Label: "乡镇（街道）", Width: 18})
		for _, mt := range sec.Metrics {
			sh.Columns = append(sh.Columns, Column{Label: mt.Label, Fen: mt.Fen, Width: 14})
		}
		for _, r := range m.Rows {
			line := []any{r.Township}
			for _, mt := range sec.Metrics {
				line = append(line, r.Figures[mt.Key])
			}
			sh.Rows = append(sh.Rows, line)
		}
		sh.Totals = []any{"合计"}
		for _, mt := range sec.Metrics {
			sh.Totals = append(sh.Totals, m.Totals[mt.Key])
		}
		out = append(out, sh)
	}
	return out
}

// monthlyTable is the monthly report as one flat table (CSV).
func monthlyTable(m *Monthly) ([]Column, [][]any, []any) {
	cols := []Column{{Label: "乡镇（街道）"}}
	for _, mt := range AllMetrics() {
		cols = append(cols, Column{Label: mt.Label, Fen: mt.Fen})
	}
	var rows [][]any
	for _, r := range m.Rows {
		line := []any{r.Township}
		for _, mt := range AllMetrics() {
			line = append(line, r.Figures[mt.Key])
		}
		rows = append(rows, line)
	}
	tot := []any{"合计"}
	for _, mt := range AllMetrics() {
		tot = append(tot, m.Totals[mt.Key])
	}
	return cols, rows, tot
}

// xlsxBytes renders sheets to memory (a county's report is small).
func xlsxBytes(sheets []Sheet) ([]byte, error) {
	var buf bytes.Buffer
	if err := WriteXLSX(&buf, sheets); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
