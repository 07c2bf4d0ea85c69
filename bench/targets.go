package main

import "fmt"

// target is one figure an issue names, where its benchmark reports it, and
// which raw engine limit it depends on.
type target struct {
	Figure   string
	Bench    string // benchmark name
	Metric   string // unit the benchmark reports it in
	Max, Min float64
	// DependsOn is the raw limit the figure is compared with: "insert",
	// "read", or "" for none.
	DependsOn string
	// Latency marks a value in ms per operation: the ratio compares 1000/v
	// operations per second with the raw limit.
	Latency bool
	// OpsPer, when set, marks a value in seconds for OpsPer operations.
	OpsPer float64
	// Over names a second benchmark: the figure is this one's metric
	// divided by that one's (a growth ratio).
	Over string
	// MinRatio, when set, is the least ratio to the raw limit it depends on.
	MinRatio float64
}

func (t target) targetText() string {
	switch {
	case t.Over != "" && t.Max > 0:
		return fmt.Sprintf("≤ %g×", t.Max)
	case t.Max > 0:
		return fmt.Sprintf("≤ %g %s", t.Max, t.Metric)
	case t.Min > 0:
		return fmt.Sprintf("≥ %g %s", t.Min, t.Metric)
	case t.MinRatio > 0:
		return fmt.Sprintf("≥ %g of the raw limit", t.MinRatio)
	}
	return ""
}

// ratioOf is the figure's operations per second ÷ the raw limit's (0 when
// it depends on none).
func (t target) ratioOf(v float64, r raw) float64 {
	var rawOps float64
	switch t.DependsOn {
	case "insert":
		rawOps = r.InsertsPerSec
	case "read":
		rawOps = r.IDReadsPerSec
	case "batch":
		rawOps = r.BatchInsertsPerSec
	}
	ops := v
	switch {
	case rawOps == 0 || (v == 0 && (t.Latency || t.OpsPer > 0)):
		return 0
	case t.Latency:
		ops = 1000 / v
	case t.OpsPer > 0:
		ops = t.OpsPer / v
	}
	return ops / rawOps
}

// ratio says how close the app runs to the raw limit it depends on:
// app operations per second ÷ raw operations per second.
func (t target) ratio(v float64, r raw) string {
	names := map[string]string{"insert": "single inserts/s", "read": "_id reads/s", "batch": "batched inserts/s"}
	x := t.ratioOf(v, r)
	if x == 0 {
		return ""
	}
	return fmt.Sprintf("%.2f of %s", x, names[t.DependsOn])
}

// targets are the figures of issues 3–8, in issue order.
var targets = []target{
	// Issue 3: courses, sessions, materials.
	{Figure: "a course's sessions, 500 stored: p50", Bench: "BenchmarkListSessions/all500", Metric: "p50_ms", Max: 20, DependsOn: "read", Latency: true},
	{Figure: "a course's 50 sessions of 500 stored: p50", Bench: "BenchmarkListSessions/tenth_of_500", Metric: "p50_ms", Max: 20, DependsOn: "read", Latency: true},
	{Figure: "300 MiB upload: peak RSS growth", Bench: "BenchmarkUploadLarge", Metric: "peakRSS_growth_MiB", Max: 64},
	{Figure: "300 MiB upload: throughput over loopback", Bench: "BenchmarkUploadLarge", Metric: "MB/s"},
	{Figure: "Range from the middle of 300 MiB: first byte p50", Bench: "BenchmarkRangeFromMiddle", Metric: "p50_ttfb_ms", Max: 100},
	{Figure: "download throughput", Bench: "BenchmarkRangeFromMiddle", Metric: "download_MiB/s"},
	// Issue 4: check-in and progress.
	{Figure: "check-ins/s from 50 phones (5,000 trainees, 500 sessions, 20,000 records)", Bench: "BenchmarkCheckins", Metric: "checkins/s", Min: 300, DependsOn: "insert"},
	{Figure: "check-in p99", Bench: "BenchmarkCheckins", Metric: "p99-ms", Max: 200},
	{Figure: "GET /progress p50 at 1,000 records", Bench: "BenchmarkProgress1k", Metric: "p50-ms", Max: 5, DependsOn: "read", Latency: true},
	{Figure: "GET /progress p50 at 50,000 records", Bench: "BenchmarkProgress50k", Metric: "p50-ms", Max: 5, DependsOn: "read", Latency: true},
	{Figure: "GET /progress p50, 50,000 ÷ 1,000 records", Bench: "BenchmarkProgress50k", Over: "BenchmarkProgress1k", Metric: "p50-ms", Max: 1.5},
	{Figure: "roll-call trainee search p50 (15,000 trainees)", Bench: "BenchmarkRosterSearch", Metric: "p50-ms", Max: 100, DependsOn: "read", Latency: true},
	{Figure: "5,000-row roster import: preview", Bench: "BenchmarkImport5k/preview", Metric: "s/import", Max: 3},
	{Figure: "5,000-row roster import: commit", Bench: "BenchmarkImport5k/commit", Metric: "s/import", Max: 10},
	{Figure: "5,000-row roster import: peak Go heap (commit)", Bench: "BenchmarkImport5k/commit", Metric: "peakHeap-MiB", Max: 200},
	{Figure: "5,000-row roster import: peak RSS", Bench: "BenchmarkImport5k/commit", Metric: "peakRSS-MiB", Max: 200},
	// Issue 5: certificates.
	{Figure: "issue to 10,000 eligible trainees", Bench: "BenchmarkIssue10k", Metric: "s/10k", Max: 15, DependsOn: "batch", OpsPer: 10000},
	{Figure: "issue to 10,000: peak RSS", Bench: "BenchmarkIssue10k", Metric: "peakRSS-MiB", Max: 200},
	{Figure: "first PDF render p50 (common name)", Bench: "BenchmarkPDFFirst", Metric: "p50-ms", Max: 40},
	{Figure: "first PDF render p50 (rare characters)", Bench: "BenchmarkPDFFirstRare", Metric: "p50-ms", Max: 40},
	{Figure: "cached PDF p50", Bench: "BenchmarkPDFCached", Metric: "p50-ms", Max: 3, DependsOn: "read", Latency: true},
	{Figure: "verification p50", Bench: "BenchmarkVerify", Metric: "p50-ms", Max: 5, DependsOn: "read", Latency: true},
	// Issue 6: incubation.
	{Figure: "GET /conversion p50 (5,000 trainees, 1,000 shops, 12,000 sales)", Bench: "BenchmarkCounty/conversion", Metric: "p50-ms", Max: 5, DependsOn: "read", Latency: true},
	{Figure: "a user's due follow-ups p50", Bench: "BenchmarkCounty/due-followups", Metric: "p50-ms", Max: 30, DependsOn: "read", Latency: true},
	{Figure: "monthly sales report (a write)", Bench: "BenchmarkCounty/sales-report", Metric: "p50-ms", Max: 10},
	{Figure: "follow-up scheduling per certificate (the certificate.issued handler, in the background)", Bench: "BenchmarkCertificateIssuedHook", Metric: "ms/certificate", Max: 1, DependsOn: "insert", Latency: true},
	// Issue 7: stations, parcels, fund.
	{Figure: "parcels created and scanned 4 times, 50,000 stored (5,000 a day = 0.06/s)", Bench: "BenchmarkParcels/create_and_4_scans", Metric: "parcels/s", Min: 0.06},
	{Figure: "parcel writes/s, 50,000 stored", Bench: "BenchmarkParcels/create_and_4_scans", Metric: "writes/s", DependsOn: "insert", MinRatio: 0.2},
	{Figure: "GET /parcels/:waybill p50, 50,000 stored", Bench: "BenchmarkParcels/get_parcel", Metric: "p50_ms", DependsOn: "read", Latency: true},
	{Figure: "GET /parcels/:waybill p50, 500,000 stored", Bench: "BenchmarkParcels500k/get_parcel", Metric: "p50_ms", Max: 2, DependsOn: "read", Latency: true},
	{Figure: "parcel writes/s, 500,000 stored", Bench: "BenchmarkParcels500k/create_and_4_scans", Metric: "writes/s", DependsOn: "insert"},
	{Figure: "GET /stations/coverage p50", Bench: "BenchmarkCoverage", Metric: "p50_ms", DependsOn: "read", Latency: true},
	{Figure: "GET /stations p50 (213 stations)", Bench: "BenchmarkStationList", Metric: "p50_ms", DependsOn: "read", Latency: true},
	{Figure: "GET /funds/summary p50 (5,000 ledger entries)", Bench: "BenchmarkSummary", Metric: "p50-ms", DependsOn: "read", Latency: true},
	{Figure: "GET /funds/ledger first page p50 (5,000 entries)", Bench: "BenchmarkLedgerPage/first", Metric: "p50-ms", DependsOn: "read", Latency: true},
	// Issue 8: reports.
	{Figure: "dashboard p50, whole app with real services", Bench: "BenchmarkReportsDashboardRealServices", Metric: "p50-ms", Max: 50, DependsOn: "read", Latency: true},
	{Figure: "dashboard with 9 SVG charts p50 (reports package)", Bench: "BenchmarkDashboardPage", Metric: "p50-ms", Max: 50},
	{Figure: "monthly XLSX, 23 townships, whole app", Bench: "BenchmarkReportsMonthlyXLSXRealServices", Metric: "p50-ms", Max: 1000},
}
