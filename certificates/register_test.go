package certificates

import (
	"bytes"
	"encoding/csv"
	"os/exec"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
	"nongxun/sheets/sheetstest"
)

// registerFixture issues three certificates of a course with a long title
// and revokes one with a reason that starts like a formula.
func registerFixture(t *testing.T) (*fixture, string) {
	f := newFixture(t)
	c, ss, _ := f.course("农村电商直播带货与网店运营实务（高级研修班）——短视频拍摄、剪辑、上架与客服", 1, 3, 2)
	a, b, d := f.plainTrainee("欧阳小玥", 0), f.plainTrainee("李堃", 1), f.plainTrainee("王五", 0)
	f.enrol(c, ss, []int{0, 1}, a, b, d)
	res := f.issueAll(c.ID)
	if len(res.Issued) != 3 {
		t.Fatalf("%+v", res)
	}
	f.Do(f.Admin, "POST", "/api/v1/certificates/"+res.Issued[0].ID+"/revoke", map[string]any{"reason": "=HYPERLINK(\"http://x\",\"信息有误\")"}).Want(t, 200)
	return f, c.ID
}

// TestRegisterXLSXTypes reopens the XLSX register: the title row, the
// header on row 2, 出勤 text ("2/2", never a date), 学时 a number, dates
// real dates, the course title whole, the formula-like reason plain text.
func TestRegisterXLSXTypes(t *testing.T) {
	f, cid := registerFixture(t)
	r := f.Do(f.Admin, "GET", "/api/v1/certificates/register?format=xlsx&course_id="+cid, nil).Want(t, 200)
	if cd := r.Header.Get("Content-Disposition"); !strings.Contains(cd, ".xlsx") {
		t.Errorf("disposition %q", cd)
	}
	x, err := excelize.OpenReader(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	sh := x.GetSheetName(0)
	rows, _ := x.GetRows(sh)
	if len(rows) != 5 || !strings.Contains(rows[0][0], "证书登记册") || !strings.Contains(rows[0][0], "农村电商直播带货") {
		t.Fatalf("rows %q", rows)
	}
	if strings.Join(rows[1], ",") != strings.Join(registerLabels(), ",") {
		t.Errorf("header %q", rows[1])
	}
	revoked := 0
	for row := 3; row <= 5; row++ {
		cell := func(col string) (excelize.CellType, string) {
			ref := col + string(rune('0'+row))
			typ, _ := x.GetCellType(sh, ref)
			v, _ := x.GetCellValue(sh, ref, excelize.Options{RawCellValue: true})
			if fm, _ := x.GetCellFormula(sh, ref); fm != "" {
				t.Errorf("%s: formula %q", ref, fm)
			}
			return typ, v
		}
		if typ, v := cell("D"); typ == excelize.CellTypeSharedString || typ == excelize.CellTypeInlineString || v != "24" {
			t.Errorf("row %d 学时 %v %q, want the number 24", row, typ, v)
		}
		if typ, v := cell("H"); typ != excelize.CellTypeSharedString && typ != excelize.CellTypeInlineString || v != "2/2" {
			t.Errorf("row %d 出勤 %v %q, want the text 2/2", row, typ, v)
		}
		if _, v := cell("C"); !strings.HasSuffix(v, "上架与客服") {
			t.Errorf("row %d course title cut: %q", row, v)
		}
		for _, col := range []string{"F", "G", "I"} {
			if typ, v := cell(col); typ == excelize.CellTypeSharedString || typ == excelize.CellTypeInlineString || v == "" {
				t.Errorf("row %d %s: %v %q, want a date serial", row, col, typ, v)
			}
		}
		if shown, _ := x.GetCellValue(sh, "I"+string(rune('0'+row))); len(shown) != 10 || shown[4] != '-' {
			t.Errorf("row %d 颁发日期 shows %q", row, shown)
		}
		if _, v := cell("L"); v != "" {
			revoked++
			if typ, _ := cell("L"); typ != excelize.CellTypeSharedString && typ != excelize.CellTypeInlineString || !strings.HasPrefix(v, "=HYPERLINK") {
				t.Errorf("reason %v %q", typ, v)
			}
			if typ, v := cell("K"); typ == excelize.CellTypeSharedString || v == "" {
				t.Errorf("撤销日期 %v %q", typ, v)
			}
		}
	}
	if revoked != 1 {
		t.Errorf("%d revoked rows", revoked)
	}
	// the course title column is wide enough to read (wraps beyond 50)
	if w, _ := x.GetColWidth(sh, "C"); w < 40 {
		t.Errorf("course column %v wide", w)
	}
}

func registerLabels() []string {
	out := make([]string, len(registerCols))
	for i, c := range registerCols {
		out[i] = c.Label
	}
	return out
}

// TestRegisterCSVTypes reads the CSV register back with encoding/csv: a
// BOM, the header, 出勤 kept as text (tab-prefixed so Excel keeps it),
// 学时 a plain number, the formula-like reason neutralised.
func TestRegisterCSVTypes(t *testing.T) {
	f, cid := registerFixture(t)
	r := f.Do(f.Admin, "GET", "/api/v1/certificates/register?format=csv&course_id="+cid, nil).Want(t, 200)
	if !bytes.HasPrefix(r.Body, []byte("\ufeff")) {
		t.Fatal("no BOM")
	}
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(r.Body, []byte("\ufeff")))).ReadAll()
	if err != nil || len(recs) != 4 {
		t.Fatalf("%v %q", err, recs)
	}
	if strings.Join(recs[0], ",") != strings.Join(registerLabels(), ",") {
		t.Errorf("header %q", recs[0])
	}
	neutral := 0
	for _, rec := range recs[1:] {
		if rec[3] != "24" || rec[7] != "\t2/2" || !strings.HasSuffix(rec[2], "上架与客服") || len(rec[8]) != 10 {
			t.Errorf("row %q", rec)
		}
		for _, v := range rec {
			if v != "" && strings.ContainsRune("=+-@", rune(v[0])) {
				t.Errorf("formula-leading cell %q", v)
			}
		}
		if strings.HasPrefix(rec[11], "'=HYPERLINK") {
			neutral++
		}
	}
	if neutral != 1 {
		t.Errorf("%d neutralised reasons", neutral)
	}
}

// TestRegisterPrints converts the XLSX register with LibreOffice and
// counts its pages: 12 columns and a long title fit one page wide.
func TestRegisterPrints(t *testing.T) {
	if _, err := exec.LookPath("soffice"); err != nil {
		t.Skip("soffice missing (libreoffice-calc-nogui; scripts/deps.sh installs it)")
	}
	f, cid := registerFixture(t)
	r := f.Do(f.Admin, "GET", "/api/v1/certificates/register?format=xlsx&course_id="+cid, nil).Want(t, 200)
	pdf := sheetstest.Convert(t, r.Body, "xlsx", "pdf", "")
	n := sheetstest.PDFPages(t, pdf)
	text := sheetstest.PDFText(t, pdf)
	t.Logf("certificate register, 3 rows × %d columns: %d page(s)", len(registerCols), n)
	if n != 1 {
		t.Errorf("%d pages, want 1 (one page wide)", n)
	}
	for _, s := range []string{"证书编号", "撤销原因", "第 1 页，共 1 页"} {
		if !strings.Contains(text, s) {
			t.Errorf("the printed page lacks %q", s)
		}
	}
	// The CSV opened in LibreOffice with Excel's date and number
	// recognition on: 出勤 stays the text "2/2", 学时 is a number.
	r = f.Do(f.Admin, "GET", "/api/v1/certificates/register?format=csv&course_id="+cid, nil).Want(t, 200)
	x, err := excelize.OpenReader(bytes.NewReader(sheetstest.Convert(t, r.Body, "csv", "xlsx", "CSV:44,34,76,1,,2052,false,true")))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	sh := x.GetSheetName(0)
	for row := 2; row <= 4; row++ {
		h, d := "H"+string(rune('0'+row)), "D"+string(rune('0'+row))
		typ, _ := x.GetCellType(sh, h)
		v, _ := x.GetCellValue(sh, h, excelize.Options{RawCellValue: true})
		if typ != excelize.CellTypeSharedString || strings.TrimLeft(v, "\t") != "2/2" {
			t.Errorf("CSV in LibreOffice: %s %v %q, want the text 2/2", h, typ, v)
		}
		typ, _ = x.GetCellType(sh, d)
		if v, _ := x.GetCellValue(sh, d, excelize.Options{RawCellValue: true}); typ != excelize.CellTypeNumber || v != "24" {
			t.Errorf("CSV in LibreOffice: %s %v %q, want the number 24", d, typ, v)
		}
	}
}
