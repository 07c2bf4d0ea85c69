package reports

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"nongxun/server"
	"nongxun/store"
)

func TestWrittenReports(t *testing.T) {
	f := newFixture(t, time.Time{}, nil) // 2019-06-15
	off0 := f.env.NewCaller(server.RoleOfficer, f.t0)
	off1 := f.env.NewCaller(server.RoleOfficer, f.t1)
	auditor := f.env.NewCaller(server.RoleAuditor, "")

	// bad input first: nothing may be written
	f.env.Do(off0, "PUT", "/api/v1/reports/written/2019-07", map[string]any{"text": "未来"}).Want(t, 400)
	f.env.Do(off0, "PUT", "/api/v1/reports/written/2019-6", map[string]any{"text": "x"}).Want(t, 400)
	f.env.Do(off0, "PUT", "/api/v1/reports/written/2019-05", map[string]any{"text": "  "}).Want(t, 400)
	f.env.Do(off0, "PUT", "/api/v1/reports/written/2019-05", map[string]any{"text": strings.Repeat("字", MaxReportText+1)}).Want(t, 400)
	f.env.Do(off0, "PUT", "/api/v1/reports/written/2019-05", map[string]any{"text": "x", "township_id": f.t1}).Want(t, 403)
	f.env.Do(auditor, "PUT", "/api/v1/reports/written/2019-05", map[string]any{"text": "x"}).Want(t, 403)
	f.env.Do(f.env.Admin, "PUT", "/api/v1/reports/written/2019-05", map[string]any{"text": "x"}).Want(t, 400) // admin must name the township
	f.env.Upload(off0, "/api/v1/reports/written/2019-06/attachments", "a.txt", []byte("x"), nil).Want(t, 404) // no report yet

	// May was due on 31 May; submitting it on 15 June is late. June is not due yet.
	r := f.env.Do(off0, "PUT", "/api/v1/reports/written/2019-05", map[string]any{"text": "五月份开展培训 3 场。"}).Want(t, 201)
	if !r.JSON()["late"].(bool) {
		t.Fatalf("May report on 15 June not late: %s", r.Body)
	}
	r = f.env.Do(off0, "PUT", "/api/v1/reports/written/2019-06", map[string]any{"text": "六月份进展。"}).Want(t, 201)
	if r.JSON()["late"].(bool) {
		t.Fatal("June report on 15 June marked late")
	}
	// a correction keeps the first submission time
	first := r.JSON()["submitted_at"]
	f.now = f.now.Add(time.Hour)
	r = f.env.Do(off0, "PUT", "/api/v1/reports/written/2019-06", map[string]any{"text": "六月份进展（修订）。"}).Want(t, 200)
	if r.JSON()["submitted_at"] != first || r.JSON()["text"] != "六月份进展（修订）。" {
		t.Fatalf("revision: %s", r.Body)
	}
	// the admin files for township 1
	f.env.Do(f.env.Admin, "PUT", "/api/v1/reports/written/2019-06", map[string]any{"text": "代报", "township_id": f.t1}).Want(t, 201)

	// attachments: stored, listed, downloaded; bounded
	pdf := []byte("%PDF-1.4 test attachment")
	a := f.env.Upload(off0, "/api/v1/reports/written/2019-06/attachments", "../../进展.pdf", pdf, nil).Want(t, 201).JSON()
	if a["n"].(float64) != 1 || a["name"] != "进展.pdf" {
		t.Fatalf("attachment %v", a)
	}
	dl := f.env.Do(auditor, "GET", fmt.Sprintf("/api/v1/reports/written/2019-06/%s/attachments/1", f.t0), nil).Want(t, 200)
	if !bytes.Equal(dl.Body, pdf) || !strings.HasPrefix(dl.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("download %q %q", dl.Body, dl.Header.Get("Content-Disposition"))
	}
	f.env.Do(off1, "GET", fmt.Sprintf("/api/v1/reports/written/2019-06/%s/attachments/1", f.t0), nil).Want(t, 403)
	f.env.Do(off1, "GET", fmt.Sprintf("/api/v1/reports/written/2019-06/%s", f.t0), nil).Want(t, 403)
	f.env.Do(auditor, "GET", fmt.Sprintf("/api/v1/reports/written/2019-06/%s/attachments/9", f.t0), nil).Want(t, 404)
	f.env.Do(auditor, "GET", fmt.Sprintf("/api/v1/reports/written/2019-06/%s/attachments/x", f.t0), nil).Want(t, 400)
	f.env.Do(auditor, "GET", "/api/v1/reports/written/2019-06/nope", nil).Want(t, 400)
	for i := 2; i <= MaxAttachments; i++ {
		f.env.Upload(off0, "/api/v1/reports/written/2019-06/attachments", fmt.Sprintf("p%d.jpg", i), []byte{byte(i), 1, 2}, nil).Want(t, 201)
	}
	f.env.Upload(off0, "/api/v1/reports/written/2019-06/attachments", "one-too-many.jpg", []byte("x"), nil).Want(t, 409)
	f.env.Upload(off0, "/api/v1/reports/written/2019-06/attachments", "empty.jpg", nil, nil).Want(t, 400)

	// the office's view: who submitted, who is late, who is missing
	var l WrittenList
	f.env.Do(auditor, "GET", "/api/v1/reports/written?month=2019-05", nil).Want(t, 200).Decode(t, &l)
	st := map[string]string{}
	for _, r := range l.Rows {
		st[r.TownshipID] = r.Status
	}
	if l.Townships != 23 || l.Submitted != 1 || l.Late != 1 || st[f.t0] != "late" || st[f.t1] != "missing" {
		t.Fatalf("May: %+v %v", l.WrittenTally, st)
	}
	f.env.Do(auditor, "GET", "/api/v1/reports/written?month=2019-06", nil).Want(t, 200).Decode(t, &l)
	st = map[string]string{}
	for _, r := range l.Rows {
		st[r.TownshipID] = r.Status
	}
	if l.OnTime != 2 || st[f.t0] != "submitted" || st[f.env.Township(5).ID] != "pending" {
		t.Fatalf("June: %+v %v", l.WrittenTally, st)
	}
	// an officer sees only their own line
	f.env.Do(off1, "GET", "/api/v1/reports/written?month=2019-06", nil).Want(t, 200).Decode(t, &l)
	if len(l.Rows) != 1 || l.Rows[0].TownshipID != f.t1 {
		t.Fatalf("officer view %+v", l.Rows)
	}
	// the dashboard's KPI counts May (the last month whose due day passed)
	var d Dashboard
	f.env.Do(f.env.Admin, "GET", "/api/v1/reports/dashboard", nil).Want(t, 200).Decode(t, &d)
	if k := kpiByKey(&d)["monthly_reports"]; k.Status != StatusBehind || !strings.Contains(k.Text, "逾期 1") {
		t.Fatalf("monthly_reports KPI %+v", k)
	}
}

func TestExports(t *testing.T) {
	f := newFixture(t, time.Time{}, func(d *Deps, f *fixture) {
		d.Roster = func(_ context.Context, tid string) ([]TraineeRow, error) {
			all := []TraineeRow{
				{Name: "张*", Gender: "female", IDMasked: "5303**********123X", Phone: "13912345678", TownshipID: f.t0, Groups: []string{"poverty", "woman"}},
				{Name: "=HYPERLINK(\"x\")", IDMasked: "5303**********0011", TownshipID: f.t1},
			}
			var out []TraineeRow
			for _, r := range all {
				if tid == "" || r.TownshipID == tid {
					out = append(out, r)
				}
			}
			return out, nil
		}
	})
	r := f.env.Do(f.env.Admin, "GET", "/api/v1/reports/exports/roster?format=csv", nil).Want(t, 200)
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(r.Body, []byte("\xef\xbb\xbf")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 || recs[1][3] != "139****5678" || recs[1][6] != "建档立卡贫困户、妇女" || !strings.HasPrefix(recs[2][0], "'=") {
		t.Fatalf("roster %v", recs)
	}
	if r.Header.Get("X-Total-Rows") != "2" {
		t.Errorf("X-Total-Rows %q", r.Header.Get("X-Total-Rows"))
	}
	off := f.env.NewCaller(server.RoleOfficer, f.t0)
	r = f.env.Do(off, "GET", "/api/v1/reports/exports/roster?format=xlsx", nil).Want(t, 200)
	if !bytes.HasPrefix(r.Body, []byte("PK")) || r.Header.Get("X-Total-Rows") != "1" {
		t.Fatalf("officer roster: %q rows", r.Header.Get("X-Total-Rows"))
	}
	f.env.Do(off, "GET", "/api/v1/reports/exports/ledger", nil).Want(t, 403)
	f.env.Do(f.env.Admin, "GET", "/api/v1/reports/exports/ledger", nil).Want(t, 404) // no funds source wired
	f.env.Do(f.env.Admin, "GET", "/api/v1/reports/exports/nope", nil).Want(t, 404)
	f.env.Do(f.env.Admin, "GET", "/api/v1/reports/exports/roster?format=pdf", nil).Want(t, 400)
	f.env.Do(f.env.Admin, "GET", "/api/v1/reports/exports/signin/bad", nil).Want(t, 400)
}

// Racing submissions of one report make one report, counted once; racing
// uploads never pass the attachment limit.
func TestWrittenConcurrent(t *testing.T) {
	f := newFixture(t, time.Time{}, nil)
	off := f.env.NewCaller(server.RoleOfficer, f.t0)
	var wg sync.WaitGroup
	codes := make([]int, 8)
	for i := range codes {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			codes[i] = f.env.Do(off, "PUT", "/api/v1/reports/written/2019-06", map[string]any{"text": fmt.Sprintf("第 %d 稿", i)}).Status
		}(i)
	}
	wg.Wait()
	created := 0
	for _, c := range codes {
		if c == 201 {
			created++
		} else if c != 200 {
			t.Fatalf("status %d", c)
		}
	}
	tally, err := f.svc.tallyWritten(f.env.Ctx, "2019-06", "")
	if err != nil {
		t.Fatal(err)
	}
	if created != 1 || tally.Submitted != 1 {
		t.Fatalf("%d created, tally %+v", created, tally)
	}
	ok := atomic.Int64{}
	for i := 0; i < MaxAttachments+4; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if f.env.Upload(off, "/api/v1/reports/written/2019-06/attachments", fmt.Sprintf("%d.jpg", i), []byte{byte(i), 9}, nil).Status == 201 {
				ok.Add(1)
			}
		}(i)
	}
	wg.Wait()
	w, err := f.svc.WrittenReport(f.env.Ctx, "2019-06", f.t0)
	if err != nil {
		t.Fatal(err)
	}
	if ok.Load() != MaxAttachments || len(w.Attachments) != MaxAttachments {
		t.Fatalf("%d uploads accepted, %d stored", ok.Load(), len(w.Attachments))
	}
}

// TestRepairTally: a tally knocked out of line is rebuilt from the reports.
func TestRepairTally(t *testing.T) {
	f := newFixture(t, time.Time{}, nil)
	off := f.env.NewCaller(server.RoleOfficer, f.t0)
	f.env.Do(off, "PUT", "/api/v1/reports/written/2019-05", map[string]any{"text": "五月进展"}).Want(t, 201)
	if err := f.svc.counts.Inc(f.env.Ctx, "written:2019-05", map[string]int64{"submitted": 3}); err != nil {
		t.Fatal(err)
	}
	drifted, err := f.svc.RepairTally(f.env.Ctx)
	if err != nil || !drifted {
		t.Fatalf("repair: %v %v", drifted, err)
	}
	doc, _ := f.svc.counts.Counter(f.env.Ctx, "written:2019-05")
	if store.Int64(doc["submitted"]) != 1 || store.Int64(doc["late"]) != 1 {
		t.Fatalf("tally %v", doc)
	}
	if drifted, _ := f.svc.RepairTally(f.env.Ctx); drifted {
		t.Fatal("a second repair found drift")
	}
}
