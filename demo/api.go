package demo

import (
	"fmt"
	"strings"
	"sync"
)

// API is the HTTP API the loader drives: JSON calls under /api/v1 and
// file uploads (multipart field "file"). cli.Client is one; so every write
// of the demo goes through the same handlers, rules, counters, events and
// audit log as the pages' writes.
type API interface {
	Do(method, path string, in, out any) (int, error)
	UploadBytes(path, name string, data []byte, out any) error
}

// Conn is the API as the admin, and as the holder of any other token.
type Conn struct {
	Admin API
	As    func(token string) API
}

// actor is one account the loader acts as: the admin, or a demo user who
// logs in with the password the loader gave them. A refused token (401:
// access tokens live 15 minutes) is renewed by logging in again.
type actor struct {
	Role, Login, Password, Name string
	ID                          string // user id
	Township                    int    // officer: index of the township; else -1

	conn  *Conn
	mu    sync.Mutex
	api   API
	admin bool
}

func (a *actor) client() API {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.api
}

func (a *actor) login() error {
	var s struct {
		AccessToken string `json:"access_token"`
		User        struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	if _, err := a.conn.As("").Do("POST", "/auth/login", map[string]string{"login": a.Login, "password": a.Password}, &s); err != nil {
		return fmt.Errorf("以 %s 登录：%w", a.Login, err)
	}
	a.mu.Lock()
	a.api, a.ID = a.conn.As(s.AccessToken), s.User.ID
	a.mu.Unlock()
	return nil
}

// do calls the API as the actor; out may be nil.
func (a *actor) do(method, path string, in, out any) (int, error) {
	st, err := a.client().Do(method, path, in, out)
	if st == 401 && !a.admin {
		if lerr := a.login(); lerr != nil {
			return st, lerr
		}
		st, err = a.client().Do(method, path, in, out)
	}
	return st, err
}

// must is do for a write that the demo's plan makes valid: a refusal is a
// fault of the loader (or a rule it did not know), reported with what was
// being done.
func (a *actor) must(what, method, path string, in, out any) error {
	if _, err := a.do(method, path, in, out); err != nil {
		return fmt.Errorf("%s：%w", what, err)
	}
	return nil
}

// parallel runs fn(i) for i in [0, n) on k workers and returns the first
// error (the others stop taking work once one failed).
func parallel(k, n int, fn func(i int) error) error {
	if k > n {
		k = n
	}
	var (
		mu   sync.Mutex
		next int
		err  error
		wg   sync.WaitGroup
	)
	take := func() (int, bool) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil || next >= n {
			return 0, false
		}
		next++
		return next - 1, true
	}
	for w := 0; w < k; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i, ok := take()
				if !ok {
					return
				}
				if e := fn(i); e != nil {
					mu.Lock()
					if err == nil {
						err = e
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return err
}

// demoMark is the visible mark on every demo name (people, courses,
// stations, shops), as the demo villages carry it.
const demoMark = "（演示）"

func marked(name string) string {
	return strings.TrimSuffix(name, demoMark) + demoMark
}

func unmarked(name string) string { return strings.TrimSuffix(name, demoMark) }
