package regions_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
	"nongxun/regions"
	"nongxun/testkit"
)

// regionBook is a region list as a clerk saves it from Excel: a title row,
// Chinese headers, codes typed into General cells (numbers).
func regionBook(t *testing.T, rows [][]any) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.SetSheetName("Sheet1", "区划"))
	must(f.SetSheetRow("区划", "A1", &[]any{"会泽县行政区划表（2024）"}))
	must(f.SetSheetRow("区划", "A2", &[]any{"统计用区划代码", "名称", "级别", "上级代码", "是否贫困村"}))
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+3)
		must(f.SetSheetRow("区划", cell, &r))
	}
	_, err := f.NewSheet("说明")
	must(err)
	must(f.SetCellValue("说明", "A1", "级别填 县、乡镇 或 村"))
	var buf bytes.Buffer
	must(f.Write(&buf))
	return buf.Bytes()
}

func countRegions(t *testing.T, e *testkit.Env) int { return len(e.Regions.All(e.Ctx)) }

func TestImportPreviewAndCommit(t *testing.T) {
	e := testkit.New(t)
	e.Regions.RegisterAdmin(e.API)
	twp := e.Township(0)
	data := regionBook(t, [][]any{
		{530326999, "新设镇", "乡镇", 530326, ""},        // a township under the demo county
		{530326999001, "新设一村", "村", 530326999, "是"}, // its village, in the same file
		{530326999002, "新设二村", "行政村", 530326999, 0},
		{}, // an empty row: skipped
		{5.30326999003e17, "长码村", "村", 530326999, ""}, // a code Excel rounded
		{530326999004, "孤村", "村", 123, ""},            // no such parent
		{530326999005, twp.Name, "乡镇", 530326, ""},    // a township of that name exists
		{twp.Code, "改名镇", "乡镇", 530326, ""},           // the code exists: kept
		{530326999006, "怪村", "组", 530326999, ""},      // an unknown level
	})
	before := countRegions(t, e)
	var pre regions.ImportResult
	e.Upload(e.Admin, "/api/v1/regions/import?preview=1", "区划.xlsx", data, nil).Want(t, 200).Decode(t, &pre)
	if n := countRegions(t, e); n != before {
		t.Fatalf("preview wrote: %d → %d regions", before, n)
	}
	if !pre.Preview || pre.Total != 8 || pre.Created != 3 || pre.Kept != 1 || len(pre.Refused) != 4 || pre.Skipped < 1 {
		t.Fatalf("preview %+v", pre)
	}
	if pre.Rows[0].Row != 3 || pre.Rows[0].Status != regions.RowNew || pre.Rows[0].Label != "新建" || pre.Rows[0].Level != "township" {
		t.Fatalf("first row %+v", pre.Rows[0])
	}
	why := map[int]string{}
	for _, r := range pre.Refused {
		why[r.Row] = r.Reason
	}
	for row, w := range map[int]string{7: "存成了数字", 8: "找不到上级代码 123", 9: "同名", 11: "看不懂"} {
		if !strings.Contains(why[row], w) {
			t.Fatalf("row %d: %q, want %q (all %v)", row, why[row], w, why)
		}
	}
	if len(pre.Sheets) != 2 || pre.Sheets[1].Problem == "" {
		t.Fatalf("sheets %+v", pre.Sheets)
	}

	var got regions.ImportResult
	e.Upload(e.Admin, "/api/v1/regions/import", "区划.xlsx", data, nil).Want(t, 200).Decode(t, &got)
	if got.Preview || got.Created != 3 || got.Kept != 1 || len(got.Refused) != 4 {
		t.Fatalf("commit %+v", got)
	}
	for i := range got.Rows {
		if got.Rows[i].Status != pre.Rows[i].Status {
			t.Fatalf("row %d: preview %s, commit %s", got.Rows[i].Row, pre.Rows[i].Status, got.Rows[i].Status)
		}
	}
	if n := countRegions(t, e); n != before+3 {
		t.Fatalf("%d regions after the commit, want %d", n, before+3)
	}
	if drifted, err := e.Regions.RepairTree(e.Ctx); err != nil || drifted {
		t.Fatalf("the tree's packs after an import differ from the regions: drifted=%v err=%v", drifted, err)
	}
	var newTwp string
	for _, r := range e.Regions.Townships(e.Ctx) {
		if r.Name == "新设镇" {
			newTwp = r.ID
		}
	}
	kids := 0
	for _, v := range e.Regions.Villages(e.Ctx) {
		if v.ParentID == newTwp && newTwp != "" {
			kids++
			if v.Name == "新设一村" && (!v.Poverty || e.Regions.TownshipOf(e.Ctx, v.ID) != newTwp) {
				t.Fatalf("imported village %+v", v)
			}
		}
	}
	if kids != 2 {
		t.Fatalf("the new township has %d villages, want 2", kids)
	}
	e.Upload(e.Admin, "/api/v1/regions/import", "区划.xlsx", data, nil).Want(t, 200).Decode(t, &got)
	if got.Created != 0 || got.Kept != 4 || countRegions(t, e) != before+3 {
		t.Fatalf("re-import %+v", got)
	}

	// The refused rows as XLSX: the upload's header plus 原因.
	r := e.Upload(e.Admin, "/api/v1/regions/import/refused", "区划.xlsx", data, nil).Want(t, 200)
	x, err := excelize.OpenReader(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	rows, _ := x.GetRows(x.GetSheetName(0))
	if len(rows) != 2+4 || strings.Join(rows[1], ",") != "统计用区划代码,名称,级别,上级代码,是否贫困村,原因" || !strings.Contains(rows[2][5], "第 7 行") {
		t.Fatalf("refused workbook %q", rows)
	}
}

// A GB18030 CSV with the English header the import always took.
func TestImportRegionsGB18030(t *testing.T) {
	e := testkit.New(t)
	e.Regions.RegisterAdmin(e.API)
	utf := "code,name,level,parent_code,poverty\r\n530326888,试点镇,township,530326,\r\n530326888001,试点村,village,530326888,1\r\n"
	gb, err := simplifiedchinese.GB18030.NewEncoder().String(utf)
	if err != nil {
		t.Fatal(err)
	}
	var res regions.ImportResult
	e.Upload(e.Admin, "/api/v1/regions/import", "a.csv", []byte(gb), nil).Want(t, 200).Decode(t, &res)
	if res.Created != 2 || len(res.Refused) != 0 {
		t.Fatalf("%+v", res)
	}
	found := false
	for _, r := range e.Regions.All(e.Ctx) {
		if r.Name == "试点村" && r.Poverty {
			found = true
		}
	}
	if !found {
		t.Fatal("试点村 not imported with its name decoded")
	}
	r := e.Upload(e.Admin, "/api/v1/regions/import", "a.xlsx", []byte("PK\x03\x04garbage"), nil).Want(t, 400)
	if !strings.Contains(string(r.Body), "Excel") {
		t.Fatalf("broken xlsx: %s", r.Body)
	}
}
