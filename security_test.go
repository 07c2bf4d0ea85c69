package main

// Security findings of issue 15 reproduced on the whole app (build, as main
// runs it). Each test failed on the code before the fix and passes after.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"nongxun/cli"
	"nongxun/server"
	"nongxun/store"
)

// secApp is the whole app with the admin logged in through the API.
func secApp(t *testing.T) (caller, *appParts) {
	t.Helper()
	app, tokens, st, cfg := testApp(t, nil)
	p := &appParts{t: t, tokens: tokens, st: st, cfg: cfg}
	p.anon = caller{t: t, app: app}
	m := p.anon.must("POST", "/api/v1/auth/login", map[string]any{"login": "admin", "password": "admin-password-1"}, 200)
	return caller{t: t, app: app, tok: m["access_token"].(string)}, p
}

type appParts struct {
	t      *testing.T
	tokens *server.Tokens
	st     *store.Store
	cfg    server.Config
	anon   caller
}

// login logs in through the API and returns the session's body.
func (p *appParts) login(who, pw string) map[string]any {
	p.t.Helper()
	return p.anon.must("POST", "/api/v1/auth/login", map[string]any{"login": who, "password": pw}, 200)
}

func (p *appParts) as(m map[string]any) caller {
	return caller{t: p.t, app: p.anon.app, tok: m["access_token"].(string)}
}

func multipartBody(t *testing.T, fields int, size int, file []byte) (*bytes.Buffer, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for i := 0; i < fields; i++ {
		_ = mw.WriteField(fmt.Sprintf("f%d", i), strings.Repeat("x", size))
	}
	w, _ := mw.CreateFormFile("file", "regions.csv")
	_, _ = w.Write(file)
	_ = mw.Close()
	return &buf, mw.FormDataContentType()
}

// errField is the reason an error body gives for field, "" when none.
func errField(m map[string]any, field string) string {
	e, _ := m["error"].(map[string]any)
	f, _ := e["fields"].(map[string]any)
	s, _ := f[field].(string)
	return s
}

// M4: text fields ahead of the file are bounded in number and total size.
func TestSecurityUploadTextFieldsBounded(t *testing.T) {
	admin, _ := secApp(t)
	csv := []byte("code,name,level,parent_code,poverty\n")
	for _, tc := range []struct {
		name         string
		fields, size int
		want         int
	}{
		{"a few small fields", 3, 100, 200},
		{"too many fields", 40, 10, 413},
		{"too much text", 3, 30 << 10, 413},
	} {
		body, ct := multipartBody(t, tc.fields, tc.size, csv)
		req := httptest.NewRequest("POST", "/api/v1/regions/import", body)
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Authorization", "Bearer "+admin.tok)
		resp, err := admin.app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: %d, want %d: %s", tc.name, resp.StatusCode, tc.want, b)
			continue
		}
		if tc.want == 413 && (!strings.Contains(string(b), `"too_large"`) || !strings.ContainsAny(string(b), "字段文本")) {
			t.Errorf("%s: body %s, want too_large with a Chinese message", tc.name, b)
		}
	}
}

// M5: the per-account limit is reserved before the password is hashed, so
// a burst gets no more real checks than the limit; one account's failures
// do not lock out other accounts behind the same address.
func TestSecurityLoginThrottle(t *testing.T) {
	admin, p := secApp(t)
	admin.must("POST", "/api/v1/users", map[string]any{"username": "victim", "password": "victim-pass-77", "role": "trainer", "name": "受害者"}, 201)
	admin.must("POST", "/api/v1/users", map[string]any{"username": "neighbour", "password": "neighbour-pass-77", "role": "trainer", "name": "邻居"}, 201)
	var mu sync.Mutex
	counts := map[int]int{}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 50)
	for i := 0; i < 300; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			b, _ := json.Marshal(map[string]any{"login": "victim", "password": fmt.Sprintf("wrong-%d", i)})
			req := httptest.NewRequest("POST", "/api/v1/auth/login", bytes.NewReader(b))
			req.Header.Set("Content-Type", "application/json")
			resp, err := p.anon.app.Test(req, -1)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			mu.Lock()
			counts[resp.StatusCode]++
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	if counts[401] > 10 || counts[401]+counts[429] != 300 {
		t.Fatalf("300 parallel wrong passwords: %v; want at most 10 real checks (401), the rest 429", counts)
	}
	// The account is now throttled, even with its right password...
	if st, _, raw := p.anon.do("POST", "/api/v1/auth/login", map[string]any{"login": "victim", "password": "victim-pass-77"}); st != 429 {
		t.Errorf("victim right after the burst: %d %s, want 429", st, raw)
	}
	// ...but others behind the same address log in.
	p.login("admin", "admin-password-1")
	p.login("neighbour", "neighbour-pass-77")
}

// L1: disabling an account, or a password change, refuses its access tokens
// at once and ends every refresh token; the caller of a password change
// continues with a fresh pair.
func TestSecurityTokensFollowTheAccount(t *testing.T) {
	admin, p := secApp(t)
	u := admin.must("POST", "/api/v1/users", map[string]any{"username": "leaver", "password": "leaver-pass-77", "role": "trainer", "name": "离职"}, 201)
	id := u["id"].(string)
	s1 := p.login("leaver", "leaver-pass-77")
	p.as(s1).must("GET", "/api/v1/me", nil, 200)
	admin.must("POST", "/api/v1/users/"+id+"/disable", map[string]any{}, 200)
	if st, _, raw := p.as(s1).do("GET", "/api/v1/me", nil); st != 401 {
		t.Fatalf("access token of a disabled account: %d %s, want 401", st, raw)
	}
	admin.must("POST", "/api/v1/users/"+id+"/disable", map[string]any{"disabled": false}, 200)
	if st, _, _ := p.anon.do("POST", "/api/v1/auth/refresh", map[string]any{"refresh_token": s1["refresh_token"]}); st != 401 {
		t.Fatalf("refresh token from before the disable: %d, want 401", st)
	}

	mine, other := p.login("leaver", "leaver-pass-77"), p.login("leaver", "leaver-pass-77")
	res := p.as(mine).must("POST", "/api/v1/me/password", map[string]any{"old_password": "leaver-pass-77", "new_password": "another-pass-88"}, 200)
	if st, _, raw := p.as(other).do("GET", "/api/v1/me", nil); st != 401 {
		t.Errorf("other session's access token after a password change: %d %s, want 401", st, raw)
	}
	if st, _, _ := p.anon.do("POST", "/api/v1/auth/refresh", map[string]any{"refresh_token": other["refresh_token"]}); st != 401 {
		t.Errorf("other session's refresh token after a password change: %d, want 401", st)
	}
	if res["access_token"] == nil {
		t.Fatalf("password change answered %v, want a fresh session for the caller", res)
	}
	p.as(res).must("GET", "/api/v1/me", nil, 200)
	p.anon.must("POST", "/api/v1/auth/refresh", map[string]any{"refresh_token": res["refresh_token"]}, 200)
}

// L2: trivial passwords are refused wherever a password is set.
func TestSecurityWeakPasswords(t *testing.T) {
	admin, p := secApp(t)
	for _, pw := range []string{"12345678", "password", "aaaaaaaa", "qwertyui"} {
		st, m, raw := admin.do("POST", "/api/v1/users", map[string]any{"username": "weak" + pw[:2], "password": pw, "role": "trainer", "name": "弱"})
		if st != 400 || errField(m, "password") == "" {
			t.Errorf("password %q: %d %s, want 400 naming password", pw, st, raw)
		}
	}
	admin.must("POST", "/api/v1/users", map[string]any{"username": "strong", "password": "liangshi-2019", "role": "trainer", "name": "强"}, 201)
	s := p.login("strong", "liangshi-2019")
	if st, _, raw := p.as(s).do("POST", "/api/v1/me/password", map[string]any{"old_password": "liangshi-2019", "new_password": "password"}); st != 400 {
		t.Errorf("changing to a weak password: %d %s", st, raw)
	}
	_, err := server.LoadConfig(func(k string) string {
		if k == "ADMIN_PASSWORD" {
			return "12345678"
		}
		return ""
	})
	if err == nil || !strings.Contains(err.Error(), "ADMIN_PASSWORD") {
		t.Errorf("weak ADMIN_PASSWORD: %v, want an error naming the variable", err)
	}
}

// L3: a NUL byte or invalid UTF-8 in a query parameter is refused on every route.
func TestSecurityQueryBytes(t *testing.T) {
	admin, _ := secApp(t)
	for _, path := range []string{"/api/v1/regions?level=%00", "/api/v1/regions?level=%ff%fe", "/api/v1/audit?action=a%00b", "/healthz?x=%c3", "/api/v1/users?role=%00"} {
		if st, _, raw := admin.do("GET", path, nil); st != 400 {
			t.Errorf("GET %s: %d %s, want 400", path, st, raw)
		}
	}
	admin.must("GET", "/api/v1/regions?level=township", nil, 200)
}

// L4: a station account needs a station that exists.
func TestSecurityStationAccountNeedsStation(t *testing.T) {
	admin, _ := secApp(t)
	st, m, raw := admin.do("POST", "/api/v1/users", map[string]any{"username": "ghoststation", "password": "station-pass-77", "role": "station", "name": "幽灵站", "station_id": store.NewID()})
	if st != 400 || errField(m, "station_id") == "" {
		t.Fatalf("station account for a station that does not exist: %d %s", st, raw)
	}
}

// L6: the CLI's local token is short-lived and dies with the process that
// wrote it (a restart of the server refuses it).
func TestSecurityCLITokenShortLived(t *testing.T) {
	_, p := secApp(t)
	path := filepath.Join(p.cfg.DataDir, "cli.token")
	if err := cli.WriteLocalToken(path, p.tokens, 8080); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var lt struct{ Token string }
	if err := json.Unmarshal(raw, &lt); err != nil {
		t.Fatal(err)
	}
	var c jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(lt.Token, &c); err != nil {
		t.Fatal(err)
	}
	if life := time.Until(c.ExpiresAt.Time); life > 24*time.Hour {
		t.Errorf("CLI token lives %v, want hours", life.Round(time.Hour))
	}
	// The same database and secret, served by a new process: the old file's token is refused.
	app2, _, err := build(context.Background(), p.cfg, p.st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if st, _, raw := (caller{t: t, app: app2, tok: lt.Token}).do("GET", "/api/v1/users", nil); st != 401 {
		t.Errorf("CLI token of a previous start: %d %s, want 401", st, raw)
	}

	// The serving loop: the token works while serving, and is revoked and
	// its file removed at shutdown.
	loop, err := cli.StartLocalToken(path, p.tokens, 8080, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ = os.ReadFile(path)
	_ = json.Unmarshal(raw, &lt)
	live := caller{t: t, app: p.anon.app, tok: lt.Token}
	live.must("GET", "/api/v1/users", nil, 200)
	ctx, stop := context.WithCancel(context.Background())
	ended := make(chan struct{})
	go func() { loop(ctx); close(ended) }()
	stop()
	<-ended
	if st, _, raw := live.do("GET", "/api/v1/users", nil); st != 401 {
		t.Errorf("CLI token after shutdown: %d %s, want 401", st, raw)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("cli.token left behind at shutdown: %v", err)
	}
}
