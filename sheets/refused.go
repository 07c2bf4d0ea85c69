package sheets

import (
	"fmt"
	"io"
)

// WriteRefused writes the rows of t that reason refuses (a non-empty
// reason for the index into t.Rows) as an XLSX workbook in the upload's own layout: for every sheet
// with such rows, the sheet's header as the file wrote it, every column
// kept, and a 原因 column at the end. The clerk corrects the rows and
// uploads the workbook again (the title row above the header and the 原因
// column are ignored by Read). t must have been read with Options.KeepRaw.
// It returns how many rows were written; with none, the workbook holds one
// sheet saying so.
func WriteRefused(w io.Writer, t *Table, title string, reason func(i int) string) (int, error) {
	b, err := NewBook()
	if err != nil {
		return 0, err
	}
	defer b.Close()
	bySheet := map[string][]int{}
	why := make([]string, len(t.Rows))
	for i, r := range t.Rows {
		if why[i] = reason(i); why[i] != "" {
			bySheet[r.Sheet] = append(bySheet[r.Sheet], i)
		}
	}
	n := 0
	for _, rep := range t.Sheets {
		idx := bySheet[rep.Name]
		if len(idx) == 0 {
			continue
		}
		width := len(rep.Header)
		for _, i := range idx {
			width = max(width, len(t.Rows[i].Raw))
		}
		cols := make([]Col, 0, width+1)
		for j := 0; j < width; j++ {
			label := ""
			if j < len(rep.Header) {
				label = rep.Header[j]
			}
			if label == "" {
				label = colLetter(j + 1)
			}
			cols = append(cols, Col{Label: label, Kind: Text})
		}
		cols = append(cols, Col{Label: "原因", Kind: Text, Width: 40})
		name := rep.Name
		if name == "" {
			name = "未通过的行"
		}
		tt := title
		if len(bySheet) > 1 {
			tt = fmt.Sprintf("%s（工作表“%s”）", title, rep.Name)
		}
		sw, err := b.Sheet(Sheet{Name: name, Title: tt, Columns: cols})
		if err != nil {
			return 0, err
		}
		for _, i := range idx {
			r := t.Rows[i]
			vals := make([]any, width+1)
			for j := 0; j < width; j++ {
				if j < len(r.Raw) {
					vals[j] = r.Raw[j]
				} else {
					vals[j] = ""
				}
			}
			vals[width] = fmt.Sprintf("第 %d 行：%s", r.Number, why[i])
			if err := sw.Row(vals...); err != nil {
				return 0, err
			}
			n++
		}
	}
	if n == 0 {
		sw, err := b.Sheet(Sheet{Name: "未通过的行", Title: title, Columns: []Col{{Label: "原因", Kind: Text, Width: 40}}})
		if err != nil {
			return 0, err
		}
		if err := sw.Row("没有未通过的行"); err != nil {
			return 0, err
		}
	}
	_, err = b.WriteTo(w)
	return n, err
}
