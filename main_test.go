package main

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"nongxun/server"
	"nongxun/store"
	"nongxun/users"
)

func TestMain(m *testing.M) { store.RunTests(m) }

// testAppF is testApp for fuzz targets.
func testAppF(f *testing.F) (*fiber.App, *server.Tokens, *store.Store, server.Config) {
	return testApp(f, nil)
}

// testApp builds the whole app, exactly as main does, on a fresh database.
func testApp(t testing.TB, log *slog.Logger) (*fiber.App, *server.Tokens, *store.Store, server.Config) {
	t.Helper()
	st := store.MustOpenTest(t)
	dir := t.TempDir()
	cfg, err := server.LoadConfig(func(k string) string {
		switch k {
		case "DATA_DIR":
			return dir
		case "ADMIN_PASSWORD":
			return "admin-password-1"
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.EnsureSecrets(); err != nil {
		t.Fatal(err)
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	// build prints nothing when ADMIN_PASSWORD is set.
	app, tokens, err := build(context.Background(), cfg, st, log)
	if err != nil {
		t.Fatal(err)
	}
	return app, tokens, st, cfg
}

// roleTokens makes one real user per role and signs a token for each.
func roleTokens(t testing.TB, st *store.Store, tokens *server.Tokens, township string) map[string]string {
	t.Helper()
	us, err := users.New(context.Background(), st, tokens)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for i, role := range server.Roles {
		n := users.NewUser{Username: "matrix" + role, Password: "password-123", Role: role, Name: role}
		if role == server.RoleTrainee {
			n.Username, n.Phone = "", "1370000000"+string(rune('0'+i))
		}
		if role == server.RoleOfficer {
			n.TownshipID = township
		}
		if role == server.RoleStation {
			n.StationID = store.NewID()
		}
		u, err := us.Create(context.Background(), n)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := tokens.Issue(u.Principal())
		if err != nil {
			t.Fatal(err)
		}
		out[role] = tok
	}
	return out
}

func fillParams(path string) string {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, ":") || p == "*" {
			switch strings.TrimSuffix(strings.TrimPrefix(p, ":"), "?") {
			case "waybill":
				parts[i] = "SF1234567890"
			case "code":
				parts[i] = "ABCDEFGHJKLM"
			case "month":
				parts[i] = "2019-05"
			default:
				parts[i] = store.NewID()
			}
		}
	}
	return strings.Join(parts, "/")
}

// TestAuthorizationMatrix calls every API route as every role and with no
// token, and checks the outcome against the access table: a role outside
// the route's list is refused by its role (403) or, without a token, 401;
// a role inside is never refused for its role. A route missing from the
// table fails the test, so every new route must declare who may call it.
func TestAuthorizationMatrix(t *testing.T) {
	app, tokens, st, _ := testApp(t, nil)
	township := store.NewID()
	toks := roleTokens(t, st, tokens, township)
	seen := map[string]bool{}
	var missing []string
	for _, r := range app.GetRoutes(true) {
		if r.Method == fiber.MethodHead || r.Method == fiber.MethodConnect || r.Method == fiber.MethodTrace || r.Method == fiber.MethodOptions {
			continue
		}
		key := r.Method + " " + r.Path
		if seen[key] || (!strings.HasPrefix(r.Path, "/api/") && !publicPages[key]) {
			continue
		}
		seen[key] = true
		allowed, ok := access[key]
		url := fillParams(r.Path)
		if !ok {
			missing = append(missing, key+"  (observed: "+observe(t, app, r.Method, url, toks)+")")
			continue
		}
		for _, role := range append([]string{"none"}, server.Roles...) {
			req := httptest.NewRequest(r.Method, url, strings.NewReader("{}"))
			req.Header.Set("Content-Type", "application/json")
			if role != "none" {
				req.Header.Set("Authorization", "Bearer "+toks[role])
			}
			resp, err := app.Test(req, -1)
			if err != nil {
				t.Fatalf("%s as %s: %v", key, role, err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode >= 500 {
				t.Errorf("%s as %s: %d %s", key, role, resp.StatusCode, body)
				continue
			}
			roleDenied := resp.StatusCode == 403 && strings.Contains(string(body), "您的角色无权执行此操作")
			tokenDenied := resp.StatusCode == 401
			want := allows(allowed, role)
			switch {
			case want && (roleDenied || tokenDenied):
				t.Errorf("%s as %s: refused (%d %s), the table allows it", key, role, resp.StatusCode, body)
			case !want && role == "none" && !tokenDenied:
				t.Errorf("%s without a token: %d, want 401", key, resp.StatusCode)
			case !want && role != "none" && !roleDenied:
				t.Errorf("%s as %s: %d %s, want 403 for the role", key, role, resp.StatusCode, body)
			}
		}
	}
	for k := range access {
		if !seen[k] {
			t.Errorf("access table names %s, which is not a route", k)
		}
	}
	if len(missing) > 0 {
		t.Errorf("routes without an access entry (add them to access in authz_test.go):\n\t%s", strings.Join(missing, "\n\t"))
	}
}

// observe says which roles a route lets past its role check, as a hint
// for writing its access entry (to be checked against the design, not copied blindly).
func observe(t *testing.T, app *fiber.App, method, url string, toks map[string]string) string {
	var in []string
	for _, role := range append([]string{"none"}, server.Roles...) {
		req := httptest.NewRequest(method, url, strings.NewReader("{}"))
		req.Header.Set("Content-Type", "application/json")
		if role != "none" {
			req.Header.Set("Authorization", "Bearer "+toks[role])
		}
		resp, err := app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 401 && !(resp.StatusCode == 403 && strings.Contains(string(body), "您的角色无权执行此操作")) {
			in = append(in, role)
		}
	}
	return strings.Join(in, ",")
}

func allows(list []string, role string) bool {
	for _, r := range list {
		if r == role || r == public || (r == anyRole && role != "none") {
			return true
		}
	}
	return false
}
