package incubation

import (
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/certificates"
	"nongxun/events"
)

// TestTraineesMerged: everything of the dropped trainee moves to the kept
// one; a step both had counts once, a step only the dropped one had moves;
// a second delivery changes nothing; a recount agrees.
func TestTraineesMerged(t *testing.T) {
	e := newEnv(t)
	kept := e.trainee(0, 0, "poverty")
	dropped := e.trainee(1, 1, "woman") // registered twice, once in the wrong township
	for _, tr := range []*Trainee{kept, dropped} {
		e.trainees.train(tr.ID)
		e.issued(certificates.Certificate{ID: "c-" + tr.ID, TraineeID: tr.ID, CourseID: "course1", IssuedAt: e.clock.now()})
	}
	shop := e.shop(dropped)
	e.sale(shop, "2019-06", 4, 8000).Want(t, 201)
	e.clock.set(start.AddDate(0, 0, 31))
	e.Do(e.trainer, "POST", "/api/v1/followups", map[string]any{"trainee_id": dropped.ID, "contacted_at": e.clock.now().Format(time.RFC3339), "method": "phone"}).Want(t, 201)
	co := e.Do(e.Admin, "POST", "/api/v1/cohorts", map[string]any{"name": "一期", "starts_on": "2019-06-01", "ends_on": "2019-12-31"}).Want(t, 201).JSON()["id"].(string)
	e.Do(e.Admin, "POST", "/api/v1/cohorts/"+co+"/members", map[string]any{"shop_id": shop}).Want(t, 201)
	before := e.conversion(e.Admin, "")
	wantFunnel(t, "before", before.Funnel, Funnel{Trained: 2, Certified: 2, FollowedUp: 1, ShopOpened: 1, Selling: 1, Incubated: 1})

	// the enrollment side: the dropped record is gone, the kept one was trained
	e.trainees.mu.Lock()
	delete(e.trainees.trained, dropped.ID)
	e.trainees.mu.Unlock()
	ev := event(t, events.TraineesMerged, dropped.ID, events.Merged{Kept: kept.ID, Dropped: dropped.ID, By: e.Admin.User.ID})
	for i := 0; i < 2; i++ { // delivered twice
		if err := e.svc.OnTraineesMerged(e.Ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	after := e.conversion(e.Admin, "")
	wantFunnel(t, "after", after.Funnel, Funnel{Trained: 1, Certified: 1, FollowedUp: 1, ShopOpened: 1, Selling: 1, Incubated: 1})
	if g := after.ByGroup["poverty"]; g.ShopOpened != 1 || g.Selling != 1 || g.Incubated != 1 {
		t.Errorf("kept trainee's group does not carry the moved steps: %+v", g)
	}
	if g := after.ByGroup["woman"]; g.Certified+g.ShopOpened+g.Selling+g.Incubated+g.FollowedUp != 0 {
		t.Errorf("the dropped trainee is still counted: %+v", g)
	}
	sh, err := e.svc.Shop(e.Ctx, shop)
	if err != nil || sh.TraineeID != kept.ID || sh.TraineeName != kept.Name {
		t.Fatalf("shop %+v (%v)", sh, err)
	}
	fus, _ := e.svc.Followups(e.Ctx, kept.ID)
	if len(fus) != 1 {
		t.Errorf("kept trainee has %d follow-ups, want 1", len(fus))
	}
	var left []Task
	if err := e.svc.tasks.Find(e.Ctx, bson.M{"trainee_id": dropped.ID}, &left); err != nil || len(left) != 0 {
		t.Errorf("tasks left with the dropped trainee: %d (%v)", len(left), err)
	}
	if tasks := e.svc.traineeTasks(e.Ctx, kept.ID); len(tasks) != 3 {
		t.Errorf("kept trainee has %d tasks", len(tasks))
	}
	var m struct{ Members []Member }
	e.Do(e.Admin, "GET", "/api/v1/cohorts/"+co, nil).Want(t, 200).Decode(t, &m)
	if len(m.Members) != 1 || m.Members[0].TraineeID != kept.ID {
		t.Errorf("cohort members %+v", m.Members)
	}
	figs, _ := e.svc.MonthlyFigures(e.Ctx, "2019-07")
	if figs[kept.TownshipID]["followups"] != 1 || figs[dropped.TownshipID]["followups"] != 0 {
		t.Errorf("the follow-up did not move to the kept trainee's township: %v", figs)
	}
	e.recountOK()
}

// TestHandlersReturnErrors: a handler that cannot do its work says so (the
// bus retries it) and leaves nothing half written; once it can, the retry
// does the whole work once.
func TestHandlersReturnErrors(t *testing.T) {
	e := newEnv(t)
	ghost := Trainee{ID: "6b0000000000000000000001", Name: "迟到的学员", RegionID: e.Village(2, 0).ID, TownshipID: e.Township(2).ID}
	ev := event(t, events.CertificateIssued, "c9", events.Certificate{ID: "c9", TraineeID: ghost.ID, CourseID: "k", IssuedAt: start})
	if err := e.svc.OnCertificateIssued(e.Ctx, ev); err == nil || !strings.Contains(err.Error(), ghost.ID) {
		t.Fatalf("unknown trainee: %v", err)
	}
	before := e.snap()
	if before.tasks != 0 || before.marks != 0 {
		t.Fatalf("a failed handler wrote %+v", before)
	}
	bad := ev
	bad.Payload = []byte{1, 2, 3}
	if err := e.svc.OnCertificateIssued(e.Ctx, bad); err == nil {
		t.Fatal("a broken payload was accepted")
	}
	e.trainees.add(ghost)
	for i := 0; i < 3; i++ {
		if err := e.svc.OnCertificateIssued(e.Ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	if s := e.snap(); s.tasks != 3 || s.marks != 1 {
		t.Fatalf("after the retries: %+v", s)
	}
	e.recountOK()
}

// TestOfficerPool: with no trainer known, a trainee's tasks go to their
// township's officers: each of them sees them in their own list, an
// officer of another township does not.
func TestOfficerPool(t *testing.T) {
	e := newEnv(t)
	e.svc.d.Assignees = nil
	a := e.trainee(0, 0)
	e.finished("c1", a.ID)
	e.clock.set(start.AddDate(0, 0, 31))
	var due struct{ Tasks []Task }
	second := e.NewCaller("officer", e.Township(0).ID)
	e.Do(e.officer, "GET", "/api/v1/followups/tasks", nil).Want(t, 200).Decode(t, &due)
	if len(due.Tasks) != 1 || due.Tasks[0].AssigneeID != "" {
		t.Fatalf("officer's own list: %+v", due.Tasks)
	}
	e.Do(second, "GET", "/api/v1/followups/tasks", nil).Want(t, 200).Decode(t, &due)
	if len(due.Tasks) != 1 {
		t.Fatalf("the township's other officer: %+v", due.Tasks)
	}
	e.Do(e.officer1, "GET", "/api/v1/followups/tasks", nil).Want(t, 200).Decode(t, &due)
	if len(due.Tasks) != 0 {
		t.Fatalf("another township's officer: %+v", due.Tasks)
	}
	e.Do(e.trainer, "GET", "/api/v1/followups/tasks", nil).Want(t, 200).Decode(t, &due)
	if len(due.Tasks) != 0 {
		t.Fatalf("a trainer: %+v", due.Tasks)
	}
	e.recountOK()
}

// TestDueListParts: a trainer given many trainees at once has their tasks
// spread over several small index documents, all listed, none over the
// part size; closing a task takes it off.
func TestDueListParts(t *testing.T) {
	e := newEnv(t)
	n := partSize/3*2 + 5 // three parts' worth of tasks
	var first *Trainee
	for i := 0; i < n; i++ {
		tr := e.trainee(i%5, i%7)
		if first == nil {
			first = tr
		}
		e.finished("big-course", tr.ID)
	}
	var docs []dueDoc
	if err := e.svc.due.Find(e.Ctx, bson.M{"e": bson.M{"$exists": true}}, &docs); err != nil {
		t.Fatal(err)
	}
	parts := 0
	for _, d := range docs {
		if strings.HasPrefix(d.ID, duePerUser+e.trainer.User.ID) {
			parts++
		}
		if len(d.E) > partSize {
			t.Errorf("%s holds %d entries", d.ID, len(d.E))
		}
	}
	if parts < 2 {
		t.Fatalf("the trainer's tasks are in %d part(s)", parts)
	}
	var due struct{ Tasks []Task }
	e.Do(e.trainer, "GET", "/api/v1/followups/tasks?due=all", nil).Want(t, 200).Decode(t, &due)
	if len(due.Tasks) != 3*n {
		t.Fatalf("listed %d tasks, want %d", len(due.Tasks), 3*n)
	}
	e.clock.set(start.AddDate(0, 0, 31))
	e.Do(e.trainer, "POST", "/api/v1/followups", map[string]any{"trainee_id": first.ID, "contacted_at": e.clock.now().Format(time.RFC3339), "method": "phone"}).Want(t, 201)
	e.Do(e.trainer, "GET", "/api/v1/followups/tasks?due=all", nil).Want(t, 200).Decode(t, &due)
	if len(due.Tasks) != 3*n-1 {
		t.Fatalf("after closing one: %d", len(due.Tasks))
	}
	e.recountOK()
}
