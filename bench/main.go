// Command bench runs every benchmark the issues name on the embedded
// engine, measures the engine's raw limits through the driver in the same
// run, and writes one table to bench/results.md: each figure, its target,
// and its ratio to the raw limit it depends on. Run it with `make bench`.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/store"
)

// Raw engine limits measured through the driver.
type raw struct {
	InsertsPerSec      float64 // one document per call
	BatchInsertsPerSec float64 // insertMany of 1,000
	IDReadsPerSec      float64 // findOne by _id with 20,000 documents stored
}

func measureRaw(ctx context.Context) (raw, error) {
	dir, err := os.MkdirTemp("", "nxraw")
	if err != nil {
		return raw{}, err
	}
	defer os.RemoveAll(dir)
	st, err := store.Open(ctx, store.Options{DataDir: dir})
	if err != nil {
		return raw{}, err
	}
	defer st.Close(ctx)
	var r raw
	c := st.C("raw_single")
	const single = 2000
	t0 := time.Now()
	for i := 0; i < single; i++ {
		if err := c.InsertOne(ctx, bson.M{"_id": fmt.Sprintf("s%06d", i), "v": i, "pad": "农训基准测试文档"}); err != nil {
			return r, err
		}
	}
	r.InsertsPerSec = single / time.Since(t0).Seconds()

	b := st.C("raw_batch")
	const batches, per = 20, 1000
	t0 = time.Now()
	for j := 0; j < batches; j++ {
		docs := make([]any, per)
		for i := range docs {
			docs[i] = bson.M{"_id": fmt.Sprintf("b%03d-%04d", j, i), "v": i, "pad": "农训基准测试文档"}
		}
		if _, err := b.InsertMany(ctx, docs); err != nil {
			return r, err
		}
	}
	r.BatchInsertsPerSec = batches * per / time.Since(t0).Seconds()

	const reads = 300
	t0 = time.Now()
	for i := 0; i < reads; i++ {
		var out bson.M
		id := fmt.Sprintf("b%03d-%04d", (i*7)%batches, (i*131)%per)
		if err := b.FindOne(ctx, bson.M{"_id": id}, &out); err != nil {
			return r, err
		}
	}
	r.IDReadsPerSec = reads / time.Since(t0).Seconds()
	return r, nil
}

// result is one benchmark line: its name and every metric it reported.
type result struct {
	Pkg, Name string
	Metrics   map[string]float64 // unit → value (ns/op, B/op, and custom ones)
}

var lineRe = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+(\d+)\s+(.*)$`)

// run is one go test -bench invocation: benchmarks that sample b.N
// requests need a fixed count, and the county-sized ones run once.
type run struct {
	Pkg, Bench, Benchtime string
}

// plan lists every benchmark the issues name, with the count each needs.
var plan = []run{
	{"./courses", "BenchmarkListSessions", "200x"},
	{"./courses", "BenchmarkUploadLarge", "1x"},
	{"./courses", "BenchmarkRangeFromMiddle", "50x"},
	{"./enrollment", "BenchmarkCheckins", "3000x"},
	{"./enrollment", "BenchmarkProgress1k$|BenchmarkProgress50k", "300x"},
	{"./enrollment", "BenchmarkRosterSearch", "300x"},
	{"./enrollment", "BenchmarkImport5k", "1x"},
	{"./certificates", "BenchmarkIssue10k", "1x"},
	{"./certificates", "BenchmarkPDFFirst", "40x"},
	{"./certificates", "BenchmarkPDFCached|BenchmarkVerify", "300x"},
	{"./incubation", "BenchmarkCounty", "200x"},
	{"./incubation", "BenchmarkCertificateIssuedHook", "300x"},
	{"./logistics", "BenchmarkParcels$", "3x"},
	{"./logistics", "BenchmarkParcels500k", "3x"},
	{"./stations", "BenchmarkCoverage|BenchmarkStationList", "100x"},
	{"./funds", "BenchmarkSummary|BenchmarkLedgerPage", "300x"},
	{"./reports", "BenchmarkDashboard$|BenchmarkDashboardPage|BenchmarkMonthlyXLSX", "100x"},
	{".", "BenchmarkReportsDashboardRealServices|BenchmarkReportsMonthlyXLSXRealServices", "50x"},
}

// parseLine reads one benchmark output line.
func parseLine(pkg, line string) (result, bool) {
	m := lineRe.FindStringSubmatch(line)
	if m == nil {
		return result{}, false
	}
	res := result{Pkg: pkg, Name: m[1], Metrics: map[string]float64{}}
	f := strings.Fields(m[3])
	for i := 0; i+1 < len(f); i += 2 {
		if v, err := strconv.ParseFloat(f[i], 64); err == nil {
			res.Metrics[f[i+1]] = v
		}
	}
	return res, true
}

// parseLog reads the benchmark lines of a saved run (its "go test …" lines
// name the package): those with caches on, then those of the caches-off pass.
func parseLog(path string) ([]result, []result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	var on, off []result
	out := &on
	pkg := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == noCacheMark {
			out = &off
		}
		if strings.HasPrefix(line, "go test ") {
			fs := strings.Fields(line)
			pkg = strings.TrimPrefix(fs[len(fs)-1], "./")
		}
		if r, ok := parseLine(pkg, line); ok {
			*out = append(*out, r)
		}
	}
	return on, off, sc.Err()
}

// noCacheMark starts the log lines of the pass with every cache off.
const noCacheMark = "# caches off (NX_TEST_NOCACHE=1)"

func runBenchmarks(runs []run, logw io.Writer, noCache bool) ([]result, error) {
	var out []result
	var failed []string
	if noCache {
		fmt.Fprintln(io.MultiWriter(os.Stderr, logw), noCacheMark)
	}
	for _, r := range runs {
		args := []string{"test", "-run", "^$", "-bench", r.Bench, "-benchtime", r.Benchtime, "-timeout", "30m", r.Pkg}
		fmt.Fprintf(io.MultiWriter(os.Stderr, logw), "go %s\n", strings.Join(args, " "))
		cmd := exec.Command("go", args...)
		cmd.Stderr = os.Stderr
		if noCache {
			cmd.Env = append(os.Environ(), "NX_TEST_NOCACHE=1")
		}
		pipe, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(io.MultiWriter(os.Stderr, logw), line)
			if res, ok := parseLine(strings.TrimPrefix(r.Pkg, "./"), line); ok {
				out = append(out, res)
			}
		}
		if err := cmd.Wait(); err != nil {
			failed = append(failed, r.Pkg+" "+r.Bench)
		}
	}
	if len(failed) > 0 {
		return out, fmt.Errorf("failed: %s", strings.Join(failed, "; "))
	}
	return out, nil
}

func main() {
	outPath := flag.String("out", "bench/results.md", "where the table goes")
	only := flag.String("only", "", "run only the plan entries whose package or benchmark contains this")
	fromLog := flag.String("log", "", "read benchmark lines from this saved output instead of running them")
	cachesOff := flag.Bool("nocache", true, "run the plan a second time with every cache of the store switched off")
	flag.Parse()
	runs := plan
	if *only != "" {
		runs = nil
		for _, r := range plan {
			if strings.Contains(r.Pkg+" "+r.Bench, *only) {
				runs = append(runs, r)
			}
		}
	}
	ctx := context.Background()
	fmt.Fprintln(os.Stderr, "measuring the embedded engine's raw limits…")
	r, err := measureRaw(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: raw limits:", err)
		os.Exit(1)
	}
	var results, off []result
	var berr error
	if *fromLog != "" {
		results, off, berr = parseLog(*fromLog)
	} else {
		// The raw output is kept beside the table, to re-render it with -log.
		logf, err := os.Create(strings.TrimSuffix(*outPath, "results.md") + "last-run.log")
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		results, berr = runBenchmarks(runs, logf, false)
		if berr == nil && *cachesOff {
			off, berr = runBenchmarks(runs, logf, true)
		}
		logf.Close()
	}
	table := render(r, results, off, berr)
	fmt.Print(table)
	if err := os.WriteFile(*outPath, []byte(table), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	if berr != nil {
		fmt.Fprintln(os.Stderr, "bench:", berr)
		os.Exit(1)
	}
}

func render(r raw, results, off []result, berr error) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Benchmark results\n\nWritten by `make bench` (bench/main.go) on %s, %d cores, %s; do not edit by hand.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), runtime.NumCPU(), runtime.Version())
	fmt.Fprintf(&b, "## Raw limits of the embedded engine (FerretDB v1, SQLite), through the driver\n\n")
	fmt.Fprintf(&b, "| raw limit | measured |\n|---|---|\n")
	fmt.Fprintf(&b, "| single inserts/s | %.0f |\n| batched inserts/s (1,000 a batch) | %.0f |\n| `_id` reads/s at 20,000 documents | %.0f |\n\n", r.InsertsPerSec, r.BatchInsertsPerSec, r.IDReadsPerSec)
	fmt.Fprintf(&b, "## Figures against their targets\n\n")
	fmt.Fprintf(&b, "| figure | measured | met | caches off | met | target | ratio to raw limit |\n|---|---|---|---|---|---|---|\n")
	used := map[string]bool{}
	for _, tg := range targets {
		v, ok := tg.value(results)
		if !ok {
			fmt.Fprintf(&b, "| %s | not measured | – | | | %s | |\n", tg.Figure, tg.targetText())
			continue
		}
		used[tg.Bench] = true
		offShown, offMet := "not run", "–"
		if w, ok := tg.value(off); ok {
			offShown, offMet = tg.shown(w), tg.met(w, r)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", tg.Figure, tg.shown(v), tg.met(v, r), offShown, offMet, tg.targetText(), tg.ratio(v, r))
	}
	fmt.Fprintf(&b, "\n“Caches off” is the same plan run again with every cache of the store switched off (NX_TEST_NOCACHE=1): the figures an app node gets when other nodes write too. The ratio is the app's operations per second divided by the raw operation each of them needs at least once. Below 1: how close the app runs to the engine's limit (a check-in needs one insert). Above 1: the figure is served without that operation on the request path (from counters and packs read by _id).\n")
	var rest []result
	for _, x := range results {
		if !used[x.Name] {
			rest = append(rest, x)
		}
	}
	if len(rest) > 0 {
		fmt.Fprintf(&b, "\n## Other benchmarks\n\n| package | benchmark | metrics |\n|---|---|---|\n")
		for _, x := range rest {
			var ms []string
			for u, v := range x.Metrics {
				ms = append(ms, fmtVal(v, u))
			}
			sort.Strings(ms)
			fmt.Fprintf(&b, "| %s | %s | %s |\n", x.Pkg, x.Name, strings.Join(ms, ", "))
		}
	}
	if berr != nil {
		fmt.Fprintf(&b, "\n**A benchmark run failed:** %v\n", berr)
	}
	return b.String()
}

func find(results []result, bench, metric string) (float64, bool) {
	for _, x := range results {
		if x.Name == bench {
			v, ok := x.Metrics[metric]
			return v, ok
		}
	}
	return 0, false
}

func fmtVal(v float64, unit string) string {
	switch {
	case unit == "ns/op":
		return time.Duration(v).Round(time.Microsecond).String() + "/op"
	case v >= 100:
		return fmt.Sprintf("%.0f %s", v, unit)
	default:
		return fmt.Sprintf("%.2f %s", v, unit)
	}
}

// value is the target's figure in results (a ratio of two benchmarks when Over is set).
func (t target) value(results []result) (float64, bool) {
	v, ok := find(results, t.Bench, t.Metric)
	if t.Over != "" {
		w, ok2 := find(results, t.Over, t.Metric)
		ok = ok && ok2 && w > 0
		if ok {
			v = v / w
		}
	}
	return v, ok
}

func (t target) shown(v float64) string {
	if t.Over != "" {
		return fmt.Sprintf("%.2f×", v)
	}
	return fmtVal(v, t.Metric)
}

func (t target) met(v float64, r raw) string {
	switch {
	case (t.Max > 0 && v > t.Max) || (t.Min > 0 && v < t.Min) || (t.MinRatio > 0 && t.ratioOf(v, r) < t.MinRatio):
		return "**no**"
	case t.Max == 0 && t.Min == 0 && t.MinRatio == 0:
		return "–"
	}
	return "yes"
}
