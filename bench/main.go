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
	{"./certificates", "BenchmarkIssue10k", "1x"},
	{"./certificates", "BenchmarkPDFFirst", "40x"},
	{"./certificates", "BenchmarkPDFCached|BenchmarkVerify", "300x"},
	{"./incubation", "BenchmarkCounty", "200x"},
	{"./incubation", "BenchmarkCertificateIssuedHook", "300x"},
	{"./stations", "BenchmarkParcels", "3x"},
	{"./stations", "BenchmarkCoverage", "100x"},
	{"./funds", "BenchmarkSummary", "300x"},
	{"./reports", "BenchmarkDashboard$|BenchmarkDashboardPage|BenchmarkMonthlyXLSX", "100x"},
	{".", "BenchmarkReportsDashboardRealServices$|BenchmarkReportsMonthlyXLSXRealServices", "50x"},
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

// parseLog reads the benchmark lines of a saved run (its "go test …" lines name the package).
func parseLog(path string) ([]result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []result
	pkg := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "go test ") {
			fs := strings.Fields(line)
			pkg = strings.TrimPrefix(fs[len(fs)-1], "./")
		}
		if r, ok := parseLine(pkg, line); ok {
			out = append(out, r)
		}
	}
	return out, sc.Err()
}

func runBenchmarks(runs []run, logw io.Writer) ([]result, error) {
	var out []result
	var failed []string
	for _, r := range runs {
		args := []string{"test", "-run", "^$", "-bench", r.Bench, "-benchtime", r.Benchtime, "-timeout", "30m", r.Pkg}
		fmt.Fprintf(io.MultiWriter(os.Stderr, logw), "go %s\n", strings.Join(args, " "))
		cmd := exec.Command("go", args...)
		cmd.Stderr = os.Stderr
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
	var results []result
	var berr error
	if *fromLog != "" {
		results, berr = parseLog(*fromLog)
	} else {
		// The raw output is kept beside the table, to re-render it with -log.
		logf, err := os.Create(strings.TrimSuffix(*outPath, "results.md") + "last-run.log")
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		results, berr = runBenchmarks(runs, logf)
		logf.Close()
	}
	table := render(r, results, berr)
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

func render(r raw, results []result, berr error) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Benchmark results\n\nWritten by `make bench` (bench/main.go) on %s, %d cores, %s; do not edit by hand.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), runtime.NumCPU(), runtime.Version())
	fmt.Fprintf(&b, "## Raw limits of the embedded engine (FerretDB v1, SQLite), through the driver\n\n")
	fmt.Fprintf(&b, "| raw limit | measured |\n|---|---|\n")
	fmt.Fprintf(&b, "| single inserts/s | %.0f |\n| batched inserts/s (1,000 a batch) | %.0f |\n| `_id` reads/s at 20,000 documents | %.0f |\n\n", r.InsertsPerSec, r.BatchInsertsPerSec, r.IDReadsPerSec)
	fmt.Fprintf(&b, "## Figures against their targets\n\n")
	fmt.Fprintf(&b, "| figure | measured | target | met | ratio to raw limit |\n|---|---|---|---|---|\n")
	used := map[string]bool{}
	for _, tg := range targets {
		v, ok := find(results, tg.Bench, tg.Metric)
		if tg.Over != "" {
			w, ok2 := find(results, tg.Over, tg.Metric)
			ok = ok && ok2 && w > 0
			if ok {
				v = v / w
			}
		}
		if !ok {
			fmt.Fprintf(&b, "| %s | not measured | %s | – | |\n", tg.Figure, tg.targetText())
			continue
		}
		used[tg.Bench] = true
		met := "yes"
		if (tg.Max > 0 && v > tg.Max) || (tg.Min > 0 && v < tg.Min) {
			met = "**no**"
		}
		shown := fmtVal(v, tg.Metric)
		if tg.Over != "" {
			shown = fmt.Sprintf("%.2f×", v)
		}
		if met == "yes" && tg.Max == 0 && tg.Min == 0 {
			met = "–"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", tg.Figure, shown, tg.targetText(), met, tg.ratio(v, r))
	}
	fmt.Fprintf(&b, "\nThe ratio is the app's operations per second divided by the raw operation each of them needs at least once. Below 1: how close the app runs to the engine's limit (a check-in needs one insert). Above 1: the figure is served without that operation on the request path (counters and caches kept in memory under the write lane).\n")
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
