package enrollment

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/events"
	"nongxun/server"
	"nongxun/store"
)

func TestCorrectTrainee(t *testing.T) {
	f := newFixture(t)
	registrar := f.NewCaller(server.RoleTrainer, "")
	other := f.NewCaller(server.RoleTrainer, "")
	sess := f.session(other, 0, nil)
	var tr Registered
	f.Do(registrar, "POST", "/api/v1/trainees", map[string]any{"name": "张山", "id_number": idnum(), "region_id": f.Village(0, 0).ID, "groups": []string{"poverty"}}).
		Want(t, 201).Decode(t, &tr)
	if tr.UserID != "" {
		t.Fatalf("no phone, yet an account: %+v", tr)
	}
	path := "/api/v1/trainees/" + tr.ID
	// The registering trainer corrects the name; another trainer may not yet.
	f.Do(registrar, "PATCH", path, map[string]any{"name": "张三"}).Want(t, 200)
	f.Do(other, "PATCH", path, map[string]any{"name": "张叁"}).Want(t, 403)
	// Once the trainee was recorded at the other trainer's session, they may.
	f.Do(other, "POST", "/api/v1/sessions/"+sess.ID+"/rollcall", map[string]any{"trainee_ids": []string{tr.ID}}).Want(t, 200)
	f.Do(other, "PATCH", path, map[string]any{"phone": "13512345678"}).Want(t, 200)
	// An officer of another township does not see the record; theirs does.
	f.Do(f.NewCaller(server.RoleOfficer, f.Township(1).ID), "PATCH", path, map[string]any{"name": "李四"}).Want(t, 404)
	officer := f.NewCaller(server.RoleOfficer, f.Township(0).ID)
	f.Do(officer, "PATCH", path, map[string]any{"region_id": f.Village(1, 0).ID}).Want(t, 400) // not into another township
	f.Do(officer, "PATCH", path, map[string]any{"phone": "12345"}).Want(t, 400)
	f.Do(officer, "PATCH", path, map[string]any{"groups": []string{"vip"}}).Want(t, 400)
	// The admin moves them to another township: registration and distinct
	// counts move with the record, person-times stay where they were.
	before := f.progress(t)
	f.Do(f.Admin, "PATCH", path, map[string]any{"region_id": f.Village(1, 0).ID, "groups": []string{"youth"}}).Want(t, 200)
	p := f.progress(t)
	if p.PersonTimes != before.PersonTimes || p.TraineesByGroup[GroupPoverty] != 0 || p.TraineesByGroup[GroupYouth] != 1 || p.ByGroup[GroupPoverty] != 1 {
		t.Fatalf("after the move %+v", p)
	}
	var t1 Progress
	f.Do(f.Admin, "GET", "/api/v1/progress?township_id="+f.Township(1).ID, nil).Want(t, 200).Decode(t, &t1)
	if t1.Registered != 1 || t1.Trainees != 1 || t1.PersonTimes != 0 {
		t.Fatalf("new township %+v", t1)
	}
	f.noDrift(t)

	// The ID number: only the admin corrects it; the audit entry keeps the
	// old and new masked and sealed, never in clear.
	newNum := idnum()
	f.Do(officer, "PUT", path+"/id-number", map[string]any{"id_number": newNum}).Want(t, 403)
	f.Do(f.Admin, "PUT", path+"/id-number", map[string]any{"id_number": "123"}).Want(t, 400)
	r := f.Do(f.Admin, "PUT", path+"/id-number", map[string]any{"id_number": newNum}).Want(t, 200)
	if r.JSON()["id_number"] != MaskID(newNum) {
		t.Fatalf("corrected %s", r.Body)
	}
	if n, err := f.s.RevealID(f.Ctx, tr.ID); err != nil || n != newNum {
		t.Fatalf("reveal %s %v", n, err)
	}
	var entries []bson.M
	if err := f.Store.C("audit").Find(f.Ctx, bson.M{"action": "trainee.correct_id"}, &entries); err != nil || len(entries) != 1 {
		t.Fatalf("audit %v %v", entries, err)
	}
	raw, _ := bson.Marshal(entries[0])
	if strings.Contains(string(raw), newNum) || !strings.Contains(string(raw), MaskID(newNum)) {
		t.Fatal("the audit entry shows the number in clear, or not masked")
	}
	// The old number is free again; the new one is taken.
	dup := map[string]any{"name": "王五", "id_number": newNum, "region_id": f.Village(0, 0).ID}
	f.Do(f.Admin, "POST", "/api/v1/trainees", dup).Want(t, 409)
	f.Do(f.Admin, "PUT", path+"/id-number", map[string]any{"id_number": newNum}).Want(t, 400) // the same number
	f.noDrift(t)
}

func TestMergeKeepsCountersExact(t *testing.T) {
	f := newFixture(t)
	var mu sync.Mutex
	var merged []events.Merged
	f.Store.Events().Subscribe(events.TraineesMerged, "test", func(ctx context.Context, e store.Event) error {
		var m events.Merged
		if err := e.Decode(&m); err != nil {
			return err
		}
		mu.Lock()
		merged = append(merged, m)
		mu.Unlock()
		return nil
	})
	f.Store.Events().Start()
	trainer := f.NewCaller(server.RoleTrainer, "")
	s1 := f.session(trainer, 0, nil)
	s2 := f.session(trainer, 0, nil)
	s3 := f.session(trainer, 0, nil)
	keep, keepC := f.trainee(t, 0, 0, GroupPoverty)
	drop, dropC := f.trainee(t, 0, 1, GroupYouth)
	// Both at s1 (keep excused, drop present), only drop at s2, only keep at s3.
	f.Do(dropC, "POST", "/api/v1/checkins", map[string]any{"session_id": s1.ID, "code": f.code(t, trainer, s1.ID).Code, "client_id": "d1"}).Want(t, 201)
	f.Do(dropC, "POST", "/api/v1/checkins", map[string]any{"session_id": s2.ID, "code": f.code(t, trainer, s2.ID).Code, "client_id": "d2"}).Want(t, 201)
	f.Do(keepC, "POST", "/api/v1/checkins", map[string]any{"session_id": s3.ID, "code": f.code(t, trainer, s3.ID).Code, "client_id": "k3"}).Want(t, 201)
	f.Do(trainer, "POST", "/api/v1/sessions/"+s1.ID+"/marks", map[string]any{"trainee_id": keep.ID, "status": "excused"}).Want(t, 200)
	before := f.progress(t)
	if before.PersonTimes != 3 || before.Trainees != 2 || before.Registered != 2 {
		t.Fatalf("before %+v", before)
	}
	body := map[string]any{"keep": keep.ID, "drop": drop.ID}
	f.Do(f.NewCaller(server.RoleOfficer, f.Township(1).ID), "POST", "/api/v1/trainees/merge", body).Want(t, 403)
	f.Do(trainer, "POST", "/api/v1/trainees/merge", body).Want(t, 403)
	f.Do(f.Admin, "POST", "/api/v1/trainees/merge", map[string]any{"keep": keep.ID, "drop": keep.ID}).Want(t, 400)
	var res MergeResult
	f.Do(f.NewCaller(server.RoleOfficer, f.Township(0).ID), "POST", "/api/v1/trainees/merge", body).Want(t, 200).Decode(t, &res)
	if res.MovedAttendance != 1 || res.MergedAttendance != 1 || res.MovedEnrollments != 1 || res.MergedEnrollments != 1 {
		t.Fatalf("merge %+v", res)
	}
	after := f.progress(t)
	// s1 counts once (the dropped record's present status kept), s2 moved, s3 stays.
	if after.PersonTimes != 3 || after.Trainees != 1 || after.Registered != 1 {
		t.Fatalf("after %+v", after)
	}
	f.noDrift(t)
	recs, err := f.s.TraineeAttendance(f.Ctx, keep.ID)
	if err != nil || len(recs) != 3 {
		t.Fatalf("kept attendance %v %v", recs, err)
	}
	for _, a := range recs {
		if !counted(a.Status) {
			t.Errorf("kept record %s is %s", a.SessionID, a.Status)
		}
	}
	if left, _ := f.s.TraineeAttendance(f.Ctx, drop.ID); len(left) != 0 {
		t.Fatalf("dropped record kept attendance %v", left)
	}
	d, err := f.s.Trainee(f.Ctx, drop.ID)
	if err != nil || !d.Merged() || d.MergedInto != keep.ID {
		t.Fatalf("dropped record %+v %v", d, err)
	}
	f.Do(f.Admin, "POST", "/api/v1/trainees/merge", body).Want(t, 409)
	f.Do(f.Admin, "PATCH", "/api/v1/trainees/"+drop.ID, map[string]any{"name": "x"}).Want(t, 409)
	// Its account now finds the kept record... the kept one had an account,
	// so the dropped account is not moved (its key is gone).
	if _, err := f.s.TraineeByUser(f.Ctx, drop.UserID); err == nil {
		t.Fatal("the dropped account still finds a record")
	}
	if err := f.Store.Events().Wait(f.Ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(merged) != 1 || merged[0].Kept != keep.ID || merged[0].Dropped != drop.ID {
		t.Fatalf("events %+v", merged)
	}
	for _, sid := range []string{s1.ID, s2.ID, s3.ID} {
		st, _ := f.s.sessionStatuses(f.Ctx, sid)
		if _, ok := st[sid][drop.ID]; ok || !counted(st[sid][keep.ID]) {
			t.Errorf("session %s list %v", sid, st[sid])
		}
	}
}

func TestSearch(t *testing.T) {
	f := newFixture(t)
	num := idnum()
	var a Registered
	f.Do(f.Admin, "POST", "/api/v1/trainees", map[string]any{"name": "欧阳小明", "id_number": num, "phone": "13712340001", "region_id": f.Village(0, 0).ID}).Want(t, 201).Decode(t, &a)
	f.Do(f.Admin, "POST", "/api/v1/trainees", map[string]any{"name": "王小明", "id_number": idnum(), "region_id": f.Village(1, 0).ID}).Want(t, 201)
	f.Do(f.Admin, "POST", "/api/v1/trainees", map[string]any{"name": "王(五)", "id_number": idnum(), "region_id": f.Village(1, 0).ID}).Want(t, 201)
	find := func(q string) []string {
		t.Helper()
		var out struct{ Items []Trainee }
		f.Do(f.Admin, "GET", "/api/v1/trainees?q="+url.QueryEscape(q), nil).Want(t, 200).Decode(t, &out)
		var names []string
		for _, x := range out.Items {
			names = append(names, x.Name)
		}
		return names
	}
	cases := map[string]int{"小明": 2, "欧阳": 1, "王": 2, "13712340001": 1, "2340001": 1, "0001": 1, num[14:]: 1, num: 1, "王(五)": 1, ".*": 0, "(": 0, "$where": 0, "13": 0}
	for q, n := range cases {
		if got := find(q); len(got) != n {
			t.Errorf("q=%q: %v, want %d", q, got, n)
		}
	}
	f.Do(f.Admin, "GET", "/api/v1/trainees?q=%00", nil).Want(t, 400)
	f.Do(f.Admin, "GET", "/api/v1/trainees?q=a%00b", nil).Want(t, 400)
	f.Do(f.Admin, "GET", "/api/v1/trainees?q="+strings.Repeat("王", 31), nil).Want(t, 400)
	// An officer finds their township's trainees only.
	var out struct{ Items []Trainee }
	f.Do(f.NewCaller(server.RoleOfficer, f.Township(1).ID), "GET", "/api/v1/trainees?q="+url.QueryEscape("小明"), nil).Want(t, 200).Decode(t, &out)
	if len(out.Items) != 1 || out.Items[0].Name != "王小明" {
		t.Fatalf("officer search %+v", out.Items)
	}
	// A corrected name is found under the new one only.
	f.Do(f.Admin, "PATCH", "/api/v1/trainees/"+a.ID, map[string]any{"name": "欧阳晓明"}).Want(t, 200)
	if got := find("欧阳小明"); len(got) != 0 {
		t.Fatalf("old name still found %v", got)
	}
	if got := find("晓明"); len(got) != 1 {
		t.Fatalf("new name not found %v", got)
	}
	if _, err := f.s.Compact(f.Ctx); err != nil {
		t.Fatal(err)
	}
	if got := find("晓明"); len(got) != 1 {
		t.Fatalf("after compaction %v", got)
	}
	f.noDrift(t)
}
