package sheets

import (
	"encoding/csv"
	"io"
	"strings"
)

// CSVWriter writes one export table as CSV that Excel on Chinese Windows
// opens as intended: UTF-8 with a BOM, CRLF line ends, and every text
// cell made safe and kept as text (see CSVText).
type CSVWriter struct {
	w    *csv.Writer
	cols []Col
}

// NewCSVWriter writes the BOM and the header row (the columns' labels).
func NewCSVWriter(w io.Writer, cols []Col) (*CSVWriter, error) {
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return nil, err
	}
	cw := &CSVWriter{w: csv.NewWriter(w), cols: cols}
	cw.w.UseCRLF = true
	head := make([]string, len(cols))
	for i, c := range cols {
		head[i] = CSVText(c.Label)
	}
	return cw, cw.w.Write(head)
}

// Row writes one row; values follow the columns' kinds (see ValueKind).
func (c *CSVWriter) Row(vals ...any) error {
	rec := make([]string, len(vals))
	for i, v := range vals {
		k := Text
		if i < len(c.cols) {
			k = c.cols[i].Kind
		}
		n := norm(k, v)
		if s, ok := n.(string); ok {
			rec[i] = CSVText(s)
		} else {
			rec[i] = text(k, n)
		}
	}
	return c.w.Write(rec)
}

// Flush writes out what is buffered.
func (c *CSVWriter) Flush() error {
	c.w.Flush()
	return c.w.Error()
}

// WriteCSV writes a whole table: header, rows and, when not nil, a totals row.
func WriteCSV(w io.Writer, cols []Col, rows [][]any, totals []any) error {
	cw, err := NewCSVWriter(w, cols)
	if err != nil {
		return err
	}
	for _, r := range rows {
		if err := cw.Row(r...); err != nil {
			return err
		}
	}
	if totals != nil {
		if err := cw.Row(totals...); err != nil {
			return err
		}
	}
	return cw.Flush()
}

// CSVText makes a text cell safe for a CSV that a spreadsheet opens:
//
//   - a cell starting with = + - @ tab CR or LF is prefixed with an
//     apostrophe, as OWASP advises, so that it is never run as a formula
//     (the apostrophe shows; the text stays whole);
//   - a cell a spreadsheet would turn into a number or a date ("00123",
//     an ID number, a phone number, "1/5", "2024-03", "3月5日") is
//     prefixed with a tab, which makes Excel and LibreOffice keep it as
//     text, digits intact. (="00123" would do it too, but it is a formula,
//     which this writer never emits.) The CSV quotes such a cell
//     ("\t00123"); LibreOffice, checked by the tests, keeps it as text.
//
// Where the tab in the cell is unwelcome, write such figures in number
// columns instead: "出勤 1/5" as 出勤次数 1 and 应到次数 5.
func CSVText(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r', '\n':
		return "'" + s
	}
	if looksNumeric(s) {
		return "\t" + s
	}
	return s
}

// looksNumeric reports text a spreadsheet would read as a number, date,
// time, percentage or boolean.
func looksNumeric(s string) bool {
	switch strings.ToLower(s) {
	case "true", "false":
		return true
	}
	digit := false
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9', r >= '０' && r <= '９':
			digit = true
		case strings.ContainsRune(".,/-:%+eE $¥￥()年月日时分秒", r):
		default:
			return false
		}
	}
	return digit
}
