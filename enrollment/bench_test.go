package enrollment

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"nongxun/server"
	"nongxun/sheets/sheetstest"
	"nongxun/testkit"
)

// benchCounty seeds 5,000 trainees, 500 sessions and attendance records,
// and gives each of 1,000 trainees a login token.
func benchCounty(b *testing.B, attendance int) (*fixture, *Seeded, []string) {
	f := newFixture(b)
	f.now = time.Now()
	f.s.SetClock(time.Now)
	seed, err := SeedCounty(f.Ctx, f.s, f.mc, 5000, 500, attendance, f.now)
	if err != nil {
		b.Fatal(err)
	}
	toks := make([]string, 0, 1000)
	for i := 0; i < 1000; i++ {
		t := seed.Trainees[i]
		tok, _ := f.Tokens.Issue(server.Principal{UserID: t.UserID, Role: server.RoleTrainee})
		toks = append(toks, tok)
	}
	return f, seed, toks
}

// BenchmarkCheckins drives check-ins from 50 concurrent phones through the
// HTTP handler with 20,000 attendance records stored, and reports
// check-ins/s and the p99 latency.
func BenchmarkCheckins(b *testing.B) {
	f, seed, toks := benchCounty(b, 20000)
	var next atomic.Int64
	lat := make([]time.Duration, b.N)
	b.ResetTimer()
	cpu0 := cpuTime()
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < 50; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				sess := seed.Today[(i/len(toks)+i)%len(seed.Today)]
				body, _ := json.Marshal(map[string]any{"session_id": sess.ID, "code": f.s.Payload(sess.ID, windowOf(time.Now())), "client_id": fmt.Sprintf("b%d", i)})
				req := httptest.NewRequest("POST", "/api/v1/checkins", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+toks[i%len(toks)])
				t0 := time.Now()
				resp, err := f.App.Test(req, -1)
				lat[i] = time.Since(t0)
				if err != nil || resp.StatusCode >= 300 {
					b.Errorf("check-in %d: %v %v", i, err, resp.StatusCode)
					return
				}
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(b.N)/el.Seconds(), "checkins/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/checkin")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
}

func benchProgress(b *testing.B, attendance int) {
	f, _, _ := benchCounty(b, attendance)
	lat := make([]time.Duration, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest("GET", "/api/v1/progress", nil)
		req.Header.Set("Authorization", "Bearer "+f.Admin.Token)
		t0 := time.Now()
		resp, err := f.App.Test(req, -1)
		lat[i] = time.Since(t0)
		if err != nil || resp.StatusCode != 200 {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
}

// BenchmarkProgress1k and BenchmarkProgress50k read GET /progress with
// 1,000 and 50,000 attendance records stored: the p50s should match.
func BenchmarkProgress1k(b *testing.B)  { benchProgress(b, 1000) }
func BenchmarkProgress50k(b *testing.B) { benchProgress(b, 50000) }

// BenchmarkRosterSearch searches 15,000 trainees through GET /trainees?q=
// as the roll call does: by full name, surname alone (the largest
// bucket), given name, whole phone, the phone's or the ID number's last 4.
// It reports the p50 and p99 latency.
func BenchmarkRosterSearch(b *testing.B) {
	f := newFixture(b)
	seed, err := SeedCounty(f.Ctx, f.s, f.mc, 15000, 0, 0, f.now)
	if err != nil {
		b.Fatal(err)
	}
	trainer := f.NewCaller(server.RoleTrainer, "")
	queries := make([]string, 0, 600)
	for i := 0; i < 100; i++ {
		t := seed.Trainees[(i*149)%len(seed.Trainees)]
		name := []rune(t.Name)
		queries = append(queries, t.Name, string(name[:1]), string(name[1:]), t.Phone, t.Phone[7:], t.IDMasked[14:])
	}
	lat := make([]time.Duration, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		q := queries[i%len(queries)]
		req := httptest.NewRequest("GET", "/api/v1/trainees?limit=20&q="+url.QueryEscape(q), nil)
		req.Header.Set("Authorization", "Bearer "+trainer.Token)
		t0 := time.Now()
		resp, err := f.App.Test(req, -1)
		lat[i] = time.Since(t0)
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("search %q: %v %v", q, err, resp.StatusCode)
		}
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// cpuTime is the CPU time this process has used (user + system): the
// check-in cost that does not depend on how busy the machine is.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkImport5k uploads a 5,000-row roster workbook (title row, 序号,
// two sheets) through the real handler: preview (writes nothing) and
// commit (registers 5,000 trainees into an empty county). It reports the
// seconds per import and the peak Go heap during it (sampled every 2 ms)
// with the process's peak RSS. Targets: preview < 3 s, commit < 10 s,
// memory < 200 MiB.
func BenchmarkImport5k(b *testing.B) {
	for _, mode := range []string{"preview", "commit"} {
		b.Run(mode, func(b *testing.B) {
			var secs, peak float64
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				f := newFixture(b)
				admin := f.NewCaller(server.RoleAdmin, "")
				data := sheetstest.RosterXLSX(b, f.roster(5000), sheetstest.XLSXOptions{Title: "会泽县电商培训花名册", Sheets: 2})
				body, ct := testkit.Multipart("花名册.xlsx", data, nil)
				path := "/api/v1/trainees/import"
				if mode == "preview" {
					path += "?preview=1"
				}
				req := httptest.NewRequest("POST", path, body)
				req.Header.Set("Content-Type", ct)
				runtime.GC()
				var base runtime.MemStats
				runtime.ReadMemStats(&base)
				stop := make(chan struct{})
				var maxHeap atomic.Uint64
				go func() {
					var m runtime.MemStats
					for {
						select {
						case <-stop:
							return
						case <-time.After(2 * time.Millisecond):
							runtime.ReadMemStats(&m)
							if m.HeapInuse > maxHeap.Load() {
								maxHeap.Store(m.HeapInuse)
							}
						}
					}
				}()
				b.StartTimer()
				t0 := time.Now()
				r := f.Send(admin, req)
				el := time.Since(t0)
				b.StopTimer()
				close(stop)
				var res ImportResult
				if r.Status != 200 || json.Unmarshal(r.Body, &res) != nil || res.Created != 5000 {
					b.Fatalf("import: %d %.300s", r.Status, r.Body)
				}
				secs += el.Seconds()
				peak = max(peak, float64(maxHeap.Load()-min(maxHeap.Load(), base.HeapInuse))/(1<<20))
			}
			b.ReportMetric(secs/float64(b.N), "s/import")
			b.ReportMetric(peak, "peakHeap-MiB")
			b.ReportMetric(peakRSSMiB(), "peakRSS-MiB")
		})
	}
}

// peakRSSMiB reads the process's VmHWM in MiB (0 where /proc is absent).
func peakRSSMiB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb float64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), &kb)
			return kb / 1024
		}
	}
	return 0
}
