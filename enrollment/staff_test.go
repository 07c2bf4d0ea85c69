package enrollment

import (
	"strings"
	"testing"

	"nongxun/server"
	"nongxun/testkit"
)

func TestRollCallAndMarks(t *testing.T) {
	f := newFixture(t)
	trainer := f.NewCaller(server.RoleTrainer, "")
	sess := f.session(trainer, 0, nil)
	a, _ := f.trainee(t, 0, 0)
	b, _ := f.trainee(t, 1, 0)
	f.Do(f.NewCaller(server.RoleTrainer, ""), "POST", "/api/v1/sessions/"+sess.ID+"/rollcall", map[string]any{"trainee_ids": []string{a.ID}}).Want(t, 403)
	f.Do(trainer, "POST", "/api/v1/sessions/"+sess.ID+"/rollcall", map[string]any{"trainee_ids": []string{"nope"}}).Want(t, 400)
	r := f.Do(trainer, "POST", "/api/v1/sessions/"+sess.ID+"/rollcall", map[string]any{"trainee_ids": []string{a.ID, b.ID}}).Want(t, 200)
	if r.JSON()["recorded"] != 2.0 {
		t.Fatalf("%s", r.Body)
	}
	r = f.Do(trainer, "POST", "/api/v1/sessions/"+sess.ID+"/rollcall", map[string]any{"trainee_ids": []string{a.ID, b.ID}}).Want(t, 200)
	if r.JSON()["recorded"] != 0.0 {
		t.Fatalf("again: %s", r.Body)
	}
	f.Do(trainer, "POST", "/api/v1/sessions/"+sess.ID+"/marks", map[string]any{"trainee_id": a.ID, "status": "late"}).Want(t, 200)
	if p := f.progress(t); p.PersonTimes != 2 {
		t.Fatalf("late changed the count: %+v", p)
	}
	f.Do(trainer, "POST", "/api/v1/sessions/"+sess.ID+"/marks", map[string]any{"trainee_id": b.ID, "status": "excused"}).Want(t, 200)
	if p := f.progress(t); p.PersonTimes != 1 || p.Trainees != 1 {
		t.Fatalf("excused still counted: %+v", p)
	}
	f.Do(trainer, "POST", "/api/v1/sessions/"+sess.ID+"/marks", map[string]any{"trainee_id": b.ID, "status": "gone"}).Want(t, 400)
	f.noDrift(t)
	// The excused trainee turns up after all: the roll call counts them again.
	f.Do(trainer, "POST", "/api/v1/sessions/"+sess.ID+"/rollcall", map[string]any{"trainee_ids": []string{b.ID}}).Want(t, 200)
	if p := f.progress(t); p.PersonTimes != 2 || p.Trainees != 2 {
		t.Fatalf("excused not upgraded: %+v", p)
	}
	f.Do(trainer, "POST", "/api/v1/sessions/"+sess.ID+"/marks", map[string]any{"trainee_id": b.ID, "status": "excused"}).Want(t, 200)
	ps, err := f.s.PresentSessions(f.Ctx, sess.CourseID)
	if err != nil || len(ps) != 1 || len(ps[a.ID]) != 1 {
		t.Fatalf("present sessions %v %v", ps, err)
	}
	roster := f.Do(trainer, "GET", "/api/v1/sessions/"+sess.ID+"/attendance", nil).Want(t, 200)
	if !strings.Contains(string(roster.Body), `"status":"late"`) || !strings.Contains(string(roster.Body), `"status":"excused"`) {
		t.Fatalf("roster %s", roster.Body)
	}
	// Sign-in sheet photo.
	png := []byte("\x89PNG\r\n\x1a\n" + strings.Repeat("x", 100))
	f.Upload(trainer, "/api/v1/sessions/"+sess.ID+"/signin-photos", "sheet.png", png, nil).Want(t, 201)
	f.Upload(trainer, "/api/v1/sessions/"+sess.ID+"/signin-photos", "sheet.txt", []byte("hello"), nil).Want(t, 400)
	ids, err := f.s.SignInPhotos(f.Ctx, sess.ID)
	if err != nil || len(ids) != 1 {
		t.Fatalf("photos %v %v", ids, err)
	}
	f.Do(trainer, "GET", "/api/v1/sessions/"+sess.ID+"/signin-photos/"+ids[0], nil).Want(t, 200)
	f.noDrift(t)
}

func TestImportRoster(t *testing.T) {
	f := newFixture(t)
	officer := f.NewCaller(server.RoleOfficer, f.Township(0).ID)
	v := f.Village(0, 0)
	csv := "姓名,身份证号,手机号,乡镇,村,人群类别\n" +
		"李四," + idnum() + ",13700000001," + f.Township(0).Name + "," + v.Name + ",建档立卡贫困户、青年\n" +
		"王五," + idnum() + ",13700000002,," + v.ID + ",\n" +
		"坏号,110105194912310021,13700000003,," + v.ID + ",\n" +
		"坏电话," + idnum() + ",123,," + v.ID + ",\n" +
		"无村," + idnum() + ",13700000004,,不存在村,\n" +
		"外乡," + idnum() + ",13700000005,," + f.Village(1, 0).ID + ",\n"
	var res ImportResult
	f.Upload(officer, "/api/v1/trainees/import", "roster.csv", []byte(csv), nil).Want(t, 200).Decode(t, &res)
	if res.Total != 6 || res.Created != 2 || res.Kept != 0 || len(res.Refused) != 4 || res.Refused[0].Row != 4 {
		t.Fatalf("first import %+v", res)
	}
	f.Upload(officer, "/api/v1/trainees/import", "roster.csv", []byte(csv), nil).Want(t, 200).Decode(t, &res)
	if res.Created != 0 || res.Kept != 2 || len(res.Refused) != 4 {
		t.Fatalf("re-import %+v", res)
	}
	if p := f.progress(t); p.Registered != 2 {
		t.Fatalf("registered %d", p.Registered)
	}
	f.Upload(officer, "/api/v1/trainees/import", "roster.csv", []byte("a,b\n1,2\n"), nil).Want(t, 400)
}

func TestRecountAndProgressScope(t *testing.T) {
	f := newFixture(t)
	trainer := f.NewCaller(server.RoleTrainer, "")
	sess := f.session(trainer, 0, nil)
	a, _ := f.trainee(t, 0, 0)
	b, _ := f.trainee(t, 1, 0)
	f.Do(trainer, "POST", "/api/v1/sessions/"+sess.ID+"/rollcall", map[string]any{"trainee_ids": []string{a.ID, b.ID}}).Want(t, 200)
	// An officer sees their township only.
	var p Progress
	f.Do(f.NewCaller(server.RoleOfficer, f.Township(1).ID), "GET", "/api/v1/progress?township_id="+f.Township(0).ID, nil).Want(t, 200).Decode(t, &p)
	if p.PersonTimes != 1 || len(p.ByTownship) != 1 || p.ByTownship[f.Township(1).ID] != 1 {
		t.Fatalf("officer progress %+v", p)
	}
	f.Do(f.Admin, "GET", "/api/v1/progress", nil).Want(t, 200).Decode(t, &p)
	if p.PersonTimes != 2 || p.Target != 10000 {
		t.Fatalf("county progress %+v", p)
	}
	// Break a counter as a crash between insert and $inc would.
	if err := f.s.counters.Inc(f.Ctx, countyCounter, map[string]int64{"person_times": -1}); err != nil {
		t.Fatal(err)
	}
	var res RecountResult
	f.Do(trainer, "POST", "/api/v1/progress/recount", map[string]any{}).Want(t, 403)
	f.Do(f.Admin, "POST", "/api/v1/progress/recount", map[string]any{}).Want(t, 200).Decode(t, &res)
	if res.DriftTotal != 1 || res.Drift[0].Field != "person_times" || res.Drift[0].Was != 1 || res.Drift[0].Now != 2 || !res.Fixed {
		t.Fatalf("recount %+v", res)
	}
	f.noDrift(t)
	mf, err := f.s.MonthlyFigures(f.Ctx, "2019-05")
	if err != nil || mf[f.Township(0).ID][MetricPersonTimes] != 1 || mf[f.Township(0).ID][MetricNewTrainees] != 1 {
		t.Fatalf("monthly %v %v", mf, err)
	}
	var _ *testkit.Caller
}
