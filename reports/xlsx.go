package reports

import (
	"bytes"
	"fmt"
	"nongxun/clock"
	"strings"

	"nongxun/sheets"
)

// Every export of this package (the monthly report, the self-evaluation
// workbook, the archive exports) is written by the one house writer of
// the sheets package: sheets.WriteCSV (BOM, formulas neutralised, digit
// strings kept as text) and sheets.WriteXLSX (title row, frozen header,
// typed cells, print setup).

// metricCol is a metric's column: yuan from fen, or a count.
func metricCol(mt Metric) sheets.Col {
	if mt.Fen {
		return sheets.Col{Label: mt.Label, Kind: sheets.Money}
	}
	return sheets.Col{Label: mt.Label, Kind: sheets.Number}
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

// monthlySheets lays the monthly report out as one sheet per section.
func monthlySheets(m *Monthly, programme string) []sheets.SheetRows {
	gen := m.GeneratedAt.In(clock.Shanghai).Format("2006-01-02 15:04")
	var out []sheets.SheetRows
	for _, sec := range m.Sections {
		sh := sheets.SheetRows{Sheet: sheets.Sheet{Name: sec.Name, Title: strings.TrimSpace(fmt.Sprintf("%s 每月一报 %s · %s（生成于 %s）", programme, m.Month, sec.Name, gen))}}
		sh.Columns = append(sh.Columns, sheets.Col{Label: "乡镇（街道）"})
		for _, mt := range sec.Metrics {
			sh.Columns = append(sh.Columns, metricCol(mt))
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
func monthlyTable(m *Monthly) ([]sheets.Col, [][]any, []any) {
	cols := []sheets.Col{{Label: "乡镇（街道）"}}
	for _, mt := range AllMetrics() {
		cols = append(cols, metricCol(mt))
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
func xlsxBytes(list []sheets.SheetRows) ([]byte, error) {
	var buf bytes.Buffer
	if err := sheets.WriteXLSX(&buf, list...); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
