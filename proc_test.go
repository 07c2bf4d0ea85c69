package main

import (
	"bytes"
	"fmt"
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

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// binary builds nongxun once per test run.
func binary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "nxbin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "nongxun")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// proc is a running nongxun process.
type proc struct {
	cmd    *exec.Cmd
	port   int
	stderr *logBuffer
}

// logBuffer is the child's stderr, written by exec's copying goroutine
// while the test reads it.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func start(t *testing.T, bin, dataDir string, port int, env ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin)
	errb := &logBuffer{}
	cmd.Stderr = errb
	cmd.Env = append(os.Environ(), append([]string{fmt.Sprintf("PORT=%d", port), "DATA_DIR=" + dataDir}, env...)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, port: port, stderr: errb}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			_ = p.cmd.Wait()
		}
	})
	return p
}

func (p *proc) url(path string) string { return fmt.Sprintf("http://127.0.0.1:%d%s", p.port, path) }

// waitHealthy polls /healthz and returns how long it took.
func (p *proc) waitHealthy(t *testing.T, began time.Time) time.Duration {
	t.Helper()
	for time.Since(began) < 30*time.Second {
		resp, err := http.Get(p.url("/healthz"))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return time.Since(began)
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("not healthy after 30 s; stderr:\n%s", p.stderr)
	return 0
}

func TestProcessLifecycle(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()
	port := freePort(t)
	began := time.Now()
	p := start(t, bin, dir, port) // no ADMIN_PASSWORD: one is generated and printed
	took := p.waitHealthy(t, began)
	t.Logf("cold start to a 200 on /healthz: %v", took)
	if !strings.Contains(p.stderr.String(), "created user admin with password") {
		t.Fatalf("generated admin password not printed:\n%s", p.stderr)
	}
	resp, err := http.Get(p.url("/"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "html") {
		t.Fatalf("login page: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	// The socket and data directory are private.
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("DATA_DIR mode %v %v", fi.Mode(), err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "db.sock")); err != nil || fi.Mode()&os.ModeSocket == 0 {
		t.Fatalf("no Unix socket in DATA_DIR: %v", err)
	}
	// A second server on the same directory is refused with a clear message.
	second := exec.Command(bin)
	second.Env = append(os.Environ(), fmt.Sprintf("PORT=%d", freePort(t)), "DATA_DIR="+dir)
	out, err := second.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "in use by another nongxun process") {
		t.Fatalf("second server on one DATA_DIR: %v\n%s", err, out)
	}
	// SIGTERM: graceful stop, lock released.
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, p.stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no exit 30 s after SIGTERM")
	}
	if !strings.Contains(p.stderr.String(), `"msg":"stopped"`) {
		t.Fatalf("no orderly stop in the log:\n%s", p.stderr)
	}
	// It starts again on the same directory, keeping the admin (no new password).
	p2 := start(t, bin, dir, port)
	p2.waitHealthy(t, time.Now())
	if strings.Contains(p2.stderr.String(), "created user admin") {
		t.Fatal("a second admin was created on restart")
	}
	// Nothing in DATA_DIR (database files, keys, the CLI token) is readable
	// by another account of the machine (L6).
	n := 0
	err = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		n++
		if info.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s is %v: readable by others", path, info.Mode().Perm())
		}
		return nil
	})
	if err != nil || n < 5 {
		t.Fatalf("walking DATA_DIR: %v (%d entries)", err, n)
	}
}

func TestRefusesUnreachableMongo(t *testing.T) {
	bin := binary(t)
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "DATA_DIR="+t.TempDir(), fmt.Sprintf("PORT=%d", freePort(t)), "MONGODB_URI=mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=500&connectTimeoutMS=500")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "MONGODB_URI: cannot reach MongoDB") {
		t.Fatalf("unreachable MongoDB: %v\n%s", err, out)
	}
}

func TestBadConfigNamesTheVariable(t *testing.T) {
	bin := binary(t)
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "PORT=eighty")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "PORT:") {
		t.Fatalf("bad PORT: %v\n%s", err, out)
	}
}
