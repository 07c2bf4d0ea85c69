package enrollment

import (
	"bytes"
	"net/url"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/server"
	"nongxun/sheets/sheetstest"
	"nongxun/testkit"
)

// roster makes n trainees of the fixture's township 0 (villages 0-2), with
// the gender their ID number says.
func (f *fixture) roster(n int) []sheetstest.Trainee {
	ps := sheetstest.Trainees(n)
	for i := range ps {
		ps[i].Township = f.Township(0).Name
		ps[i].Village = f.Village(0, i%3).Name
		ps[i].Groups = ""
		ps[i].Gender = "男"
		if (ps[i].IDNumber[16]-'0')%2 == 0 {
			ps[i].Gender = "女"
		}
	}
	return ps
}

// stored counts the trainee records and their ID keys.
func (f *fixture) stored(t testing.TB) (trainees, keys int64) {
	t.Helper()
	n, err := f.s.trainees.Count(f.Ctx, bson.M{})
	if err != nil {
		t.Fatal(err)
	}
	k, err := f.s.keys.Count(f.Ctx, bson.M{})
	if err != nil {
		t.Fatal(err)
	}
	return n, k
}

func (f *fixture) importFile(t testing.TB, who *testkit.Caller, name string, data []byte, preview bool) *ImportResult {
	t.Helper()
	path := "/api/v1/trainees/import"
	if preview {
		path += "?preview=1"
	}
	var res ImportResult
	f.Upload(who, path, name, data, nil).Want(t, 200).Decode(t, &res)
	return &res
}

func statuses(res *ImportResult) map[string]int {
	m := map[string]int{}
	for _, r := range res.Rows {
		m[r.Status]++
	}
	return m
}

// A workbook as a county template comes: an instructions sheet, a title
// and a 填报单位 row above the header, 序号 pre-filled below the data, two
// roster sheets, the header repeated. Preview writes nothing; commit
// registers; the same file again keeps every row.
func TestImportPreviewThenCommit(t *testing.T) {
	f := newFixture(t)
	admin := f.NewCaller(server.RoleAdmin, "")
	people := f.roster(40)
	people[5].Phone = "123"                                                         // refused: phone
	people[9].Village = "没有这个村"                                                     // refused: village
	people[12].IDNumber, people[12].Gender = people[11].IDNumber, people[11].Gender // the same person twice
	data := sheetstest.RosterXLSX(t, people, sheetstest.XLSXOptions{Title: "会泽县电商培训花名册", Unit: true, Instructions: true,
		Sheets: 2, SerialTo: 60, RepeatHeaderEvery: 15})

	before, keysBefore := f.stored(t)
	pre := f.importFile(t, admin, "花名册.xlsx", data, true)
	if after, keysAfter := f.stored(t); after != before || keysAfter != keysBefore {
		t.Fatalf("preview wrote: trainees %d→%d, keys %d→%d", before, after, keysBefore, keysAfter)
	}
	if !pre.Preview || pre.Total != 40 || pre.Created != 37 || pre.Kept != 0 || len(pre.Refused) != 3 || len(pre.Rows) != 40 {
		t.Fatalf("preview %+v", pre)
	}
	if s := statuses(pre); s[RowNew] != 37 || s[RowRefused] != 3 {
		t.Fatalf("preview statuses %v", s)
	}
	// The rows carry Excel's row numbers: title (1), 填报单位 (2), header (3), so the first trainee is row 4.
	if r := pre.Rows[0]; r.Row != 4 || r.Sheet != "花名册1" || r.Name != people[0].Name || r.Village != people[0].Village || r.Label != "新登记" {
		t.Fatalf("first row %+v", r)
	}
	if id := pre.Rows[0].IDMasked; len(id) != 18 || !strings.Contains(id, "*") || id[:4] != people[0].IDNumber[:4] || strings.Contains(id, people[0].IDNumber[4:14]) {
		t.Fatalf("masked id %q", id)
	}
	reasons := map[string]string{}
	for _, r := range pre.Rows {
		if r.Status == RowRefused {
			reasons[r.Name] = r.Reason
		}
	}
	if !strings.Contains(reasons[people[5].Name], "手机号") || !strings.Contains(reasons[people[9].Name], "找不到村“没有这个村”") ||
		!strings.Contains(reasons[people[12].Name], "同一个身份证号") {
		t.Fatalf("reasons %v", reasons)
	}
	for _, r := range pre.Refused {
		if !strings.HasPrefix(r.Reason, "工作表“花名册") { // two data sheets: the refusal names the sheet
			t.Fatalf("refusal without its sheet: %+v", r)
		}
	}
	// Sheets: the instructions sheet has no header and is reported; the rows
	// pre-numbered below the data are skipped and counted.
	if len(pre.Sheets) != 3 || pre.Sheets[0].Name != "填表说明" || pre.Sheets[0].Problem == "" || pre.Sheets[1].HeaderRow != 3 || pre.Sheets[1].Rows != 20 {
		t.Fatalf("sheets %+v", pre.Sheets)
	}
	if pre.Skipped == 0 || pre.Sheets[1].RepeatedHeaders == 0 {
		t.Fatalf("skipped %d, repeated headers %d", pre.Skipped, pre.Sheets[1].RepeatedHeaders)
	}
	if len(pre.Notes) == 0 || !strings.Contains(strings.Join(pre.Notes, "\n"), "填表说明") {
		t.Fatalf("notes %q", pre.Notes)
	}

	got := f.importFile(t, admin, "花名册.xlsx", data, false)
	if got.Preview || got.Created != 37 || got.Kept != 0 || len(got.Refused) != 3 {
		t.Fatalf("commit %+v", got)
	}
	for i := range got.Rows {
		if got.Rows[i].Status != pre.Rows[i].Status || got.Rows[i].Reason != pre.Rows[i].Reason {
			t.Fatalf("row %d: preview %+v, commit %+v", got.Rows[i].Row, pre.Rows[i], got.Rows[i])
		}
	}
	if p := f.progress(t); p.Registered != 37 {
		t.Fatalf("registered %d", p.Registered)
	}
	// Imported trainees are found by the roster search (the batch logs their search entries).
	if found := f.Do(admin, "GET", "/api/v1/trainees?q="+url.QueryEscape(people[30].Phone), nil).Want(t, 200); !strings.Contains(string(found.Body), people[30].Name) {
		t.Fatalf("imported trainee not found by phone: %s", found.Body)
	}
	n, _ := f.stored(t)
	again := f.importFile(t, admin, "花名册.xlsx", data, false)
	if again.Created != 0 || again.Kept != 37 || len(again.Refused) != 3 {
		t.Fatalf("re-import %+v", again)
	}
	if n2, _ := f.stored(t); n2 != n {
		t.Fatalf("re-import changed the trainees: %d → %d", n, n2)
	}
	if again := f.importFile(t, admin, "花名册.xlsx", data, true); again.Kept != 37 || statuses(again)[RowKept] != 37 {
		t.Fatalf("preview after commit %+v", again)
	}
	f.noDrift(t)
}

// ID numbers Excel stored as numbers are refused and never stored; the
// file's first note says so; text IDs (those ending in X) are imported.
func TestImportNumericIDs(t *testing.T) {
	for _, tc := range []struct {
		name string
		data func(f *fixture, people []sheetstest.Trainee) []byte
		file string
	}{
		{"number cells", func(f *fixture, p []sheetstest.Trainee) []byte {
			return sheetstest.RosterXLSX(t, p, sheetstest.XLSXOptions{IDs: sheetstest.IDNumber})
		}, "a.xlsx"},
		{"number cells shown with format 0", func(f *fixture, p []sheetstest.Trainee) []byte {
			return sheetstest.RosterXLSX(t, p, sheetstest.XLSXOptions{IDs: sheetstest.IDNumberFmt0})
		}, "a.xlsx"},
		{"scientific notation in a CSV", func(f *fixture, p []sheetstest.Trainee) []byte {
			return sheetstest.RosterCSV(t, p, sheetstest.CSVOptions{IDs: sheetstest.IDSci, Encoding: sheetstest.GB18030})
		}, "a.csv"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			admin := f.NewCaller(server.RoleAdmin, "")
			people := f.roster(14)
			xs := 0
			for _, p := range people {
				if p.IDNumber[17] == 'X' {
					xs++
				}
			}
			data := tc.data(f, people)
			res := f.importFile(t, admin, tc.file, data, false)
			if res.Created != xs || len(res.Refused) != 14-xs {
				t.Fatalf("created %d (want %d), refused %v", res.Created, xs, res.Refused)
			}
			for _, r := range res.Refused {
				if !strings.Contains(r.Reason, "Excel 把身份证号存成了数字，后几位已丢失；请把该列设为文本格式后重新填写") {
					t.Fatalf("reason %q", r.Reason)
				}
			}
			if tc.file == "a.xlsx" && (len(res.Notes) == 0 || !strings.Contains(res.Notes[0], "存成了数字")) {
				t.Fatalf("notes %q", res.Notes)
			}
			if n, _ := f.stored(t); n != int64(xs) {
				t.Fatalf("%d trainees stored, want %d", n, xs)
			}
			for _, r := range res.Rows {
				if r.Status == RowRefused && (len(r.IDMasked) > 0 && !strings.Contains(r.IDMasked, "*")) {
					t.Fatalf("ID shown unmasked: %+v", r)
				}
			}
		})
	}
}

// CSV as Excel on Chinese Windows saves it (GB18030), with a title line,
// tab-separated text, English headers and other header wordings.
func TestImportEncodingsAndHeaders(t *testing.T) {
	f := newFixture(t)
	admin := f.NewCaller(server.RoleAdmin, "")
	people := f.roster(30)
	files := []struct {
		name string
		data []byte
	}{
		{"gb18030.csv", sheetstest.RosterCSV(t, people[0:5], sheetstest.CSVOptions{Encoding: sheetstest.GB18030, Title: "娜姑镇培训报名表"})},
		{"bom.csv", sheetstest.RosterCSV(t, people[5:10], sheetstest.CSVOptions{Encoding: sheetstest.UTF8BOM})},
		{"tabs.txt", sheetstest.RosterCSV(t, people[10:15], sheetstest.CSVOptions{Delimiter: '\t', English: true})},
		{"wps.xlsx", sheetstest.RosterXLSX(t, people[15:20], sheetstest.XLSXOptions{
			Header: []string{"学员姓名", "公民身份号码", "联系电话", "所在乡镇（街道）", "所在村（社区）", "性  别", "人员类别"}, IDs: sheetstest.IDApostrophe})},
		{"fullwidth.xlsx", sheetstest.RosterXLSX(t, people[20:25], sheetstest.XLSXOptions{Header: []string{"姓名", "身份证号码*", "手机号码", "乡镇", "行政村", "性别", "类别"},
			IDs: sheetstest.IDFullWidth, PhonesAsNumbers: true})},
	}
	for _, fl := range files {
		res := f.importFile(t, admin, fl.name, fl.data, false)
		if res.Created != 5 || len(res.Refused) != 0 {
			t.Fatalf("%s: %+v", fl.name, res)
		}
	}
	// The GB18030 file's title line counts: the first trainee is on line 3.
	res := f.importFile(t, admin, "gb18030.csv", files[0].data, true)
	if res.Kept != 5 || res.Rows[0].Row != 3 || res.Rows[0].Name != people[0].Name {
		t.Fatalf("gb18030 again: %+v", res.Rows)
	}
	if p := f.progress(t); p.Registered != 25 {
		t.Fatalf("registered %d", p.Registered)
	}
}

// The refused rows come back as an XLSX in the upload's layout, every
// column kept, with a 原因 column; corrected, it imports.
func TestImportRefusedXLSX(t *testing.T) {
	f := newFixture(t)
	officer := f.NewCaller(server.RoleOfficer, f.Township(0).ID)
	people := f.roster(10)
	people[2].Phone = "12"
	people[7].Village = f.Village(1, 0).Name
	people[7].Township = f.Township(1).Name // another township: not the officer's
	data := sheetstest.RosterXLSX(t, people, sheetstest.XLSXOptions{Title: "花名册", IDs: sheetstest.IDNumber})
	before, _ := f.stored(t)
	r := f.Upload(officer, "/api/v1/trainees/import/refused", "花名册.xlsx", data, nil).Want(t, 200)
	if n, _ := f.stored(t); n != before {
		t.Fatalf("the refused download wrote")
	}
	if !strings.Contains(r.Header.Get("Content-Type"), "spreadsheetml") || !strings.Contains(r.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("headers %v", r.Header)
	}
	x, err := excelize.OpenReader(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	rows, err := x.GetRows(x.GetSheetName(0))
	if err != nil {
		t.Fatal(err)
	}
	// Title, header (序号 + the roster's 7 columns + 原因), then the refused rows:
	// every numeric ID (all but the X ones), the bad phone and the other township.
	head := rows[1]
	want := append([]string{"序号"}, sheetstest.RosterHeader...)
	want = append(want, "原因")
	if strings.Join(head, ",") != strings.Join(want, ",") {
		t.Fatalf("header %q, want %q", head, want)
	}
	res := f.importFile(t, officer, "花名册.xlsx", data, true)
	if len(rows)-2 != len(res.Refused) || len(res.Refused) < 3 {
		t.Fatalf("%d refused rows in the workbook, %d in the report", len(rows)-2, len(res.Refused))
	}
	joined := ""
	for _, row := range rows[2:] {
		joined += row[len(row)-1] + "\n"
	}
	for _, w := range []string{"Excel 把身份证号存成了数字", "手机号", "不在您负责的乡镇"} {
		if !strings.Contains(joined, w) {
			t.Fatalf("原因 column lacks %q:\n%s", w, joined)
		}
	}
	if !strings.HasPrefix(rows[2][len(rows[2])-1], "第 ") {
		t.Fatalf("原因 without the row: %q", rows[2])
	}
	// The workbook reads back as a roster (title row, 原因 ignored).
	back := f.importFile(t, officer, "未通过.xlsx", r.Body, true)
	if back.Total != len(res.Refused) || len(back.Refused) != len(res.Refused) {
		t.Fatalf("refused workbook read back: %+v", back)
	}
}

// Files that are not a roster are refused whole, in Chinese, and nothing is written.
func TestImportBadFiles(t *testing.T) {
	f := newFixture(t)
	admin := f.NewCaller(server.RoleAdmin, "")
	people := f.roster(6)
	cases := []struct {
		name, file string
		data       []byte
		status     int
		want       string
	}{
		{"a picture", "a.xlsx", sheetstest.PNG(), 400, "图片"},
		{"a PDF", "a.csv", sheetstest.FakePDF(), 400, "PDF"},
		{"random bytes", "a.xlsx", sheetstest.RandomBytes(4096), 400, "Excel"},
		{"empty", "a.csv", nil, 400, "空"},
		{"blank", "a.csv", []byte("\r\n \r\n"), 400, "空"},
		{"no roster header", "a.csv", []byte("a,b\n1,2\n"), 400, "未找到花名册表头"},
		{"over 50 MB", "a.csv", sheetstest.BigCSV(t, 50<<20+1), 413, "文件超过 50 MB"},
		{"zip bomb", "a.xlsx", sheetstest.ZipBomb(t, 4<<30, true), 400, "解压后"},
		{"zip bomb, lying sizes", "a.xlsx", sheetstest.ZipBomb(t, 4<<30, false), 400, "损坏"},
		{"mixed encodings", "a.csv", sheetstest.MixedEncodingCSV(t, people), 400, "编码"},
		{"an Excel 97-2003 .xls", "a.xls", append([]byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"), make([]byte, 4096)...), 400, "另存为"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before, keys := f.stored(t)
			for _, q := range []string{"", "?preview=1"} {
				r := f.Upload(admin, "/api/v1/trainees/import"+q, tc.file, tc.data, nil)
				if r.Status != tc.status || !strings.Contains(string(r.Body), tc.want) {
					t.Fatalf("%s%s: %d %s, want %d with %q", tc.name, q, r.Status, r.Body, tc.status, tc.want)
				}
			}
			if n, k := f.stored(t); n != before || k != keys {
				t.Fatalf("%s wrote", tc.name)
			}
		})
	}
	// 100,000 formatted empty rows under six trainees: read, six imported, stopped early.
	data := sheetstest.RosterXLSX(t, people, sheetstest.XLSXOptions{EmptyFormattedRows: 100000})
	res := f.importFile(t, admin, "template.xlsx", data, false)
	if res.Created != 6 || !strings.Contains(strings.Join(res.Notes, ""), "空行") {
		t.Fatalf("formatted rows: %+v", res)
	}
}

// A batch that fails part-way is undone whole: here a record whose ID key
// was lost makes the bulk insert of the records fail (the unique id_hash
// index) after the keys were claimed and the other records written.
func TestImportBatchUndoneWhole(t *testing.T) {
	f := newFixture(t)
	admin := f.NewCaller(server.RoleAdmin, "")
	people := f.roster(8)
	if _, err := f.s.AddTrainee(f.Ctx, NewTrainee{Name: people[5].Name, IDNumber: people[5].IDNumber, Phone: people[5].Phone, RegionID: f.Village(0, 0).ID}, false, "staff", "test"); err != nil {
		t.Fatal(err)
	}
	if n, err := f.s.keys.DeleteOne(f.Ctx, bson.M{"_id": idKey(f.s.crypt.hash(people[5].IDNumber))}); err != nil || n != 1 {
		t.Fatalf("deleting the key: %d %v", n, err)
	}
	before, keys := f.stored(t)
	registered := f.progress(t).Registered
	data := sheetstest.RosterXLSX(t, people, sheetstest.XLSXOptions{})
	if st := f.Upload(admin, "/api/v1/trainees/import", "a.xlsx", data, nil).Status; st != 500 {
		t.Fatalf("status %d, want the internal error of a broken record", st)
	}
	if n, k := f.stored(t); n != before || k != keys {
		t.Fatalf("a failed batch left writes: trainees %d → %d, keys %d → %d", before, n, keys, k)
	}
	if p := f.progress(t); p.Registered != registered {
		t.Fatalf("registered %d → %d", registered, p.Registered)
	}
}
