package reports

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"nongxun/server"
)

// Settings are the programme's dates the dashboard measures pace against.
// The plan's dates (2019) are past; the office sets the real ones.
type Settings struct {
	StartDate   string    `bson:"start_date" json:"start_date"` // YYYY-MM-DD, Asia/Shanghai
	EndDate     string    `bson:"end_date" json:"end_date"`     // the deadline for the targets
	Programme   string    `bson:"programme" json:"programme"`   // name shown on the public page
	Summary     string    `bson:"summary" json:"summary"`       // public summary text
	UpdatedAt   time.Time `bson:"updated_at,omitempty" json:"updated_at,omitzero"`
	UpdatedBy   string    `bson:"updated_by,omitempty" json:"updated_by,omitempty"`
	PersonTimes int64     `bson:"person_times_target" json:"person_times_target"` // default 10,000
}

// DefaultSettings are the plan's own: 2019-01-01 to 2019-12-31.
var DefaultSettings = Settings{
	StartDate:   "2019-01-01",
	EndDate:     "2019-12-31",
	Programme:   "会泽县电子商务进农村综合示范项目",
	Summary:     "通过不少于 10000 人次的电子商务培训，建设县级公共服务中心、仓储物流配送中心和村级服务站点，培育龙头企业和地方品牌，带动农产品上行。",
	PersonTimes: 10000,
}

const settingsID = "programme"

// settingsTTL bounds how stale another app node's settings can be.
const settingsTTL = 30 * time.Second

// Settings reads the programme settings (defaults when never set), from a
// short in-memory copy that SaveSettings refreshes.
func (s *Service) Settings(ctx context.Context) (Settings, error) {
	s.mu.Lock()
	if !s.setAt.IsZero() && time.Since(s.setAt) < settingsTTL {
		v := s.setVal
		s.mu.Unlock()
		return v, nil
	}
	s.mu.Unlock()
	v, err := s.readSettings(ctx)
	if err != nil {
		return v, err
	}
	s.mu.Lock()
	s.setVal, s.setAt = v, time.Now()
	s.mu.Unlock()
	return v, nil
}

func (s *Service) readSettings(ctx context.Context) (Settings, error) {
	out := DefaultSettings
	var doc Settings
	err := s.settings.FindOne(ctx, bson.M{"_id": settingsID}, &doc)
	if err == mongo.ErrNoDocuments {
		return out, nil
	}
	if err != nil {
		return out, err
	}
	if doc.StartDate != "" {
		out.StartDate = doc.StartDate
	}
	if doc.EndDate != "" {
		out.EndDate = doc.EndDate
	}
	if doc.Programme != "" {
		out.Programme = doc.Programme
	}
	if doc.Summary != "" {
		out.Summary = doc.Summary
	}
	if doc.PersonTimes > 0 {
		out.PersonTimes = doc.PersonTimes
	}
	out.UpdatedAt, out.UpdatedBy = doc.UpdatedAt, doc.UpdatedBy
	return out, nil
}

// SettingsInput is what an admin may change; absent fields stay.
type SettingsInput struct {
	StartDate   *string `json:"start_date"`
	EndDate     *string `json:"end_date"`
	Programme   *string `json:"programme"`
	Summary     *string `json:"summary"`
	PersonTimes *int64  `json:"person_times_target"`
}

// SaveSettings validates and stores the settings.
func (s *Service) SaveSettings(ctx context.Context, p *server.Principal, in SettingsInput) (Settings, error) {
	cur, err := s.readSettings(ctx)
	if err != nil {
		return cur, err
	}
	if in.StartDate != nil {
		cur.StartDate = *in.StartDate
	}
	if in.EndDate != nil {
		cur.EndDate = *in.EndDate
	}
	if in.Programme != nil {
		cur.Programme = *in.Programme
	}
	if in.Summary != nil {
		cur.Summary = *in.Summary
	}
	if in.PersonTimes != nil {
		cur.PersonTimes = *in.PersonTimes
	}
	f := server.Fields{}
	st, e1 := time.Parse("2006-01-02", cur.StartDate)
	en, e2 := time.Parse("2006-01-02", cur.EndDate)
	f.Add(e1 != nil, "start_date", "日期格式应为 YYYY-MM-DD")
	f.Add(e2 != nil, "end_date", "日期格式应为 YYYY-MM-DD")
	f.Add(e1 == nil && e2 == nil && !en.After(st), "end_date", "截止日期应晚于开始日期")
	f.Add(cur.Programme == "" || len([]rune(cur.Programme)) > 60, "programme", "请填写项目名称（60 字以内）")
	f.Add(len([]rune(cur.Summary)) > 2000, "summary", "简介不超过 2000 字")
	f.Add(cur.PersonTimes < 1 || cur.PersonTimes > 10_000_000, "person_times_target", "应为正整数")
	if err := f.Err(); err != nil {
		return cur, err
	}
	cur.UpdatedAt, cur.UpdatedBy = s.d.Now().UTC(), p.UserID
	if _, err := s.settings.ReplaceOne(ctx, bson.M{"_id": settingsID}, cur, options.Replace().SetUpsert(true)); err != nil {
		return cur, err
	}
	if s.d.Audit != nil {
		_ = s.d.Audit.Record(ctx, p, "reports.settings", settingsID, map[string]any{"start_date": cur.StartDate, "end_date": cur.EndDate})
	}
	s.mu.Lock()
	s.cache = map[string]cached{}
	s.slowCache = map[string]slowEntry{}
	s.setVal, s.setAt = cur, time.Now()
	s.mu.Unlock()
	return cur, nil
}

// window is the programme's start and deadline (end of the end day), Asia/Shanghai.
func (st Settings) window() (time.Time, time.Time) {
	a, err := time.ParseInLocation("2006-01-02", st.StartDate, shanghai)
	if err != nil {
		a, _ = time.ParseInLocation("2006-01-02", DefaultSettings.StartDate, shanghai)
	}
	b, err := time.ParseInLocation("2006-01-02", st.EndDate, shanghai)
	if err != nil {
		b, _ = time.ParseInLocation("2006-01-02", DefaultSettings.EndDate, shanghai)
	}
	return a, b.AddDate(0, 0, 1)
}
