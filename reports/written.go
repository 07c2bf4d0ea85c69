package reports

import (
	"context"
	"net/http"
	"nongxun/clock"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
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
	created := false
	err = s.st.Lane(ctx, func(ctx context.Context) error {
		var cur Written
		err := s.written.FindOne(ctx, bson.M{"_id": id}, &cur)
		if err == mongo.ErrNoDocuments {
			created = true
			late := !now.Before(dueEnd(mt))
			if err := s.written.InsertOne(ctx, Written{ID: id, TownshipID: tid, Month: month, Text: in.Text, Attachments: []Attachment{},
				SubmittedBy: p.UserID, SubmitterName: p.Name, SubmittedAt: now, UpdatedAt: now, Late: late}); err != nil {
				return err
			}
			// the tally the dashboard reads, per month: never counted on a request
			delta := map[string]int64{"submitted": 1, "on_time": 1}
			if late {
				delta = map[string]int64{"submitted": 1, "late": 1}
			}
			if err := s.counts.Inc(ctx, "written:"+month, delta); err != nil {
				_, _ = s.written.DeleteOne(ctx, bson.M{"_id": id}) // never half a write
				return err
			}
			return nil
		}
		if err != nil {
			return err
		}
		_, err = s.written.UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$set": bson.M{"text": in.Text, "updated_at": now}})
		return err
	})
	if err != nil {
		if store.IsDup(err) {
			return nil, false, server.Conflict("月报正在由他人提交，请稍后再试")
		}
		return nil, false, err
	}
	if s.d.Audit != nil {
		_ = s.d.Audit.Record(ctx, p, "reports.written.submit", id, nil)
	}
	w, err := s.WrittenReport(ctx, month, tid)
	return w, created, err
}

// WrittenReport reads one township's report for month.
func (s *Service) WrittenReport(ctx context.Context, month, tid string) (*Written, error) {
	var w Written
	if err := s.written.FindOne(ctx, bson.M{"_id": tid + "/" + month}, &w); err == mongo.ErrNoDocuments {
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
	err = s.st.Lane(ctx, func(ctx context.Context) error {
		var cur Written
		if err := s.written.FindOne(ctx, bson.M{"_id": id}, &cur); err == mongo.ErrNoDocuments {
			return server.NotFound("请先提交本月的文字报告，再上传附件")
		} else if err != nil {
			return err
		}
		if len(cur.Attachments) >= MaxAttachments {
			return server.Conflict("每份月报最多 10 个附件")
		}
		att.N = 1
		for _, a := range cur.Attachments {
			if a.N >= att.N {
				att.N = a.N + 1
			}
		}
		// conditional on the count read, so two app nodes cannot both add the 10th
		res, err := s.written.UpdateOne(ctx, bson.M{"_id": id, "attachments": bson.M{"$size": len(cur.Attachments)}},
			bson.M{"$push": bson.M{"attachments": att}, "$set": bson.M{"updated_at": att.UploadedAt}})
		if err == nil && res.MatchedCount == 0 {
			return server.Conflict("附件正在由他人上传，请稍后重试")
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if s.d.Audit != nil {
		_ = s.d.Audit.Record(ctx, p, "reports.written.attach", id, map[string]any{"name": name, "size": info.Size})
	}
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
	filter := bson.M{"month": month}
	if tid != "" {
		filter["_id"] = tid + "/" + month
	}
	var docs []Written
	if err := s.written.Find(ctx, filter, &docs); err != nil {
		return nil, err
	}
	by := map[string]Written{}
	for _, d := range docs {
		by[d.TownshipID] = d
	}
	due := dueEnd(mt)
	overdue := !s.now().Before(due)
	out := &WrittenList{WrittenTally: WrittenTally{Month: month, Due: due.Add(-time.Second)}, Rows: []WrittenStatus{}}
	for _, t := range s.d.Regions.Townships(ctx) {
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
