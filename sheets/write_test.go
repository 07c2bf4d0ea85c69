package sheets_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"nongxun/sheets"
	"nongxun/sheets/sheetstest"
)

var (
	// Shanghai 2024-03-05 14:30 (06:30 UTC).
	moment = time.Date(2024, 3, 5, 6, 30, 0, 0, time.UTC)
	id     = sheetstest.ID(42)
)

// exportCols and exportRow are an export with a value of every kind and
// the text a spreadsheet would mangle.
var exportCols = []sheets.Col{
	{Label: "姓名"}, {Label: "身份证号"}, {Label: "手机号"}, {Label: "编号"}, {Label: "出勤"},
	{Label: "学时", Kind: sheets.Number}, {Label: "金额（元）", Kind: sheets.Money},
	{Label: "日期", Kind: sheets.Date}, {Label: "时间", Kind: sheets.DateTime}, {Label: "占比", Kind: sheets.Percent},
	{Label: "备注"},
}

func exportRow(note string) []any {
	return []any{"张三", id, "13812345678", "00123", "1/5", 1.5, int64(123456), moment, moment, 0.305, note}
}

func TestCSVText(t *testing.T) {
	for in, want := range map[string]string{
		"=1+1": "'=1+1", "+86 138": "'+86 138", "-2": "'-2", "@SUM(A1)": "'@SUM(A1)", "\t=1": "'\t=1", "\r=1": "'\r=1",
		"00123": "\t00123", id: "\t" + id, "1/5": "\t1/5", "2024-03": "\t2024-03", "3月5日": "\t3月5日", "TRUE": "\tTRUE", "12%": "\t12%",
		"张三": "张三", "红岩村（社区）": "红岩村（社区）", "": "", "A-1": "A-1", "第1期": "第1期",
	} {
		if got := sheets.CSVText(in); got != want {
			t.Errorf("CSVText(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWriteCSV(t *testing.T) {
	var buf bytes.Buffer
	if err := sheets.WriteCSV(&buf, exportCols, [][]any{exportRow("=HYPERLINK(\"http://x\")")}, []any{"合计", nil, nil, nil, nil, 1.5, int64(123456)}); err != nil {
		t.Fatal(err)
	}
	want := "\ufeff姓名,身份证号,手机号,编号,出勤,学时,金额（元）,日期,时间,占比,备注\r\n" +
		"张三,\"\t" + id + "\",\"\t13812345678\",\"\t00123\",\"\t1/5\",1.5,1234.56,2024-03-05,2024-03-05 14:30,30.5%,\"'=HYPERLINK(\"\"http://x\"\")\"\r\n" +
		"合计,,,,,1.5,1234.56\r\n"
	if buf.String() != want {
		t.Errorf("got\n%q\nwant\n%q", buf.String(), want)
	}
}

// TestCSVInLibreOffice opens the CSV in LibreOffice (as a stand-in for
// Excel, with its number and date recognition switched on as Excel has
// it) and reads the cells back: text stays text with every digit, no cell
// is a formula, numbers are numbers.
func TestCSVInLibreOffice(t *testing.T) {
	var buf bytes.Buffer
	if err := sheets.WriteCSV(&buf, exportCols, [][]any{exportRow("=1+1"), exportRow("-1"), exportRow("@A1")}, nil); err != nil {
		t.Fatal(err)
	}
	// CSV options: comma, double quote, UTF-8 (76), from line 1, standard
	// columns, zh-CN (2052), quoted fields not forced to text, detect
	// special numbers (dates, 1/5) as Excel does.
	for _, filter := range []string{"CSV:44,34,76,1,,2052,false,true", "CSV:44,34,76,1,,2052,false,false"} {
		x := sheetstest.Convert(t, buf.Bytes(), "csv", "xlsx", filter)
		f, err := excelize.OpenReader(bytes.NewReader(x))
		if err != nil {
			t.Fatal(err)
		}
		sh := f.GetSheetName(0)
		for row := 2; row <= 4; row++ {
			texts := map[string]string{"A": "张三", "B": id, "C": "13812345678", "D": "00123", "E": "1/5"}
			texts["K"] = map[int]string{2: "'=1+1", 3: "'-1", 4: "'@A1"}[row]
			for col, want := range texts {
				cell := fmt.Sprintf("%s%d", col, row)
				typ, _ := f.GetCellType(sh, cell)
				v, _ := f.GetCellValue(sh, cell, excelize.Options{RawCellValue: true})
				if formula, _ := f.GetCellFormula(sh, cell); formula != "" {
					t.Errorf("%s %s: a formula %q", filter, cell, formula)
				}
				if typ != excelize.CellTypeSharedString || strings.TrimLeft(v, "\t") != want {
					t.Errorf("%s %s: %v %q, want text %q", filter, cell, typ, v, want)
				}
			}
			for col, want := range map[string]string{"F": "1.5", "G": "1234.56"} {
				cell := fmt.Sprintf("%s%d", col, row)
				typ, _ := f.GetCellType(sh, cell)
				v, _ := f.GetCellValue(sh, cell, excelize.Options{RawCellValue: true})
				if typ != excelize.CellTypeNumber || v != want {
					t.Errorf("%s %s: %v %q, want number %s", filter, cell, typ, v, want)
				}
			}
		}
		f.Close()
	}
	// And the reader takes the file back whole.
	tab, err := sheets.Read(bytes.NewReader(buf.Bytes()), &sheets.Schema{Name: "导出", Fields: []sheets.Field{
		{Key: "id", Label: "身份证号", Required: true}, {Key: "serial", Label: "编号"}, {Key: "att", Label: "出勤"}}}, sheets.Options{})
	if err != nil || tab.Rows[0].Text("id") != id || tab.Rows[0].Text("serial") != "00123" || tab.Rows[0].Text("att") != "1/5" {
		t.Errorf("read back: %v %+v", err, tab)
	}
}

// writeBook writes sheets of n rows of the export columns.
func writeBook(t testing.TB, title string, n ...int) []byte {
	t.Helper()
	var data []sheets.SheetRows
	for s, rows := range n {
		sr := sheets.SheetRows{Sheet: sheets.Sheet{Name: fmt.Sprintf("登记册%d", s+1), Title: title, Columns: exportCols}}
		for i := 0; i < rows; i++ {
			sr.Rows = append(sr.Rows, exportRow(fmt.Sprintf("第 %d 行", i+1)))
		}
		sr.Totals = []any{"合计", nil, nil, nil, nil, 1.5 * float64(rows), int64(123456 * rows)}
		data = append(data, sr)
	}
	var buf bytes.Buffer
	if err := sheets.WriteXLSX(&buf, data...); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestXLSXReadBack(t *testing.T) {
	title := "会泽县 电子商务进农村培训证书登记册（2024 年 1 月至 3 月）"
	f, err := excelize.OpenReader(bytes.NewReader(writeBook(t, title, 3, 1)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.GetSheetList(); strings.Join(got, ",") != "登记册1,登记册2" {
		t.Fatalf("sheets %q", got)
	}
	sh := "登记册1"
	if v, _ := f.GetCellValue(sh, "A1"); v != title {
		t.Errorf("title %q", v)
	}
	if m, _ := f.GetMergeCells(sh); len(m) != 1 || m[0].GetStartAxis() != "A1" || m[0].GetEndAxis() != "K1" {
		t.Errorf("merged %v", m)
	}
	if v, _ := f.GetCellValue(sh, "B2"); v != "身份证号" {
		t.Errorf("header %q", v)
	}
	type want struct {
		cell string
		typ  excelize.CellType
		raw  string
		fmt  string
	}
	for _, w := range []want{
		{"A3", excelize.CellTypeInlineString, "张三", "@"},
		{"B3", excelize.CellTypeInlineString, id, "@"},
		{"C3", excelize.CellTypeInlineString, "13812345678", "@"},
		{"D3", excelize.CellTypeInlineString, "00123", "@"},
		{"E3", excelize.CellTypeInlineString, "1/5", "@"},
		{"F3", excelize.CellTypeUnset, "1.5", ""},
		{"G3", excelize.CellTypeUnset, "1234.56", "#,##0.00"},
		{"H3", excelize.CellTypeUnset, "45356.6041666667", "yyyy-mm-dd"},
		{"I3", excelize.CellTypeUnset, "45356.6041666667", "yyyy-mm-dd hh:mm"},
		{"J3", excelize.CellTypeUnset, "0.305", "0.0%"},
		{"G6", excelize.CellTypeUnset, "3703.68", "#,##0.00"},
	} {
		typ, _ := f.GetCellType(sh, w.cell)
		raw, _ := f.GetCellValue(sh, w.cell, excelize.Options{RawCellValue: true})
		if typ != w.typ || raw != w.raw {
			t.Errorf("%s: %v %q, want %v %q", w.cell, typ, raw, w.typ, w.raw)
		}
		st, _ := f.GetCellStyle(sh, w.cell)
		s, _ := f.GetStyle(st)
		got := ""
		if s.CustomNumFmt != nil {
			got = *s.CustomNumFmt
		} else if s.NumFmt == 49 {
			got = "@"
		}
		if got != w.fmt {
			t.Errorf("%s: number format %q, want %q", w.cell, got, w.fmt)
		}
	}
	if v, _ := f.GetCellValue(sh, "H3"); v != "2024-03-05" {
		t.Errorf("date shows %q", v)
	}
	if v, _ := f.GetCellValue(sh, "I3"); v != "2024-03-05 14:30" {
		t.Errorf("time shows %q", v)
	}
	if v, _ := f.GetCellValue(sh, "G6"); v != "3,703.68" {
		t.Errorf("money shows %q", v)
	}
	st, _ := f.GetCellStyle(sh, "G6")
	if s, _ := f.GetStyle(st); !s.Font.Bold {
		t.Error("totals row not bold")
	}
	// Widths: a Chinese header counts double, the 18-digit ID is wider than a name.
	wa, _ := f.GetColWidth(sh, "A")
	wb, _ := f.GetColWidth(sh, "B")
	wg, _ := f.GetColWidth(sh, "G")
	if wa != 6 || wb != 20 || wg != 12 {
		t.Errorf("widths A %v B %v G %v", wa, wb, wg)
	}
	panes, _ := f.GetPanes(sh)
	if !panes.Freeze || panes.YSplit != 2 {
		t.Errorf("panes %+v", panes)
	}
	pl, _ := f.GetPageLayout(sh)
	if *pl.Size != 9 || *pl.Orientation != "landscape" || *pl.FitToWidth != 1 || *pl.FitToHeight != 0 {
		t.Errorf("page layout size %v %v fit %v×%v", *pl.Size, *pl.Orientation, *pl.FitToWidth, *pl.FitToHeight)
	}
	hf, _ := f.GetHeaderFooter(sh)
	if hf.OddFooter != "&C第 &P 页，共 &N 页" {
		t.Errorf("footer %q", hf.OddFooter)
	}
	titles := map[string]string{}
	for _, d := range f.GetDefinedName() {
		if d.Name == "_xlnm.Print_Titles" {
			titles[d.Scope] = d.RefersTo
		}
	}
	if titles["登记册1"] != "'登记册1'!$2:$2" || titles["登记册2"] != "'登记册2'!$2:$2" {
		t.Errorf("print titles %v", titles)
	}
}

// TestXLSXPrintsInLibreOffice prints exports with LibreOffice (as a
// stand-in for Excel) and checks the pages: one page wide (every page has
// the first and the last column), the header on every page, the footer
// page numbers, and the page count for a known number of rows.
func TestXLSXPrintsInLibreOffice(t *testing.T) {
	for _, tc := range []struct {
		rows, pages int
	}{{40, 2}, {200, 6}} {
		pdf := sheetstest.Convert(t, writeBook(t, "会泽县 电子商务进农村培训证书登记册（2024 年第一季度）", tc.rows), "xlsx", "pdf", "")
		n := sheetstest.PDFPages(t, pdf)
		text := sheetstest.PDFText(t, pdf)
		pages := strings.Split(strings.TrimRight(text, "\f"), "\f")
		t.Logf("%d rows × %d columns: %d pages", tc.rows, len(exportCols), n)
		if n != tc.pages || len(pages) != n {
			t.Errorf("%d rows: %d pages (%d in text), want %d", tc.rows, n, len(pages), tc.pages)
		}
		for i, p := range pages {
			for _, s := range []string{"姓名", "备注", fmt.Sprintf("第 %d 页，共 %d 页", i+1, n)} {
				if !strings.Contains(p, s) {
					t.Errorf("%d rows: page %d lacks %q", tc.rows, i+1, s)
				}
			}
		}
		if !strings.Contains(pages[n-1], fmt.Sprintf("第 %d 行", tc.rows)) || !strings.Contains(pages[n-1], "合计") {
			t.Errorf("%d rows: the last page lacks the last row and the totals", tc.rows)
		}
	}
}
