package reports

import (
	"context"
	"fmt"
	"time"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/clock"
	"nongxun/server"
	"nongxun/store"
)

// Settings are the programme's period, its public name and summary, and
// the plan's targets the dashboard measures against. They live in one
// document (report_settings, _id "programme"), read by _id on every use:
// PUT /api/v1/reports/settings changes the period and texts, and the
// targets are its "targets" map, which a later PUT /api/v1/reports/targets
// (API.md, "Reporting workflow") changes in place.
type Settings struct {
	StartDate    string             `bson:"start_date" json:"start_date"` // YYYY-MM-DD, Asia/Shanghai
	EndDate      string             `bson:"end_date" json:"end_date"`     // the deadline for the targets
	Programme    string             `bson:"programme" json:"programme"`   // name shown on the public page
	Summary      string             `bson:"summary" json:"summary"`       // public summary text
	Targets      map[string]float64 `bson:"targets,omitempty" json:"targets"`
	UpdatedAt    time.Time          `bson:"updated_at,omitempty" json:"updated_at,omitzero"`
	UpdatedBy    string             `bson:"updated_by,omitempty" json:"updated_by,omitempty"`
	PeriodSetBy  string             `bson:"period_set_by,omitempty" json:"period_set_by,omitempty"`   // who confirmed the period ("" = the default)
	TargetsSetBy string             `bson:"targets_set_by,omitempty" json:"targets_set_by,omitempty"` // who confirmed the targets ("" = the plan's)
	PersonTimes  int64              `bson:"-" json:"person_times_target"`                             // = Targets["person_times"], kept for the old clients
}

// TargetDef is one target of the plan: its key, label, unit and default.
type TargetDef struct {
	Key     string  `json:"key"`
	Label   string  `json:"label"`
	Unit    string  `json:"unit"`
	Default float64 `json:"default"`
}

// TargetDefs are the plan's targets (the keys of API.md's targets).
var TargetDefs = []TargetDef{
	{"person_times", "培训人次", "人次", 10000},
	{"village_points", "运营的村级服务点", "个", 190},
	{"village_coverage", "行政村服务点覆盖率", "比例", 0.5},
	{"poverty_village_coverage", "贫困村服务点覆盖率", "比例", 0.5},
	{"enterprises_min", "电商龙头企业（下限）", "户", 3},
	{"brands_min", "地方品牌（下限）", "个", 2},
	{"sales_growth", "电子商务销售增速", "比例", 0.3},
	{"warehouse_area_m2", "县级仓储中心面积", "平方米", 3000},
}

// Target is the value of target key: as set, else the plan's default.
func (st Settings) Target(key string) float64 {
	if v, ok := st.Targets[key]; ok {
		return v
	}
	for _, d := range TargetDefs {
		if d.Key == key {
			return d.Default
		}
	}
	return 0
}

const (
	defaultProgramme = "会泽县电子商务进农村综合示范项目"
	defaultSummary   = "通过不少于 10000 人次的电子商务培训，建设县级公共服务中心、仓储物流配送中心和村级服务站点，培育龙头企业和地方品牌，带动农产品上行。"
)

// defaultSettings are used until the office sets its own: the programme
// period is the year of now (1 January to 31 December), the targets the plan's.
func defaultSettings(now time.Time) Settings {
	y := now.In(clock.Shanghai).Year()
	st := Settings{StartDate: fmt.Sprintf("%d-01-01", y), EndDate: fmt.Sprintf("%d-12-31", y), Programme: defaultProgramme,
		Summary: defaultSummary, Targets: map[string]float64{}}
	for _, d := range TargetDefs {
		st.Targets[d.Key] = d.Default
	}
	return st
}

const settingsID = "programme"

// initSettings stores the default settings once, with the period of the
// year of the first start (a later start, another node or a restart keeps
// what is there: the unique _id settles it).
func (s *Service) initSettings(ctx context.Context) error {
	doc := defaultSettings(s.d.Now())
	_, err := s.settings.InsertIfAbsent(ctx, bson.M{"_id": settingsID, "start_date": doc.StartDate, "end_date": doc.EndDate,
		"programme": doc.Programme, "summary": doc.Summary, "targets": doc.Targets})
	return err
}

// Settings reads the programme settings (one read by _id); what was never
// stored reads as the default.
func (s *Service) Settings(ctx context.Context) (Settings, error) {
	out := defaultSettings(s.d.Now())
	var doc Settings
	err := s.settings.Get(ctx, settingsID, &doc)
	if err != nil && !store.IsNotFound(err) {
		return out, err
	}
	if err == nil {
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
		for k, v := range doc.Targets {
			if v > 0 {
				out.Targets[k] = v
			}
		}
		out.UpdatedAt, out.UpdatedBy, out.PeriodSetBy, out.TargetsSetBy = doc.UpdatedAt, doc.UpdatedBy, doc.PeriodSetBy, doc.TargetsSetBy
	}
	out.PersonTimes = int64(out.Target("person_times"))
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

// SaveSettings validates and stores the settings: only the fields given
// are set, conditionally on the period as read, so two admins saving at
// once cannot leave an end date before the start.
func (s *Service) SaveSettings(ctx context.Context, p *server.Principal, in SettingsInput) (Settings, error) {
	for attempt := 0; ; attempt++ {
		cur, err := s.Settings(ctx)
		if err != nil {
			return cur, err
		}
		old := cur
		set := bson.M{}
		if in.StartDate != nil {
			cur.StartDate, set["start_date"] = *in.StartDate, *in.StartDate
		}
		if in.EndDate != nil {
			cur.EndDate, set["end_date"] = *in.EndDate, *in.EndDate
		}
		if in.Programme != nil {
			cur.Programme, set["programme"] = *in.Programme, *in.Programme
		}
		if in.Summary != nil {
			cur.Summary, set["summary"] = *in.Summary, *in.Summary
		}
		if in.PersonTimes != nil {
			cur.PersonTimes, set["targets.person_times"] = *in.PersonTimes, float64(*in.PersonTimes)
		}
		f := server.Fields{}
		st, e1 := clock.ParseDay(cur.StartDate)
		en, e2 := clock.ParseDay(cur.EndDate)
		f.Add(e1 != nil, "start_date", "日期格式应为 YYYY-MM-DD")
		f.Add(e2 != nil, "end_date", "日期格式应为 YYYY-MM-DD")
		f.Add(e1 == nil && !clock.InProgrammeRange(st), "start_date", "日期应在 2000 年至 2100 年之间")
		f.Add(e2 == nil && !clock.InProgrammeRange(en), "end_date", "日期应在 2000 年至 2100 年之间")
		f.Add(e1 == nil && e2 == nil && !en.After(st), "end_date", "截止日期应晚于开始日期")
		f.Add(cur.Programme == "" || utf8.RuneCountInString(cur.Programme) > 60, "programme", "请填写项目名称（60 字以内）")
		f.Add(utf8.RuneCountInString(cur.Summary) > 2000, "summary", "简介不超过 2000 字")
		f.Add(cur.PersonTimes < 1 || cur.PersonTimes > 10_000_000, "person_times_target", "应为正整数")
		if err := f.Err(); err != nil {
			return cur, err
		}
		now := s.d.Now().UTC()
		set["updated_at"], set["updated_by"] = now, p.UserID
		if in.StartDate != nil || in.EndDate != nil {
			set["period_set_by"] = p.UserID
		}
		if in.PersonTimes != nil {
			set["targets_set_by"] = p.UserID
		}
		ok, err := s.settings.UpdateIf(ctx, settingsID, store.Cond{"start_date": old.StartDate, "end_date": old.EndDate}, bson.M{"$set": set})
		if err != nil {
			return cur, err
		}
		if !ok {
			if err := s.initSettings(ctx); err != nil { // gone (an old backup restored): stored again, then retried
				return cur, err
			}
			if attempt == 5 {
				return cur, server.Conflict("设置刚被他人修改，请刷新后重试")
			}
			continue
		}
		s.d.Audit.Note(ctx, p, "reports.settings", settingsID, map[string]any{"start_date": cur.StartDate, "end_date": cur.EndDate, "person_times_target": cur.PersonTimes})
		return s.Settings(ctx)
	}
}

// window is the programme's start and deadline (end of the end day), Asia/Shanghai.
func (st Settings) window() (time.Time, time.Time) {
	a, err := clock.ParseDay(st.StartDate)
	b, err2 := clock.ParseDay(st.EndDate)
	if err != nil || err2 != nil || !b.After(a) {
		now := time.Now()
		d := defaultSettings(now)
		a, _ = clock.ParseDay(d.StartDate)
		b, _ = clock.ParseDay(d.EndDate)
	}
	return a, b.AddDate(0, 0, 1)
}
