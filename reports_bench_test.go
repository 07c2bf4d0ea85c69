package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"sort"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"nongxun/users"
)

// benchCounty seeds the whole app, through its API, with a county: the
// demo regions, 215 stations, 100 trainees present at a session, fund
// entries. The dashboard reads counters, so its cost does not grow with
// the number of check-ins; what it scans (stations, regions) is full size.
func benchCounty(b *testing.B) (*fiber.App, string) {
	app, tokens, st, _ := testApp(b, nil)
	us, err := users.New(b.Context(), st, tokens)
	if err != nil {
		b.Fatal(err)
	}
	adm, err := us.ByLogin(b.Context(), "admin")
	if err != nil {
		b.Fatal(err)
	}
	tok, _ := tokens.Issue(adm.Principal())
	call := func(method, path string, in any, out any) {
		b.Helper()
		body, _ := json.Marshal(in)
		req := httptest.NewRequest(method, path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := app.Test(req, -1)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 300 {
			b.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
		}
		if out != nil {
			_ = json.Unmarshal(raw, out)
		}
	}
	call("POST", "/api/v1/regions/demo", map[string]any{}, nil)
	var rs []struct{ ID, Level, ParentID string }
	call("GET", "/api/v1/regions", nil, &rs)
	var twps, vils []string
	vilTwp := map[string]string{}
	for _, r := range rs {
		switch r.Level {
		case "township":
			twps = append(twps, r.ID)
		case "village":
			vils = append(vils, r.ID)
			vilTwp[r.ID] = r.ParentID
		}
	}
	var id struct {
		ID string `json:"id"`
	}
	call("POST", "/api/v1/stations", map[string]any{"name": "县电子商务公共服务中心", "kind": "county_center", "region_id": twps[0], "origin": "new"}, nil)
	call("POST", "/api/v1/stations", map[string]any{"name": "县仓储物流中心", "kind": "warehouse", "region_id": twps[0], "origin": "new", "area_m2": 3200}, nil)
	for i, t := range twps {
		call("POST", "/api/v1/stations", map[string]any{"name": fmt.Sprintf("乡镇服务站%d", i), "kind": "township", "region_id": t, "origin": "new"}, nil)
	}
	for i := 0; i < 190 && i < len(vils); i++ {
		call("POST", "/api/v1/stations", map[string]any{"name": fmt.Sprintf("村级服务点%d", i), "kind": "village", "region_id": vils[i], "origin": "integrated"}, nil)
	}
	call("POST", "/api/v1/users", map[string]any{"username": "benchtrainer", "password": "password-123", "role": "trainer", "name": "讲师"}, &id)
	trainer := id.ID
	call("POST", "/api/v1/courses", map[string]any{"title": "网店运营", "category": "网店开设", "hours": 4, "pass_ratio": 0.5, "published": true}, &id)
	course := id.ID
	start := time.Now().Add(-time.Hour).UTC()
	call("POST", "/api/v1/courses/"+course+"/sessions", map[string]any{"starts_at": start.Format(time.RFC3339), "ends_at": start.Add(2 * time.Hour).Format(time.RFC3339),
		"location": "县会议中心", "region_id": vils[0], "trainer_id": trainer, "capacity": 400}, &id)
	session := id.ID
	var trainees []string
	for i := 0; i < 100; i++ {
		call("POST", "/api/v1/trainees", map[string]any{"name": fmt.Sprintf("学员%d", i), "id_number": benchID(i), "phone": fmt.Sprintf("137%08d", i),
			"gender": "female", "region_id": vils[i%len(vils)], "groups": []string{"poverty"}}, &id)
		trainees = append(trainees, id.ID)
		call("POST", "/api/v1/courses/"+course+"/enrollments", map[string]any{"trainee_id": id.ID}, nil)
	}
	call("POST", "/api/v1/sessions/"+session+"/rollcall", map[string]any{"trainee_ids": trainees}, nil)
	return app, tok
}

// benchID is a woman's ID number with a valid GB 11643 check digit.
func benchID(i int) string {
	base := fmt.Sprintf("530326198501%02d%03d", 1+i/500, (i*2)%1000)
	w := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for k := 0; k < 17; k++ {
		sum += int(base[k]-'0') * w[k]
	}
	return base + string("10X98765432"[sum%11])
}

func benchGet(b *testing.B, app *fiber.App, tok, path string) time.Duration {
	req := httptest.NewRequest("GET", path, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	t0 := time.Now()
	resp, err := app.Test(req, -1)
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	d := time.Since(t0)
	if resp.StatusCode != 200 {
		b.Fatalf("%s: %d", path, resp.StatusCode)
	}
	return d
}

func reportP50(b *testing.B, times []time.Duration) {
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(times[len(times)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkReportsDashboardRealServices is GET /api/v1/reports/dashboard on
// the whole app with every wired source. The reports keep no cache of
// their own: every request reads every source (the sources' own
// store.NewCache caches, where a feature keeps one, are warm).
func BenchmarkReportsDashboardRealServices(b *testing.B) {
	app, tok := benchCounty(b)
	benchDashboard(b, app, tok)
}

// BenchmarkReportsDashboardRealServicesCold is the same with every cache of
// the store switched off (NX_TEST_NOCACHE), as with several app nodes.
func BenchmarkReportsDashboardRealServicesCold(b *testing.B) {
	b.Setenv("NX_TEST_NOCACHE", "1")
	app, tok := benchCounty(b)
	benchDashboard(b, app, tok)
}

func benchDashboard(b *testing.B, app *fiber.App, tok string) {
	var times []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		times = append(times, benchGet(b, app, tok, "/api/v1/reports/dashboard"))
	}
	b.StopTimer()
	reportP50(b, times)
	// which source costs what, as the dashboard itself measures it
	req := httptest.NewRequest("GET", "/api/v1/reports/dashboard", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	if resp, err := app.Test(req, -1); err == nil {
		var d struct {
			Timings map[string]float64 `json:"timings_ms"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&d)
		resp.Body.Close()
		b.Logf("source timings (ms): %v", d.Timings)
	}
}

// BenchmarkReportsMonthlyXLSXRealServices is the 23-township XLSX on the whole app.
func BenchmarkReportsMonthlyXLSXRealServices(b *testing.B) {
	app, tok := benchCounty(b)
	month := time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01")
	var times []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		times = append(times, benchGet(b, app, tok, "/api/v1/reports/monthly?format=xlsx&month="+month))
	}
	b.StopTimer()
	reportP50(b, times)
}
