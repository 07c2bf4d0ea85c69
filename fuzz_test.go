package main

import (
	"bytes"
	"io"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"nongxun/server"
	"nongxun/store"
)

// bodyRoutes lists every API route that reads a JSON body, sorted.
func bodyRoutes(app *fiber.App) []fiber.Route {
	seen := map[string]bool{}
	var out []fiber.Route
	for _, r := range app.GetRoutes(true) {
		if (r.Method != "POST" && r.Method != "PATCH" && r.Method != "PUT") || !strings.HasPrefix(r.Path, "/api/") {
			continue
		}
		k := r.Method + " " + r.Path
		if !seen[k] {
			seen[k] = true
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Method+out[i].Path < out[j].Method+out[j].Path })
	return out
}

var fuzzSeeds = []string{
	`{}`, `[]`, `null`, `"x"`, `{"a":`, `{"id":1}`,
	`{"name":"","title":12,"month":"2019-13","amount_fen":-1,"starts_at":"yesterday"}`,
	`{"id_number":"53032619900101123X","phone":"1","groups":["nope"],"trainee_ids":[1,2]}`,
	`{"session_id":"x","code":"a.b.c","client_id":"","lat":1e309}`,
	`{"checkins":[{"session_id":{},"code":null}],"status":"built","at":"2019-01-01T00:00:00Z"}`,
	`{"kind":"payment","category":"upward","use":"buildings","amount_fen":9223372036854775807,"tranche":9}`,
	`{"waybill":"../../etc","direction":"sideways","weight_g":-5,"reason":"` + strings.Repeat("长", 3000) + `"}`,
}

// FuzzAPIBodies sends arbitrary JSON bodies to every body-reading route as
// admin and as trainee: no input may yield a 500 (or a panic, which the
// recover middleware would also turn into a 500). The seed corpus runs as an
// ordinary test in CI; `go test -fuzz FuzzAPIBodies` explores further.
func FuzzAPIBodies(f *testing.F) {
	app, tokens, st, _ := testAppF(f)
	toks := roleTokens(f, st, tokens, store.NewID())
	routes := bodyRoutes(app)
	for i := range routes {
		for _, s := range fuzzSeeds {
			f.Add(uint16(i), []byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, idx uint16, body []byte) {
		if len(routes) == 0 {
			return
		}
		r := routes[int(idx)%len(routes)]
		for _, role := range []string{server.RoleAdmin, server.RoleTrainee} {
			req := httptest.NewRequest(r.Method, fillParams(r.Path), bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+toks[role])
			resp, err := app.Test(req, -1)
			if err != nil {
				t.Fatalf("%s %s: %v", r.Method, r.Path, err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode >= 500 {
				t.Fatalf("%s %s as %s with %q: %d %s", r.Method, r.Path, role, body, resp.StatusCode, b)
			}
		}
	})
}
