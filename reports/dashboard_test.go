package reports

import (
	"bytes"
	"context"
	"nongxun/clock"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"nongxun/server"
)

// every target of DESIGN.md's "Targets from the plan".
var designTargets = []string{"person_times", "village_points", "village_coverage", "poverty_village_coverage", "township_stations",
	"county_center", "warehouse", "subsidies", "enterprises", "brands", "sales_growth", "fund_total", "fund_upward",
	"fund_public_service", "fund_forbidden", "fund_tranches", "monthly_reports"}

func kpiByKey(d *Dashboard) map[string]KPI {
	m := map[string]KPI{}
	for _, k := range d.KPIs {
		m[k.Key] = k
	}
	return m
}

func TestDashboardKPIsAndPace(t *testing.T) {
	f := newFixture(t, time.Time{}, nil)
	var d Dashboard
	f.env.Do(f.env.Admin, "GET", "/api/v1/reports/dashboard", nil).Want(t, 200).Decode(t, &d)
	ks := kpiByKey(&d)
	for _, k := range designTargets {
		if _, ok := ks[k]; !ok {
			t.Errorf("KPI %s missing", k)
		}
	}
	// mid-June 2019 of a 2019 programme: 4000 of 10000 is behind the ~45% pace
	if pt := ks["person_times"]; pt.Status != StatusBehind || d.Pace.ExpectedByNow < 4000 || d.Pace.NeededPerMonth == 0 {
		t.Errorf("person_times %+v pace %+v", pt, d.Pace)
	}
	if ks["village_coverage"].Status != StatusOnTrack || ks["poverty_village_coverage"].Status != StatusMet {
		t.Errorf("coverage %+v %+v", ks["village_coverage"], ks["poverty_village_coverage"])
	}
	if ks["fund_upward"].Status != StatusMet || ks["fund_public_service"].Status != StatusMet {
		t.Errorf("funds %+v %+v", ks["fund_upward"], ks["fund_public_service"])
	}
	// a missing source is said to be missing, never guessed
	if ks["enterprises"].Status != StatusUnknown || ks["village_points"].Status != StatusUnknown {
		t.Errorf("unknown sources shown as %+v / %+v", ks["enterprises"], ks["village_points"])
	}
	if len(d.ByTownship) != 23 || len(d.ByMonth) != 3 || d.ByGroup[0].Label != "建档立卡贫困户" {
		t.Errorf("break-downs %d %d %+v", len(d.ByTownship), len(d.ByMonth), d.ByGroup)
	}
}

// TestDeadlineSettings: the programme period defaults to the year of the
// first start (so a fresh install is not told it is 落后 against a past
// deadline), and an admin can set the real one.
func TestDeadlineSettings(t *testing.T) {
	f := newFixture(t, time.Date(2026, 3, 1, 9, 0, 0, 0, clock.Shanghai), nil)
	var d Dashboard
	f.env.Do(f.env.Admin, "GET", "/api/v1/reports/dashboard", nil).Want(t, 200).Decode(t, &d)
	if d.Settings.StartDate != "2026-01-01" || d.Settings.EndDate != "2026-12-31" {
		t.Fatalf("default period %s … %s, want this year", d.Settings.StartDate, d.Settings.EndDate)
	}
	if d.Pace.DeadlinePassed || d.Pace.Status != StatusOnTrack || d.Pace.NeededPerMonth == 0 {
		t.Fatalf("pace in the default period %+v", d.Pace)
	}
	if n := kpiByKey(&d)["person_times"].Note; strings.Contains(n, "已过") || strings.Contains(n, "每月需 0 人次") {
		t.Errorf("note %q", n)
	}
	// the default stays what the first start stored, a year later too
	f.now = time.Date(2027, 2, 1, 9, 0, 0, 0, clock.Shanghai)
	f.env.Do(f.env.Admin, "GET", "/api/v1/reports/dashboard", nil).Want(t, 200).Decode(t, &d)
	if d.Settings.EndDate != "2026-12-31" || !d.Pace.DeadlinePassed || d.Pace.Status != StatusBehind {
		t.Fatalf("a year on: %+v %+v", d.Settings, d.Pace)
	}
	if n := kpiByKey(&d)["person_times"].Note; !strings.Contains(n, "已过") {
		t.Errorf("note %q", n)
	}
	f.now = time.Date(2026, 3, 1, 9, 0, 0, 0, clock.Shanghai)
	bad := []map[string]any{
		{"end_date": "2026-13-01"},
		{"start_date": "2027-01-01", "end_date": "2026-12-31"},
		{"person_times_target": 0},
		{"end_date": 20261231},
		{"start_date": "1999-01-01"},
		{"end_date": "2101-01-01"},
	}
	for _, b := range bad {
		f.env.Do(f.env.Admin, "PUT", "/api/v1/reports/settings", b).Want(t, 400)
	}
	off := f.env.NewCaller(server.RoleOfficer, f.t0)
	f.env.Do(off, "PUT", "/api/v1/reports/settings", map[string]any{"end_date": "2026-12-31"}).Want(t, 403)
	// the office sets the plan's own (past) period: 4000 of 10000 is honestly behind
	f.env.Do(f.env.Admin, "PUT", "/api/v1/reports/settings", map[string]any{"start_date": "2019-01-01", "end_date": "2019-12-31"}).Want(t, 200)
	f.env.Do(f.env.Admin, "GET", "/api/v1/reports/dashboard", nil).Want(t, 200).Decode(t, &d)
	if !d.Pace.DeadlinePassed || d.Pace.Status != StatusBehind || d.Settings.EndDate != "2019-12-31" || d.Settings.PeriodSetBy == "" {
		t.Fatalf("after settings: %+v %+v", d.Pace, d.Settings)
	}
}

func TestDashboardScope(t *testing.T) {
	f := newFixture(t, time.Time{}, nil)
	off := f.env.NewCaller(server.RoleOfficer, f.t0)
	var d Dashboard
	f.env.Do(off, "GET", "/api/v1/reports/dashboard", nil).Want(t, 200).Decode(t, &d)
	if d.TownshipID != f.t0 || d.Pace.Actual != 3000 || len(d.ByTownship) != 0 {
		t.Fatalf("officer dashboard %+v", d)
	}
	f.env.Do(off, "GET", "/api/v1/reports/dashboard?township_id="+f.t1, nil).Want(t, 403)
	f.env.Do(off, "GET", "/api/v1/reports/charts/progress?township_id="+f.t1, nil).Want(t, 403)
	f.env.Do(f.env.NewCaller(server.RoleTrainer, ""), "GET", "/api/v1/reports/dashboard", nil).Want(t, 403)
	f.env.Do(f.env.NewCaller(server.RoleAuditor, ""), "GET", "/api/v1/reports/dashboard?township_id="+f.t1, nil).Want(t, 200)
}

func TestCharts(t *testing.T) {
	f := newFixture(t, time.Time{}, nil)
	for _, name := range ChartNames {
		for _, w := range []string{"340", "900"} {
			r := f.env.Do(f.env.Admin, "GET", "/api/v1/reports/charts/"+name+"?w="+w, nil).Want(t, 200)
			if r.Header.Get("Content-Type") != "image/svg+xml" || !bytes.Contains(r.Body, []byte("<svg")) {
				t.Fatalf("%s: %s %.100s", name, r.Header.Get("Content-Type"), r.Body)
			}
			if bytes.Contains(r.Body, []byte("<script")) {
				t.Fatalf("%s: script in SVG", name)
			}
			if os.Getenv("NX_CHART_DIR") != "" {
				_ = os.WriteFile(os.Getenv("NX_CHART_DIR")+"/"+name+"-"+w+".svg", r.Body, 0o644)
			}
		}
	}
	f.env.Do(f.env.Admin, "GET", "/api/v1/reports/charts/nope", nil).Want(t, 404)
	// a chart without its source says so
	g := newFixture(t, time.Time{}, func(d *Deps, _ *fixture) { d.Conversion = nil })
	r := g.env.Do(g.env.Admin, "GET", "/api/v1/reports/charts/funnel", nil).Want(t, 200)
	if !bytes.Contains(r.Body, []byte("暂无数据")) {
		t.Fatalf("funnel without source: %.200s", r.Body)
	}
}

func TestPublicPage(t *testing.T) {
	f := newFixture(t, time.Time{}, nil)
	r := f.env.Do(nil, "GET", "/public", nil).Want(t, 200)
	body := string(r.Body)
	for _, want := range []string{"政务公开", "培训人次", "4000", "<svg", "农产品上行", "目标完成情况"} {
		if !strings.Contains(body, want) {
			t.Errorf("public page lacks %q", want)
		}
	}
	var p Public
	f.env.Do(nil, "GET", "/api/v1/public/summary", nil).Want(t, 200).Decode(t, &p)
	if p.PersonTimes != 4000 || p.Funds == nil || p.Funds.ByCategory["upward"] != 600_000_000 {
		t.Fatalf("public summary %+v", p)
	}
	// nothing about a person, nor the internal written-report tally
	for _, k := range p.Targets {
		if strings.Contains(k.Label, "月报") || strings.Contains(k.Label, "30 日") {
			t.Errorf("public target %q", k.Label)
		}
	}
}

func TestSelfEvaluation(t *testing.T) {
	f := newFixture(t, time.Time{}, func(d *Deps, _ *fixture) {
		d.Ledger = func(context.Context) ([]LedgerRow, error) {
			return []LedgerRow{{At: time.Date(2019, 5, 2, 0, 0, 0, 0, time.UTC), Kind: "payment", Category: "upward", Use: "cold_chain", Purpose: "冷链", AmountFen: 300_000_000, Tranche: 1, Payee: "承办企业"}}, nil
		}
		d.Sessions = func(context.Context) ([]SessionRow, error) {
			return []SessionRow{{Course: "网店运营", StartsAt: time.Date(2019, 5, 3, 1, 0, 0, 0, time.UTC), Present: 40, SheetPhotos: 1}, {Course: "直播", Cancelled: true}}, nil
		}
	})
	r := f.env.Do(f.env.Admin, "GET", "/api/v1/reports/self-evaluation?format=xlsx", nil).Want(t, 200)
	x, err := excelize.OpenReader(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	rows, _ := x.GetRows("目标完成情况")
	if len(rows) < 2+len(designTargets) {
		t.Fatalf("%d rows", len(rows))
	}
	joined := ""
	for _, r := range rows {
		joined += strings.Join(r, "|") + "\n"
	}
	for _, want := range []string{"培训 1 场，其中 1 场有签到表照片", "资金台账 1 条", "落后"} {
		if !strings.Contains(joined, want) {
			t.Errorf("self-evaluation lacks %q", want)
		}
	}
	if l, _ := x.GetRows("资金台账"); len(l) != 4 || l[2][5] != "3,000,000.00" {
		t.Errorf("ledger sheet %v", l)
	}
	f.env.Do(f.env.Admin, "GET", "/api/v1/reports/self-evaluation?format=doc", nil).Want(t, 400)
	f.env.Do(f.env.NewCaller(server.RoleOfficer, f.t0), "GET", "/api/v1/reports/self-evaluation", nil).Want(t, 403)
	if fontBytes(f.env.Config.FontPath) == nil {
		t.Skip("no CJK font on this machine: PDF not checked")
	}
	r = f.env.Do(f.env.Admin, "GET", "/api/v1/reports/self-evaluation?format=pdf", nil).Want(t, 200)
	if !bytes.HasPrefix(r.Body, []byte("%PDF")) {
		t.Fatalf("not a PDF: %.20s", r.Body)
	}
}

// TestPublicHonestStatuses: before anything is paid or accepted, no
// subsidy, fund or tranche target says 已达成 on the public page; once a
// target is reached it does.
func TestPublicHonestStatuses(t *testing.T) {
	f := newFixture(t, time.Time{}, func(d *Deps, _ *fixture) {
		d.Facilities = func(context.Context) (*Facilities, error) {
			return &Facilities{TownshipsTotal: 23}, nil
		}
		d.Funds = func(context.Context) (*FundSummary, error) {
			return &FundSummary{TotalFen: 1_500_000_000, ByCategory: map[string]int64{},
				Tranches: []FundTranche{{Tranche: 1, Open: true, DueFen: 450_000_000}, {Tranche: 2, DueFen: 450_000_000}}}, nil
		}
	})
	var p Public
	f.env.Do(nil, "GET", "/api/v1/public/summary", nil).Want(t, 200).Decode(t, &p)
	checked := 0
	for _, k := range p.Targets {
		for _, w := range []string{"补贴", "资金", "占比", "禁止", "拨付"} {
			if strings.Contains(k.Label, w) {
				checked++
				if k.Status == StatusMet {
					t.Errorf("%s says 已达成 with nothing done (%s)", k.Label, k.Actual)
				}
				break
			}
		}
	}
	if checked != 6 {
		t.Errorf("checked %d of the 6 subsidy and fund targets", checked)
	}
	page := string(f.env.Do(nil, "GET", "/public", nil).Want(t, 200).Body)
	for _, row := range strings.Split(page, "<tr>") {
		if (strings.Contains(row, "补贴") || strings.Contains(row, "拨付进度")) && strings.Contains(row, "已达成") {
			t.Errorf("public page row says 已达成 with nothing done: %s", row)
		}
	}
	if !strings.Contains(page, "已到拨付节点，尚未拨付") || strings.Contains(page, ">已拨付<") {
		t.Errorf("tranche status wrong")
	}
	// a tranche paid in full and a subsidy paid are met
	g := newFixture(t, time.Time{}, func(d *Deps, _ *fixture) {
		d.Facilities = func(context.Context) (*Facilities, error) {
			return &Facilities{TownshipsTotal: 23, SubsidyPaidFen: 1_000_000}, nil
		}
	})
	var d Dashboard
	g.env.Do(g.env.Admin, "GET", "/api/v1/reports/dashboard", nil).Want(t, 200).Decode(t, &d)
	ks := kpiByKey(&d)
	if ks["subsidies"].Status != StatusMet || ks["fund_tranches"].Status != StatusMet {
		t.Errorf("paid targets: %+v %+v", ks["subsidies"], ks["fund_tranches"])
	}
	if ks["village_points"].Target != 190 || !strings.Contains(ks["village_points"].Goal, "190") {
		t.Errorf("village points target from the settings: %+v", ks["village_points"])
	}
}
