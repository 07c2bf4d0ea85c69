package sheets_test

import (
	"fmt"
	"strings"
	"testing"

	"nongxun/sheets"
	"nongxun/sheets/sheetstest"
)

const lostID = "身份证号：Excel 把身份证号存成了数字，后几位已丢失；请把该列设为文本格式后重新填写"

func TestXLSXForms(t *testing.T) {
	people := sheetstest.Trainees(12)
	spaced := []string{"姓  名", "身份证号码\n（18位）", "联系方式", "所在乡镇", "所在村（社区）", "性\u3000别", "*人群类别"}
	for _, tc := range []struct {
		name     string
		o        sheetstest.XLSXOptions
		first    int // first data row
		header   int
		skipped  int
		sheets   int
		problems int
	}{
		{"plain", sheetstest.XLSXOptions{}, 2, 1, 0, 1, 0},
		{"merged title and 填报单位", sheetstest.XLSXOptions{Title: "会泽县电商培训花名册", Unit: true}, 4, 3, 0, 1, 0},
		{"spaced headers", sheetstest.XLSXOptions{Header: spaced}, 2, 1, 0, 1, 0},
		{"序号 pre-filled to row 31", sheetstest.XLSXOptions{Title: "花名册", SerialTo: 31}, 3, 2, 31 - 14, 1, 0},
		{"full-width digits", sheetstest.XLSXOptions{IDs: sheetstest.IDFullWidth}, 2, 1, 0, 1, 0},
		{"apostrophe IDs", sheetstest.XLSXOptions{IDs: sheetstest.IDApostrophe}, 2, 1, 0, 1, 0},
		{"phones as numbers", sheetstest.XLSXOptions{PhonesAsNumbers: true}, 2, 1, 0, 1, 0},
		{"instructions sheet first", sheetstest.XLSXOptions{Instructions: true, Title: "花名册"}, 3, 2, 0, 2, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tab := read(t, sheetstest.RosterXLSX(t, people, tc.o), "花名册.xlsx")
			wantRows(t, tab, people, tc.first)
			if tab.Kind != sheets.KindXLSX || len(tab.Sheets) != tc.sheets {
				t.Fatalf("kind %s, %d sheets: %+v", tab.Kind, len(tab.Sheets), tab.Sheets)
			}
			rep := tab.Sheets[len(tab.Sheets)-1]
			if rep.HeaderRow != tc.header || rep.Skipped != tc.skipped || rep.Rows != len(people) {
				t.Errorf("report %+v, want header %d skipped %d", rep, tc.header, tc.skipped)
			}
			if len(rep.Notes) != 0 {
				t.Errorf("notes %q", rep.Notes)
			}
			problems := 0
			for _, s := range tab.Sheets {
				if s.Problem != "" {
					problems++
					contains(t, s.Problem, "未找到花名册表头（需要 姓名、身份证号、手机号、村）")
				}
			}
			if problems != tc.problems {
				t.Errorf("%d sheet problems, want %d: %q", problems, tc.problems, tab.Notes())
			}
		})
	}
}

func TestSpacedHeaderColumnsKeepFileText(t *testing.T) {
	spaced := []string{"姓  名", "身份证号码\n（18位）", "联系方式", "所在乡镇", "所在村（社区）", "性\u3000别", "*人群类别"}
	tab := read(t, sheetstest.RosterXLSX(t, sheetstest.Trainees(2), sheetstest.XLSXOptions{Header: spaced, IDs: sheetstest.IDNumber}), "a.xlsx")
	var got []string
	for _, c := range tab.Sheets[0].Columns {
		got = append(got, c.Letter+":"+c.Field+"="+c.Header)
	}
	want := "B:name=姓名 C:id_number=身份证号码（18位） D:phone=联系方式 E:township=所在乡镇 F:village=所在村（社区） G:gender=性别 H:groups=人群类别"
	if strings.Join(got, " ") != want {
		t.Errorf("columns\n%s\nwant\n%s", strings.Join(got, " "), want)
	}
	_, err := sheets.IDNumberCell(tab.Rows[0].Cell("id_number"))
	if err == nil || err.Error() != "第 2 行 身份证号码（18位）：Excel 把身份证号存成了数字，后几位已丢失；请把该列设为文本格式后重新填写" {
		t.Errorf("error %v", err)
	}
}

func TestNumericIDsRefused(t *testing.T) {
	people := sheetstest.Trainees(8) // the 4th ends in X: Excel keeps it as text
	for _, ids := range []sheetstest.IDCells{sheetstest.IDNumber, sheetstest.IDNumberFmt0, sheetstest.IDSci} {
		t.Run(fmt.Sprint(ids), func(t *testing.T) {
			tab := read(t, sheetstest.RosterXLSX(t, people, sheetstest.XLSXOptions{Title: "会泽县电商培训花名册", IDs: ids}), "a.xlsx")
			if len(tab.Rows) != len(people) {
				t.Fatalf("%d rows", len(tab.Rows))
			}
			lost := 0
			for i, r := range tab.Rows {
				c := r.Cell("id_number")
				id, err := sheets.IDNumberCell(c)
				if strings.HasSuffix(people[i].IDNumber, "X") {
					if err != nil || id != people[i].IDNumber {
						t.Errorf("row %d: X id %q %v", r.Number, id, err)
					}
					continue
				}
				lost++
				want := fmt.Sprintf("第 %d 行 %s", i+3, lostID)
				if err == nil || err.Error() != want || id != "" {
					t.Errorf("row %d (%q numeric=%v): got %q %v\nwant %s", r.Number, c.Raw, c.Numeric, id, err, want)
				}
				if ids != sheetstest.IDSci && !c.Numeric {
					t.Errorf("row %d: a number cell not marked Numeric", r.Number)
				}
			}
			notes := tab.Sheets[0].Notes
			if len(notes) != 1 {
				t.Fatalf("notes %q", notes)
			}
			contains(t, notes[0], fmt.Sprintf("“身份证号”列（C 列）有 %d 个单元格存成了数字", lost))
		})
	}
}

func TestTwoRosterSheets(t *testing.T) {
	people := sheetstest.Trainees(9)
	tab := read(t, sheetstest.RosterXLSX(t, people, sheetstest.XLSXOptions{Sheets: 2, IDs: sheetstest.IDNumber}), "a.xlsx")
	if len(tab.Rows) != 9 || tab.Rows[0].Sheet != "花名册1" || tab.Rows[5].Sheet != "花名册2" || tab.Rows[5].Number != 2 {
		t.Fatalf("rows %+v", tab.Rows)
	}
	_, err := sheets.IDNumberCell(tab.Rows[5].Cell("id_number"))
	if err == nil || err.Error() != "工作表“花名册2”第 2 行 "+lostID {
		t.Errorf("two sheets: %v", err)
	}
	if n := tab.Notes(); len(n) != 2 || !strings.HasPrefix(n[1], "工作表“花名册2”：") {
		t.Errorf("notes %q", n)
	}
}

func TestRepeatedHeaders(t *testing.T) {
	people := sheetstest.Trainees(10)
	tab := read(t, sheetstest.RosterXLSX(t, people, sheetstest.XLSXOptions{RepeatHeaderEvery: 4}), "a.xlsx")
	if len(tab.Rows) != 10 || tab.Sheets[0].RepeatedHeaders != 2 {
		t.Fatalf("%d rows, report %+v", len(tab.Rows), tab.Sheets[0])
	}
	if tab.Rows[4].Number != 7 { // rows 2-5, header at 6, then 7
		t.Errorf("row after repeated header is %d", tab.Rows[4].Number)
	}
}

func TestEmptyFormattedRows(t *testing.T) {
	people := sheetstest.Trainees(5)
	data := sheetstest.RosterXLSX(t, people, sheetstest.XLSXOptions{EmptyFormattedRows: 100000})
	tab := read(t, data, "a.xlsx")
	wantRows(t, tab, people, 2)
	rep := tab.Sheets[0]
	if rep.Skipped != 1000 || len(rep.Notes) != 1 {
		t.Fatalf("report %+v", rep)
	}
	contains(t, rep.Notes[0], "第 7 行起连续 1000 行都是空行，已停止读取本表后面的内容")
}

func TestCSVForms(t *testing.T) {
	people := sheetstest.Trainees(15)
	for _, tc := range []struct {
		name string
		o    sheetstest.CSVOptions
		enc  string
		del  rune
	}{
		{"GB18030 Chinese header", sheetstest.CSVOptions{Encoding: sheetstest.GB18030}, "GB18030", ','},
		{"GB18030 English header", sheetstest.CSVOptions{Encoding: sheetstest.GB18030, English: true}, "GB18030", ','},
		{"UTF-8 with BOM", sheetstest.CSVOptions{Encoding: sheetstest.UTF8BOM}, "UTF-8", ','},
		{"UTF-8 without BOM", sheetstest.CSVOptions{}, "UTF-8", ','},
		{"tab-separated", sheetstest.CSVOptions{Delimiter: '\t'}, "UTF-8", '\t'},
		{"semicolons", sheetstest.CSVOptions{Delimiter: ';', Encoding: sheetstest.GB18030}, "GB18030", ';'},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tab := read(t, sheetstest.RosterCSV(t, people, tc.o), "花名册.csv")
			wantRows(t, tab, people, 2)
			if tab.Kind != sheets.KindCSV || tab.Encoding != tc.enc || tab.Delimiter != tc.del {
				t.Errorf("kind %s encoding %s delimiter %q", tab.Kind, tab.Encoding, tab.Delimiter)
			}
		})
	}
	t.Run("title line above header", func(t *testing.T) {
		tab := read(t, sheetstest.RosterCSV(t, people, sheetstest.CSVOptions{Encoding: sheetstest.GB18030, Title: "会泽县电商培训花名册"}), "a.csv")
		wantRows(t, tab, people, 3)
	})
	t.Run("scientific notation from a number column", func(t *testing.T) {
		tab := read(t, sheetstest.RosterCSV(t, people[:3], sheetstest.CSVOptions{Encoding: sheetstest.GB18030, IDs: sheetstest.IDSci}), "a.csv")
		_, err := sheets.IDNumberCell(tab.Rows[1].Cell("id_number"))
		if err == nil || err.Error() != "第 3 行 "+lostID {
			t.Errorf("got %v", err)
		}
		lost := 0
		for _, p := range people[:3] {
			if !strings.HasSuffix(p.IDNumber, "X") {
				lost++
			}
		}
		contains(t, strings.Join(tab.Notes(), ""), fmt.Sprintf("“身份证号”列（C 列）有 %d 个单元格存成了数字", lost))
	})
	t.Run("UTF-16 Unicode text", func(t *testing.T) {
		utf8 := sheetstest.RosterCSV(t, people, sheetstest.CSVOptions{Delimiter: '\t'})
		u16 := []byte{0xff, 0xfe}
		for _, r := range string(utf8) {
			u16 = append(u16, byte(r), byte(r>>8))
		}
		tab := read(t, u16, "a.txt")
		wantRows(t, tab, people, 2)
	})
	t.Run("blank lines and quoted line breaks keep Excel's row numbers", func(t *testing.T) {
		p := people[:2]
		csv := "姓名,身份证号,手机号,村\r\n" + p[0].Name + "," + p[0].IDNumber + "," + p[0].Phone + ",\"" + "红岩\n村\"\r\n\r\n" + p[1].Name + "," + p[1].IDNumber + "," + p[1].Phone + ",新田村\r\n"
		tab := read(t, []byte(csv), "a.csv")
		if len(tab.Rows) != 2 || tab.Rows[0].Number != 2 || tab.Rows[1].Number != 4 {
			t.Fatalf("rows %+v", tab.Rows)
		}
	})
}

func TestRefusals(t *testing.T) {
	people := sheetstest.Trainees(20)
	xlsx := sheetstest.RosterXLSX(t, people, sheetstest.XLSXOptions{})
	for _, tc := range []struct {
		name, file string
		data       []byte
		opt        sheets.Options
		want       string
	}{
		{"empty file", "a.xlsx", nil, sheets.Options{}, "文件是空的"},
		{"PDF renamed .xlsx", "花名册.xlsx", sheetstest.FakePDF(), sheets.Options{}, "这不是表格文件（看起来是PDF 文件）"},
		{"PNG", "a.csv", sheetstest.PNG(), sheets.Options{}, "看起来是PNG 图片"},
		{"random bytes", "a.xlsx", sheetstest.RandomBytes(4096), sheets.Options{}, "内容不是 Excel 工作簿"},
		{"random bytes, no name", "", sheetstest.RandomBytes(4096), sheets.Options{}, "这不是表格文件"},
		{"over the size limit", "a.csv", sheetstest.BigCSV(t, 50<<20+1), sheets.Options{}, "文件超过 50 MB"},
		{"small limit", "a.xlsx", xlsx, sheets.Options{MaxBytes: 1024}, "文件超过 1 KB"},
		{"mixed encodings", "a.csv", sheetstest.MixedEncodingCSV(t, people), sheets.Options{}, "文件中混有 UTF-8 和 GBK 两种编码的文字（例如第 1 行是 UTF-8，第 12 行是 GBK）"},
		{"BOM then GBK", "a.csv", append([]byte("\xef\xbb\xbf"), sheetstest.RosterCSV(t, people, sheetstest.CSVOptions{Encoding: sheetstest.GB18030})...), sheets.Options{}, "文件开头标明是 UTF-8 编码，但第 1 行的文字不是 UTF-8"},
		{"zip bomb, honest sizes", "a.xlsx", sheetstest.ZipBomb(t, 4<<30, true), sheets.Options{}, "文件解压后超过 128 MB"},
		{"zip bomb, lying sizes", "a.xlsx", sheetstest.ZipBomb(t, 4<<30, false), sheets.Options{}, "文件已损坏或不是完整的 Excel 工作簿"},
		{"too many rows", "a.xlsx", xlsx, sheets.Options{MaxRows: 10}, "数据超过 10 行，请分成几个文件上传"},
		{"no header", "a.csv", []byte("序号,名字,备注\r\n1,张三,\r\n"), sheets.Options{}, "未找到花名册表头（需要 姓名、身份证号、手机号、村）；第 1 行像表头，但缺少 身份证号、手机号、村"},
		{"OLE2 that is no xls", "a.doc", append([]byte{0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1}, []byte("W\x00o\x00r\x00d\x00D\x00o\x00c\x00u\x00m\x00e\x00n\x00t\x00")...), sheets.Options{}, "看起来是Word 文档"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			contains(t, refusal(t, tc.data, tc.file, tc.opt), tc.want)
		})
	}
}

func TestNoHeaderInAnySheet(t *testing.T) {
	data := sheetstest.RosterXLSX(t, sheetstest.Trainees(3), sheetstest.XLSXOptions{Instructions: true, Header: []string{"姓名", "证号", "电话号", "地址", "住址", "性别", "类"}})
	msg := refusal(t, data, "a.xlsx", sheets.Options{})
	want := "2 个工作表中都未找到花名册表头（需要 姓名、身份证号、手机号、村）；工作表“花名册”第 1 行像表头，但缺少 身份证号、村"
	if msg != want {
		t.Errorf("got  %s\nwant %s", msg, want)
	}
}

func TestXLSFromLibreOfficeRefusedClearly(t *testing.T) {
	xls := sheetstest.XLS(t, sheetstest.RosterXLSX(t, sheetstest.Trainees(5), sheetstest.XLSXOptions{Title: "花名册"}))
	for _, name := range []string{"花名册.xls", "花名册.xlsx", ""} {
		if msg := refusal(t, xls, name, sheets.Options{}); msg != "暂不能读取 .xls 文件，请在 Excel 或 WPS 中“另存为” .xlsx 后再上传" {
			t.Errorf("%s: %s", name, msg)
		}
	}
}

func TestReadRecords(t *testing.T) {
	p := sheetstest.Trainees(2)
	tab, err := sheets.ReadRecords([][]string{
		{"name", "id_number", "phone", "village"},
		{p[0].Name, p[0].IDNumber, p[0].Phone, p[0].Village},
		{"", "", "", ""},
		{p[1].Name, strings.ToLower(p[1].IDNumber), " " + p[1].Phone + " ", p[1].Village},
	}, sheets.Roster, sheets.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(tab.Rows) != 2 || tab.Rows[1].Number != 4 || tab.Sheets[0].Skipped != 1 {
		t.Fatalf("%+v", tab)
	}
	if c := tab.Rows[0].Cell("township"); c.Row != 2 || c.Column != "乡镇" || c.Errorf("没有填写").Error() != "第 2 行 乡镇：没有填写" {
		t.Errorf("absent column cell %+v", c)
	}
}

func TestAttendanceSchema(t *testing.T) {
	p := sheetstest.Trainees(4)
	csv := "会泽县电商培训签到表,,,\r\n序号,姓名,联系电话,身份证号,签到（√）\r\n" +
		"1," + p[0].Name + "," + p[0].Phone + ",,√\r\n" +
		"2," + p[1].Name + ",," + p[1].IDNumber + ",\r\n" +
		"3," + p[2].Name + ",,," + p[2].Name + "\r\n" +
		"4," + p[3].Name + ",,,?\r\n"
	tab, err := sheets.Read(strings.NewReader(csv), sheets.Attendance, sheets.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range tab.Rows {
		ok, err := sheets.MarkCell(r.Cell("present"))
		got = append(got, fmt.Sprint(r.Number, ok, err))
	}
	want := "3 true <nil>|4 false <nil>|5 true <nil>|6 false 第 6 行 签到（√）：看不懂“?”；已签到请填 √ 或 是，未到请填 × 或留空"
	if strings.Join(got, "|") != want {
		t.Errorf("got  %s\nwant %s", strings.Join(got, "|"), want)
	}
	_, err = sheets.Read(strings.NewReader("姓名,签到\r\n张三,√\r\n"), sheets.Attendance, sheets.Options{})
	if err == nil || err.Error() != "未找到签到表表头（需要 签到，以及 身份证号 或 姓名和手机号）；第 1 行像表头，但缺少 身份证号 或 姓名和手机号" {
		t.Errorf("got %v", err)
	}
}

func TestRegionsSchema(t *testing.T) {
	csv := "code,name,level,parent_code,poverty\r\n530326,会泽县,county,,\r\n530326101,娜姑镇,township,530326,\r\n"
	tab, err := sheets.Read(strings.NewReader(csv), sheets.Regions, sheets.Options{})
	if err != nil || len(tab.Rows) != 2 || tab.Rows[1].Text("parent_code") != "530326" {
		t.Fatalf("%v %+v", err, tab)
	}
	x := sheetstest.RosterXLSX(t, nil, sheetstest.XLSXOptions{Header: []string{"区划名称", "行政区划代码", "级别", "上级代码", "是否贫困村"}})
	if _, err := sheets.Read(bytesReader(x), sheets.Regions, sheets.Options{}); err != nil {
		t.Errorf("Chinese region header: %v", err)
	}
}
