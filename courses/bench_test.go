package courses

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"nongxun/server"
	"nongxun/store"
)

// BenchmarkListSessions lists one course's sessions over the handler with
// 500 sessions stored: "all" has every one in the listed course, "tenth" 50.
func BenchmarkListSessions(b *testing.B) {
	for _, share := range []struct {
		name string
		of   int
	}{{"all500", 1}, {"tenth_of_500", 10}} {
		b.Run(share.name, func(b *testing.B) {
			f := newFixture(b)
			var ids []string
			for i := 0; i < share.of; i++ {
				ids = append(ids, f.course(f.Admin, true))
			}
			docs := make([]any, 500)
			start := time.Now().Add(24 * time.Hour)
			twp := f.Township(0).ID
			for i := range docs {
				s := start.Add(time.Duration(i) * 3 * time.Hour)
				docs[i] = Session{ID: store.NewID(), CourseID: ids[i%share.of], StartsAt: s, EndsAt: s.Add(2 * time.Hour), Location: "乡政府会议室",
					RegionID: f.Village(0, 0).ID, TownshipID: twp, TrainerID: f.trainer.User.ID, Capacity: 40, CreatedAt: time.Now()}
			}
			if _, err := f.svc.sessions.InsertMany(f.Ctx, docs); err != nil {
				b.Fatal(err)
			}
			// Stored behind the service's back: the repair lists them.
			if _, err := f.svc.RepairLists(f.Ctx); err != nil {
				b.Fatal(err)
			}
			path := "/api/v1/courses/" + ids[0] + "/sessions"
			want := 500 / share.of
			times := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				r := f.Do(f.trainee, "GET", path, nil)
				times = append(times, time.Since(t0))
				if r.Status != 200 || bytes.Count(r.Body, []byte(`"course_id"`)) != want {
					b.Fatalf("status %d, %d sessions", r.Status, bytes.Count(r.Body, []byte(`"course_id"`)))
				}
			}
			reportPercentiles(b, times, "ms")
		})
	}
}

func reportPercentiles(b *testing.B, times []time.Duration, unit string) {
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	at := func(q float64) float64 {
		d := times[int(q*float64(len(times)-1))]
		return float64(d) / float64(time.Millisecond)
	}
	b.ReportMetric(at(0.5), "p50_"+unit)
	b.ReportMetric(at(0.95), "p95_"+unit)
}

// uploadMB is the size of the large-file benchmarks: NX_BENCH_UPLOAD_MB or 300.
func uploadMB(b *testing.B) int64 {
	if v := os.Getenv("NX_BENCH_UPLOAD_MB"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			b.Fatalf("NX_BENCH_UPLOAD_MB: %q", v)
		}
		return n
	}
	return 300
}

// genReader yields n bytes of an MP4-looking file that differs per seed, without holding it.
type genReader struct {
	n, off int64
	seed   byte
}

func (g *genReader) Read(p []byte) (int, error) {
	if g.off >= g.n {
		return 0, io.EOF
	}
	if int64(len(p)) > g.n-g.off {
		p = p[:g.n-g.off]
	}
	for i := range p {
		p[i] = byte((g.off+int64(i))*31) ^ g.seed
	}
	if g.off == 0 && len(p) >= 16 {
		copy(p, "\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00")
	}
	g.off += int64(len(p))
	return len(p), nil
}

// procKB reads a "VmXxx:   123 kB" line of /proc/self/status.
func procKB(b *testing.B, key string) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Skip("no /proc/self/status")
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// serve runs the fixture's app on a loopback port.
func serve(b *testing.B, f *fixture) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = f.App.Listener(ln) }()
	b.Cleanup(func() { _ = f.App.Shutdown() })
	return "http://" + ln.Addr().String()
}

// BenchmarkUploadLarge uploads a large file over loopback and reports the
// peak RSS growth of the process (server and engine) and the throughput.
func BenchmarkUploadLarge(b *testing.B) {
	f := newFixture(b)
	f.svc.d.Config.MaxUpload = 1 << 40
	cid := f.course(f.trainer, true)
	base := serve(b, f)
	size := uploadMB(b) << 20
	b.SetBytes(size)
	var growth int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		// Reset the peak (VmHWM) to the current RSS, so the growth is this upload's.
		before := procKB(b, "VmRSS")
		if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
			b.Logf("cannot reset VmHWM (%v): the growth is measured against the earlier peak", err)
			before = procKB(b, "VmHWM")
		}
		b.StartTimer()
		pr, pw := io.Pipe()
		mw := multipart.NewWriter(pw)
		go func(seed byte) {
			w, _ := mw.CreateFormFile("file", "大视频.mp4")
			_, err := io.Copy(w, &genReader{n: size, seed: seed})
			if err == nil {
				err = mw.Close()
			}
			pw.CloseWithError(err)
		}(byte(i))
		req, _ := http.NewRequest("POST", base+"/api/v1/courses/"+cid+"/materials", pr)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Authorization", "Bearer "+f.trainer.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 201 {
			b.Fatalf("upload: %d %s", resp.StatusCode, body)
		}
		b.StopTimer()
		if g := procKB(b, "VmHWM") - before; g > growth {
			growth = g
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(growth)/1024, "peakRSS_growth_MiB")
}

// BenchmarkRangeFromMiddle asks for 1 MiB from the middle of a large
// material over loopback and reports the time to the first byte; it also
// reports the throughput of one whole download.
func BenchmarkRangeFromMiddle(b *testing.B) {
	f := newFixture(b)
	f.svc.d.Config.MaxUpload = 1 << 40
	cid := f.course(f.trainer, true)
	size := uploadMB(b) << 20
	up, err := f.svc.receive(context.Background(), "大视频.mp4", &genReader{n: size, seed: 7})
	if err != nil {
		b.Fatal(err)
	}
	m, err := f.svc.addMaterial(context.Background(), &server.Principal{UserID: f.trainer.User.ID, Role: server.RoleTrainer}, &Course{ID: cid}, up, false)
	if err != nil {
		b.Fatal(err)
	}
	base := serve(b, f)
	url := base + "/api/v1/materials/" + m.ID
	get := func(rng string) (*http.Response, time.Duration) {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+f.trainer.Token)
		if rng != "" {
			req.Header.Set("Range", rng)
		}
		t0 := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		br := bufio.NewReader(resp.Body)
		if _, err := br.Peek(1); err != nil {
			b.Fatal(err)
		}
		ttfb := time.Since(t0)
		n, _ := io.Copy(io.Discard, br)
		resp.Body.Close()
		resp.ContentLength = n
		return resp, ttfb
	}
	t0 := time.Now()
	resp, _ := get("")
	if resp.StatusCode != 200 || resp.ContentLength != size {
		b.Fatalf("full download: %d, %d bytes", resp.StatusCode, resp.ContentLength)
	}
	mibps := float64(size) / (1 << 20) / time.Since(t0).Seconds()
	mid := size / 2
	rng := fmt.Sprintf("bytes=%d-%d", mid, mid+(1<<20)-1)
	times := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		resp, ttfb := get(rng)
		if resp.StatusCode != 206 || resp.ContentLength != 1<<20 {
			b.Fatalf("range: %d, %d bytes", resp.StatusCode, resp.ContentLength)
		}
		times = append(times, ttfb)
	}
	reportPercentiles(b, times, "ttfb_ms")
	b.ReportMetric(mibps, "download_MiB/s")
}
