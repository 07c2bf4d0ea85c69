package reports

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"
)

// KPI statuses.
const (
	StatusMet     = "met"
	StatusOnTrack = "on_track"
	StatusBehind  = "behind"
	StatusUnknown = "unknown"
)

// StatusLabel is the Chinese word for a status.
var StatusLabel = map[string]string{StatusMet: "已达成", StatusOnTrack: "按进度", StatusBehind: "落后", StatusUnknown: "暂无数据"}

// KPI is one target of the plan against its actual figure.
type KPI struct {
	Key      string  `json:"key"`
	Label    string  `json:"label"`
	Actual   float64 `json:"actual"`
	Target   float64 `json:"target"`
	Text     string  `json:"actual_text"`
	Goal     string  `json:"target_text"`
	Status   string  `json:"status"`
	Note     string  `json:"note,omitempty"`
	Evidence string  `json:"evidence,omitempty"`
}

// Pace says how person-times stand against the deadline.
type Pace struct {
	Target          int64   `json:"target"`
	Actual          int64   `json:"actual"`
	ExpectedByNow   int64   `json:"expected_by_now"`
	DaysLeft        int64   `json:"days_left"`
	NeededPerMonth  int64   `json:"needed_per_month"`
	ElapsedFraction float64 `json:"elapsed_fraction"`
	DeadlinePassed  bool    `json:"deadline_passed"`
	Status          string  `json:"status"`
}

// Named is one labelled figure of a break-down.
type Named struct {
	Key   string `json:"key"`
	Label string `json:"label"`
	Value int64  `json:"value"`
}

// Dashboard is every figure of the office's page for one township or the county.
type Dashboard struct {
	TownshipID   string             `json:"township_id,omitempty"`
	Township     string             `json:"township"`
	GeneratedAt  time.Time          `json:"generated_at"`
	Settings     Settings           `json:"settings"`
	Pace         Pace               `json:"pace"`
	Trainees     int64              `json:"trainees"`
	ByMonth      []Named            `json:"by_month"`
	ByTownship   []Named            `json:"by_township"`
	ByGroup      []Named            `json:"by_group"`
	Certificates int64              `json:"certificates"`
	Conversion   *Conversion        `json:"conversion"`
	Growth       *Growth            `json:"growth"`
	Coverage     *Coverage          `json:"coverage"`
	Parcels      *Volumes           `json:"parcels"`
	Funds        *FundSummary       `json:"funds"`
	Facilities   *Facilities        `json:"facilities"`
	Enterprises  int64              `json:"enterprises"`
	Brands       int64              `json:"brands"`
	Shops        int64              `json:"shops"`
	WrittenLast  *WrittenTally      `json:"written_reports"`
	KPIs         []KPI              `json:"kpis"`
	Timings      map[string]float64 `json:"timings_ms"` // how long each source took, for the operator
	Missing      []string           `json:"missing,omitempty"`
}

// GroupLabel names the trainee groups of API.md.
var GroupLabel = map[string]string{
	"poverty": "建档立卡贫困户", "woman": "妇女", "youth": "青年", "returnee_graduate": "返乡大学生",
	"returnee_worker": "返乡农民工", "veteran": "退役军人", "disabled": "残疾人",
}

// CategoryLabel names the fund categories of API.md.
var CategoryLabel = map[string]string{"upward": "农产品上行", "public_service": "公共服务中心", "training": "培训", "other": "其他"}

// Dashboard returns the figures for townshipID ("" = the county), read
// afresh from every source at once (each reads its counters by _id).
func (s *Service) Dashboard(ctx context.Context, townshipID string) (*Dashboard, error) {
	return s.computeDashboard(ctx, townshipID, nil)
}

// chartSources names the source each chart reads: a chart request reads
// only that one, not the whole dashboard.
var chartSources = map[string]string{"progress": "progress", "by_month": "progress", "by_township": "progress", "by_group": "progress",
	"funnel": "conversion", "growth": "growth", "coverage": "coverage", "parcels": "parcels", "funds": "funds"}

// chartData is the part of the dashboard one chart draws.
func (s *Service) chartData(ctx context.Context, townshipID, chart string) (*Dashboard, error) {
	return s.computeDashboard(ctx, townshipID, map[string]bool{chartSources[chart]: true})
}

// computeDashboard reads every source (only: just those named) at once.
func (s *Service) computeDashboard(ctx context.Context, tid string, only map[string]bool) (*Dashboard, error) {
	set, err := s.Settings(ctx)
	if err != nil {
		return nil, err
	}
	d := &Dashboard{TownshipID: tid, Township: "全县", GeneratedAt: s.now(), Settings: set, Timings: map[string]float64{}}
	if tid != "" {
		d.Township = s.townshipName(ctx, tid)
	}
	// every source is read at once: they are independent reads, and the
	// page waits for the slowest one instead of their sum.
	var (
		mu       sync.Mutex
		wg       sync.WaitGroup
		prog     *Progress
		certs    map[string]int64
		entKnown bool
	)
	fetch := func(name string, wired bool, fn func() error) {
		if only != nil && !only[name] {
			return
		}
		if !wired {
			mu.Lock()
			d.Missing = append(d.Missing, name)
			mu.Unlock()
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			err := fn()
			mu.Lock()
			defer mu.Unlock()
			d.Timings[name] = float64(time.Since(t0).Microseconds()) / 1000
			if err != nil {
				d.Missing = append(d.Missing, name)
				s.log.Warn("reports: figure unavailable", "figure", name, "err", err.Error())
			}
		}()
	}
	fetch("progress", s.d.Progress != nil, func() (err error) { prog, err = s.d.Progress(ctx, tid); return })
	fetch("certificates", s.d.Certificates != nil, func() (err error) { certs, err = s.d.Certificates(ctx); return })
	fetch("conversion", s.d.Conversion != nil, func() (err error) { d.Conversion, err = s.d.Conversion(ctx, tid); return })
	fetch("growth", s.d.SalesGrowth != nil, func() (err error) { d.Growth, err = s.d.SalesGrowth(ctx, tid); return })
	fetch("coverage", s.d.Coverage != nil, func() (err error) { d.Coverage, err = s.d.Coverage(ctx, tid); return })
	fetch("parcels", s.d.Parcels != nil, func() (err error) { d.Parcels, err = s.d.Parcels(ctx, tid); return })
	fetch("funds", s.d.Funds != nil, func() (err error) { d.Funds, err = s.d.Funds(ctx); return })
	fetch("facilities", s.d.Facilities != nil, func() (err error) { d.Facilities, err = s.d.Facilities(ctx); return })
	fetch("enterprises", s.d.Enterprises != nil, func() (err error) {
		d.Enterprises, d.Brands, d.Shops, err = s.d.Enterprises(ctx)
		entKnown = err == nil
		return
	})
	fetch("written_reports", true, func() (err error) { d.WrittenLast, err = s.tallyWritten(ctx, lastDueMonth(s.now()), tid); return })
	wg.Wait()
	sort.Strings(d.Missing)
	// a failed source leaves nothing half-read behind
	failed := map[string]bool{}
	for _, m := range d.Missing {
		failed[m] = true
	}
	if failed["progress"] {
		prog = nil
	}
	if failed["conversion"] {
		d.Conversion = nil
	}
	if failed["growth"] {
		d.Growth = nil
	}
	if failed["coverage"] {
		d.Coverage = nil
	}
	if failed["parcels"] {
		d.Parcels = nil
	}
	if failed["funds"] {
		d.Funds = nil
	}
	if failed["facilities"] {
		d.Facilities = nil
	}
	if failed["written_reports"] {
		d.WrittenLast = nil
	}
	if prog != nil {
		d.Trainees = prog.Trainees
		d.ByMonth = sortedNamed(prog.ByMonth, nil, false)
		d.ByGroup = sortedNamed(prog.ByGroup, GroupLabel, true)
		if tid == "" {
			for _, t := range s.d.Regions.Townships(ctx) {
				d.ByTownship = append(d.ByTownship, Named{Key: t.ID, Label: t.Name, Value: prog.ByTownship[t.ID]})
			}
		}
	}
	d.Pace = pace(set, prog, s.now())
	if certs != nil {
		d.Certificates = certs[tid]
		if tid == "" && certs[""] == 0 {
			for _, v := range certs {
				d.Certificates += v
			}
		}
	}
	if only == nil {
		d.KPIs = s.kpis(d, prog != nil, entKnown)
	}
	return d, nil
}

// sortedNamed turns a counter map into a list: by key, or by value descending.
func sortedNamed(m map[string]int64, labels map[string]string, byValue bool) []Named {
	out := make([]Named, 0, len(m))
	for k, v := range m {
		l := k
		if labels != nil && labels[k] != "" {
			l = labels[k]
		}
		out = append(out, Named{Key: k, Label: l, Value: v})
	}
	sort.Slice(out, func(i, j int) bool {
		if byValue && out[i].Value != out[j].Value {
			return out[i].Value > out[j].Value
		}
		return out[i].Key < out[j].Key
	})
	return out
}

// pace measures person-times against a straight line from the start to the deadline.
func pace(set Settings, prog *Progress, now time.Time) Pace {
	start, end := set.window()
	p := Pace{Target: int64(set.Target("person_times"))}
	if prog != nil {
		p.Actual = prog.PersonTimes
	}
	total := end.Sub(start).Hours()
	el := now.Sub(start).Hours() / total
	p.ElapsedFraction = math.Max(0, math.Min(1, el))
	p.ExpectedByNow = int64(math.Ceil(float64(p.Target) * p.ElapsedFraction))
	p.DeadlinePassed = !now.Before(end)
	left := end.Sub(now)
	if left > 0 {
		p.DaysLeft = int64(math.Ceil(left.Hours() / 24))
		months := math.Max(1, left.Hours()/24/30.4375)
		if rem := p.Target - p.Actual; rem > 0 {
			p.NeededPerMonth = int64(math.Ceil(float64(rem) / months))
		}
	}
	switch {
	case prog == nil:
		p.Status = StatusUnknown
	case p.Actual >= p.Target:
		p.Status = StatusMet
	case !p.DeadlinePassed && p.Actual >= p.ExpectedByNow:
		p.Status = StatusOnTrack
	default:
		p.Status = StatusBehind
	}
	return p
}

// timed judges a count target that must be reached by the deadline.
func timed(actual, target float64, pc Pace) string {
	switch {
	case target <= 0:
		return StatusUnknown
	case actual >= target:
		return StatusMet
	case !pc.DeadlinePassed && actual >= target*pc.ElapsedFraction:
		return StatusOnTrack
	}
	return StatusBehind
}

func pct(x float64) string { return fmt.Sprintf("%.1f%%", x*100) }

// kpis lists every target of the plan (docs/design.md, "Targets from the
// plan"), each against the value the settings hold for it. A status says
// 已达成 (met) only when the target is reached; a limit not yet put to the
// test (no money spent, nothing accepted) is 暂无数据 (unknown).
func (s *Service) kpis(d *Dashboard, progKnown, entKnown bool) []KPI {
	pc := d.Pace
	set := d.Settings
	var out []KPI
	add := func(k KPI) { out = append(out, k) }
	unknown := func(key, label, goal, note string) {
		add(KPI{Key: key, Label: label, Goal: goal, Text: "—", Status: StatusUnknown, Note: note})
	}
	// training
	if progKnown {
		note := fmt.Sprintf("截至 %s，按进度应达 %d 人次", d.GeneratedAt.Format("2006-01-02"), pc.ExpectedByNow)
		switch {
		case pc.Actual >= pc.Target:
			note = fmt.Sprintf("已完成目标 %d 人次", pc.Target)
		case pc.DeadlinePassed:
			note = fmt.Sprintf("截止日期 %s 已过，尚差 %d 人次", set.EndDate, pc.Target-pc.Actual)
		case pc.NeededPerMonth > 0:
			note += fmt.Sprintf("；距截止日期 %s 还有 %d 天，今后每月需 %d 人次", set.EndDate, pc.DaysLeft, pc.NeededPerMonth)
		}
		add(KPI{Key: "person_times", Label: "培训人次", Actual: float64(pc.Actual), Target: float64(pc.Target),
			Text: fmt.Sprint(pc.Actual), Goal: fmt.Sprintf("≥ %d", pc.Target), Status: pc.Status, Note: note, Evidence: "签到记录、签到表照片"})
	} else {
		unknown("person_times", "培训人次", fmt.Sprintf("≥ %d", pc.Target), "培训数据尚未接入")
	}
	if d.TownshipID != "" {
		// a township's page shows the county-wide targets that are its own.
		return append(out, s.coverageKPIs(d, pc)...)
	}
	// stations and facilities
	out = append(out, s.coverageKPIs(d, pc)...)
	vp := int64(set.Target("village_points"))
	area := set.Target("warehouse_area_m2")
	whLabel := fmt.Sprintf("县级仓储中心（%.0f 平方米）", area)
	whGoal := fmt.Sprintf("1 个，≥ %.0f 平方米", area)
	subLabel := "建站补贴（乡镇 1 万元/个，村级 3000 元/个，验收后）"
	if f := d.Facilities; f != nil {
		add(KPI{Key: "village_points", Label: "运营的村级服务点", Actual: float64(f.VillagePoints), Target: float64(vp),
			Text: fmt.Sprint(f.VillagePoints), Goal: fmt.Sprintf("%d 个", vp), Status: timed(float64(f.VillagePoints), float64(vp), pc), Evidence: "站点验收记录"})
		tt := f.TownshipsTotal
		if tt == 0 {
			tt = int64(len(s.d.Regions.Townships(context.Background())))
		}
		add(KPI{Key: "township_stations", Label: "乡镇服务站（全覆盖）", Actual: float64(f.TownshipStations), Target: float64(tt),
			Text: fmt.Sprint(f.TownshipStations), Goal: fmt.Sprintf("%d 个", tt), Status: timed(float64(f.TownshipStations), float64(tt), pc), Evidence: "站点验收记录"})
		add(KPI{Key: "county_center", Label: "县级公共服务中心", Actual: float64(f.CountyCenters), Target: 1,
			Text: fmt.Sprint(f.CountyCenters), Goal: "1 个", Status: timed(float64(f.CountyCenters), 1, pc), Evidence: "站点验收记录"})
		wh := StatusBehind
		switch {
		case f.Warehouses >= 1 && f.WarehouseAreaM2 >= area:
			wh = StatusMet
		case !pc.DeadlinePassed:
			wh = StatusOnTrack
		}
		add(KPI{Key: "warehouse", Label: whLabel, Actual: f.WarehouseAreaM2, Target: area,
			Text: fmt.Sprintf("%d 个，%.0f 平方米", f.Warehouses, f.WarehouseAreaM2), Goal: whGoal, Status: wh, Evidence: "站点验收记录"})
		sub, note := StatusUnknown, "尚无验收通过的新建站点"
		switch {
		case f.SubsidyOwedFen > 0:
			sub, note = StatusBehind, "待付 "+yuanText(f.SubsidyOwedFen)+" 元"
		case f.SubsidyPaidFen > 0:
			sub, note = StatusMet, "验收通过的站点补贴均已兑付"
		}
		add(KPI{Key: "subsidies", Label: subLabel, Actual: float64(f.SubsidyPaidFen), Target: float64(f.SubsidyPaidFen + f.SubsidyOwedFen),
			Text: "已付 " + yuanText(f.SubsidyPaidFen) + " 元", Goal: "验收通过即兑付", Status: sub, Note: note, Evidence: "站点验收记录、资金台账"})
	} else {
		unknown("village_points", "运营的村级服务点", fmt.Sprintf("%d 个", vp), "站点数据尚未接入")
		unknown("township_stations", "乡镇服务站（全覆盖）", fmt.Sprintf("%d 个", len(s.d.Regions.Townships(context.Background()))), "站点数据尚未接入")
		unknown("county_center", "县级公共服务中心", "1 个", "站点数据尚未接入")
		unknown("warehouse", whLabel, whGoal, "站点数据尚未接入")
		unknown("subsidies", subLabel, "验收通过即兑付", "站点数据尚未接入")
	}
	// enterprises, brands, growth
	em, bm := set.Target("enterprises_min"), set.Target("brands_min")
	if entKnown {
		add(KPI{Key: "enterprises", Label: "电商龙头企业", Actual: float64(d.Enterprises), Target: em, Text: fmt.Sprint(d.Enterprises), Goal: fmt.Sprintf("%.0f–5 户", em),
			Status: timed(float64(d.Enterprises), em, pc), Evidence: "企业名录"})
		add(KPI{Key: "brands", Label: "地方品牌", Actual: float64(d.Brands), Target: bm, Text: fmt.Sprint(d.Brands), Goal: fmt.Sprintf("%.0f–3 个", bm),
			Status: timed(float64(d.Brands), bm, pc), Evidence: "品牌名录"})
	} else {
		unknown("enterprises", "电商龙头企业", fmt.Sprintf("%.0f–5 户", em), "孵化数据尚未接入")
		unknown("brands", "地方品牌", fmt.Sprintf("%.0f–3 个", bm), "孵化数据尚未接入")
	}
	sg := set.Target("sales_growth")
	if g := d.Growth; g != nil && g.Known {
		st := StatusBehind
		if g.Rate >= sg {
			st = StatusMet
		} else if !pc.DeadlinePassed {
			st = StatusOnTrack
			if g.Rate < sg*pc.ElapsedFraction {
				st = StatusBehind
			}
		}
		add(KPI{Key: "sales_growth", Label: "电子商务销售增速", Actual: g.Rate, Target: sg, Text: pct(g.Rate), Goal: "≥ " + pctShort(sg), Status: st,
			Note: "本期 " + yuanText(g.CurrentFen) + " 元，上期 " + yuanText(g.PreviousFen) + " 元", Evidence: "网店销售月报"})
	} else {
		unknown("sales_growth", "电子商务销售增速", "≥ "+pctShort(sg), "尚无可比较的两期销售数据")
	}
	out = append(out, s.fundKPIs(d)...)
	// monthly reports
	if w := d.WrittenLast; w != nil {
		st := StatusMet
		if w.Submitted < w.Townships {
			st = StatusBehind
		}
		add(KPI{Key: "monthly_reports", Label: "乡镇每月 30 日前报送进展（" + w.Month + "）", Actual: float64(w.OnTime), Target: float64(w.Townships),
			Text: fmt.Sprintf("按时 %d，逾期 %d", w.OnTime, w.Late), Goal: fmt.Sprintf("%d 个乡镇全部按时", w.Townships), Status: st, Note: fmt.Sprintf("未报 %d", w.Townships-w.Submitted), Evidence: "书面月报"})
	}
	return out
}

// pctShort is a ratio as a whole percentage (0.3 → 30%).
func pctShort(x float64) string { return trimFloat(x*100) + "%" }

func (s *Service) coverageKPIs(d *Dashboard, pc Pace) []KPI {
	c := d.Coverage
	vt, pt := d.Settings.Target("village_coverage"), d.Settings.Target("poverty_village_coverage")
	if c == nil {
		return []KPI{
			{Key: "village_coverage", Label: "行政村服务点覆盖率", Goal: "≥ " + pctShort(vt), Text: "—", Status: StatusUnknown, Note: "站点数据尚未接入"},
			{Key: "poverty_village_coverage", Label: "贫困村服务点覆盖率", Goal: "≥ " + pctShort(pt), Text: "—", Status: StatusUnknown, Note: "站点数据尚未接入"},
		}
	}
	return []KPI{
		{Key: "village_coverage", Label: "行政村服务点覆盖率", Actual: c.Ratio, Target: vt, Text: fmt.Sprintf("%s（%d/%d）", pct(c.Ratio), c.VillagesCovered, c.VillagesTotal),
			Goal: "≥ " + pctShort(vt), Status: timed(c.Ratio, vt, pc), Evidence: "站点验收记录"},
		{Key: "poverty_village_coverage", Label: "贫困村服务点覆盖率", Actual: c.PovertyRatio, Target: pt, Text: fmt.Sprintf("%s（%d/%d）", pct(c.PovertyRatio), c.PovertyVillagesCovered, c.PovertyVillagesTotal),
			Goal: "≥ " + pctShort(pt), Status: timed(c.PovertyRatio, pt, pc), Evidence: "站点验收记录"},
	}
}

// fundKPIs are the fund rules; the funds package's own rule check wins
// when it names the rule. A limit is 已达成 only once money has been put
// against it (with nothing allocated there is nothing to judge).
func (s *Service) fundKPIs(d *Dashboard) []KPI {
	f := d.Funds
	labels := []struct{ key, label, goal string }{
		{"fund_total", "中央财政资金使用", "≤ 1500 万元"},
		{"fund_upward", "农产品上行占比", "≥ 50%"},
		{"fund_public_service", "公共服务中心占比", "≤ 15%"},
		{"fund_forbidden", "禁止用途（平台建设、楼堂馆所、办公经费、购买流量）", "0 元"},
		{"fund_tranches", "拨付进度（30%/30%/30%/10%）", "按验收节点拨付"},
	}
	if f == nil {
		out := make([]KPI, 0, len(labels))
		for _, l := range labels {
			out = append(out, KPI{Key: l.key, Label: l.label, Goal: l.goal, Text: "—", Status: StatusUnknown, Note: "资金数据尚未接入"})
		}
		return out
	}
	base := f.AllocatedFen
	if base == 0 {
		base = f.PaidFen
	}
	share := func(cat string) float64 {
		if base == 0 {
			return 0
		}
		return float64(f.ByCategory[cat]) / float64(base)
	}
	total := f.TotalFen
	if total == 0 {
		total = s.d.Config.FundTotalFen
	}
	judge := func(ok bool) string {
		switch {
		case base == 0:
			return StatusUnknown
		case ok:
			return StatusMet
		}
		return StatusBehind
	}
	ruleOK := func(words ...string) (bool, bool) {
		for _, r := range f.Rules {
			for _, w := range words {
				if containsFold(r.Rule, w) {
					return r.OK, true
				}
			}
		}
		return false, false
	}
	up := share("upward")
	upOK := up >= 0.5
	if v, found := ruleOK("upward"); found {
		upOK = v
	}
	ps := share("public_service")
	psOK := ps <= 0.15
	if v, found := ruleOK("public_service"); found {
		psOK = v
	}
	forbOK, found := ruleOK("forbidden")
	if !found {
		forbOK = true // forbidden uses are refused at entry
	}
	// Tranches: met once something is paid and every open tranche is paid
	// in full, never over its cap; behind when one went over.
	var paid int64
	over, owed := false, false
	for _, t := range f.Tranches {
		paid += t.PaidFen
		if t.DueFen > 0 && t.PaidFen > t.DueFen {
			over = true
		}
		if t.Open && t.PaidFen < t.DueFen {
			owed = true
		}
	}
	if v, found := ruleOK("tranche"); found && !v {
		over = true
	}
	trStatus, trNote := StatusUnknown, "尚未拨付"
	switch {
	case over:
		trStatus, trNote = StatusBehind, "有批次超出应拨金额"
	case paid > 0 && owed:
		trStatus, trNote = StatusOnTrack, "已到节点的批次尚未拨足"
	case paid > 0:
		trStatus, trNote = StatusMet, "已到节点的批次均已拨付"
	}
	forbText := map[bool]string{true: "无", false: "有违规"}[forbOK]
	return []KPI{
		{Key: "fund_total", Label: labels[0].label, Actual: float64(f.PaidFen), Target: float64(total), Text: "已付 " + yuanText(f.PaidFen) + " 元，已安排 " + yuanText(f.AllocatedFen) + " 元",
			Goal: "≤ " + yuanText(total) + " 元", Status: judge(f.AllocatedFen <= total && f.PaidFen <= total), Evidence: "资金台账"},
		{Key: "fund_upward", Label: labels[1].label, Actual: up, Target: 0.5, Text: pct(up), Goal: labels[1].goal, Status: judge(upOK), Evidence: "资金台账"},
		{Key: "fund_public_service", Label: labels[2].label, Actual: ps, Target: 0.15, Text: pct(ps), Goal: labels[2].goal, Status: judge(psOK), Evidence: "资金台账"},
		{Key: "fund_forbidden", Label: labels[3].label, Text: forbText, Goal: labels[3].goal, Status: judge(forbOK), Evidence: "资金台账"},
		{Key: "fund_tranches", Label: labels[4].label, Text: fmt.Sprintf("%d 期，已拨 %s 元", len(f.Tranches), yuanText(paid)), Goal: labels[4].goal, Status: trStatus, Note: trNote, Evidence: "资金台账、验收节点"},
	}
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}
