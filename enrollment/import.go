package enrollment

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"
	"nongxun/regions"
	"nongxun/server"
	"nongxun/sheets"
	"nongxun/store"
)

// ImportResult reports a roster import row by row. Row numbers are as the
// spreadsheet program shows them (title and header rows count). Re-importing
// the same file keeps every row.
type ImportResult struct {
	Total   int         `json:"total"`
	Created int         `json:"created"`
	Kept    int         `json:"kept"`
	Refused []RowReason `json:"refused"`
	// Preview is true when nothing was written (?preview=1): Created then
	// counts the rows that would be registered.
	Preview bool `json:"preview"`
	// Skipped counts rows with nothing in the roster's columns (empty, only
	// a 序号, only formatting), all sheets together.
	Skipped int `json:"skipped"`
	// Notes are the file's remarks for the clerk, most important first (an
	// ID column stored as numbers comes first).
	Notes []string `json:"notes"`
	// Sheets reports every sheet of the file: read, or skipped and why.
	Sheets []sheets.SheetReport `json:"sheets"`
	// Rows gives every data row's status.
	Rows []ImportRow `json:"rows"`
}

// RowReason says why a row was refused (the same row report as a region import).
type RowReason = regions.RowReason

// Statuses of an import row.
const (
	RowNew     = "new"     // registered (or, in a preview, would be)
	RowKept    = "kept"    // the ID number is registered already: left as it is
	RowRefused = "refused" // not imported; Reason says why
)

// ImportRow is one data row of a roster import.
type ImportRow struct {
	Row      int    `json:"row"`
	Sheet    string `json:"sheet,omitempty"`
	Name     string `json:"name"`
	IDMasked string `json:"id_number"` // masked: 5303**********1234
	Township string `json:"township,omitempty"`
	Village  string `json:"village"`
	Status   string `json:"status"`
	Label    string `json:"label"` // the status in Chinese
	Reason   string `json:"reason,omitempty"`
}

var rowLabels = map[string]string{RowNew: "新登记", RowKept: "已登记，不变", RowRefused: "未通过"}

// ImportRows registers the trainees of a roster given as text: header names
// the columns (Chinese or English); firstRow is the file row number of
// rows[0]. It reads through the sheets package like a file upload.
func (s *Service) ImportRows(ctx context.Context, header []string, rows [][]string, firstRow int, p *server.Principal) (*ImportResult, error) {
	t, err := recordsTable(header, rows, firstRow)
	if err != nil {
		return nil, err
	}
	return s.ImportTable(ctx, t, p, false)
}

// recordsTable reads a header and rows sent as JSON, row numbers shifted
// so that rows[0] is firstRow.
func recordsTable(header []string, rows [][]string, firstRow int) (*sheets.Table, error) {
	if firstRow < 2 {
		firstRow = 2
	}
	if len(rows) > maxImportRows {
		return nil, server.TooLarge(fmt.Sprintf("一次最多导入 %d 行，请分成几个文件", maxImportRows))
	}
	recs := make([][]string, 0, len(rows)+1)
	recs = append(recs, header)
	recs = append(recs, rows...)
	t, err := sheets.ReadRecords(recs, sheets.Roster, sheets.Options{MaxRows: maxImportRows})
	if err != nil {
		return nil, fileError(err)
	}
	if shift := firstRow - 2; shift != 0 {
		for i := range t.Rows {
			t.Rows[i].Number += shift
			for k, c := range t.Rows[i].Cells {
				c.Row += shift
				t.Rows[i].Cells[k] = c
			}
		}
	}
	return t, nil
}

// fileError turns a refusal of the sheets reader into a 400 answer.
func fileError(err error) error { return regions.FileError(err) }

// rosterLine is one data row made ready for registering.
type rosterLine struct {
	row    ImportRow
	n      NewTrainee
	id     IDNumber // the ID number read (valid lines only)
	hash   string
	reason string // set when refused
}

// ImportTable registers the trainees of a roster read by sheets.Read with
// sheets.Roster, or with preview only reports what it would do and writes
// nothing. Trainees are imported without a login account; an ID number
// already registered is kept as it is; a row is refused with a Chinese
// reason naming the column as the file's header does. An officer imports
// only villages of their township.
func (s *Service) ImportTable(ctx context.Context, t *sheets.Table, p *server.Principal, preview bool) (*ImportResult, error) {
	res := &ImportResult{Refused: []RowReason{}, Preview: preview, Sheets: t.Sheets, Rows: make([]ImportRow, 0, len(t.Rows))}
	res.Notes = fileNotes(t)
	for _, sh := range t.Sheets {
		res.Skipped += sh.Skipped
	}
	lines := s.rosterLines(ctx, t, p)
	if err := s.settle(ctx, lines, preview, p); err != nil {
		return nil, err
	}
	for i := range lines {
		ln := &lines[i]
		res.Total++
		if ln.reason != "" {
			ln.row.Status = RowRefused
		}
		ln.row.Reason, ln.row.Label = ln.reason, rowLabels[ln.row.Status]
		switch ln.row.Status {
		case RowNew:
			res.Created++
		case RowKept:
			res.Kept++
		default:
			res.Refused = append(res.Refused, RowReason{Row: ln.row.Row, Reason: sheetPrefix(ln.row.Sheet, t) + ln.reason})
		}
		res.Rows = append(res.Rows, ln.row)
	}
	return res, nil
}

// settle gives every valid line its status: in a preview by looking its
// ID number's key up by _id (nothing is written), otherwise by registering
// the lines importBatch at a time (registerBatch).
func (s *Service) settle(ctx context.Context, lines []rosterLine, preview bool, p *server.Principal) error {
	var valid []*rosterLine
	for i := range lines {
		if lines[i].reason == "" {
			valid = append(valid, &lines[i])
		}
	}
	if preview {
		for _, ln := range valid {
			var k traineeKey
			switch err := s.keys.Get(ctx, idKey(ln.hash), &k); {
			case err == nil:
				ln.row.Status = RowKept
			case store.IsNotFound(err):
				ln.row.Status = RowNew
			default:
				return err
			}
		}
		return nil
	}
	for lo := 0; lo < len(valid); lo += importBatch {
		batch := valid[lo:min(lo+importBatch, len(valid))]
		kept, err := s.registerBatch(ctx, batch, p.UserID)
		if err != nil {
			return err
		}
		for i, ln := range batch {
			ln.row.Status = RowNew
			if kept[i] {
				ln.row.Status = RowKept
			}
		}
	}
	return nil
}

// rosterLines reads every data row's cells and checks what needs no
// database beyond the region list: the cells, the fields, the village, the
// officer's township, and ID numbers repeated within the file.
func (s *Service) rosterLines(ctx context.Context, t *sheets.Table, p *server.Principal) []rosterLine {
	villages := s.villageIndex(ctx)
	now := s.now()
	seen := map[string]int{} // ID number → the first row holding it
	out := make([]rosterLine, 0, len(t.Rows))
	for _, r := range t.Rows {
		ln := rosterLine{row: ImportRow{Row: r.Number, Sheet: r.Sheet, Name: r.Text("name"), Township: r.Text("township"), Village: r.Text("village")}}
		var problems []string
		cellErr := func(err error) {
			var ce *sheets.CellError
			if errors.As(err, &ce) {
				problems = append(problems, ce.Reason())
			} else if err != nil {
				problems = append(problems, err.Error())
			}
		}
		idc := r.Cell("id_number")
		id, idErr := sheets.IDNumberCell(idc)
		cellErr(idErr)
		ln.row.IDMasked = MaskID(firstNonEmpty(id, squeezeSpaces(idc.Text)))
		phone, phoneErr := sheets.PhoneCell(r.Cell("phone"))
		cellErr(phoneErr)
		ln.n = NewTrainee{Name: r.Text("name"), IDNumber: id, Phone: phone, Gender: r.Text("gender")}
		if g := r.Text("groups"); g != "" {
			ln.n.Groups = strings.FieldsFunc(g, func(r rune) bool { return strings.ContainsRune(",，、;；/ ", r) })
		}
		var where string
		ln.n.RegionID, where = villages.locate(r.Text("township"), r.Text("village"))
		skip := map[string]bool{}
		if idErr != nil {
			skip["id_number"] = true
		}
		if phoneErr != nil {
			skip["phone"] = true
		}
		{
			vid, err := ln.n.Validate(now, func(id string) bool { return s.d.Regions.IsVillage(ctx, id) })
			if err != nil {
				problems = append(problems, rowProblems(err, r, where, skip)...)
			} else if len(problems) == 0 {
				ln.id, ln.hash = vid, s.crypt.hash(vid.Number)
				ln.row.IDMasked = MaskID(vid.Number)
				if first, dup := seen[vid.Number]; dup {
					problems = append(problems, fmt.Sprintf("%s：与第 %d 行是同一个身份证号，只按第 %d 行登记", r.Cell("id_number").Column, first, first))
				} else {
					seen[vid.Number] = r.Number
				}
			}
		}
		if ln.n.RegionID != "" && p.Township() != "" && s.d.Regions.TownshipOf(ctx, ln.n.RegionID) != p.Township() {
			problems = append(problems, fmt.Sprintf("%s：“%s”不在您负责的乡镇，不能导入", r.Cell("village").Column, r.Text("village")))
		}
		ln.reason = strings.Join(problems, "；")
		out = append(out, ln)
	}
	return out
}

// rowProblems turns a refusal of NewTrainee.Validate into the clerk's
// terms, each field named as the file's header names its column.
func rowProblems(err error, r sheets.Row, where string, skip map[string]bool) []string {
	e := server.ToError(err)
	if len(e.Fields) == 0 {
		return []string{e.Message}
	}
	var out []string
	for _, f := range []string{"name", "id_number", "phone", "gender", "region_id", "groups"} {
		msg, ok := e.Fields[f]
		if !ok || skip[f] {
			continue
		}
		key := f
		switch f {
		case "region_id":
			key, msg = "village", where
		case "gender":
			if strings.Contains(msg, "male") {
				msg = "请填写 男 或 女（也可不填，按身份证号判断）"
			}
		}
		out = append(out, r.Cell(key).Column+"："+msg)
	}
	return out
}

// fileNotes lists the file's notes with the ID-number ones first.
func fileNotes(t *sheets.Table) []string {
	notes := t.Notes()
	slices.SortStableFunc(notes, func(a, b string) int {
		ia, ib := strings.Contains(a, "存成了数字"), strings.Contains(b, "存成了数字")
		switch {
		case ia && !ib:
			return -1
		case ib && !ia:
			return 1
		}
		return 0
	})
	if notes == nil {
		notes = []string{}
	}
	return notes
}

// sheetPrefix names the sheet in a refusal when the file has several data sheets.
func sheetPrefix(sheet string, t *sheets.Table) string {
	n := 0
	for _, s := range t.Sheets {
		if s.Rows > 0 {
			n++
		}
	}
	if n > 1 && sheet != "" {
		return "工作表“" + sheet + "”："
	}
	return ""
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func squeezeSpaces(s string) string { return strings.Join(strings.Fields(s), "") }

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
	id, _ := x.locate(township, village)
	return id
}

// locate finds the village, or says in Chinese why it cannot.
func (x villageIdx) locate(township, village string) (id, why string) {
	if village == "" {
		return "", "请填写所在行政村"
	}
	if x.byID[village] {
		return village, ""
	}
	cands := x.byName[village]
	if len(cands) == 0 && !strings.HasSuffix(village, "村") {
		cands = x.byName[village+"村"]
	}
	if len(cands) == 0 {
		return "", "找不到村“" + village + "”，请填写区划里的行政村全称"
	}
	if township != "" {
		tid, ok := x.twp[township]
		if !ok {
			return "", "找不到乡镇“" + township + "”，请填写区划里的乡镇全称"
		}
		var keep []regions.Region
		for _, v := range cands {
			if v.ParentID == tid {
				keep = append(keep, v)
			}
		}
		if len(keep) == 0 {
			return "", "“" + township + "”下没有“" + village + "”"
		}
		cands = keep
	}
	if len(cands) > 1 {
		return "", "有 " + fmt.Sprint(len(cands)) + " 个叫“" + village + "”的村，请填写乡镇列"
	}
	return cands[0].ID, ""
}

// maxImportRows bounds one import request.
const maxImportRows = 20000

// maxImportBytes bounds an uploaded roster file (and MAX_UPLOAD_MB, when lower).
const maxImportBytes = 50 << 20

// readRoster reads the uploaded roster of a multipart request with the
// sheets reader; a file it cannot take is a 400 (413 when too big) with
// the reader's Chinese message.
func (s *Service) readRoster(c *fiber.Ctx, keepRaw bool) (*sheets.Table, error) {
	limit := int64(maxImportBytes)
	if m := s.d.Config.MaxUpload; m > 0 && m < limit {
		limit = m
	}
	return regions.ReadUpload(c, sheets.Roster, sheets.Options{MaxBytes: limit, MaxRows: maxImportRows, KeepRaw: keepRaw})
}

func (s *Service) hImport(c *fiber.Ctx) error {
	p := server.Who(c)
	preview := c.QueryBool("preview")
	var t *sheets.Table
	if strings.HasPrefix(c.Get(fiber.HeaderContentType), "multipart/") {
		var err error
		if t, err = s.readRoster(c, false); err != nil {
			return err
		}
	} else {
		var in struct {
			Header   []string   `json:"header"`
			Rows     [][]string `json:"rows"`
			FirstRow int        `json:"first_row"`
		}
		if err := server.Bind(c, &in); err != nil {
			return err
		}
		var err error
		if t, err = recordsTable(in.Header, in.Rows, in.FirstRow); err != nil {
			return err
		}
	}
	res, err := s.ImportTable(c.UserContext(), t, p, preview)
	if err != nil {
		return err
	}
	if !preview {
		s.audit(c.UserContext(), p, "trainee.import", "trainees", map[string]any{"created": res.Created, "kept": res.Kept, "refused": len(res.Refused)})
	}
	return c.JSON(res)
}
