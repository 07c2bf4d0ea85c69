package sheets_test

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
	"nongxun/sheets"
	"nongxun/sheets/sheetstest"
)

// KeepRaw keeps every cell; WriteRefused writes the refused rows back in
// the upload's layout with 原因, one sheet per data sheet, and the result
// reads again as the same kind of table.
func TestWriteRefused(t *testing.T) {
	people := sheetstest.Trainees(9)
	data := sheetstest.RosterXLSX(t, people, sheetstest.XLSXOptions{Title: "花名册", Sheets: 2, IDs: sheetstest.IDNumber})
	tb, err := sheets.ReadBytes(data, sheets.Roster, sheets.Options{KeepRaw: true})
	if err != nil {
		t.Fatal(err)
	}
	if h := tb.Sheets[0].Header; strings.Join(h, ",") != "序号,"+strings.Join(sheetstest.RosterHeader, ",") {
		t.Fatalf("raw header %q", h)
	}
	if r := tb.Rows[0]; len(r.Raw) != 8 || r.Raw[0] != "1" || r.Raw[1] != people[0].Name {
		t.Fatalf("raw row %q", r.Raw)
	}
	var buf bytes.Buffer
	n, err := sheets.WriteRefused(&buf, tb, "未通过的行", func(i int) string {
		if i%2 == 0 {
			return "原因" + tb.Rows[i].Text("name")
		}
		return ""
	})
	if err != nil || n != 5 {
		t.Fatalf("wrote %d rows: %v", n, err)
	}
	x, err := excelize.OpenReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if got := x.GetSheetList(); strings.Join(got, ",") != "花名册1,花名册2" {
		t.Fatalf("sheets %q", got)
	}
	rows, _ := x.GetRows("花名册1")
	if len(rows) != 2+3 || rows[1][8] != "原因" || rows[2][2] != tb.Rows[0].Raw[2] || rows[2][8] != "第 "+itoa(tb.Rows[0].Number)+" 行：原因"+people[0].Name {
		t.Fatalf("refused sheet %q", rows)
	}
	back, err := sheets.ReadBytes(buf.Bytes(), sheets.Roster, sheets.Options{})
	if err != nil || len(back.Rows) != 5 {
		t.Fatalf("read back: %v, %d rows", err, len(back.Rows))
	}
	// Nothing refused: a workbook that says so.
	buf.Reset()
	if n, err := sheets.WriteRefused(&buf, tb, "未通过的行", func(int) string { return "" }); err != nil || n != 0 || buf.Len() == 0 {
		t.Fatalf("empty: %d %v", n, err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
