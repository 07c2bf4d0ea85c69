package reports

import (
	"context"
	"fmt"
	"nongxun/clock"
	"sort"
	"testing"
	"time"

	"nongxun/server"
)

// countyFixture is one county's worth of figures: 23 townships with every
// metric for 12 months, a year of written reports with attachments on the
// embedded engine, and counters shaped like the real sources'.
func countyFixture(b *testing.B) *fixture {
	f := newFixture(b, time.Date(2019, 12, 20, 10, 0, 0, 0, clock.Shanghai), func(d *Deps, f *fixture) {
		src := fakeSource{}
		twps := f.env.Regions.Townships(f.env.Ctx)
		for m := 1; m <= 12; m++ {
			month := fmt.Sprintf("2019-%02d", m)
			src[month] = map[string]map[string]int64{}
			for i, t := range twps {
				fig := map[string]int64{}
				for j, mt := range AllMetrics() {
					fig[mt.Key] = int64((i+1)*(j+3)*m) % 997
				}
				src[month][t.ID] = fig
			}
			src[month][""] = map[string]int64{"fund_payments_fen": 12_345_600}
		}
		d.Sources = []Source{src}
		byT, byM := map[string]int64{}, map[string]int64{}
		for i, t := range twps {
			byT[t.ID] = int64(300 + i*7)
		}
		for m := 1; m <= 12; m++ {
			byM[fmt.Sprintf("2019-%02d", m)] = 800
		}
		d.Progress = func(context.Context, string) (*Progress, error) {
			return &Progress{Target: 10000, PersonTimes: 9600, Trainees: 5000, ByTownship: byT, ByMonth: byM,
				ByGroup: map[string]int64{"poverty": 3000, "woman": 2500, "youth": 2000, "returnee_worker": 900, "veteran": 120, "disabled": 60, "returnee_graduate": 400}}, nil
		}
		d.Facilities = func(context.Context) (*Facilities, error) {
			return &Facilities{CountyCenters: 1, Warehouses: 1, WarehouseAreaM2: 3200, TownshipStations: 23, TownshipsTotal: 23, VillagePoints: 185, VillagePointTarget: 190}, nil
		}
		d.Enterprises = func(context.Context) (int64, int64, int64, error) { return 4, 2, 600, nil }
		d.SalesGrowth = func(context.Context, string) (*Growth, error) {
			return &Growth{PreviousFen: 100_000_000, CurrentFen: 140_000_000, Rate: 0.4, Known: true, ByMonth: byM}, nil
		}
		d.Parcels = func(context.Context, string) (*Volumes, error) {
			up, down := map[string]int64{}, map[string]int64{}
			for i := 1; i <= 30; i++ {
				up[fmt.Sprintf("11-%02d", i)], down[fmt.Sprintf("11-%02d", i)] = int64(500+i), int64(1500+i)
			}
			return &Volumes{Up: 15000, Down: 45000, UpByMonth: up, DownByMonth: down}, nil
		}
	})
	// a year of written reports from every township
	ctx := f.env.Ctx
	for _, t := range f.env.Regions.Townships(ctx) {
		p := &server.Principal{UserID: "o", Role: server.RoleOfficer, TownshipID: t.ID, Name: "联络员"}
		for m := 1; m <= 12; m++ {
			if _, _, err := f.svc.Submit(ctx, p, fmt.Sprintf("2019-%02d", m), SubmitInput{Text: "本月进展"}); err != nil {
				b.Fatal(err)
			}
		}
	}
	return f
}

// p50 runs fn b.N times and reports the median duration.
func p50(b *testing.B, fn func()) {
	times := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		fn()
		times = append(times, time.Since(t0))
	}
	b.StopTimer()
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(times[len(times)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkDashboard is the dashboard JSON over HTTP, uncached (every
// request recomputes from the sources and the written-report tally).
func BenchmarkDashboard(b *testing.B) {
	f := countyFixture(b)
	p50(b, func() {
		f.env.Do(f.env.Admin, "GET", "/api/v1/reports/dashboard", nil).Want(b, 200)
	})
}

// BenchmarkDashboardPage is what the office's page costs: the JSON and its
// nine SVG charts at a phone's width, uncached once per page.
func BenchmarkDashboardPage(b *testing.B) {
	f := countyFixture(b)
	chartFont(f.env.Config.FontPath)
	p50(b, func() {
		f.env.Do(f.env.Admin, "GET", "/api/v1/reports/dashboard", nil).Want(b, 200)
		for _, n := range ChartNames {
			f.env.Do(f.env.Admin, "GET", "/api/v1/reports/charts/"+n+"?w=360", nil).Want(b, 200)
		}
	})
}

// BenchmarkMonthlyXLSX is the monthly report of 23 townships as XLSX over HTTP.
func BenchmarkMonthlyXLSX(b *testing.B) {
	f := countyFixture(b)
	p50(b, func() {
		f.env.Do(f.env.Admin, "GET", "/api/v1/reports/monthly?month=2019-11&format=xlsx", nil).Want(b, 200)
	})
}
