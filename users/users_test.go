package users_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"nongxun/server"
	"nongxun/store"
	"nongxun/testkit"
)

func TestMain(m *testing.M) { store.RunTests(m) }

func login(e *testkit.Env, who, pw string) *testkit.Response {
	return e.Do(nil, "POST", "/api/v1/auth/login", map[string]string{"login": who, "password": pw})
}

func TestLoginRefreshLogout(t *testing.T) {
	e := testkit.New(t)
	r := e.Do(e.Admin, "POST", "/api/v1/users", map[string]any{"username": "trainer1", "phone": "13912345678", "password": "secret-pass", "role": "trainer", "name": "李老师"}).Want(t, 201)
	if strings.Contains(string(r.Body), "password") {
		t.Fatalf("user body leaks the password hash: %s", r.Body)
	}
	for _, who := range []string{"trainer1", "13912345678"} {
		var s struct {
			AccessToken, RefreshToken string `json:"-"`
			A                         string `json:"access_token"`
			R                         string `json:"refresh_token"`
			ExpiresIn                 int    `json:"expires_in"`
			User                      struct{ ID, Role, Name string }
		}
		login(e, who, "secret-pass").Want(t, 200).Decode(t, &s)
		if s.A == "" || s.R == "" || s.ExpiresIn != 900 || s.User.Role != "trainer" || s.User.Name != "李老师" {
			t.Fatalf("login by %s = %+v", who, s)
		}
		me := e.Do(&testkit.Caller{Token: s.A}, "GET", "/api/v1/me", nil).Want(t, 200).JSON()
		if me["role"] != "trainer" {
			t.Fatalf("me = %v", me)
		}
		// Rotation: the refresh token works once and hands back a new pair.
		var s2 struct {
			A string `json:"access_token"`
			R string `json:"refresh_token"`
		}
		e.Do(nil, "POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": s.R}).Want(t, 200).Decode(t, &s2)
		if s2.R == s.R || s2.A == "" {
			t.Fatal("refresh did not rotate")
		}
		// Reuse of the first token: refused, and the whole family is revoked.
		if r := e.Do(nil, "POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": s.R}); r.Status != 401 {
			t.Fatalf("reused refresh token: %d", r.Status)
		}
		if r := e.Do(nil, "POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": s2.R}); r.Status != 401 {
			t.Fatalf("token of a revoked family: %d", r.Status)
		}
	}
	// Logout revokes.
	var s struct {
		R string `json:"refresh_token"`
	}
	login(e, "trainer1", "secret-pass").Want(t, 200).Decode(t, &s)
	e.Do(nil, "POST", "/api/v1/auth/logout", map[string]string{"refresh_token": s.R}).Want(t, 200)
	e.Do(nil, "POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": s.R}).Want(t, 401)
}

func TestRefreshTokenUsedTwiceConcurrently(t *testing.T) {
	e := testkit.New(t)
	e.Do(e.Admin, "POST", "/api/v1/users", map[string]any{"username": "racer", "password": "secret-pass", "role": "auditor", "name": "审计"}).Want(t, 201)
	var s struct {
		R string `json:"refresh_token"`
	}
	login(e, "racer", "secret-pass").Want(t, 200).Decode(t, &s)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if e.Do(nil, "POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": s.R}).Status == 200 {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if ok != 1 {
		t.Fatalf("%d of 8 concurrent refreshes succeeded, want exactly 1", ok)
	}
}

func TestLoginFailuresAndRateLimit(t *testing.T) {
	e := testkit.New(t)
	e.Do(e.Admin, "POST", "/api/v1/users", map[string]any{"username": "officer1", "password": "secret-pass", "role": "officer", "name": "王", "township_id": e.Township(1).ID}).Want(t, 201)
	for _, tc := range []struct{ login, pw string }{{"officer1", "wrong-pass"}, {"nobody", "secret-pass"}, {"", ""}} {
		r := login(e, tc.login, tc.pw)
		if r.Status != 401 && r.Status != 400 {
			t.Fatalf("login %q: %d", tc.login, r.Status)
		}
	}
	for i := 0; i < 10; i++ {
		login(e, "officer1", "wrong-pass")
	}
	r := login(e, "officer1", "secret-pass")
	if r.Status != 429 || r.ErrCode() != "rate_limited" {
		t.Fatalf("11th attempt within a minute: %d %s", r.Status, r.Body)
	}
}

func TestCreateUserRules(t *testing.T) {
	e := testkit.New(t)
	trainer := e.NewCaller(server.RoleTrainer, "")
	valid := map[string]any{"username": "newuser", "password": "secret-pass", "role": "trainer", "name": "张三"}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for a, b := range valid {
			m[a] = b
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	cases := []struct {
		name   string
		caller *testkit.Caller
		body   any
		status int
		field  string
	}{
		{"no token", nil, valid, 401, ""},
		{"trainer may not", trainer, valid, 403, ""},
		{"short password", e.Admin, with("password", "short"), 400, "password"},
		{"bad role", e.Admin, with("role", "king"), 400, "role"},
		{"bad phone", e.Admin, with("phone", "12345"), 400, "phone"},
		{"no name", e.Admin, with("name", nil), 400, "name"},
		{"officer without township", e.Admin, with("role", "officer"), 400, "township_id"},
		{"officer with a village", e.Admin, map[string]any{"username": "officer2", "password": "secret-pass", "role": "officer", "name": "x", "township_id": e.Village(0, 0).ID}, 400, "township_id"},
		{"station without station", e.Admin, with("role", "station"), 400, "station_id"},
		{"wrong type", e.Admin, with("name", 12), 400, "name"},
		{"malformed json", e.Admin, `{"username":`, 400, ""},
		{"array body", e.Admin, `[1,2]`, 400, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.Do(tc.caller, "POST", "/api/v1/users", tc.body)
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tc.status, r.Body)
			}
			if tc.field != "" {
				f, _ := r.JSON()["error"].(map[string]any)["fields"].(map[string]any)
				if f[tc.field] == nil {
					t.Fatalf("fields lack %s: %s", tc.field, r.Body)
				}
			}
		})
	}
	e.Do(e.Admin, "POST", "/api/v1/users", valid).Want(t, 201)
	if r := e.Do(e.Admin, "POST", "/api/v1/users", valid); r.Status != 409 {
		t.Fatalf("duplicate username: %d", r.Status)
	}
	list := e.Do(e.Admin, "GET", "/api/v1/users?role=trainer", nil).Want(t, 200).JSON()
	if n := len(list["items"].([]any)); n != 2 {
		t.Fatalf("trainers listed: %d", n)
	}
}

func TestTokensRejected(t *testing.T) {
	e := testkit.New(t)
	p := e.Admin.User.Principal()
	forge := func(method jwt.SigningMethod, key any, exp time.Time) string {
		c := jwt.MapClaims{"sub": p.UserID, "role": "admin", "iss": "nongxun", "exp": exp.Unix(), "iat": time.Now().Unix(), "ver": p.TokenVersion}
		s, err := jwt.NewWithClaims(method, c).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	secret := e.Config.JWTSecret
	good := forge(jwt.SigningMethodHS256, secret, time.Now().Add(time.Minute))
	e.Do(&testkit.Caller{Token: good}, "GET", "/api/v1/me", nil).Want(t, 200)
	bad := map[string]string{
		"expired":     forge(jwt.SigningMethodHS256, secret, time.Now().Add(-time.Minute)),
		"other key":   forge(jwt.SigningMethodHS256, []byte("another-secret-another-secret-123"), time.Now().Add(time.Minute)),
		"HS512":       forge(jwt.SigningMethodHS512, secret, time.Now().Add(time.Minute)),
		"alg none":    forge(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, time.Now().Add(time.Minute)),
		"tampered":    good[:len(good)-3] + "abc",
		"garbage":     "not-a-token",
		"empty roles": forgeRole(t, secret, p.UserID, "root"),
	}
	for name, tok := range bad {
		if r := e.Do(&testkit.Caller{Token: tok}, "GET", "/api/v1/me", nil); r.Status != 401 || r.ErrCode() != "unauthorized" {
			t.Errorf("%s token: %d %s", name, r.Status, r.Body)
		}
	}
	if r := e.Do(nil, "GET", "/api/v1/me", nil); r.Status != 401 {
		t.Errorf("no token: %d", r.Status)
	}
}

func forgeRole(t *testing.T, secret []byte, sub, role string) string {
	c := jwt.MapClaims{"sub": sub, "role": role, "iss": "nongxun", "exp": time.Now().Add(time.Minute).Unix()}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(secret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestEnsureAdmin(t *testing.T) {
	e := testkit.New(t)
	// testkit made an admin already: nothing is generated.
	if pw, err := e.Users.EnsureAdmin(e.Ctx, ""); err != nil || pw != "" {
		t.Fatalf("with an admin present: %q %v", pw, err)
	}
}

func TestDisableEndsAccess(t *testing.T) {
	e := testkit.New(t)
	e.Do(e.Admin, "POST", "/api/v1/users", map[string]any{"username": "leaver", "password": "secret-pass", "role": "trainer", "name": "离职"}).Want(t, 201)
	var s struct {
		R    string `json:"refresh_token"`
		User struct{ ID string }
	}
	login(e, "leaver", "secret-pass").Want(t, 200).Decode(t, &s)
	e.Do(e.Admin, "POST", "/api/v1/users/"+s.User.ID+"/disable", map[string]any{}).Want(t, 200)
	login(e, "leaver", "secret-pass").Want(t, 401)
	e.Do(nil, "POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": s.R}).Want(t, 401)
	e.Do(e.Admin, "POST", "/api/v1/users/not-an-id/disable", map[string]any{}).Want(t, 400)
}
