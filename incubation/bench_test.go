package incubation

import (
	"context"
	"fmt"
	"net/http/httptest"
	"nongxun/clock"
	"sort"
	"testing"
	"time"

	"nongxun/enrollment"
	"nongxun/events"
	"nongxun/server"
	"nongxun/store"
	"nongxun/testkit"
)

// county fills an env with a county's data: 5,000 trainees, 15,000
// follow-up tasks, 3,000 follow-ups, 1,000 shops with 12,000 monthly sales reports,
// then builds the counters with a recount.
func county(b *testing.B) (*env, []*testkit.Caller) {
	t0 := time.Now()
	e := newEnv(b)
	ctx := e.Ctx
	defer func() { b.Logf("set-up %v", time.Since(t0)) }()
	twps := e.Regions.Townships(ctx)
	villages := e.Regions.Villages(ctx)
	groups := [][]string{nil, {"poverty"}, {"woman"}, {"poverty", "woman"}, {"youth"}}
	staff := make([]*testkit.Caller, 20)
	for i := range staff {
		staff[i] = e.NewCaller(server.RoleTrainer, "")
	}
	var ts []*Trainee
	for i := 0; i < 5000; i++ {
		v := villages[i%len(villages)]
		t := e.trainees.add(Trainee{Name: fmt.Sprintf("学员%d", i), RegionID: v.ID, TownshipID: v.ParentID, Groups: groups[i%len(groups)]})
		e.trainees.train(t.ID)
		ts = append(ts, t)
	}
	_ = twps
	batch := func(c *store.Collection, docs []any) {
		for len(docs) > 0 {
			n := min(len(docs), 1000)
			if _, err := c.InsertMany(ctx, docs[:n]); err != nil {
				b.Fatal(err)
			}
			docs = docs[n:]
		}
	}
	now := e.clock.now()
	var tasks, fus, marks, shops []any
	for i, t := range ts {
		base := now.AddDate(0, 0, -200+(i%300))
		for k, d := range []int{30, 90, 180} {
			status := TaskOpen
			if i%4 == 0 && k == 0 {
				status = TaskDone
			}
			tasks = append(tasks, Task{ID: fmt.Sprintf("%s/%d", t.ID, d), TraineeID: t.ID, TraineeName: t.Name, TownshipID: t.TownshipID,
				Days: d, DueOn: clock.Day(base.AddDate(0, 0, d)), AssigneeID: staff[i%len(staff)].User.ID, Status: status, Source: "certificate", CreatedAt: now})
		}
		if i < 4000 {
			marks = append(marks, mark{ID: StepCertified + "/" + t.ID, Step: StepCertified, At: now, W: whoOf(t)})
		}
		if i < 3000 {
			fus = append(fus, Followup{ID: store.NewID(), TraineeID: t.ID, TraineeName: t.Name, TownshipID: t.TownshipID, Groups: t.Groups,
				ContactedAt: now.AddDate(0, 0, -(i % 90)), Method: "phone", Reached: true, CreatedAt: now})
		}
		if i < 1000 {
			sh := Shop{ID: store.NewID(), TraineeID: t.ID, TraineeName: t.Name, Trainee: whoOf(t), VillageID: t.RegionID, TownshipID: t.TownshipID,
				Platform: "taobao", Name: t.Name + "的店", URL: fmt.Sprintf("https://s%d.taobao.com", i), URLKey: fmt.Sprintf("s%d.taobao.com", i),
				OpenedOn: "2018-01-01", Products: []string{}, CreatedAt: now}
			sh.Months = map[string]MonthReport{}
			for m := 0; m < 12; m++ {
				month := addMonths(clock.Month(now), -m-(i%4))
				if m == 0 {
					sh.LastSaleMonth = month
				}
				sh.Months[month] = MonthReport{Orders: int64(1 + i%50), RevenueFen: int64(1000 * (1 + i%70)), Version: 1, ReportedAt: now}
			}
			shops = append(shops, sh)
		}
	}
	// the tasks as the due lists would have placed them (parts of at most partSize)
	typed := make([]Task, len(tasks))
	for i, x := range tasks {
		typed[i] = x.(Task)
	}
	if err := e.svc.placeUnplaced(ctx, typed, false); err != nil {
		b.Fatal(err)
	}
	for i := range typed {
		tasks[i] = typed[i]
	}
	batch(e.svc.tasks, tasks)
	batch(e.svc.followups, fus)
	batch(e.svc.markColl(StepCertified), marks)
	batch(e.svc.shops, shops)
	t0 = time.Now()
	if r, err := e.svc.RecountFunnel(ctx, true); err != nil || !r.Fixed {
		b.Fatalf("recount: %v (%v)", err, r != nil && r.Fixed)
	}
	b.Logf("county loaded; recount with fix %v", time.Since(t0))
	return e, staff
}

// timed runs fn b.N times and reports the median and 95th percentile.
func timed(b *testing.B, fn func()) {
	d := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		fn()
		d = append(d, time.Since(t0))
	}
	b.StopTimer()
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	b.ReportMetric(float64(d[len(d)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(d[len(d)*95/100].Microseconds())/1000, "p95-ms")
}

func get(b *testing.B, e *env, c *testkit.Caller, path string) {
	req := httptest.NewRequest("GET", path, nil)
	req.Header.Set("Authorization", "Bearer "+c.Token)
	resp, err := e.App.Test(req, -1)
	if err != nil || resp.StatusCode != 200 {
		b.Fatalf("%s: %v %v", path, resp.StatusCode, err)
	}
	resp.Body.Close()
}

// BenchmarkCounty measures the county-scale read paths of the issue:
// GET /api/v1/conversion (target p50 < 5 ms) and a user's due follow-ups
// (target p50 < 30 ms), on the embedded engine.
func BenchmarkCounty(b *testing.B) {
	e, staff := county(b)
	officer := e.officer
	b.Run("conversion", func(b *testing.B) { timed(b, func() { get(b, e, e.Admin, "/api/v1/conversion") }) })
	b.Run("conversion-township", func(b *testing.B) { timed(b, func() { get(b, e, officer, "/api/v1/conversion") }) })
	b.Run("due-followups", func(b *testing.B) { timed(b, func() { get(b, e, staff[3], "/api/v1/followups/tasks") }) })
	b.Run("due-followups-township", func(b *testing.B) {
		timed(b, func() { get(b, e, officer, "/api/v1/followups/tasks?scope=all") })
	})
	b.Run("sales-report", func(b *testing.B) {
		var list []Shop
		_ = e.svc.shops.Find(e.Ctx, map[string]any{}, &list)
		i := 0
		timed(b, func() {
			sh := list[i%len(list)]
			i++
			r := e.Do(e.Admin, "POST", "/api/v1/shops/"+sh.ID+"/sales", map[string]any{"month": clock.Month(e.clock.now()), "orders": i % 9, "revenue_fen": i})
			if r.Status != 201 {
				b.Fatalf("%d %s", r.Status, r.Body)
			}
		})
	})
	// With the real enrollment counters as the "trained" source: one
	// counter read for the county and one per township, in parallel.
	en, err := enrollment.New(context.Background(), enrollment.Deps{Store: e.Store, Config: e.Config, Regions: e.Regions, Users: e.Users, Audit: e.Audit, Log: e.Log})
	if err != nil {
		b.Fatal(err)
	}
	e.svc.d.Trainees = FromEnrollment(en)
	b.Run("conversion-enrollment-source", func(b *testing.B) { timed(b, func() { get(b, e, e.Admin, "/api/v1/conversion") }) })
}

// BenchmarkCertificateIssuedHook measures what issuing certificates costs
// incubation (certified count, three follow-up tasks listed on two due
// lists each): the certificate.issued batch handler, as the event bus
// calls it in the background with up to 200 due events at once, reported
// per certificate. Trainees live in every township, as a county's course
// roster does.
func BenchmarkCertificateIssuedHook(b *testing.B) {
	e, evs := issuedEvents(b)
	const batch = 200
	b.ResetTimer()
	t0 := time.Now()
	for i := 0; i < len(evs); i += batch {
		if err := e.svc.OnCertificatesIssued(e.Ctx, evs[i:min(i+batch, len(evs))]); err != nil {
			b.Fatal(err)
		}
	}
	per := time.Since(t0) / time.Duration(b.N)
	b.StopTimer()
	b.ReportMetric(float64(per.Microseconds())/1000, "ms/certificate")
	b.ReportMetric(per.Seconds()*10000, "s/10k")
	if s := e.snap(); s.tasks != int64(3*b.N) || s.marks != int64(b.N) {
		b.Fatalf("after the batches: %+v", s)
	}
}

// BenchmarkCertificateIssuedHookSingle is the same with the handler of one
// event at a time (OnCertificateIssued).
func BenchmarkCertificateIssuedHookSingle(b *testing.B) {
	e, evs := issuedEvents(b)
	b.ResetTimer()
	t0 := time.Now()
	for i := range evs {
		if err := e.svc.OnCertificateIssued(e.Ctx, evs[i]); err != nil {
			b.Fatal(err)
		}
	}
	per := time.Since(t0) / time.Duration(b.N)
	b.ReportMetric(float64(per.Microseconds())/1000, "ms/certificate")
}

// issuedEvents makes b.N trainees of every township and a certificate.issued event for each.
func issuedEvents(b *testing.B) (*env, []store.Event) {
	e := newEnv(b)
	ts := make([]*Trainee, b.N)
	for i := range ts {
		ts[i] = e.trainee(i%23, i%15)
	}
	course := store.NewID()
	evs := make([]store.Event, b.N)
	for i := range evs {
		id := store.NewID()
		evs[i] = event(b, events.CertificateIssued, id, events.Certificate{ID: id, TraineeID: ts[i].ID, CourseID: course, IssuedAt: start})
	}
	return e, evs
}
