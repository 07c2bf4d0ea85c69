package sheetstest

import (
	"bytes"
	"fmt"
	"strconv"
	"testing"

	"github.com/xuri/excelize/v2"
)

// IDCells says how the ID number column of a generated roster is stored.
type IDCells int

// How clerks' files hold ID numbers.
const (
	IDText       IDCells = iota // text cells: what a careful clerk (or a text-formatted column) gives
	IDNumber                    // number cells, General format: Excel's default, 15 significant digits kept
	IDNumberFmt0                // number cells with the "0" format: shows 530326200111145000
	IDSci                       // text "5.30326E+17": a CSV saved from a number column and reopened
	IDApostrophe                // text with a literal apostrophe: '530326…
	IDFullWidth                 // text in full-width digits: ５３０３２６…
)

// XLSXOptions shape a generated roster workbook.
type XLSXOptions struct {
	// Title is a title row above the header, merged across the columns
	// ("会泽县电商培训花名册"); "" for none.
	Title string
	// Unit adds a 填报单位 row under the title.
	Unit bool
	// Header replaces RosterHeader (same order of columns); the workbook
	// always has 序号 as column A.
	Header []string
	// IDs says how the ID number column is stored.
	IDs IDCells
	// PhonesAsNumbers stores phones in number cells (they survive: 11 digits).
	PhonesAsNumbers bool
	// SerialTo pre-fills 序号 and borders down to this row, as templates do.
	SerialTo int
	// Instructions puts a 填表说明 sheet before the roster.
	Instructions bool
	// Sheets splits the trainees over this many roster sheets (default 1).
	Sheets int
	// RepeatHeaderEvery repeats the header row every n trainees.
	RepeatHeaderEvery int
	// EmptyFormattedRows adds this many rows carrying only a style after the data.
	EmptyFormattedRows int
}

// Excel15 rounds a digit string to the 15 significant digits Excel keeps
// of a number: 530326200111144569 → 530326200111145000.
func Excel15(digits string) float64 {
	v, _ := strconv.ParseFloat(digits, 64)
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 15, 64), 64)
	return r
}

// Sci is a digit string as Excel shows a large number in a narrow General
// column: 530326200111144569 → "5.30326E+17".
func Sci(digits string) string {
	v, _ := strconv.ParseFloat(digits, 64)
	s := strconv.FormatFloat(v, 'E', 5, 64) // 5.30326E+17
	return s
}

// RosterXLSX makes a roster workbook as Excel or WPS saves it.
func RosterXLSX(tb testing.TB, people []Trainee, o XLSXOptions) []byte {
	tb.Helper()
	f := excelize.NewFile()
	defer f.Close()
	header := o.Header
	if header == nil {
		header = RosterHeader
	}
	check := func(err error) {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
	}
	fmt0, err := f.NewStyle(&excelize.Style{NumFmt: 1})
	check(err)
	border := []excelize.Border{{Type: "left", Color: "000000", Style: 1}, {Type: "right", Color: "000000", Style: 1},
		{Type: "top", Color: "000000", Style: 1}, {Type: "bottom", Color: "000000", Style: 1}}
	boxed, err := f.NewStyle(&excelize.Style{Border: border})
	check(err)
	n := max(o.Sheets, 1)
	first := "Sheet1"
	if o.Instructions {
		check(f.SetSheetName(first, "填表说明"))
		for i, line := range []string{"填表说明", "1. 姓名：填写学员身份证上的姓名。", "2. 身份证号：18 位，请先把该列设为文本格式。",
			"3. 手机号：11 位手机号码。", "4. 村：填写所在行政村全称。", "（本页不用填写，请在“花名册”页填写）"} {
			check(f.SetCellValue("填表说明", fmt.Sprintf("A%d", i+1), line))
		}
		first = ""
	}
	per := (len(people) + n - 1) / max(n, 1)
	for s := 0; s < n; s++ {
		name := "花名册"
		if n > 1 {
			name = fmt.Sprintf("花名册%d", s+1)
		}
		if first != "" {
			check(f.SetSheetName(first, name))
			first = ""
		} else {
			_, err := f.NewSheet(name)
			check(err)
		}
		lo, hi := min(s*per, len(people)), min((s+1)*per, len(people))
		writeRoster(tb, f, name, people[lo:hi], header, o, fmt0, boxed)
	}
	var buf bytes.Buffer
	check(f.Write(&buf))
	return buf.Bytes()
}

func writeRoster(tb testing.TB, f *excelize.File, sheet string, people []Trainee, header []string, o XLSXOptions, fmt0, boxed int) {
	tb.Helper()
	check := func(err error) {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
	}
	last, _ := excelize.ColumnNumberToName(len(header) + 1)
	row := 1
	if o.Title != "" {
		check(f.SetCellValue(sheet, "A1", o.Title))
		check(f.MergeCell(sheet, "A1", last+"1"))
		row++
	}
	if o.Unit {
		a := fmt.Sprintf("A%d", row)
		check(f.SetCellValue(sheet, a, "填报单位：娜姑镇人民政府（盖章）        填报时间：2024 年 3 月"))
		check(f.MergeCell(sheet, a, fmt.Sprintf("%s%d", last, row)))
		row++
	}
	head := append([]any{"序号"}, toAny(header)...)
	putHeader := func() {
		check(f.SetSheetRow(sheet, fmt.Sprintf("A%d", row), &head))
		row++
	}
	putHeader()
	for i, p := range people {
		if o.RepeatHeaderEvery > 0 && i > 0 && i%o.RepeatHeaderEvery == 0 {
			putHeader()
		}
		cells := []any{i + 1}
		for _, v := range p.Cells() {
			cells = append(cells, v)
		}
		switch o.IDs {
		case IDNumber, IDNumberFmt0:
			if p.IDNumber[17] != 'X' { // Excel keeps "…X" as text: it is no number
				cells[2] = Excel15(p.IDNumber)
			}
		case IDSci:
			if p.IDNumber[17] != 'X' {
				cells[2] = Sci(p.IDNumber)
			}
		case IDApostrophe:
			cells[2] = "'" + p.IDNumber
		case IDFullWidth:
			cells[2] = FullWidth(p.IDNumber)
			cells[3] = FullWidth(p.Phone)
		}
		if o.PhonesAsNumbers {
			v, _ := strconv.ParseFloat(p.Phone, 64)
			cells[3] = v
		}
		check(f.SetSheetRow(sheet, fmt.Sprintf("A%d", row), &cells))
		if o.IDs == IDNumberFmt0 {
			check(f.SetCellStyle(sheet, fmt.Sprintf("C%d", row), fmt.Sprintf("C%d", row), fmt0))
		}
		row++
	}
	for i := len(people); row <= o.SerialTo; i++ {
		check(f.SetCellValue(sheet, fmt.Sprintf("A%d", row), i+1))
		check(f.SetCellStyle(sheet, fmt.Sprintf("A%d", row), fmt.Sprintf("%s%d", last, row), boxed))
		row++
	}
	if o.EmptyFormattedRows > 0 {
		check(f.SetRowStyle(sheet, row, row+o.EmptyFormattedRows-1, boxed))
	}
	check(f.SetColWidth(sheet, "C", "C", 22))
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
