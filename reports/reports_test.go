package reports

import (
	"bytes"
	"context"
	"encoding/csv"
	"nongxun/clock"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"nongxun/server"
	"nongxun/store"
	"nongxun/testkit"
)

func TestMain(m *testing.M) { store.RunTests(m) }

// fakeSource stands in for a feature package's MonthlyFigures (the
// cross-package service; the database itself is the real engine).
type fakeSource map[string]map[string]map[string]int64 // month → township → metric

func (f fakeSource) MonthlyFigures(_ context.Context, month string) (map[string]map[string]int64, error) {
	return f[month], nil
}

type fixture struct {
	env  *testkit.Env
	svc  *Service
	now  time.Time
	t0   string // township 0
	t1   string
	deps *Deps
}

// newFixture wires the reports on a real embedded database with fake
// sources; the clock reads 2019-06-15 unless now is set.
func newFixture(t testing.TB, now time.Time, edit func(d *Deps, f *fixture)) *fixture {
	t.Helper()
	env := testkit.New(t)
	f := &fixture{env: env, now: now, t0: env.Township(0).ID, t1: env.Township(1).ID}
	if now.IsZero() {
		f.now = time.Date(2019, 6, 15, 10, 0, 0, 0, clock.Shanghai)
	}
	d := Deps{Store: env.Store, Config: env.Config, Regions: env.Regions, Audit: env.Audit, Log: env.Log,
		Now: func() time.Time { return f.now }}
	d.Sources = []Source{
		fakeSource{"2019-05": {f.t0: {"sessions_held": 3, "person_times": 120, "new_trainees": 40, "new_poverty_trainees": 12}, f.t1: {"person_times": 30}}},
		fakeSource{"2019-05": {f.t0: {"certificates": 5, "followups": 7, "shops_opened": 2, "sales_revenue_fen": 123456}}},
		fakeSource{"2019-05": {f.t1: {"station_services": 9, "parcels_up": 100, "parcels_down": 250}, "": {"fund_payments_fen": 500000}}},
	}
	d.Progress = func(_ context.Context, tid string) (*Progress, error) {
		p := &Progress{Target: 10000, PersonTimes: 4000, Trainees: 1500, ByTownship: map[string]int64{f.t0: 3000, f.t1: 1000},
			ByGroup: map[string]int64{"poverty": 900, "woman": 700}, ByMonth: map[string]int64{"2019-03": 1000, "2019-04": 1500, "2019-05": 1500}}
		if tid == f.t0 {
			p.PersonTimes, p.ByTownship = 3000, map[string]int64{f.t0: 3000}
		}
		return p, nil
	}
	d.Conversion = func(context.Context, string) (*Conversion, error) {
		return &Conversion{Trained: 1500, Certified: 900, FollowedUp: 600, ShopOpened: 200, Selling: 120, Incubated: 30}, nil
	}
	d.Coverage = func(context.Context, string) (*Coverage, error) {
		return &Coverage{VillagesTotal: 380, VillagesCovered: 150, Ratio: 150.0 / 380, PovertyVillagesTotal: 100, PovertyVillagesCovered: 60, PovertyRatio: 0.6, TargetRatio: 0.5, OperatingPoints: 150}, nil
	}
	d.Funds = func(context.Context) (*FundSummary, error) {
		return &FundSummary{TotalFen: 1_500_000_000, AllocatedFen: 1_000_000_000, PaidFen: 300_000_000,
			ByCategory: map[string]int64{"upward": 600_000_000, "public_service": 100_000_000, "training": 300_000_000},
			Tranches:   []FundTranche{{Tranche: 1, Open: true, DueFen: 300_000_000, PaidFen: 300_000_000}}}, nil
	}
	if edit != nil {
		edit(&d, f)
	}
	f.deps = &d
	svc, err := New(env.Ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	svc.Register(env.API)
	svc.RegisterPublic(env.App, env.API)
	f.svc = svc
	return f
}

func TestMonthlyBadInput(t *testing.T) {
	f := newFixture(t, time.Time{}, nil)
	off := f.env.NewCaller(server.RoleOfficer, f.t0)
	trainee := f.env.NewCaller(server.RoleTrainee, "")
	cases := []struct {
		name   string
		caller *testkit.Caller
		query  string
		status int
	}{
		{"malformed month", f.env.Admin, "month=2019-5", 400},
		{"month 13", f.env.Admin, "month=2019-13", 400},
		{"no month", f.env.Admin, "", 400},
		{"future month", f.env.Admin, "month=2019-07", 400},
		{"format not offered", f.env.Admin, "month=2019-05&format=pdf", 400},
		{"officer asks another township", off, "month=2019-05&township_id=" + f.t1, 403},
		{"unknown township", f.env.Admin, "month=2019-05&township_id=" + store.NewID(), 400},
		{"malformed township", f.env.Admin, "month=2019-05&township_id=x", 400},
		{"trainee", trainee, "month=2019-05", 403},
		{"no token", nil, "month=2019-05", 401},
		{"current month ok", f.env.Admin, "month=2019-06", 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := f.env.Do(c.caller, "GET", "/api/v1/reports/monthly?"+c.query, nil)
			r.Want(t, c.status)
			if c.status >= 400 && r.ErrCode() == "" {
				t.Fatalf("no API error body: %s", r.Body)
			}
		})
	}
}

func TestMonthlyJSON(t *testing.T) {
	f := newFixture(t, time.Time{}, nil)
	var m Monthly
	f.env.Do(f.env.Admin, "GET", "/api/v1/reports/monthly?month=2019-05&format=json", nil).Want(t, 200).Decode(t, &m)
	if len(m.Rows) != 24 { // 23 townships + the county-level line
		t.Fatalf("rows %d, want 24", len(m.Rows))
	}
	want := map[string]int64{"person_times": 150, "sessions_held": 3, "certificates": 5, "parcels_down": 250, "fund_payments_fen": 500000, "sales_revenue_fen": 123456}
	for k, v := range want {
		if m.Totals[k] != v {
			t.Errorf("total %s = %d, want %d", k, m.Totals[k], v)
		}
	}
	if m.Rows[0].Township != f.env.Township(0).Name || m.Rows[0].Figures["new_poverty_trainees"] != 12 {
		t.Errorf("first row %+v", m.Rows[0])
	}
	// an officer gets only their own township, without asking
	off := f.env.NewCaller(server.RoleOfficer, f.t1)
	var mo Monthly
	f.env.Do(off, "GET", "/api/v1/reports/monthly?month=2019-05", nil).Want(t, 200).Decode(t, &mo)
	if len(mo.Rows) != 1 || mo.Rows[0].TownshipID != f.t1 || mo.Totals["person_times"] != 30 || mo.Totals["fund_payments_fen"] != 0 {
		t.Fatalf("officer sees %+v", mo)
	}
}

func TestMonthlyXLSXAndCSV(t *testing.T) {
	f := newFixture(t, time.Time{}, nil)
	r := f.env.Do(f.env.Admin, "GET", "/api/v1/reports/monthly?month=2019-05&format=xlsx", nil).Want(t, 200)
	if !strings.Contains(r.Header.Get("Content-Disposition"), ".xlsx") {
		t.Fatalf("disposition %q", r.Header.Get("Content-Disposition"))
	}
	x, err := excelize.OpenReader(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if got := strings.Join(x.GetSheetList(), ","); got != "培训,孵化,站点物流,资金" {
		t.Fatalf("sheets %s", got)
	}
	title, _ := x.GetCellValue("培训", "A1")
	if !strings.Contains(title, "2019-05") || !strings.Contains(title, "生成于") {
		t.Errorf("title %q", title)
	}
	if h, _ := x.GetCellValue("培训", "C2"); h != "培训人次" {
		t.Errorf("header C2 %q", h)
	}
	if v, _ := x.GetCellValue("培训", "A3"); v != f.env.Township(0).Name {
		t.Errorf("A3 %q", v)
	}
	rows, _ := x.GetRows("培训")
	last := rows[len(rows)-1]
	if last[0] != "合计" || last[2] != "150" {
		t.Errorf("totals row %v", last)
	}
	panes, err := x.GetPanes("培训")
	if err != nil || !panes.Freeze || panes.YSplit != 2 {
		t.Errorf("panes %+v %v", panes, err)
	}
	// amounts in yuan, formatted
	rows, _ = x.GetRows("资金")
	if last := rows[len(rows)-1]; last[1] != "5,000.00" {
		t.Errorf("fund total shown %v", last)
	}
	// CSV: one table, BOM, yuan with two decimals
	r = f.env.Do(f.env.Admin, "GET", "/api/v1/reports/monthly?month=2019-05&format=csv", nil).Want(t, 200)
	if !bytes.HasPrefix(r.Body, []byte("\xef\xbb\xbf")) {
		t.Fatal("no BOM")
	}
	recs, err := csv.NewReader(bytes.NewReader(r.Body[3:])).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if recs[0][2] != "培训人次" || recs[len(recs)-1][0] != "合计" || recs[len(recs)-1][len(recs[0])-1] != "5000.00" {
		t.Errorf("csv head %v last %v", recs[0], recs[len(recs)-1])
	}
}

func TestDueDates(t *testing.T) {
	cases := map[string]string{"2019-05": "2019-05-31", "2019-02": "2019-03-01", "2020-02": "2020-03-01", "2019-04": "2019-05-01"}
	for m, want := range cases {
		mt, _ := time.ParseInLocation("2006-01", m, clock.Shanghai)
		if got := dueEnd(mt).Format("2006-01-02"); got != want {
			t.Errorf("dueEnd(%s) = %s, want %s", m, got, want)
		}
	}
	if got := lastDueMonth(time.Date(2019, 6, 15, 0, 0, 0, 0, clock.Shanghai)); got != "2019-05" {
		t.Errorf("lastDueMonth mid-June = %s", got)
	}
	if got := lastDueMonth(time.Date(2019, 6, 30, 12, 0, 0, 0, clock.Shanghai)); got != "2019-05" {
		t.Errorf("lastDueMonth on the 30th = %s", got)
	}
	if got := lastDueMonth(time.Date(2019, 7, 1, 0, 0, 0, 0, clock.Shanghai)); got != "2019-06" {
		t.Errorf("lastDueMonth 1 July = %s", got)
	}
}

func TestYuanText(t *testing.T) {
	for fen, want := range map[int64]string{0: "0.00", 5: "0.05", 123456: "1,234.56", 1_500_000_000: "15,000,000.00", -100000: "-1,000.00"} {
		if got := yuanText(fen); got != want {
			t.Errorf("yuanText(%d) = %q, want %q", fen, got, want)
		}
	}
}
