package certificates

import (
	"testing"

	"nongxun/clock"
)

// TestRepairCounters: counters left behind (as by a crash between storing
// certificates and counting them) are rebuilt from the certificates, and a
// second repair finds nothing to do.
func TestRepairCounters(t *testing.T) {
	f := newFixture(t)
	c, ss, _ := f.course("物流与包装", 0.5, 3, 2)
	for i := 0; i < 6; i++ {
		f.enrol(c, ss, []int{0, 1}, f.plainTrainee("学员", i%2))
	}
	res := f.issueAll(c.ID)
	if len(res.Issued) != 6 {
		t.Fatalf("issued %d", len(res.Issued))
	}
	f.Do(f.Admin, "POST", "/api/v1/certificates/"+res.Issued[0].ID+"/revoke", map[string]any{"reason": "信息有误"}).Want(t, 200)
	before, err := f.svc.CountByTownship(f.Ctx)
	if err != nil || before[""] != 5 {
		t.Fatalf("county count %v %v, want 5", before, err)
	}
	if drifted, err := f.svc.RepairCounters(f.Ctx); err != nil || drifted {
		t.Fatalf("consistent counters reported drift: %v %v", drifted, err)
	}
	// Lose the last issuance's counting.
	if err := f.svc.bump(f.Ctx, map[string]int64{f.Township(0).ID: -2, f.Township(1).ID: -1}, f.svc.now().In(clock.Shanghai).Format("2006-01")); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.svc.CountByTownship(f.Ctx); got[""] != 2 {
		t.Fatalf("corruption did not take: %v", got)
	}
	drifted, err := f.svc.RepairCounters(f.Ctx)
	if err != nil || !drifted {
		t.Fatalf("repair: %v %v", drifted, err)
	}
	after, _ := f.svc.CountByTownship(f.Ctx)
	if len(after) != len(before) {
		t.Fatalf("after repair %v, before %v", after, before)
	}
	for k, v := range before {
		if after[k] != v {
			t.Fatalf("after repair %v, before %v", after, before)
		}
	}
	month, _ := f.svc.MonthlyFigures(f.Ctx, f.svc.now().In(clock.Shanghai).Format("2006-01"))
	if month[""]["certificates"] != 6 {
		t.Fatalf("month figure %v, want 6 issued", month)
	}
	if drifted, _ := f.svc.RepairCounters(f.Ctx); drifted {
		t.Fatal("a second repair found drift")
	}
	// The serial sequence sharing the collection is left alone.
	var seq struct{ Seq int64 }
	if err := f.svc.counters.FindOne(f.Ctx, map[string]any{"_id": "serial/" + f.svc.now().In(clock.Shanghai).Format("2006")}, &seq); err != nil || seq.Seq != 6 {
		t.Fatalf("serial sequence %+v %v, want 6", seq, err)
	}
}

// TestUpgradeIndexesOlderCertificates: certificates stored before the code
// and index documents existed are indexed once at start-up, so they stay
// verifiable and listed; a lost code document is rewritten by the repair.
func TestUpgradeIndexesOlderCertificates(t *testing.T) {
	f := newFixture(t)
	c, _, trainer := f.course("旧证书课程", 0.5, 2)
	tr := f.plainTrainee("王五", 0)
	old := Certificate{ID: certID(c.ID, tr.ID), Serial: FormatSerial(f.Config.CertPrefix, 2025, 7), Code: "ABCDEFGHJKLMNPQR", TraineeID: tr.ID, CourseID: c.ID,
		IssuedAt: f.svc.now().UTC(), Status: StatusValid, Year: 2025, Seq: 7, TownshipID: tr.TownshipID, Name: tr.Name, CourseTitle: c.Title, Hours: 24}
	if err := f.svc.certs.InsertOne(f.Ctx, old); err != nil {
		t.Fatal(err)
	}
	f.Do(nil, "GET", "/api/v1/verify/"+old.Code, nil).Want(t, 404)
	if _, err := f.svc.counters.DeleteOne(f.Ctx, map[string]any{"_id": upgradeIndexID}); err != nil {
		t.Fatal(err)
	}
	_, err := New(f.Ctx, f.svc.d)
	if err != nil {
		t.Fatal(err)
	}
	f.Do(nil, "GET", "/api/v1/verify/"+old.Code, nil).Want(t, 200)
	var list struct{ Items []Certificate }
	f.Do(trainer, "GET", "/api/v1/courses/"+c.ID+"/certificates", nil).Want(t, 200).Decode(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != old.ID {
		t.Fatalf("listed %+v", list.Items)
	}
	if cs, _ := f.svc.traineeCerts(f.Ctx, tr.ID); len(cs) != 1 {
		t.Fatalf("trainee index %+v", cs)
	}
	if _, err := f.svc.codes.DeleteOne(f.Ctx, map[string]any{"_id": old.Code}); err != nil {
		t.Fatal(err)
	}
	if drifted, err := f.svc.RepairCounters(f.Ctx); err != nil || !drifted {
		t.Fatalf("repair %v %v", drifted, err)
	}
	f.Do(nil, "GET", "/api/v1/verify/"+old.Code, nil).Want(t, 200)
}
