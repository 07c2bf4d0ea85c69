// Package testkit gives handler tests a running API on a fresh embedded
// database: the shared middleware, authentication, users, regions (with
// the demo county) and the audit log, plus helpers to call it as any role.
package testkit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gofiber/fiber/v2"
	"nongxun/audit"
	"nongxun/regions"
	"nongxun/server"
	"nongxun/store"
	"nongxun/users"
)

// Env is one test's running API.
type Env struct {
	T       testing.TB
	Ctx     context.Context
	Store   *store.Store
	App     *fiber.App
	API     fiber.Router // /api/v1, behind Authenticate; register the package under test here
	Tokens  *server.Tokens
	Users   *users.Service
	Regions *regions.Service
	Audit   *audit.Log
	Config  server.Config
	Log     *slog.Logger
	Admin   *Caller
}

// Caller is a user with a token.
type Caller struct {
	User  *users.User
	Token string
}

var seq atomic.Int64

// New starts an Env with the demo county loaded and an admin caller.
func New(t testing.TB) *Env {
	t.Helper()
	ctx := context.Background()
	st := store.MustOpenTest(t)
	cfg, err := server.LoadConfig(func(k string) string {
		switch k {
		case "DATA_DIR":
			return t.TempDir()
		case "JWT_SECRET":
			return "test-secret-test-secret-test-secret!"
		case "DATA_KEY":
			return strings.Repeat("ab", 32)
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("NX_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	e := &Env{T: t, Ctx: ctx, Store: st, Config: cfg, Log: log, Tokens: server.NewTokens(cfg.JWTSecret)}
	e.App = server.New(log, st)
	if e.Audit, err = audit.New(ctx, st); err != nil {
		t.Fatal(err)
	}
	if e.Regions, err = regions.New(ctx, st); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Regions.LoadDemo(ctx); err != nil {
		t.Fatal(err)
	}
	if e.Users, err = users.New(ctx, st, e.Tokens); err != nil {
		t.Fatal(err)
	}
	e.API = e.App.Group("/api/v1", e.Tokens.Authenticate())
	e.Users.Register(e.API, e.Regions)
	e.Regions.Register(e.API)
	e.Audit.Register(e.API)
	e.Admin = e.NewCaller(server.RoleAdmin, "")
	return e
}

// Township returns the i-th demo township (0-22).
func (e *Env) Township(i int) regions.Region { return e.Regions.Townships(e.Ctx)[i] }

// Village returns the j-th demo village of the i-th township.
func (e *Env) Village(i, j int) regions.Region {
	t := e.Township(i)
	k := 0
	for _, v := range e.Regions.Villages(e.Ctx) {
		if v.ParentID == t.ID {
			if k == j {
				return v
			}
			k++
		}
	}
	e.T.Fatalf("no village %d in township %d", j, i)
	return regions.Region{}
}

// NewCaller creates a user of role (an officer of township scope, a station
// user of station scope) and signs a token for them.
func (e *Env) NewCaller(role, scope string) *Caller {
	e.T.Helper()
	n := seq.Add(1)
	nu := users.NewUser{Username: fmt.Sprintf("u%s%d", role, n), Password: "password-123", Role: role, Name: fmt.Sprintf("测试%s%d", role, n)}
	switch role {
	case server.RoleOfficer:
		if scope == "" {
			scope = e.Township(0).ID
		}
		nu.TownshipID = scope
	case server.RoleStation:
		if scope == "" {
			scope = store.NewID()
		}
		nu.StationID = scope
	case server.RoleTrainee:
		nu.Username = ""
		nu.Phone = fmt.Sprintf("139%08d", n)
	}
	u, err := e.Users.Create(e.Ctx, nu)
	if err != nil {
		e.T.Fatal(err)
	}
	return e.CallerFor(u)
}

// CallerFor signs a token for an existing user.
func (e *Env) CallerFor(u *users.User) *Caller {
	tok, err := e.Tokens.Issue(u.Principal())
	if err != nil {
		e.T.Fatal(err)
	}
	return &Caller{User: u, Token: tok}
}

// Response is a finished request.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body as a JSON object.
func (r *Response) JSON() map[string]any {
	m := map[string]any{}
	_ = json.Unmarshal(r.Body, &m)
	return m
}

// Decode decodes the body into v.
func (r *Response) Decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// ErrCode is the error code of an error response, "" otherwise.
func (r *Response) ErrCode() string {
	if e, ok := r.JSON()["error"].(map[string]any); ok {
		s, _ := e["code"].(string)
		return s
	}
	return ""
}

// Do sends a request as caller (nil: no token); body is JSON-encoded
// unless it is a string or []byte, which go as they are.
func (e *Env) Do(caller *Caller, method, path string, body any) *Response {
	e.T.Helper()
	var r io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case string:
		r, ct = strings.NewReader(b), "application/json"
	case []byte:
		r, ct = bytes.NewReader(b), "application/json"
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.T.Fatal(err)
		}
		r, ct = bytes.NewReader(j), "application/json"
	}
	req := httptest.NewRequest(method, path, r)
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	return e.Send(caller, req)
}

// Send sends a prepared request as caller.
func (e *Env) Send(caller *Caller, req *http.Request) *Response {
	e.T.Helper()
	if caller != nil {
		req.Header.Set("Authorization", "Bearer "+caller.Token)
	}
	resp, err := e.App.Test(req, -1)
	if err != nil {
		e.T.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// Multipart builds a multipart body with one file part "file" and fields.
func Multipart(filename string, content []byte, fields map[string]string) (io.Reader, string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	if filename != "" {
		w, _ := mw.CreateFormFile("file", filename)
		_, _ = w.Write(content)
	}
	_ = mw.Close()
	return &buf, mw.FormDataContentType()
}

// Upload posts a multipart file as caller.
func (e *Env) Upload(caller *Caller, path, filename string, content []byte, fields map[string]string) *Response {
	e.T.Helper()
	body, ct := Multipart(filename, content, fields)
	req := httptest.NewRequest(http.MethodPost, path, body)
	req.Header.Set("Content-Type", ct)
	return e.Send(caller, req)
}

// Want fails the test unless r has status want; it prints the body.
func (r *Response) Want(t testing.TB, want int) *Response {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status %d, want %d: %s", r.Status, want, r.Body)
	}
	return r
}
