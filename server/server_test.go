package server_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"nongxun/server"
	"nongxun/store"
)

func TestMain(m *testing.M) { store.RunTests(m) }

type pinger struct{ err error }

func (p pinger) Ping(context.Context) error { return p.err }

func newApp(t *testing.T, db server.Pinger) (*fiber.App, *bytes.Buffer) {
	var logs bytes.Buffer
	app := server.New(slog.New(slog.NewJSONHandler(&logs, nil)), db)
	app.Get("/boom", func(c *fiber.Ctx) error { panic("secret panic text") })
	app.Get("/fail", func(c *fiber.Ctx) error { return errors.New("db password=hunter2 leaked") })
	app.Get("/conflict", func(c *fiber.Ctx) error { return server.Conflict("已存在") })
	app.Post("/bind", func(c *fiber.Ctx) error {
		var in struct {
			N    int      `json:"n"`
			Tags []string `json:"tags"`
		}
		if err := server.Bind(c, &in); err != nil {
			return err
		}
		return c.JSON(in)
	})
	app.Get("/item/:id", func(c *fiber.Ctx) error {
		id, err := server.ID(c, "id")
		if err != nil {
			return err
		}
		return c.SendString(id)
	})
	return app, &logs
}

func do(t *testing.T, app *fiber.App, method, path, body string) (int, string, map[string][]string) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func TestErrorsNeverLeak(t *testing.T) {
	app, logs := newApp(t, pinger{})
	for _, path := range []string{"/boom", "/fail"} {
		st, body, _ := do(t, app, "GET", path, "")
		if st != 500 || body != `{"error":{"code":"internal","message":"internal error"}}` {
			t.Fatalf("%s: %d %s", path, st, body)
		}
	}
	if !strings.Contains(logs.String(), "hunter2") || !strings.Contains(logs.String(), "request_id") {
		t.Fatal("the internal error is not logged with its request id")
	}
	st, body, _ := do(t, app, "GET", "/conflict", "")
	if st != 409 || !strings.Contains(body, `"code":"conflict"`) {
		t.Fatalf("conflict: %d %s", st, body)
	}
	st, body, _ = do(t, app, "GET", "/nowhere", "")
	if st != 404 || !strings.Contains(body, "not_found") {
		t.Fatalf("unknown route: %d %s", st, body)
	}
}

func TestBind(t *testing.T) {
	app, _ := newApp(t, pinger{})
	cases := []struct {
		body   string
		status int
		want   string
	}{
		{`{"n":3,"tags":["a"]}`, 200, `"n":3`},
		{``, 200, `"n":0`},
		{`{"n":"three"}`, 400, `"n":"应为 数字"`},
		{`{"tags":"a"}`, 400, `"tags"`},
		{`{"n":1`, 400, "invalid"},
		{`{"n":1} {"n":2}`, 400, "invalid"},
		{`"just a string"`, 400, "invalid"},
		{`{"unknown":1}`, 200, `"n":0`},
	}
	for _, tc := range cases {
		st, body, _ := do(t, app, "POST", "/bind", tc.body)
		if st != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("%.40q: %d %s", tc.body, st, body)
		}
	}
	// A body over MaxJSON, over a real connection (app.Test cannot stop mid-body).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	defer app.ShutdownWithTimeout(time.Second)
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := hc.Post("http://"+ln.Addr().String()+"/bind", "application/json", strings.NewReader(`{"n":`+strings.Repeat("1", server.MaxJSON)+`}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 413 || !strings.Contains(string(b), "too_large") {
		t.Errorf("oversized body: %d %s", resp.StatusCode, b)
	}
	if st, _, _ := do(t, app, "GET", "/item/zz", ""); st != 400 {
		t.Errorf("malformed id: %d", st)
	}
	if st, _, _ := do(t, app, "GET", "/item/"+store.NewID(), ""); st != 200 {
		t.Errorf("good id: %d", st)
	}
}

func TestHealthAndHeaders(t *testing.T) {
	app, _ := newApp(t, pinger{})
	st, body, h := do(t, app, "GET", "/healthz", "")
	if st != 200 || body != `{"status":"ok"}` {
		t.Fatalf("healthz: %d %s", st, body)
	}
	for _, k := range []string{"X-Content-Type-Options", "Content-Security-Policy", "X-Frame-Options", "X-Request-Id"} {
		if len(h[k]) == 0 {
			t.Errorf("missing header %s", k)
		}
	}
	if st, _, _ := do(t, app, "GET", "/readyz", ""); st != 200 {
		t.Fatalf("readyz: %d", st)
	}
	down, _ := newApp(t, pinger{err: errors.New("down")})
	if st, _, _ := do(t, down, "GET", "/readyz", ""); st != 503 {
		t.Fatalf("readyz with the database down: %d", st)
	}
}

func TestConfig(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	c, err := server.LoadConfig(env())
	if err != nil || c.Port != 8080 || c.DataDir != "./data" || c.MaxUpload != 512<<20 || c.FundTotalFen != 1_500_000_000 || c.PublicURL != "http://localhost:8080" {
		t.Fatalf("defaults: %+v %v", c, err)
	}
	for _, bad := range [][]string{
		{"PORT", "eighty"}, {"PORT", "70000"}, {"MONGODB_URI", "http://x"}, {"ADMIN_PASSWORD", "short"},
		{"JWT_SECRET", "short"}, {"DATA_KEY", "xyz"}, {"PUBLIC_URL", "ftp://x"}, {"MAX_UPLOAD_MB", "0"},
		{"CERT_PREFIX", "有中文"}, {"FUND_TOTAL_FEN", "-1"}, {"LOG_LEVEL", "loud"},
	} {
		_, err := server.LoadConfig(env(bad...))
		if err == nil || !strings.HasPrefix(err.Error(), bad[0]+":") {
			t.Errorf("%s=%s: error %v does not name the variable", bad[0], bad[1], err)
		}
	}
}

func TestLimiter(t *testing.T) {
	l := server.NewLimiter(3, 50*time.Millisecond)
	for i := 0; i < 3; i++ {
		if l.Hit("k") {
			t.Fatal("limited too early")
		}
	}
	if !l.Hit("k") || !l.Exceeded("k") {
		t.Fatal("not limited after the allowance")
	}
	if l.Exceeded("other") {
		t.Fatal("keys share a bucket")
	}
	time.Sleep(60 * time.Millisecond)
	if l.Exceeded("k") {
		t.Fatal("window did not end")
	}
}

func TestRandomToken(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		tok := server.RandomToken(8)
		if len(tok) < 12 || seen[tok] {
			t.Fatalf("token %q short or repeated", tok)
		}
		seen[tok] = true
	}
}

func TestClientHangupCancelsTheRequestContext(t *testing.T) {
	app, _ := newApp(t, pinger{})
	cancelled := make(chan bool, 1)
	app.Get("/slow", func(c *fiber.Ctx) error {
		select {
		case <-c.UserContext().Done():
			cancelled <- true
		case <-time.After(5 * time.Second):
			cancelled <- false
		}
		return nil
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	defer app.Shutdown()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(conn, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	conn.Close()
	if !<-cancelled {
		t.Fatal("the handler's context was not cancelled when the client hung up")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("cancelled %v after the hang-up", d)
	}
}
