package users_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/gofiber/fiber/v2"
	"nongxun/server"
	"nongxun/testkit"
	"nongxun/users"
)

type session struct {
	A    string `json:"access_token"`
	R    string `json:"refresh_token"`
	Must bool   `json:"must_change_password"`
	User struct{ ID, Role string }
}

func loginAs(t *testing.T, e *testkit.Env, who, pw string) session {
	t.Helper()
	var s session
	login(e, who, pw).Want(t, 200).Decode(t, &s)
	return s
}

func (s session) caller() *testkit.Caller { return &testkit.Caller{Token: s.A} }

func TestPasswordResetAndForcedChange(t *testing.T) {
	e := testkit.New(t)
	u := e.Do(e.Admin, "POST", "/api/v1/users", map[string]any{"username": "forgetful", "password": "remember-me-77", "role": "trainer", "name": "健忘"}).Want(t, 201).JSON()
	id := u["id"].(string)
	before := loginAs(t, e, "forgetful", "remember-me-77")

	r := e.Do(e.Admin, "POST", "/api/v1/users/"+id+"/password-reset", nil).Want(t, 200).JSON()
	temp, _ := r["temporary_password"].(string)
	if server.WeakPassword(temp) != "" {
		t.Fatalf("temporary password %q is weak: %s", temp, server.WeakPassword(temp))
	}
	// The old password and the old session end at once.
	login(e, "forgetful", "remember-me-77").Want(t, 401)
	e.Do(before.caller(), "GET", "/api/v1/me", nil).Want(t, 401)
	e.Do(nil, "POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": before.R}).Want(t, 401)

	s := loginAs(t, e, "forgetful", temp)
	if !s.Must {
		t.Fatal("login with a temporary password lacks must_change_password")
	}
	// Everything but the password change is forbidden, refresh included in effect.
	for _, path := range []string{"/api/v1/me", "/api/v1/regions", "/api/v1/labels"} {
		if r := e.Do(s.caller(), "GET", path, nil); r.Status != 403 || !strings.Contains(string(r.Body), server.RuleMustChangePassword) {
			t.Errorf("GET %s before the forced change: %d %s", path, r.Status, r.Body)
		}
	}
	var s2 session
	e.Do(nil, "POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": s.R}).Want(t, 200).Decode(t, &s2)
	if !s2.Must {
		t.Error("refresh forgot must_change_password")
	}
	e.Do(s2.caller(), "GET", "/api/v1/me", nil).Want(t, 403)
	e.Do(s2.caller(), "POST", "/api/v1/me/password", map[string]any{"old_password": temp, "new_password": "12345678"}).Want(t, 400)
	e.Do(s2.caller(), "POST", "/api/v1/me/password", map[string]any{"old_password": "wrong", "new_password": "brand-new-pass-9"}).Want(t, 400)
	var s3 session
	e.Do(s2.caller(), "POST", "/api/v1/me/password", map[string]any{"old_password": temp, "new_password": "brand-new-pass-9"}).Want(t, 200).Decode(t, &s3)
	if s3.Must || s3.A == "" {
		t.Fatalf("after the change: %+v", s3)
	}
	e.Do(s3.caller(), "GET", "/api/v1/me", nil).Want(t, 200)
	e.Do(s2.caller(), "GET", "/api/v1/me", nil).Want(t, 401)
	login(e, "forgetful", temp).Want(t, 401)
	loginAs(t, e, "forgetful", "brand-new-pass-9")

	// Refusals.
	e.Do(e.Admin, "POST", "/api/v1/users/"+e.Admin.User.ID+"/password-reset", nil).Want(t, 409)
	e.Do(e.Admin, "POST", "/api/v1/users/nope/password-reset", nil).Want(t, 400)
	e.Do(e.NewCaller(server.RoleTrainer, ""), "POST", "/api/v1/users/"+id+"/password-reset", nil).Want(t, 403)
	// An officer with no trainee lookup wired can reset no one.
	e.Do(e.NewCaller(server.RoleOfficer, ""), "POST", "/api/v1/users/"+id+"/password-reset", nil).Want(t, 403)
}

func TestDisableAndEnable(t *testing.T) {
	e := testkit.New(t)
	u := e.Do(e.Admin, "POST", "/api/v1/users", map[string]any{"username": "seasonal", "password": "seasonal-pass-7", "role": "auditor", "name": "临时审计"}).Want(t, 201).JSON()
	id := u["id"].(string)
	s := loginAs(t, e, "seasonal", "seasonal-pass-7")
	e.Do(e.Admin, "POST", "/api/v1/users/"+id+"/disable", nil).Want(t, 200)
	e.Do(s.caller(), "GET", "/api/v1/me", nil).Want(t, 401)
	r := login(e, "seasonal", "seasonal-pass-7").Want(t, 401)
	if !strings.Contains(string(r.Body), "账号已停用，请联系管理员") {
		t.Errorf("disabled login says %s", r.Body)
	}
	// A wrong password for a disabled account does not say it is disabled.
	if r := login(e, "seasonal", "wrong-pass-77"); strings.Contains(string(r.Body), "停用") {
		t.Errorf("a wrong password learns the account is disabled: %s", r.Body)
	}
	if r := e.Do(e.Admin, "GET", "/api/v1/users?disabled=true", nil).Want(t, 200); !strings.Contains(string(r.Body), id) {
		t.Errorf("disabled filter misses the account: %s", r.Body)
	}
	e.Do(e.Admin, "POST", "/api/v1/users/"+id+"/enable", nil).Want(t, 200)
	e.Do(s.caller(), "GET", "/api/v1/me", nil).Want(t, 401) // old tokens stay dead
	loginAs(t, e, "seasonal", "seasonal-pass-7")
	e.Do(e.Admin, "POST", "/api/v1/users/"+e.Admin.User.ID+"/disable", nil).Want(t, 409)
	e.Do(e.Admin, "POST", "/api/v1/users/6b0f531f19f2643db65b2f67/enable", nil).Want(t, 404)
}

func TestEditAccount(t *testing.T) {
	e := testkit.New(t)
	e.Users.Audit = e.Audit
	e.Users.Stations = users.StationFunc(func(_ context.Context, id string) bool { return id == "6b0f531f19f2643db65b2f00" })
	u := e.Do(e.Admin, "POST", "/api/v1/users", map[string]any{"username": "mover", "phone": "13700001111", "password": "mover-pass-77", "role": "trainer", "name": "调动"}).Want(t, 201).JSON()
	id := u["id"].(string)
	s := loginAs(t, e, "mover", "mover-pass-77")
	twp := e.Township(4).ID
	got := e.Do(e.Admin, "PATCH", "/api/v1/users/"+id, map[string]any{"role": "officer", "township_id": twp, "name": "调动后", "phone": "13700002222"}).Want(t, 200).JSON()
	if got["role"] != "officer" || got["township_id"] != twp || got["name"] != "调动后" || got["phone"] != "13700002222" {
		t.Fatalf("edited = %v", got)
	}
	// The old access token is refused; a refresh carries the new role.
	e.Do(s.caller(), "GET", "/api/v1/me", nil).Want(t, 401)
	var s2 session
	e.Do(nil, "POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": s.R}).Want(t, 200).Decode(t, &s2)
	if s2.User.Role != "officer" {
		t.Fatalf("refreshed role = %s", s2.User.Role)
	}
	// The new phone logs in, the old one no longer does and is free again.
	loginAs(t, e, "13700002222", "mover-pass-77")
	login(e, "13700001111", "mover-pass-77").Want(t, 401)
	e.Do(e.Admin, "POST", "/api/v1/users", map[string]any{"phone": "13700001111", "password": "another-pass-77", "role": "trainer", "name": "新人"}).Want(t, 201)
	// Conflicts and refusals.
	e.Do(e.Admin, "PATCH", "/api/v1/users/"+id, map[string]any{"phone": "13700001111"}).Want(t, 409)
	for name, body := range map[string]map[string]any{
		"officer without township": {"role": "officer", "township_id": ""},
		"village as township":      {"township_id": e.Village(0, 0).ID},
		"unknown station":          {"role": "station", "station_id": "6b0f531f19f2643db65b2f01"},
		"to trainee":               {"role": "trainee"},
		"bad phone":                {"phone": "123"},
		"empty name":               {"name": " "},
		"no login left":            {"username": "", "phone": ""},
		"wrong type":               {"name": 5},
	} {
		if r := e.Do(e.Admin, "PATCH", "/api/v1/users/"+id, body); r.Status != 400 {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}
	e.Do(e.Admin, "PATCH", "/api/v1/users/"+id, map[string]any{"role": "station", "station_id": "6b0f531f19f2643db65b2f00"}).Want(t, 200)
	e.Do(e.Admin, "PATCH", "/api/v1/users/"+e.Admin.User.ID, map[string]any{"role": "auditor"}).Want(t, 409)
	e.Do(e.Admin, "PATCH", "/api/v1/users/6b0f531f19f2643db65b2f67", map[string]any{"name": "x"}).Want(t, 404)
	got = e.Do(e.Admin, "GET", "/api/v1/users/"+id, nil).Want(t, 200).JSON()
	if got["role"] != "station" || got["township_id"] != nil {
		t.Fatalf("after the move to a station: %v", got)
	}
	// Every change is in the audit log.
	log := e.Do(e.Admin, "GET", "/api/v1/audit?target="+id, nil).Want(t, 200)
	if strings.Count(string(log.Body), "user.update") != 2 || !strings.Contains(string(log.Body), "user.create") {
		t.Errorf("audit log of the account: %s", log.Body)
	}
}

func TestListFilters(t *testing.T) {
	e := testkit.New(t)
	for i := 0; i < 5; i++ {
		e.Do(e.Admin, "POST", "/api/v1/users", map[string]any{"username": fmt.Sprintf("trainer%d", i), "phone": fmt.Sprintf("1360000000%d", i), "password": "listing-pass-7", "role": "trainer", "name": fmt.Sprintf("讲师%d号", i)}).Want(t, 201)
	}
	e.Do(e.Admin, "POST", "/api/v1/users", map[string]any{"username": "officerz", "password": "listing-pass-7", "role": "officer", "name": "联络员", "township_id": e.Township(2).ID}).Want(t, 201)
	count := func(q string) int {
		var r struct{ Items []map[string]any }
		e.Do(e.Admin, "GET", "/api/v1/users?"+q, nil).Want(t, 200).Decode(t, &r)
		return len(r.Items)
	}
	cases := map[string]int{"role=trainer": 5, "q=讲师3": 1, "q=13600000004": 1, "q=TRAINER": 5, "township_id=" + e.Township(2).ID: 1,
		"role=trainer&limit=2": 2, "role=trainer&limit=2&offset=4": 1, "q=.*": 0, "disabled=false&role=officer": 1}
	for q, want := range cases {
		if n := count(q); n != want {
			t.Errorf("?%s: %d, want %d", q, n, want)
		}
	}
	for _, q := range []string{"role=king", "limit=0", "limit=1000", "offset=-1", "disabled=maybe", "q=" + strings.Repeat("长", 60)} {
		e.Do(e.Admin, "GET", "/api/v1/users?"+q, nil).Want(t, 400)
	}
	e.Do(e.NewCaller(server.RoleTrainer, ""), "GET", "/api/v1/users", nil).Want(t, 403)
}

// TestLoginLimitAcrossNodes: two app nodes (two services, each with its own
// in-process limits) on one database still give an account no more than
// AttemptsPerMinute password checks a minute: the reservation is in the
// account's document.
func TestLoginLimitAcrossNodes(t *testing.T) {
	e := testkit.New(t)
	e.Do(e.Admin, "POST", "/api/v1/users", map[string]any{"username": "target", "password": "target-pass-77", "role": "trainer", "name": "目标"}).Want(t, 201)
	other, err := users.New(e.Ctx, e.Store, server.NewTokens(e.Config.JWTSecret))
	if err != nil {
		t.Fatal(err)
	}
	nodes := []*users.Service{e.Users, other}
	var mu sync.Mutex
	checked, limited := 0, 0
	var wg sync.WaitGroup
	for i := 0; i < 60; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, err := nodes[i%2].Login(e.Ctx, "target", "wrong-pass", fmt.Sprintf("10.0.%d.%d", i%2, i))
			mu.Lock()
			defer mu.Unlock()
			switch server.ToError(err).Code {
			case server.CodeUnauthorized:
				checked++
			case server.CodeRateLimited:
				limited++
			default:
				t.Errorf("login: %v", err)
			}
		}(i)
	}
	wg.Wait()
	if checked > users.AttemptsPerMinute || checked+limited != 60 {
		t.Fatalf("two nodes: %d password checks, %d limited; want at most %d checks", checked, limited, users.AttemptsPerMinute)
	}
}

// BenchmarkGuard measures what the token guard (one read of the account by
// _id per request) adds to an authenticated request.
func BenchmarkGuard(b *testing.B) {
	e := testkit.New(b)
	e.API.Get("/ping", server.Require(server.Roles...), func(c *fiber.Ctx) error { return c.SendString("ok") })
	for _, on := range []bool{false, true} {
		name := "without"
		if on {
			name = "with"
		}
		b.Run(name, func(b *testing.B) {
			e.Tokens.SetGuard(nil)
			if on {
				if _, err := users.New(e.Ctx, e.Store, e.Tokens); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				e.Do(e.Admin, "GET", "/api/v1/ping", nil).Want(b, 200)
			}
		})
	}
}
