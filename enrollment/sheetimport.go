package enrollment

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/gofiber/fiber/v2"
	"nongxun/courses"
	"nongxun/server"
	"nongxun/sheets"
)

// Attendance from a paper sign-in sheet (签到表): staff type the sheet in,
// or save the one they printed, and upload it for a session already held.
// Every row names a person by ID number, or by name and phone, and carries
// a sign-in mark (sheets.MarkCell). People are matched to registered
// trainees only: nobody is registered from a sign-in sheet. The marked are
// recorded through the roll call's write path (the commit loop: counters,
// the session's list, walk-in enrolments, events and so certificate
// eligibility follow), with method "sheet" and, when given, the sign-in
// photo of the paper sheet they came from. Recording is idempotent: a
// person already recorded at the session is answered "already", so the
// same file imported twice changes nothing.

// MethodSheet marks an attendance typed in from a paper sign-in sheet.
const MethodSheet = "sheet"

// Bounds of one sign-in sheet upload.
const (
	maxSheetBytes = 10 << 20
	maxSheetRows  = 2000
)

// Row statuses of a sign-in sheet import.
const (
	SheetPresent = "present" // marked present: recorded (or, in a preview, to be recorded)
	SheetAlready = "already" // already recorded at this session (or a repeat row)
	SheetUnknown = "unknown" // no registered trainee matches
	SheetRefused = "refused" // the row cannot be read or used (Reason says why)
	SheetAbsent  = "absent"  // marked absent or left blank: nothing to record
)

// SheetRow is one data row of the sheet as the import judged it.
type SheetRow struct {
	Row       int    `json:"row"`             // as Excel shows it
	Sheet     string `json:"sheet,omitempty"` // set when the workbook has several data sheets
	Name      string `json:"name"`
	IDNumber  string `json:"id_number,omitempty"` // masked
	Phone     string `json:"phone,omitempty"`     // masked
	Status    string `json:"status"`
	Reason    string `json:"reason,omitempty"` // Chinese
	TraineeID string `json:"trainee_id,omitempty"`
}

// SheetImport is the answer of a sign-in sheet import or its preview.
type SheetImport struct {
	SessionID string         `json:"session_id"`
	Preview   bool           `json:"preview"`
	PhotoID   string         `json:"photo_id,omitempty"`
	Rows      []SheetRow     `json:"rows"`
	Counts    map[string]int `json:"counts"`
	Recorded  int            `json:"recorded"` // records written (0 in a preview)
	Notes     []string       `json:"notes,omitempty"`
}

// sheetLine is a row on its way through the import.
type sheetLine struct {
	rep   SheetRow
	name  string
	id    string // the full ID number, when the row gives one
	phone string
	t     *Trainee
}

// ImportSheet judges (preview) or records the rows of a sign-in sheet for
// a session already held. photoID, when not "", is the blob id of one of
// the session's sign-in photos.
func (s *Service) ImportSheet(ctx context.Context, sess *courses.Session, data []byte, filename, photoID, by string, preview bool) (*SheetImport, error) {
	if sess.Cancelled {
		return nil, server.Invalid("该班次已取消，不能导入签到表", "session_id", "班次已取消")
	}
	if s.now().Before(sess.StartsAt) {
		return nil, server.Invalid("该班次还没有开始，培训结束后再导入纸质签到表", "session_id", "未开始")
	}
	if photoID != "" {
		if _, err := s.photo(ctx, sess.ID, photoID); err != nil {
			if server.ToError(err).Code == server.CodeNotFound {
				return nil, server.Invalid("所选签到表照片不是本班次的，请重新选择", "photo_id", "不是本班次的照片")
			}
			return nil, err
		}
	}
	tab, err := sheets.ReadBytes(data, sheets.Attendance, sheets.Options{Name: filename, MaxBytes: maxSheetBytes, MaxRows: maxSheetRows})
	if err != nil {
		var fe *sheets.FileError
		if errors.As(err, &fe) {
			return nil, server.Invalid(fe.Msg, "file", "无法读取")
		}
		return nil, err
	}
	lines := s.readSheetLines(tab)
	if err := s.matchSheetLines(ctx, lines); err != nil {
		return nil, err
	}
	if err := s.judgeSheetLines(ctx, sess, lines); err != nil {
		return nil, err
	}
	out := &SheetImport{SessionID: sess.ID, Preview: preview, PhotoID: photoID, Rows: make([]SheetRow, 0, len(lines)),
		Counts: map[string]int{SheetPresent: 0, SheetAlready: 0, SheetUnknown: 0, SheetRefused: 0, SheetAbsent: 0}, Notes: tab.Notes()}
	if !preview {
		n, err := s.recordSheetLines(ctx, sess, lines, photoID, by)
		if err != nil {
			return nil, err
		}
		out.Recorded = n
	}
	for _, l := range lines {
		out.Rows = append(out.Rows, l.rep)
		out.Counts[l.rep.Status]++
	}
	return out, nil
}

// readSheetLines reads each row's cells: the mark, the ID number, the
// name and the phone. Rows that cannot be read are refused here.
func (s *Service) readSheetLines(tab *sheets.Table) []*sheetLine {
	multi := 0
	for _, sh := range tab.Sheets {
		if sh.HeaderRow > 0 {
			multi++
		}
	}
	lines := make([]*sheetLine, 0, len(tab.Rows))
	for _, r := range tab.Rows {
		l := &sheetLine{rep: SheetRow{Row: r.Number}, name: strings.Join(strings.Fields(r.Text("name")), "")}
		if multi > 1 {
			l.rep.Sheet = r.Sheet
		}
		l.rep.Name = l.name
		lines = append(lines, l)
		refuse := func(err error) {
			l.rep.Status = SheetRefused
			var ce *sheets.CellError
			if errors.As(err, &ce) {
				l.rep.Reason = ce.Reason()
			} else {
				l.rep.Reason = err.Error()
			}
		}
		present, err := sheets.MarkCell(r.Cell("present"))
		if err != nil {
			refuse(err)
			continue
		}
		if !present {
			// nothing to record: the row is shown, its other cells not judged
			l.rep.Status = SheetAbsent
			if id, err := sheets.IDNumberCell(r.Cell("id_number")); err == nil && id != "" {
				l.rep.IDNumber = MaskID(id)
			}
			continue
		}
		id, err := sheets.IDNumberCell(r.Cell("id_number"))
		if err != nil {
			refuse(err)
			continue
		}
		phone, err := sheets.PhoneCell(r.Cell("phone"))
		if err != nil {
			refuse(err)
			continue
		}
		l.phone = phone
		if phone != "" {
			l.rep.Phone = maskPhone(phone)
		}
		if id != "" {
			n, err := ParseIDNumber(id, s.now())
			if err != nil {
				l.rep.IDNumber = MaskID(id)
				refuse(r.Cell("id_number").Errorf("%s", err.Error()))
				continue
			}
			l.id = n.Number
			l.rep.IDNumber = MaskID(n.Number)
		}
		switch {
		case l.id != "":
		case l.name == "" && phone == "":
			refuse(r.Errorf("请填写身份证号，或者姓名和手机号"))
		case l.name == "":
			refuse(r.Errorf("只有手机号，请同时填写姓名（或填写身份证号）"))
		case phone == "":
			refuse(r.Errorf("只有姓名，请同时填写手机号（或填写身份证号）"))
		case len(phone) != 11 || !allDigits(phone):
			refuse(r.Cell("phone").Errorf("手机号应为 11 位数字"))
		}
	}
	return lines
}

// matchSheetLines finds the trainee of every marked row: by ID number
// (the _id reads of their keys and trainees, a few at a time), or by name
// among the trainees registered with the phone (one read of the phone
// buckets for the whole sheet).
func (s *Service) matchSheetLines(ctx context.Context, lines []*sheetLine) error {
	var buckets, keyIDs []string
	byPhone := map[string][]*sheetLine{}
	for _, l := range lines {
		if l.rep.Status == "" && l.id != "" {
			keyIDs = append(keyIDs, idKey(s.crypt.hash(l.id)))
		}
	}
	// The ID numbers' keys, then their trainees, each read by _id a few at a time.
	keys, err := getMany[traineeKey](ctx, s.keys, keyIDs)
	if err != nil {
		return err
	}
	var tids []string
	for _, k := range keys {
		tids = append(tids, k.TraineeID)
	}
	docs, err := getMany[traineeDoc](ctx, s.trainees, tids)
	if err != nil {
		return err
	}
	for _, l := range lines {
		if l.rep.Status != "" {
			continue
		}
		if l.id != "" {
			var d *traineeDoc
			if k, ok := keys[idKey(s.crypt.hash(l.id))]; ok {
				if x, ok := docs[k.TraineeID]; ok {
					fixTrainee(&x.Trainee)
					d = &x
				}
			}
			switch {
			case d == nil:
				l.rep.Status, l.rep.Reason = SheetUnknown, "学员名册中没有这个身份证号；请先登记该学员，再导入签到表"
			case d.Merged():
				l.rep.Status, l.rep.Reason = SheetRefused, "该学员档案已合并到另一条档案，请核对身份证号"
			case l.name != "" && !sameName(l.name, d.Name):
				l.rep.Status, l.rep.Reason = SheetRefused, fmt.Sprintf("姓名与身份证号不符：名册登记为“%s”，请核对", d.Name)
			default:
				t := d.Trainee
				l.t = &t
			}
			continue
		}
		b := "q/p/" + l.phone
		if byPhone[b] == nil {
			buckets = append(buckets, b)
		}
		byPhone[b] = append(byPhone[b], l)
	}
	if len(buckets) == 0 {
		return nil
	}
	lists, err := s.readLists(ctx, buckets...)
	if err != nil {
		return err
	}
	var ids []string
	for _, b := range buckets {
		for _, m := range lists[b] {
			ids = append(ids, strings.SplitN(m, "|", 2)[0])
		}
	}
	ts, err := s.Trainees(ctx, ids)
	if err != nil {
		return err
	}
	for _, b := range buckets {
		for _, l := range byPhone[b] {
			for _, m := range lists[b] {
				t, ok := ts[strings.SplitN(m, "|", 2)[0]]
				if ok && !t.Merged() && t.Phone == l.phone && sameName(l.name, t.Name) {
					l.t = &t
					break
				}
			}
			if l.t == nil {
				l.rep.Status, l.rep.Reason = SheetUnknown, "学员名册中没有这个姓名和手机号的学员；请核对，或先登记该学员"
			}
		}
	}
	return nil
}

// sameName compares names as clerks write them (spaces and the middle dot's forms aside).
func sameName(a, b string) bool {
	norm := func(s string) string {
		return strings.NewReplacer(" ", "", "\u3000", "", "•", "·", "・", "·", ".", "·").Replace(s)
	}
	return norm(a) == norm(b)
}

// judgeSheetLines marks rows of people already recorded at the session
// (and repeats of one person) as already; the rest of the matched rows are
// to be recorded present.
func (s *Service) judgeSheetLines(ctx context.Context, sess *courses.Session, lines []*sheetLine) error {
	var ids []string
	for _, l := range lines {
		if l.t != nil {
			ids = append(ids, attendanceID(sess.ID, l.t.ID))
		}
	}
	have, err := getMany[Attendance](ctx, s.attendance, ids)
	if err != nil {
		return err
	}
	first := map[string]int{}
	for _, l := range lines {
		if l.t == nil {
			continue
		}
		l.rep.TraineeID, l.rep.Name = l.t.ID, l.t.Name
		if l.rep.IDNumber == "" {
			l.rep.IDNumber = l.t.IDMasked
		}
		if row, ok := first[l.t.ID]; ok {
			l.rep.Status, l.rep.Reason = SheetAlready, fmt.Sprintf("与第 %d 行是同一人", row)
			continue
		}
		first[l.t.ID] = l.rep.Row
		a, ok := have[attendanceID(sess.ID, l.t.ID)]
		switch {
		case ok && counted(a.Status):
			l.rep.Status, l.rep.Reason = SheetAlready, "已有签到记录（"+methodName(a.Method)+"）"
		case ok:
			l.rep.Status, l.rep.Reason = SheetPresent, "原登记为请假，改为到课"
		default:
			l.rep.Status = SheetPresent
		}
	}
	return nil
}

// recordSheetLines records the present rows as the roll call does (the
// commit loop); it returns how many records were written or upgraded. A
// row recorded meanwhile by another path is answered already.
func (s *Service) recordSheetLines(ctx context.Context, sess *courses.Session, lines []*sheetLine, photoID, by string) (int, error) {
	type queued struct {
		l *sheetLine
		p *pendingAtt
	}
	var q []queued
	for _, l := range lines {
		if l.rep.Status != SheetPresent {
			continue
		}
		a := s.newAttendance(sess, l.t, StatusPresent, MethodSheet)
		a.By, a.SheetPhoto = by, photoID
		p, err := s.queue(ctx, sess, l.t, a, false, "")
		if err != nil {
			return 0, err
		}
		q = append(q, queued{l, p})
	}
	n := 0
	var first error
	for _, x := range q {
		r, err := x.p.wait(ctx)
		if err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		if r.created || r.upgraded {
			n++
		} else {
			x.l.rep.Status, x.l.rep.Reason = SheetAlready, "已有签到记录"
		}
	}
	return n, first
}

// methodName is how an attendance was recorded, in the staff's words.
func methodName(m string) string {
	switch m {
	case MethodQR:
		return "扫码签到"
	case MethodDigits:
		return "输入数字签到"
	case MethodOffline:
		return "离线扫码"
	case MethodRollCall:
		return "讲师点名"
	case MethodMark:
		return "讲师登记"
	case MethodSheet:
		return "纸质签到表"
	case MethodMerge:
		return "档案合并"
	}
	return "其他方式"
}

// hImportSheet is POST /sessions/:id/attendance/import: multipart file
// (XLSX or CSV) and optional photo_id (form field or query); ?preview=1
// writes nothing.
func (s *Service) hImportSheet(c *fiber.Ctx) error {
	sess, err := s.sessionParam(c, true)
	if err != nil {
		return err
	}
	var data []byte
	var name string
	vals, err := server.StreamUpload(c, "file", func(u server.Upload) error {
		b, err := io.ReadAll(io.LimitReader(u.Body, maxSheetBytes+1))
		if err != nil {
			return server.Invalid("上传内容不完整，请重新上传", "file", "上传不完整")
		}
		if len(b) > maxSheetBytes {
			return server.TooLarge("签到表文件超过 10 MB，请删去图片和无关的工作表后再上传")
		}
		data, name = b, u.Filename
		return nil
	})
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return server.Invalid("文件是空的", "file", "没有内容")
	}
	photo := strings.TrimSpace(vals["photo_id"])
	if photo == "" {
		photo = strings.TrimSpace(c.Query("photo_id"))
	}
	if i := strings.LastIndexByte(photo, '/'); i >= 0 {
		photo = photo[i+1:] // a photo's record id is sessionID/blobID
	}
	preview := c.Query("preview") == "1" || c.Query("preview") == "true"
	p := server.Who(c)
	res, err := s.ImportSheet(c.UserContext(), sess, data, name, photo, p.UserID, preview)
	if err != nil {
		return err
	}
	if !preview && res.Recorded > 0 { // a re-import that records nobody changes nothing, the audit log included
		s.audit(c.UserContext(), p, "attendance.sheet_import", sess.ID, map[string]any{"rows": len(res.Rows), "recorded": res.Recorded,
			"unknown": res.Counts[SheetUnknown], "refused": res.Counts[SheetRefused], "photo_id": photo})
	}
	return c.JSON(res)
}
