// Package e2e runs the real nongxun binary on a temporary data directory
// and drives it over HTTP and through headless Chromium (chromedp), at a
// 360×740 phone viewport and a desktop one. Screenshots go to
// artifacts/e2e/ at the repository root.
package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// app is the running binary every test of the package shares.
type app struct {
	base    string
	dataDir string
	cmd     *exec.Cmd
	log     *bytes.Buffer
	admin   string // admin's access token
}

var (
	theApp    *app
	appErr    error
	appOnce   sync.Once
	root      string // repository root
	artifacts string
)

const adminPassword = "e2e-admin-password"

func TestMain(m *testing.M) {
	if _, err := os.Stat(chromiumPath); err != nil {
		fmt.Println("e2e: no " + chromiumPath + ": install Debian chromium (scripts/deps.sh does it)")
		os.Exit(1)
	}
	wd, _ := os.Getwd()
	root = filepath.Dir(wd)
	artifacts = filepath.Join(root, "artifacts", "e2e")
	code := m.Run()
	if theApp != nil {
		theApp.stop()
	}
	os.Exit(code)
}

// lockedBuffer is the server's stderr, read by a failing test.
type lockedBuffer struct {
	mu sync.Mutex
	bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.Buffer.Write(p)
}

// startApp builds nongxun (the same build() main runs) and starts it on
// 127.0.0.1 with a fresh DATA_DIR; the demo county is loaded.
func startApp(t *testing.T) *app {
	t.Helper()
	appOnce.Do(func() { theApp, appErr = launch() })
	if appErr != nil {
		t.Fatalf("starting the app: %v", appErr)
	}
	return theApp
}

func launch() (*app, error) {
	dir, err := os.MkdirTemp("", "nx-e2e")
	if err != nil {
		return nil, err
	}
	bin := filepath.Join(dir, "nongxun")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	a := &app{base: fmt.Sprintf("http://127.0.0.1:%d", port), dataDir: filepath.Join(dir, "data")}
	logBuf := &lockedBuffer{}
	a.cmd = exec.Command(bin)
	a.cmd.Env = append(os.Environ(), "DATA_DIR="+a.dataDir, fmt.Sprintf("PORT=%d", port), "ADMIN_PASSWORD="+adminPassword,
		"PUBLIC_URL="+a.base, "LOG_LEVEL=warn", "MONGODB_URI=")
	a.cmd.Stdout, a.cmd.Stderr = logBuf, logBuf
	a.log = &logBuf.Buffer
	if err := a.cmd.Start(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		r, err := http.Get(a.base + "/healthz")
		if err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			a.stop()
			return nil, fmt.Errorf("no /healthz after 60 s: %s", logBuf.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	var login struct {
		AccessToken string `json:"access_token"`
	}
	if st, body := a.call("", "POST", "/api/v1/auth/login", map[string]any{"login": "admin", "password": adminPassword}, &login); st != 200 {
		a.stop()
		return nil, fmt.Errorf("admin login: %d %s", st, body)
	}
	a.admin = login.AccessToken
	if st, body := a.call(a.admin, "POST", "/api/v1/regions/demo", map[string]any{}, nil); st != 200 && st != 201 {
		a.stop()
		return nil, fmt.Errorf("demo county: %d %s", st, body)
	}
	return a, nil
}

func (a *app) stop() {
	if a.cmd != nil && a.cmd.Process != nil {
		_ = a.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = a.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = a.cmd.Process.Kill()
		}
	}
	_ = os.RemoveAll(filepath.Dir(a.dataDir))
}

// call sends JSON with token and decodes the answer into out; it returns the status and the raw body.
func (a *app) call(token, method, path string, in, out any) (int, string) {
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, a.base+path, body)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		_ = json.Unmarshal(b, out)
	}
	return resp.StatusCode, string(b)
}

// must is call that fails the test on any status but want.
func (a *app) must(t *testing.T, token, method, path string, in, out any, want ...int) string {
	t.Helper()
	st, body := a.call(token, method, path, in, out)
	for _, w := range want {
		if st == w {
			return body
		}
	}
	t.Fatalf("%s %s: %d %s", method, path, st, body)
	return body
}

// login returns an access token for login/password.
func (a *app) login(t *testing.T, login, password string) string {
	t.Helper()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	a.must(t, "", "POST", "/api/v1/auth/login", map[string]any{"login": login, "password": password}, &out, 200)
	return out.AccessToken
}

type region struct {
	ID, Name, Level, ParentID string
}

func (a *app) regions(t *testing.T) []region {
	t.Helper()
	var rs []struct {
		ID       string `json:"id"`
		Name     string `json:"name"`
		Level    string `json:"level"`
		ParentID string `json:"parent_id"`
	}
	a.must(t, a.admin, "GET", "/api/v1/regions", nil, &rs, 200)
	out := make([]region, len(rs))
	for i, r := range rs {
		out[i] = region{r.ID, r.Name, r.Level, r.ParentID}
	}
	return out
}

// idNumber makes a woman's resident ID number (even 17th digit) with a valid
// GB 11643-1999 check digit.
func idNumber(seq int) string {
	base := fmt.Sprintf("530326199%d0101%03d", seq%10, (seq*2)%1000)
	w := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i := 0; i < 17; i++ {
		sum += int(base[i]-'0') * w[i]
	}
	return base + string("10X98765432"[sum%11])
}

func shanghaiMonth() string {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		loc = time.FixedZone("CST", 8*3600)
	}
	return time.Now().In(loc).Format("2006-01")
}

func contains(s string, subs ...string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}
