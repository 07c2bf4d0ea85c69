package reports

import (
	"testing"
	"time"

	"nongxun/server"
)

func setupItems(t *testing.T, f *fixture) map[string]SetupItem {
	t.Helper()
	var s Setup
	f.env.Do(f.env.Admin, "GET", "/api/v1/setup", nil).Want(t, 200).Decode(t, &s)
	out := map[string]SetupItem{}
	unset := 0
	for _, it := range s.Items {
		out[it.Key] = it
		if it.Status != SetupSet {
			unset++
		}
		if it.Link == "" || it.Label == "" {
			t.Errorf("item %+v lacks a label or link", it)
		}
	}
	if unset != s.Unset {
		t.Errorf("unset %d, items say %d", s.Unset, unset)
	}
	return out
}

// TestSetupChecklist: a fresh install lists the public address (a warning
// while it is a loopback address), the period, the issuer, the seal and
// the targets as not yet set; each turns set when it is.
func TestSetupChecklist(t *testing.T) {
	seal := false
	f := newFixture(t, time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC), func(d *Deps, _ *fixture) {
		d.Config.PublicURL = "http://localhost:8080"
		d.SealSet = func() bool { return seal }
		d.Issuer = func() (string, bool) { return "会泽县电子商务进农村综合示范项目办公室", true }
	})
	it := setupItems(t, f)
	want := map[string]string{"public_url": SetupWarn, "programme_period": SetupUnset, "issuer": SetupUnset, "seal": SetupUnset, "targets": SetupUnset}
	for k, st := range want {
		if it[k].Status != st {
			t.Errorf("%s: %+v, want %s", k, it[k], st)
		}
	}
	f.env.Do(f.env.NewCaller(server.RoleOfficer, f.t0), "GET", "/api/v1/setup", nil).Want(t, 403)
	f.env.Do(f.env.NewCaller(server.RoleAuditor, ""), "GET", "/api/v1/setup", nil).Want(t, 403)

	f.env.Do(f.env.Admin, "PUT", "/api/v1/reports/settings", map[string]any{"start_date": "2026-01-01", "end_date": "2028-12-31"}).Want(t, 200)
	f.env.Do(f.env.Admin, "PUT", "/api/v1/reports/settings", map[string]any{"person_times_target": 12000}).Want(t, 200)
	seal = true
	it = setupItems(t, f)
	for _, k := range []string{"programme_period", "seal", "targets"} {
		if it[k].Status != SetupSet {
			t.Errorf("%s after setting it: %+v", k, it[k])
		}
	}
	var st Settings
	f.env.Do(f.env.Admin, "GET", "/api/v1/reports/settings", nil).Want(t, 200).Decode(t, &st)
	if st.PersonTimes != 12000 || st.Target("person_times") != 12000 || st.Target("village_points") != 190 {
		t.Errorf("settings %+v", st)
	}
}

func TestLoopback(t *testing.T) {
	for u, want := range map[string]bool{"http://localhost:8080": true, "http://127.0.0.1": true, "http://[::1]:80": true, "http://0.0.0.0:8080": true,
		"https://nx.huize.gov.cn": false, "http://192.168.1.20:8080": false, "": true, "http://a.localhost": true} {
		if got := loopback(u); got != want {
			t.Errorf("loopback(%q) = %v", u, got)
		}
	}
}
