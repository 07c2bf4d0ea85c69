package regions

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/csv"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"
	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/server"
	"nongxun/store"
)

//go:embed huize-townships.csv
var townshipsCSV []byte

// ImportResult reports an import row by row.
type ImportResult struct {
	Created int         `json:"created"`
	Kept    int         `json:"kept"`
	Refused []RowReason `json:"refused"`
}

// RowReason says why a row (1-based, header is row 1) was refused.
type RowReason struct {
	Row    int    `json:"row"`
	Reason string `json:"reason"`
}

// ReadTable reads a CSV or the first sheet of an XLSX file into rows.
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

// Import adds regions from rows with the header
// code,name,level,parent_code,poverty (level: county|township|village or
// 县|乡镇|村). A code already present is kept as is, so re-importing the
// same file changes nothing.
func (s *Service) Import(ctx context.Context, rows [][]string) (*ImportResult, error) {
	res := &ImportResult{Refused: []RowReason{}}
	if len(rows) == 0 {
		return res, nil
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	for _, need := range []string{"code", "name", "level"} {
		if _, ok := col[need]; !ok {
			return nil, server.Invalid(fmt.Sprintf("表头缺少 %s 列（需要 code,name,level,parent_code,poverty）", need), "file", "表头缺少 "+need+" 列")
		}
	}
	cell := func(row []string, name string) string {
		if i, ok := col[name]; ok && i < len(row) {
			return strings.TrimSpace(row[i])
		}
		return ""
	}
	byCode := map[string]string{}
	for _, r := range s.All(ctx) {
		if r.Code != "" {
			byCode[r.Code] = r.ID
		}
	}
	for i, row := range rows[1:] {
		n := NewRegion{Name: cell(row, "name"), Level: normLevel(cell(row, "level")), Code: cell(row, "code")}
		p := strings.ToLower(cell(row, "poverty"))
		n.Poverty = p == "1" || p == "true" || p == "是" || p == "yes"
		if n.Code == "" {
			res.Refused = append(res.Refused, RowReason{i + 2, "缺少代码"})
			continue
		}
		if _, ok := byCode[n.Code]; ok {
			res.Kept++
			continue
		}
		if n.Level != LevelCounty {
			pid, ok := byCode[cell(row, "parent_code")]
			if !ok {
				res.Refused = append(res.Refused, RowReason{i + 2, "上级代码不存在：" + cell(row, "parent_code")})
				continue
			}
			n.ParentID = pid
		}
		r, err := s.Create(ctx, n)
		if err != nil {
			if e := server.ToError(err); e.Code == server.CodeInternal {
				return nil, err
			}
			res.Refused = append(res.Refused, RowReason{i + 2, reason(err)})
			continue
		}
		byCode[r.Code] = r.ID
		res.Created++
	}
	return res, nil
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
