package reports

import (
	"context"
	"net/http"
	"nongxun/clock"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/server"
	"nongxun/store"
)

// MaxAttachments bounds a written report's attachments (the array lives in the document).
const MaxAttachments = 10

// MaxReportText bounds a written report's text, in characters.
const MaxReportText = 20000

// Attachment is one file attached to a written report.
type Attachment struct {
	N           int       `bson:"n" json:"n"`
	BlobID      string    `bson:"blob_id" json:"-"`
	Name        string    `bson:"name" json:"name"`
	Size        int64     `bson:"size" json:"size"`
	ContentType string    `bson:"content_type" json:"content_type"`
	UploadedAt  time.Time `bson:"uploaded_at" json:"uploaded_at"`
}

// Written is a township's written monthly progress report (每月一报).
type Written struct {
	ID            string       `bson:"_id" json:"id"` // township id + "/" + month
	TownshipID    string       `bson:"township_id" json:"township_id"`
	Township      string       `bson:"-" json:"township"`
	Month         string       `bson:"month" json:"month"`
	Text          string       `bson:"text" json:"text"`
	Attachments   []Attachment `bson:"attachments" json:"attachments"`
	SubmittedBy   string       `bson:"submitted_by" json:"submitted_by"`
	SubmitterName string       `bson:"submitter_name" json:"submitter_name"`
	SubmittedAt   time.Time    `bson:"submitted_at" json:"submitted_at"`
	UpdatedAt     time.Time    `bson:"updated_at" json:"updated_at"`
	Late          bool         `bson:"late" json:"late"`
	// V is the report's version: attachment writes are conditional on it.
	V int `bson:"v,omitempty" json:"-"`
}

// ver is the condition on a version as read (none stored matches nil).
func ver(v int) any {
	if v == 0 {
		return nil
	}
	return v
}

// dueEnd is the end of a month's due day: the 30th, or the month's last day.
func dueEnd(month time.Time) time.Time {
	first := time.Date(month.Year(), month.Month(), 1, 0, 0, 0, 0, clock.Shanghai)
	last := first.AddDate(0, 1, -1).Day()
	day := 30
	if last < day {
		day = last
	}
	return first.AddDate(0, 0, day)
}

// lastDueMonth is the latest month whose due day has passed (or is today).
func lastDueMonth(now time.Time) string {
	cur := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, clock.Shanghai)
	if now.Before(dueEnd(cur)) {
		cur = cur.AddDate(0, -1, 0)
	}
	return cur.Format("2006-01")
}

// SubmitInput is a written report's text.
type SubmitInput struct {
	Text       string `json:"text"`
	TownshipID string `json:"township_id"` // admin only; an officer's is their own
}

// reportTownship decides whose report a caller writes or reads.
func (s *Service) reportTownship(ctx context.Context, p *server.Principal, asked string) (string, error) {
	if p.Role == server.RoleOfficer {
		if asked != "" && asked != p.TownshipID {
			return "", server.Forbidden("只能查看或报送本乡镇的月报")
		}
		if p.TownshipID == "" {
			return "", server.Forbidden("您的账号未关联乡镇")
		}
		return p.TownshipID, nil
	}
	if !store.ValidID(asked) || !s.d.Regions.IsTownship(ctx, asked) {
		return "", server.Invalid("请指定乡镇", "township_id", "应为乡镇编号")
	}
	return asked, nil
}

// Submit stores or replaces the text of a township's report for month; the
// first submission's time decides whether it was late.
func (s *Service) Submit(ctx context.Context, p *server.Principal, month string, in SubmitInput) (*Written, bool, error) {
	mt, err := s.checkMonth(month)
	if err != nil {
		return nil, false, err
	}
	tid, err := s.reportTownship(ctx, p, in.TownshipID)
	if err != nil {
		return nil, false, err
	}
	in.Text = strings.TrimSpace(in.Text)
	if in.Text == "" || utf8.RuneCountInString(in.Text) > MaxReportText {
		return nil, false, server.Invalid("请填写月报内容（2 万字以内）", "text", "请填写月报内容（2 万字以内）")
	}
	now := s.d.Now().UTC()
	id := tid + "/" + month
	late := !now.Before(dueEnd(mt))
	created := false
	// The first submission creates the report (its natural _id settles two
	// at once) and moves the month's tally, as one unit; a later one only
	// replaces the text.
	err = s.st.Unit(ctx, "reports.written.submit", func(u *store.Unit) error {
		ok, err := s.written.InsertIfAbsent(ctx, Written{ID: id, TownshipID: tid, Month: month, Text: in.Text, Attachments: []Attachment{},
			SubmittedBy: p.UserID, SubmitterName: p.Name, SubmittedAt: now, UpdatedAt: now, Late: late})
		if err != nil {
			return err
		}
		if !ok {
			_, err := s.written.UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$set": bson.M{"text": in.Text, "updated_at": now}})
			return err
		}
		created = true
		u.OnFail("written "+id, func(ctx context.Context) error {
			_, err := s.written.DeleteOne(ctx, bson.M{"_id": id})
			return err
		})
		// the tally the dashboard reads, per month: never counted on a request
		delta := map[string]int64{"submitted": 1, "on_time": 1}
		if late {
			delta = map[string]int64{"submitted": 1, "late": 1}
		}
		return s.counts.Inc(ctx, "written:"+month, delta)
	})
	if err != nil {
		return nil, false, err
	}
	s.d.Audit.Note(ctx, p, "reports.written.submit", id, nil)
	w, err := s.WrittenReport(ctx, month, tid)
	return w, created, err
}

// WrittenReport reads one township's report for month.
func (s *Service) WrittenReport(ctx context.Context, month, tid string) (*Written, error) {
	var w Written
	if err := s.written.Get(ctx, tid+"/"+month, &w); store.IsNotFound(err) {
		return nil, server.NotFound("该乡镇本月尚未报送")
	} else if err != nil {
		return nil, err
	}
	w.Township = s.townshipName(ctx, tid)
	if w.Attachments == nil {
		w.Attachments = []Attachment{}
	}
	return &w, nil
}

// Attach stores a file and adds it to an existing report.
func (s *Service) Attach(ctx context.Context, p *server.Principal, month, tid string, up server.Upload) (*Attachment, error) {
	id := tid + "/" + month
	info, err := s.st.Blobs.Put(ctx, up.Body, s.d.Config.MaxUpload)
	if err != nil {
		return nil, server.BlobError(err, s.d.Config.MaxUpload)
	}
	name := filepath.Base(strings.ReplaceAll(up.Filename, "\\", "/"))
	if name == "." || name == "/" || name == "" {
		name = "附件"
	}
	if utf8.RuneCountInString(name) > 120 {
		name = string([]rune(name)[:120])
	}
	att := Attachment{BlobID: info.ID, Name: name, Size: info.Size, ContentType: http.DetectContentType(info.Head), UploadedAt: s.d.Now().UTC()}
	// conditional on the report's version as read, so two app nodes cannot both add the 10th
	for attempt := 0; ; attempt++ {
		var cur Written
		if err := s.written.Get(ctx, id, &cur); store.IsNotFound(err) {
			return nil, server.NotFound("请先提交本月的文字报告，再上传附件")
		} else if err != nil {
			return nil, err
		}
		if len(cur.Attachments) >= MaxAttachments {
			return nil, server.Conflict("每份月报最多 10 个附件")
		}
		att.N = 1
		for _, a := range cur.Attachments {
			if a.N >= att.N {
				att.N = a.N + 1
			}
		}
		ok, err := s.written.UpdateIf(ctx, id, store.Cond{"v": ver(cur.V)},
			bson.M{"$push": bson.M{"attachments": att}, "$set": bson.M{"updated_at": att.UploadedAt, "v": cur.V + 1}})
		if err != nil {
			return nil, err
		}
		if ok {
			break
		}
		if attempt == 10 {
			return nil, server.Conflict("附件正在由他人上传，请稍后重试")
		}
	}
	s.d.Audit.Note(ctx, p, "reports.written.attach", id, map[string]any{"name": name, "size": info.Size})
	return &att, nil
}

// WrittenStatus is one township's line of the office's view.
type WrittenStatus struct {
	TownshipID  string    `json:"township_id"`
	Township    string    `json:"township"`
	Status      string    `json:"status"` // submitted, late, missing (overdue), pending (not due yet)
	SubmittedAt time.Time `json:"submitted_at,omitzero"`
	Attachments int       `json:"attachments"`
	Submitter   string    `json:"submitter,omitempty"`
}

// WrittenTally counts a month's reports.
type WrittenTally struct {
	Month     string    `json:"month"`
	Due       time.Time `json:"due"`
	Townships int       `json:"townships"`
	Submitted int       `json:"submitted"`
	OnTime    int       `json:"on_time"`
	Late      int       `json:"late"`
}

// WrittenList is the office's view of a month: who submitted, who is late.
type WrittenList struct {
	WrittenTally
	Rows []WrittenStatus `json:"rows"`
}

// ListWritten lists every township's status for month (tid "" = all).
func (s *Service) ListWritten(ctx context.Context, month, tid string) (*WrittenList, error) {
	mt, err := s.checkMonth(month)
	if err != nil {
		return nil, err
	}
	// one read by _id (township/month) per township, at once
	twps := s.d.Regions.Townships(ctx)
	by := map[string]Written{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var first error
	for _, t := range twps {
		if tid != "" && t.ID != tid {
			continue
		}
		wg.Add(1)
		go func(id string) {
			defer wg.Done()
			var w Written
			err := s.written.Get(ctx, id+"/"+month, &w)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				by[id] = w
			case !store.IsNotFound(err) && first == nil:
				first = err
			}
		}(t.ID)
	}
	wg.Wait()
	if first != nil {
		return nil, first
	}
	due := dueEnd(mt)
	overdue := !s.now().Before(due)
	out := &WrittenList{WrittenTally: WrittenTally{Month: month, Due: due.Add(-time.Second)}, Rows: []WrittenStatus{}}
	for _, t := range twps {
		if tid != "" && t.ID != tid {
			continue
		}
		row := WrittenStatus{TownshipID: t.ID, Township: t.Name, Status: "pending"}
		if overdue {
			row.Status = "missing"
		}
		if d, ok := by[t.ID]; ok {
			row.SubmittedAt, row.Attachments, row.Submitter = d.SubmittedAt, len(d.Attachments), d.SubmitterName
			out.Submitted++
			if d.Late {
				row.Status = "late"
				out.Late++
			} else {
				row.Status = "submitted"
				out.OnTime++
			}
		}
		out.Townships++
		out.Rows = append(out.Rows, row)
	}
	return out, nil
}

// tallyWritten counts a month's reports: the county's from the counter,
// a township's from its one document.
func (s *Service) tallyWritten(ctx context.Context, month, tid string) (*WrittenTally, error) {
	mt, err := s.checkMonth(month)
	if err != nil {
		return nil, err
	}
	t := &WrittenTally{Month: month, Due: dueEnd(mt).Add(-time.Second), Townships: len(s.d.Regions.Townships(ctx))}
	if tid != "" {
		t.Townships = 1
		w, err := s.WrittenReport(ctx, month, tid)
		if server.ToError(err).Code == server.CodeNotFound {
			t.Submitted = 0
			return t, nil
		}
		if err != nil {
			return nil, err
		}
		t.Submitted = 1
		if w.Late {
			t.Late = 1
		} else {
			t.OnTime = 1
		}
		return t, nil
	}
	doc, err := s.counts.Counter(ctx, "written:"+month)
	if err != nil {
		return nil, err
	}
	t.Submitted, t.OnTime, t.Late = int(store.Int64(doc["submitted"])), int(store.Int64(doc["on_time"])), int(store.Int64(doc["late"]))
	return t, nil
}

// RepairTally rebuilds the months' written-report tallies (written:<month>
// in report_counters) from the reports themselves: computed from the
// records, then each tally set by _id (store.SyncCounters), so it is safe
// while others write. main registers it with st.OnRepair.
func (s *Service) RepairTally(ctx context.Context) (bool, error) {
	var all []Written
	if err := s.written.Find(ctx, bson.M{}, &all); err != nil {
		return false, err
	}
	want := map[string]map[string]int64{}
	for _, w := range all {
		id := "written:" + w.Month
		if want[id] == nil {
			want[id] = map[string]int64{}
		}
		want[id]["submitted"]++
		if w.Late {
			want[id]["late"]++
		} else {
			want[id]["on_time"]++
		}
	}
	drifted, err := s.counts.SyncCounters(ctx, func(id string) bool { return strings.HasPrefix(id, "written:") }, want, true)
	if len(drifted) > 0 {
		s.st.InvalidateCaches()
	}
	return len(drifted) > 0, err
}
