package reports

import (
	"context"
	"nongxun/clock"
	"regexp"
	"sort"
	"time"

	"nongxun/server"
)

// Metric is one column of the monthly report.
type Metric struct {
	Key   string `json:"key"`
	Label string `json:"label"`
	Fen   bool   `json:"fen,omitempty"` // an amount in fen, shown in yuan
}

// Section is one sheet of the monthly report.
type Section struct {
	Name    string   `json:"name"`
	Metrics []Metric `json:"metrics"`
}

// Sections are the monthly report's sheets and columns, with the metric
// names of internal-api.md.
var Sections = []Section{
	{"培训", []Metric{
		{Key: "sessions_held", Label: "培训场次"},
		{Key: "person_times", Label: "培训人次"},
		{Key: "new_trainees", Label: "新增学员"},
		{Key: "new_poverty_trainees", Label: "其中建档立卡贫困户"},
		{Key: "certificates", Label: "颁发证书"},
	}},
	{"孵化", []Metric{
		{Key: "followups", Label: "跟踪回访"},
		{Key: "shops_opened", Label: "新开网店"},
		{Key: "sales_orders", Label: "网店订单数"},
		{Key: "sales_revenue_fen", Label: "网店销售额（元）", Fen: true},
	}},
	{"站点物流", []Metric{
		{Key: "station_services", Label: "站点服务次数"},
		{Key: "parcels_up", Label: "上行包裹"},
		{Key: "parcels_down", Label: "下行包裹"},
	}},
	{"资金", []Metric{
		{Key: "fund_payments_fen", Label: "资金支付（元）", Fen: true},
	}},
}

// AllMetrics lists every metric in section order.
func AllMetrics() []Metric {
	var out []Metric
	for _, s := range Sections {
		out = append(out, s.Metrics...)
	}
	return out
}

// MonthRow is one township's line of the monthly report.
type MonthRow struct {
	TownshipID string           `json:"township_id"`
	Township   string           `json:"township"`
	Figures    map[string]int64 `json:"figures"`
}

// Monthly is the monthly report of one month.
type Monthly struct {
	Month       string           `json:"month"`
	TownshipID  string           `json:"township_id,omitempty"`
	GeneratedAt time.Time        `json:"generated_at"`
	Sections    []Section        `json:"sections"`
	Rows        []MonthRow       `json:"rows"`
	Totals      map[string]int64 `json:"totals"`
	Missing     []string         `json:"missing_sources,omitempty"`
}

var monthRe = regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])$`)

// checkMonth validates "YYYY-MM": well formed, from 2000 on, not in the future (Asia/Shanghai).
func (s *Service) checkMonth(month string) (time.Time, error) {
	if !monthRe.MatchString(month) {
		return time.Time{}, server.Invalid("月份格式应为 YYYY-MM，例如 2019-05", "month", "格式应为 YYYY-MM")
	}
	t, err := time.ParseInLocation("2006-01", month, clock.Shanghai)
	if err != nil || t.Year() < 2000 {
		return time.Time{}, server.Invalid("月份无效", "month", "月份无效")
	}
	now := s.now()
	cur := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, clock.Shanghai)
	if t.After(cur) {
		return time.Time{}, server.Invalid("不能查询未来的月份", "month", "不能晚于本月")
	}
	return t, nil
}

// Monthly gathers the month's figures from every source. townshipID ""
// gives every township (and the county-level line); otherwise only that
// township.
func (s *Service) Monthly(ctx context.Context, month, townshipID string) (*Monthly, error) {
	if _, err := s.checkMonth(month); err != nil {
		return nil, err
	}
	all := map[string]map[string]int64{}
	m := &Monthly{Month: month, TownshipID: townshipID, GeneratedAt: s.now(), Sections: Sections, Totals: map[string]int64{}}
	for _, src := range s.d.Sources {
		figs, err := src.MonthlyFigures(ctx, month)
		if err != nil {
			return nil, err
		}
		for tid, mm := range figs {
			if all[tid] == nil {
				all[tid] = map[string]int64{}
			}
			for k, v := range mm {
				all[tid][k] += v
			}
		}
	}
	if len(s.d.Sources) == 0 {
		m.Missing = append(m.Missing, "no sources wired")
	}
	add := func(tid string) {
		row := MonthRow{TownshipID: tid, Township: s.townshipName(ctx, tid), Figures: map[string]int64{}}
		for _, mt := range AllMetrics() {
			v := all[tid][mt.Key]
			row.Figures[mt.Key] = v
			m.Totals[mt.Key] += v
		}
		m.Rows = append(m.Rows, row)
	}
	if townshipID != "" {
		add(townshipID)
		return m, nil
	}
	known := map[string]bool{"": true}
	for _, t := range s.d.Regions.Townships(ctx) {
		known[t.ID] = true
		add(t.ID)
	}
	// figures under an id that is not a township (a deleted region, a
	// county-level line) still count, so the totals match the records.
	var others []string
	for tid := range all {
		if !known[tid] {
			others = append(others, tid)
		}
	}
	sort.Strings(others)
	for _, tid := range others {
		add(tid)
	}
	if len(all[""]) > 0 {
		add("")
	}
	return m, nil
}
