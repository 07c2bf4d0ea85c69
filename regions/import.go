package regions

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/xuri/excelize/v2"
	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/server"
	"nongxun/sheets"
	"nongxun/store"
)

//go:embed huize-townships.csv
var townshipsCSV []byte

// ImportResult reports an import row by row. Row numbers are as the
// spreadsheet program shows them (title and header rows count).
type ImportResult struct {
	Created int         `json:"created"`
	Kept    int         `json:"kept"`
	Refused []RowReason `json:"refused"`
	// Total counts the data rows read.
	Total int `json:"total"`
	// Preview is true when nothing was written (?preview=1): Created then
	// counts the regions that would be added.
	Preview bool `json:"preview"`
	// Skipped counts empty rows (or rows with only a 序号), all sheets together.
	Skipped int `json:"skipped"`
	// Notes are the file's remarks for the clerk.
	Notes []string `json:"notes"`
	// Sheets reports every sheet of the file: read, or skipped and why.
	Sheets []sheets.SheetReport `json:"sheets"`
	// Rows gives every data row's status.
	Rows []ImportRow `json:"rows"`
}

// RowReason says why a row was refused; Row is as the spreadsheet shows it.
type RowReason struct {
	Row    int    `json:"row"`
	Reason string `json:"reason"`
}

// Statuses of an import row.
const (
	RowNew     = "new"
	RowKept    = "kept"
	RowRefused = "refused"
)

// RowLabels are the statuses in Chinese.
var RowLabels = map[string]string{RowNew: "新建", RowKept: "已有，不变", RowRefused: "未通过"}

// ImportRow is one data row of a region import.
type ImportRow struct {
	Row        int    `json:"row"`
	Sheet      string `json:"sheet,omitempty"`
	Code       string `json:"code"`
	Name       string `json:"name"`
	Level      string `json:"level"` // county, township or village
	ParentCode string `json:"parent_code,omitempty"`
	Status     string `json:"status"`
	Label      string `json:"label"`
	Reason     string `json:"reason,omitempty"`
}

// ReadTable reads a CSV or the first sheet of an XLSX file into rows.
//
// Deprecated: read uploads with sheets.Read (see ReadUpload).
func ReadTable(r io.Reader, name string) ([][]string, error) {
	if strings.HasSuffix(strings.ToLower(name), ".xlsx") {
		f, err := excelize.OpenReader(r)
		if err != nil {
			return nil, fmt.Errorf("无法读取 XLSX 文件: %w", err)
		}
		defer f.Close()
		return f.GetRows(f.GetSheetName(0))
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // Excel's UTF-8 BOM
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	return cr.ReadAll()
}

// ReadUpload reads the multipart `file` of a request as a table with
// schema sc through sheets.ReadBytes: a 400 with the reader's Chinese
// message when the file cannot be read, a 413 when it is larger than
// opt.MaxBytes (default 50 MiB). It returns the table.
func ReadUpload(c *fiber.Ctx, sc *sheets.Schema, opt sheets.Options) (*sheets.Table, error) {
	var t *sheets.Table
	limit := opt.MaxBytes
	if limit <= 0 {
		limit = 50 << 20
	}
	_, err := server.StreamUpload(c, "file", func(u server.Upload) error {
		opt.Name = u.Filename
		data, err := io.ReadAll(io.LimitReader(u.Body, limit+1))
		if err != nil {
			return server.Invalid("上传中断，文件不完整；请重新上传", "file", "上传不完整")
		}
		if int64(len(data)) > limit {
			return server.TooLarge(fmt.Sprintf("文件超过 %d MB，无法读取；请删去无关的工作表和图片，或分成几个文件上传", max(limit>>20, 1)))
		}
		t, err = sheets.ReadBytes(data, sc, opt)
		return FileError(err)
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// FileError turns a refusal of the sheets reader into a 400 answer (other
// errors pass through).
func FileError(err error) error {
	var fe *sheets.FileError
	if errors.As(err, &fe) {
		return server.Invalid(fe.Msg, "file", fe.Msg)
	}
	return err
}

// Import adds regions from rows with the header
// code,name,level,parent_code,poverty (or their Chinese names; level:
// county|township|village or 县|乡镇|村). rows[0] is the header.
func (s *Service) Import(ctx context.Context, rows [][]string) (*ImportResult, error) {
	if len(rows) == 0 {
		return &ImportResult{Refused: []RowReason{}, Notes: []string{}, Rows: []ImportRow{}}, nil
	}
	t, err := sheets.ReadRecords(rows, sheets.Regions, sheets.Options{})
	if err != nil {
		return nil, FileError(err)
	}
	return s.ImportTable(ctx, t, false)
}

// ImportTable adds the regions of a table read with sheets.Regions, or with
// preview only reports what it would do and writes nothing. A code
// already present is kept as is, so re-importing the same file changes
// nothing. Parents may come earlier in the same file.
func (s *Service) ImportTable(ctx context.Context, t *sheets.Table, preview bool) (*ImportResult, error) {
	res := &ImportResult{Refused: []RowReason{}, Preview: preview, Notes: t.Notes(), Sheets: t.Sheets, Rows: make([]ImportRow, 0, len(t.Rows))}
	if res.Notes == nil {
		res.Notes = []string{}
	}
	for _, sh := range t.Sheets {
		res.Skipped += sh.Skipped
	}
	byCode := map[string]string{}
	levelOf := map[string]string{}
	all := s.All(ctx)
	codeOf := map[string]string{}
	for _, r := range all {
		codeOf[r.ID] = r.Code
		if r.Code != "" {
			byCode[r.Code] = r.ID
			levelOf[r.Code] = r.Level
		}
	}
	// named: "parent id/name" of every region, so that a second region of
	// the same name under one parent is refused in a preview too.
	named := map[string]bool{}
	for _, r := range all {
		named[r.ParentID+"/"+r.Name] = true
	}
	counties := len(s.ofLevel(ctx, LevelCounty))
	now := time.Now().UTC()
	var create []Region // the new regions, parents first
	for _, row := range t.Rows {
		res.Total++
		ir := ImportRow{Row: row.Number, Sheet: row.Sheet, Name: row.Text("name")}
		refuse := func(reason string) {
			ir.Status, ir.Reason = RowRefused, reason
		}
		code, err := sheets.CodeCell(row.Cell("code"))
		parent, perr := sheets.CodeCell(row.Cell("parent_code"))
		ir.Code, ir.ParentCode = code, parent
		n := NewRegion{Name: row.Text("name"), Level: normLevel(row.Text("level")), Code: code}
		ir.Level = n.Level
		p := strings.ToLower(row.Text("poverty"))
		n.Poverty = p == "1" || p == "true" || p == "是" || p == "yes" || p == "√"
		col := func(k string) string { return row.Cell(k).Column }
		switch {
		case err != nil:
			refuse(cellReason(err))
		case perr != nil:
			refuse(cellReason(perr))
		case code == "":
			refuse(col("code") + "：请填写区划代码")
		case byCode[code] != "":
			ir.Status = RowKept
		case n.Name == "":
			refuse(col("name") + "：请填写名称")
		case n.Level != LevelCounty && n.Level != LevelTownship && n.Level != LevelVillage:
			refuse(col("level") + "：“" + row.Text("level") + "”看不懂，请填写 县、乡镇 或 村")
		case n.Level != LevelCounty && parent == "":
			refuse(col("parent_code") + "：请填写上级区划代码")
		case n.Level != LevelCounty && byCode[parent] == "":
			refuse(col("parent_code") + "：找不到上级代码 " + parent + "（上级要先导入，或写在本表前面的行）")
		case n.Level == LevelTownship && levelOf[parent] != LevelCounty, n.Level == LevelVillage && levelOf[parent] != LevelTownship:
			refuse(col("parent_code") + "：上级 " + parent + " 的级别不对（村的上级应是乡镇，乡镇的上级应是县）")
		case n.Level == LevelCounty && counties > 0:
			refuse(col("level") + "：已经有一个县，不能再导入县")
		}
		if ir.Status == "" {
			if n.Level != LevelCounty {
				n.ParentID = byCode[parent]
			}
			if err := n.Validate(); err != nil {
				refuse(reason(err))
			} else if named[n.ParentID+"/"+n.Name] {
				refuse("同一上级下已有同名区域：" + n.Name)
			}
		}
		if ir.Status == "" {
			named[n.ParentID+"/"+n.Name] = true
			r := Region{ID: store.NewID(), Name: n.Name, Level: n.Level, ParentID: n.ParentID, Poverty: n.Poverty, Code: n.Code, CreatedAt: now}
			byCode[code], levelOf[code] = r.ID, r.Level // the rows below may name it as their parent
			if n.Level == LevelCounty {
				counties++
			}
			create = append(create, r)
			ir.Status = RowNew
		}
		ir.Label = RowLabels[ir.Status]
		switch ir.Status {
		case RowNew:
			res.Created++
		case RowKept:
			res.Kept++
		default:
			res.Refused = append(res.Refused, RowReason{row.Number, ir.Reason})
		}
		res.Rows = append(res.Rows, ir)
	}
	if !preview {
		if err := s.createMany(ctx, create); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// importBatch is how many regions one unit of an import writes.
const importBatch = 500

// createMany writes regions checked by ImportTable (parents before their
// children), importBatch to a unit: the county slot for a county, one
// unordered insert, the tree's packs once (docs/design.md, "Units of
// work"). A batch that fails is undone whole; a region of the same code
// or name written meanwhile by someone else makes it a conflict.
func (s *Service) createMany(ctx context.Context, list []Region) error {
	defer s.forget("")
	for lo := 0; lo < len(list); lo += importBatch {
		batch := list[lo:min(lo+importBatch, len(list))]
		docs := make([]any, len(batch))
		for i := range batch {
			docs[i] = batch[i]
		}
		err := s.st.Unit(ctx, "regions.import", func(u *store.Unit) error {
			for _, r := range batch {
				if r.Level != LevelCounty {
					continue
				}
				if err := s.claimCounty(ctx, u, r.ID); err != nil {
					return err
				}
			}
			// An unordered insert may write part of the batch before it
			// fails: the undo is registered whatever it answered.
			_, err := s.c.InsertMany(ctx, docs)
			u.OnFail("insert regions", func(ctx context.Context) error {
				var first error
				for _, r := range batch {
					if _, err := s.c.DeleteOne(ctx, bson.M{"_id": r.ID}); err != nil && first == nil {
						first = err
					}
				}
				return first
			})
			if err != nil {
				return err
			}
			return s.putInTree(ctx, u, batch...)
		})
		if store.IsDup(err) {
			return server.Conflict("导入时区划已被别人修改（同一上级下出现了同名区域），请重新预览后再导入")
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// cellReason is a cell refusal without its row number (the report has its own).
func cellReason(err error) string {
	var ce *sheets.CellError
	if errors.As(err, &ce) {
		return ce.Reason()
	}
	return err.Error()
}

// reason is a refusal in a person's words, with its field reasons.
func reason(err error) string {
	e := server.ToError(err)
	msg := e.Message
	for _, k := range []string{"name", "level", "parent_id", "code"} {
		if v, ok := e.Fields[k]; ok {
			msg += "：" + v
		}
	}
	return msg
}

func normLevel(l string) string {
	switch strings.ToLower(l) {
	case "县", "county":
		return LevelCounty
	case "乡镇", "乡", "镇", "街道", "township":
		return LevelTownship
	case "村", "行政村", "社区", "village":
		return LevelVillage
	}
	return l
}

// villageNames give demo villages plausible but clearly invented names.
var villageNames = []string{"红岩", "新田", "龙潭", "石桥", "大坪", "小河", "松林", "青山", "河口", "马鞍", "水塘", "梨园", "核桃", "花椒", "长坡", "黑土", "白沙"}

// LoadDemo fills an empty database with the demo county: 会泽县 with its
// 23 real townships and about 380 generated villages (a third of them
// poverty villages), all marked demo. It does nothing when a county exists.
func (s *Service) LoadDemo(ctx context.Context) (int, error) {
	if len(s.ofLevel(ctx, LevelCounty)) > 0 {
		return 0, nil
	}
	rows, err := csv.NewReader(bytes.NewReader(townshipsCSV)).ReadAll()
	if err != nil {
		return 0, err
	}
	now := time.Now().UTC()
	county := Region{ID: store.NewID(), Name: "会泽县（演示）", Level: LevelCounty, Code: "530326", Demo: true, CreatedAt: now}
	docs := []any{county}
	k := 0
	for i, row := range rows[1:] {
		t := Region{ID: store.NewID(), Name: row[1], Level: LevelTownship, ParentID: county.ID, Code: row[0], Demo: true, CreatedAt: now}
		docs = append(docs, t)
		n := 15 + i%5 // 15-19 villages each: 380 in all
		for v := 0; v < n; v++ {
			k++
			docs = append(docs, Region{ID: store.NewID(), Name: fmt.Sprintf("%s%s村（演示）", villageNames[(i+v)%len(villageNames)], cnNum(v+1)),
				Level: LevelVillage, ParentID: t.ID, Code: fmt.Sprintf("%s%03d", row[0], v+1), Poverty: k%3 == 0, Demo: true, CreatedAt: now})
		}
	}
	created := 0
	err = s.st.Unit(ctx, "regions.demo", func(u *store.Unit) error {
		ok, err := s.slots.InsertIfAbsent(ctx, bson.M{"_id": LevelCounty, "region_id": county.ID})
		if err != nil || !ok {
			return err // !ok: another caller loaded a county first
		}
		u.OnFail("county slot", func(ctx context.Context) error {
			_, err := s.slots.DeleteIf(ctx, LevelCounty, store.Cond{"region_id": county.ID})
			return err
		})
		if err := u.Do(ctx, "insert regions", func(ctx context.Context) error {
			var err error
			created, err = s.c.InsertMany(ctx, docs)
			return err
		}, func(ctx context.Context) error {
			ids := bson.A{}
			for _, d := range docs {
				ids = append(ids, d.(Region).ID)
			}
			_, err := s.c.DeleteMany(ctx, bson.M{"_id": bson.M{"$in": ids}})
			return err
		}); err != nil {
			return err
		}
		list := make([]Region, len(docs))
		for i, d := range docs {
			list[i] = d.(Region)
		}
		return s.putInTree(ctx, u, list...)
	})
	s.forget("")
	return created, err
}

func cnNum(n int) string {
	d := []string{"", "一", "二", "三", "四", "五", "六", "七", "八", "九"}
	switch {
	case n < 10:
		return d[n]
	case n == 10:
		return "十"
	case n < 20:
		return "十" + d[n-10]
	}
	return d[n/10] + "十" + d[n%10]
}
