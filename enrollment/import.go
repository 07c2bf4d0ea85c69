package enrollment

import (
	"context"
	"strings"

	"github.com/gofiber/fiber/v2"
	"nongxun/regions"
	"nongxun/server"
)

// ImportResult reports a roster import row by row (rows are 1-based, the
// header is row 1). Re-importing the same file keeps every row.
type ImportResult struct {
	Total   int         `json:"total"`
	Created int         `json:"created"`
	Kept    int         `json:"kept"`
	Refused []RowReason `json:"refused"`
}

// RowReason says why a row was refused (the same row report as a region import).
type RowReason = regions.RowReason

// importCols maps accepted header names to fields.
var importCols = map[string]string{
	"name": "name", "姓名": "name",
	"id_number": "id_number", "身份证号": "id_number", "身份证号码": "id_number", "公民身份号码": "id_number",
	"phone": "phone", "手机号": "phone", "手机号码": "phone", "联系电话": "phone", "电话": "phone",
	"gender": "gender", "性别": "gender",
	"village": "village", "村": "village", "行政村": "village", "村名": "village", "region_id": "village",
	"township": "township", "乡镇": "township", "乡镇（街道）": "township",
	"groups": "groups", "人群": "groups", "人群类别": "groups", "类别": "groups",
}

// ImportRows registers the trainees of a roster: header names the columns
// (Chinese or English); firstRow is the file row number of rows[0].
// Trainees are imported without a login account. An ID number already
// registered is kept as it is.
func (s *Service) ImportRows(ctx context.Context, header []string, rows [][]string, firstRow int, p *server.Principal) (*ImportResult, error) {
	col := map[string]int{}
	for i, h := range header {
		if f, ok := importCols[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))]; ok {
			if _, dup := col[f]; !dup {
				col[f] = i
			}
		}
	}
	for _, need := range []string{"name", "id_number", "phone", "village"} {
		if _, ok := col[need]; !ok {
			return nil, server.Invalid("表头缺少列：" + need + "（需要 姓名、身份证号、手机号、村，可选 乡镇、性别、人群类别）")
		}
	}
	res := &ImportResult{Refused: []RowReason{}}
	villages := s.villageIndex(ctx)
	for i, row := range rows {
		cell := func(f string) string {
			if j, ok := col[f]; ok && j < len(row) {
				return strings.TrimSpace(row[j])
			}
			return ""
		}
		empty := true
		for _, c := range row {
			if strings.TrimSpace(c) != "" {
				empty = false
			}
		}
		if empty {
			continue
		}
		res.Total++
		n := NewTrainee{Name: cell("name"), IDNumber: cell("id_number"), Phone: cell("phone"), Gender: cell("gender")}
		n.RegionID = villages.find(cell("township"), cell("village"))
		if g := cell("groups"); g != "" {
			n.Groups = strings.FieldsFunc(g, func(r rune) bool { return strings.ContainsRune(",，、;；/ ", r) })
		}
		refuse := func(reason string) { res.Refused = append(res.Refused, RowReason{Row: firstRow + i, Reason: reason}) }
		if n.RegionID != "" && p.Township() != "" && s.d.Regions.TownshipOf(ctx, n.RegionID) != p.Township() {
			refuse("不在本乡镇")
			continue
		}
		_, err := s.AddTrainee(ctx, n, false, "import", p.UserID)
		switch {
		case err == nil:
			res.Created++
		case err == errIDTaken:
			res.Kept++
		default:
			e := server.ToError(err)
			if e.Code == server.CodeInternal {
				return nil, err
			}
			reason := e.Message
			if len(e.Fields) > 0 {
				var parts []string
				for _, f := range []string{"name", "id_number", "phone", "gender", "region_id", "groups"} {
					if r, ok := e.Fields[f]; ok {
						if f == "region_id" {
							r = "找不到村：" + cell("village")
						}
						parts = append(parts, r)
					}
				}
				reason = strings.Join(parts, "；")
			}
			refuse(reason)
		}
	}
	return res, nil
}

// villageIdx finds a village by id, by name, or by township and name.
type villageIdx struct {
	byID   map[string]bool
	byName map[string][]regions.Region
	twp    map[string]string // township name → id
}

func (s *Service) villageIndex(ctx context.Context) villageIdx {
	x := villageIdx{byID: map[string]bool{}, byName: map[string][]regions.Region{}, twp: map[string]string{}}
	for _, t := range s.d.Regions.Townships(ctx) {
		x.twp[t.Name] = t.ID
	}
	for _, v := range s.d.Regions.Villages(ctx) {
		x.byID[v.ID] = true
		x.byName[v.Name] = append(x.byName[v.Name], v)
	}
	return x
}

func (x villageIdx) find(township, village string) string {
	if x.byID[village] {
		return village
	}
	cands := x.byName[village]
	if len(cands) == 0 && !strings.HasSuffix(village, "村") {
		cands = x.byName[village+"村"]
	}
	if township != "" {
		tid := x.twp[township]
		var keep []regions.Region
		for _, v := range cands {
			if v.ParentID == tid {
				keep = append(keep, v)
			}
		}
		cands = keep
	}
	if len(cands) == 1 {
		return cands[0].ID
	}
	return ""
}

// maxImportRows bounds one import request.
const maxImportRows = 20000

func (s *Service) hImport(c *fiber.Ctx) error {
	p := server.Who(c)
	var header []string
	var rows [][]string
	first := 2
	if strings.HasPrefix(c.Get(fiber.HeaderContentType), "multipart/") {
		var table [][]string
		_, err := server.StreamUpload(c, "file", func(u server.Upload) error {
			t, err := regions.ReadTable(u.Body, u.Filename)
			if err != nil {
				return server.Invalid("无法读取文件，请上传 XLSX 或 CSV", "file", "格式错误")
			}
			table = t
			return nil
		})
		if err != nil {
			return err
		}
		if len(table) == 0 {
			return server.Invalid("文件是空的", "file", "没有内容")
		}
		header, rows = table[0], table[1:]
	} else {
		var in struct {
			Header   []string   `json:"header"`
			Rows     [][]string `json:"rows"`
			FirstRow int        `json:"first_row"`
		}
		if err := server.Bind(c, &in); err != nil {
			return err
		}
		header, rows = in.Header, in.Rows
		if in.FirstRow > 0 {
			first = in.FirstRow
		}
	}
	if len(rows) > maxImportRows {
		return server.TooLarge("一次最多导入 20000 行")
	}
	res, err := s.ImportRows(c.UserContext(), header, rows, first, p)
	if err != nil {
		return err
	}
	s.audit(c.UserContext(), p, "trainee.import", "trainees", map[string]any{"created": res.Created, "kept": res.Kept, "refused": len(res.Refused)})
	return c.JSON(res)
}
