// Command scale measures nongxun at county sizes: for each scale it starts
// the real binary on a fresh DATA_DIR, loads the demo county at that scale
// through the API (`nongxun demo --scale S`), and measures the pages'
// requests (p50 of 30 after 3 warm-ups), the server's RSS, a backup and a
// restore (time and peak RSS) and the start-up after a clean stop.
//
//	go run ./bench/scale -scales 1,6 -out bench/scale.md
//
// Scale 1 is a county mid-programme (about 2,400 trainees); scale 6 is the
// volume of a three-year county (about 15,000 trainees). `make bench-scale`
// runs it; it takes tens of minutes, so it is not part of `make bench`.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const password = "Scale-Bench-2026!"

type server struct {
	bin, dir string
	port     int
	cmd      *exec.Cmd
	token    string
}

func main() {
	scales := flag.String("scales", "1,6", "comma-separated demo scales")
	out := flag.String("out", "bench/scale.md", "where the table goes")
	flag.Parse()
	tmp, err := os.MkdirTemp("", "nx-scale")
	check(err)
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "nongxun")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	check(build.Run())

	var cols []string
	rows := map[string]map[string]string{}
	var order []string
	put := func(scale, name, v string) {
		if rows[name] == nil {
			rows[name] = map[string]string{}
			order = append(order, name)
		}
		rows[name][scale] = v
	}
	for _, sc := range strings.Split(*scales, ",") {
		sc = strings.TrimSpace(sc)
		cols = append(cols, sc)
		s := &server{bin: bin, dir: filepath.Join(tmp, "data-"+sc)}
		fmt.Fprintf(os.Stderr, "== scale %s\n", sc)
		s.start()
		began := time.Now()
		demo := exec.Command(bin, "demo", "--scale", sc)
		demo.Env = append(os.Environ(), "DATA_DIR="+s.dir)
		var said bytes.Buffer
		demo.Stdout, demo.Stderr = &said, &said
		if err := demo.Run(); err != nil {
			os.Stderr.Write(said.Bytes())
			panic(err)
		}
		put(sc, "demo load through the API (s)", fmt.Sprintf("%.0f", time.Since(began).Seconds()))
		for _, line := range strings.Split(said.String(), "\n") {
			if strings.HasPrefix(line, "乡镇（街道）") {
				put(sc, "what the demo loaded", line)
			}
		}
		s.login()

		var prog struct {
			PersonTimes int64 `json:"person_times"`
			Trainees    int64 `json:"trainees"`
			Registered  int64 `json:"registered"`
		}
		s.get("/api/v1/progress", &prog)
		put(sc, "trainees registered", strconv.FormatInt(prog.Registered, 10))
		put(sc, "person-times (attendance records)", strconv.FormatInt(prog.PersonTimes, 10))
		var courses []struct {
			ID string `json:"id"`
		}
		s.get("/api/v1/courses", &courses)
		put(sc, "courses", strconv.Itoa(len(courses)))

		month := time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01")
		paths := []string{
			"/api/v1/progress",
			"/api/v1/reports/dashboard",
			"/api/v1/courses",
			"/api/v1/trainees?limit=50",
			"/api/v1/trainees?limit=20&q=" + "%E6%9D%8E", // 李
			"/api/v1/conversion",
			"/api/v1/followups/tasks",
			"/api/v1/stations",
			"/api/v1/stations/coverage",
			"/api/v1/funds/summary",
			"/api/v1/reports/monthly?month=" + month + "&format=json",
			"/api/v1/public/summary",
		}
		if len(courses) > 0 {
			paths = append(paths, "/api/v1/courses/"+courses[0].ID+"/sessions", "/api/v1/courses/"+courses[0].ID+"/enrollments")
		}
		for _, p := range paths {
			name := strings.SplitN(p, "?", 2)[0]
			if len(courses) > 0 {
				name = strings.Replace(name, courses[0].ID, ":id", 1)
			}
			put(sc, "GET "+name+query(p)+" p50 (ms)", fmt.Sprintf("%.2f", s.p50(p)))
		}
		rss, hwm := s.rss()
		put(sc, "server RSS after the requests (MiB)", fmt.Sprintf("%d", rss>>20))
		put(sc, "server peak RSS so far (MiB)", fmt.Sprintf("%d", hwm>>20))

		// Backup, then the restore of it, each timed, with the peak RSS they reach.
		archive := filepath.Join(tmp, "backup-"+sc+".tar.gz")
		began = time.Now()
		s.download("/api/v1/admin/backup", archive)
		st, _ := os.Stat(archive)
		_, hwmB := s.rss()
		put(sc, "backup (s)", fmt.Sprintf("%.1f", time.Since(began).Seconds()))
		put(sc, "backup size (MiB)", fmt.Sprintf("%.1f", float64(st.Size())/(1<<20)))
		put(sc, "peak RSS by the end of the backup (MiB)", fmt.Sprintf("%d", hwmB>>20))

		// Start-up after a clean stop.
		s.stop()
		took := s.start()
		put(sc, "start-up after a clean stop to a 200 on /healthz (s)", fmt.Sprintf("%.2f", took.Seconds()))
		s.login()
		_, hwm0 := s.rss()
		began = time.Now()
		s.upload("/api/v1/admin/restore?confirm=replace-everything", archive)
		_, hwmR := s.rss()
		put(sc, "restore (s)", fmt.Sprintf("%.1f", time.Since(began).Seconds()))
		put(sc, "peak RSS during the restore (MiB)", fmt.Sprintf("%d (from %d)", hwmR>>20, hwm0>>20))
		s.login()
		put(sc, "GET /api/v1/reports/dashboard p50 after the restore (ms)", fmt.Sprintf("%.2f", s.p50("/api/v1/reports/dashboard")))
		s.stop()
	}

	var b bytes.Buffer
	fmt.Fprintf(&b, "# A county at several sizes\n\nWritten by `go run ./bench/scale` on %s UTC, go build of this checkout; do not edit by hand.\n"+
		"Each column is the demo county loaded at that scale through the API; requests are p50 of 30 after 3 warm-ups, one client, every cache on.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04"))
	fmt.Fprintf(&b, "| figure | %s |\n|---|%s\n", strings.Join(prefix(cols, "scale "), " | "), strings.Repeat("---|", len(cols)))
	for _, name := range order {
		vals := make([]string, len(cols))
		for i, c := range cols {
			vals[i] = rows[name][c]
		}
		fmt.Fprintf(&b, "| %s | %s |\n", name, strings.Join(vals, " | "))
	}
	check(os.WriteFile(*out, b.Bytes(), 0o644))
	os.Stdout.Write(b.Bytes())
}

func query(p string) string {
	if i := strings.Index(p, "?q="); i >= 0 || strings.Contains(p, "&q=") {
		return "?q=…"
	}
	return ""
}

func prefix(xs []string, p string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = p + x
	}
	return out
}

func (s *server) start() time.Duration {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	s.port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	s.cmd = exec.Command(s.bin)
	s.cmd.Env = append(os.Environ(), "DATA_DIR="+s.dir, fmt.Sprintf("PORT=%d", s.port), "ADMIN_PASSWORD="+password, "PUBLIC_URL=https://nongxun.example.cn", "LOG_LEVEL=warn", "MONGODB_URI=")
	s.cmd.Stdout, s.cmd.Stderr = io.Discard, os.Stderr
	began := time.Now()
	check(s.cmd.Start())
	for time.Since(began) < 60*time.Second {
		if r, err := http.Get(s.url("/healthz")); err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				return time.Since(began)
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	panic("no /healthz after 60 s")
}

func (s *server) stop() {
	check(s.cmd.Process.Signal(syscall.SIGTERM))
	_ = s.cmd.Wait()
}

func (s *server) url(p string) string { return fmt.Sprintf("http://127.0.0.1:%d%s", s.port, p) }

func (s *server) login() {
	body, _ := json.Marshal(map[string]string{"login": "admin", "password": password})
	r, err := http.Post(s.url("/api/v1/auth/login"), "application/json", bytes.NewReader(body))
	check(err)
	defer r.Body.Close()
	var x struct {
		Token string `json:"access_token"`
	}
	check(json.NewDecoder(r.Body).Decode(&x))
	if x.Token == "" {
		panic("login failed")
	}
	s.token = x.Token
}

func (s *server) do(method, p string, body io.Reader, ctype string) *http.Response {
	req, err := http.NewRequest(method, s.url(p), body)
	check(err)
	req.Header.Set("Authorization", "Bearer "+s.token)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	r, err := http.DefaultClient.Do(req)
	check(err)
	if r.StatusCode >= 300 {
		b, _ := io.ReadAll(r.Body)
		panic(fmt.Sprintf("%s %s: %d %s", method, p, r.StatusCode, b))
	}
	return r
}

func (s *server) get(p string, out any) {
	r := s.do("GET", p, nil, "")
	defer r.Body.Close()
	if out != nil {
		_ = json.NewDecoder(r.Body).Decode(out)
	}
}

func (s *server) p50(p string) float64 {
	var ds []float64
	for i := 0; i < 33; i++ {
		began := time.Now()
		r := s.do("GET", p, nil, "")
		_, _ = io.Copy(io.Discard, r.Body)
		r.Body.Close()
		if i >= 3 {
			ds = append(ds, float64(time.Since(began).Microseconds())/1000)
		}
	}
	sort.Float64s(ds)
	return ds[len(ds)/2]
}

func (s *server) download(p, file string) {
	r := s.do("GET", p, nil, "")
	defer r.Body.Close()
	f, err := os.Create(file)
	check(err)
	_, err = io.Copy(f, r.Body)
	check(err)
	check(f.Close())
}

func (s *server) upload(p, file string) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		part, err := mw.CreateFormFile("file", filepath.Base(file))
		if err == nil {
			var f *os.File
			if f, err = os.Open(file); err == nil {
				_, err = io.Copy(part, f)
				f.Close()
			}
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	r := s.do("POST", p, pr, mw.FormDataContentType())
	_, _ = io.Copy(io.Discard, r.Body)
	r.Body.Close()
}

// rss reads the server's resident and peak resident memory.
func (s *server) rss() (rss, hwm int64) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	check(err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 2 {
			continue
		}
		n, _ := strconv.ParseInt(fs[1], 10, 64)
		switch fs[0] {
		case "VmRSS:":
			rss = n << 10
		case "VmHWM:":
			hwm = n << 10
		}
	}
	return rss, hwm
}

func check(err error) {
	if err != nil {
		panic(err)
	}
}
