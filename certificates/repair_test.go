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
