package courses

import (
	"testing"
	"time"

	"nongxun/clock"
)

// TestRepairCounters: sessions_held left behind by a crash is rebuilt from
// the sessions; consistent counters are left alone.
func TestRepairCounters(t *testing.T) {
	f := newFixture(t)
	c := f.course(f.trainer, true)
	for i := 0; i < 3; i++ {
		f.session(c, float64(24+i*3), float64(25+i*3))
	}
	month := clock.Month(time.Now().Add(24 * time.Hour))
	want, err := f.svc.MonthlyFigures(f.Ctx, month)
	if err != nil {
		t.Fatal(err)
	}
	if drifted, err := f.svc.RepairCounters(f.Ctx); err != nil || drifted {
		t.Fatalf("consistent counters: drifted %v, %v", drifted, err)
	}
	x, err := f.svc.Session(f.Ctx, f.session(c, 40, 41))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.countHeld(f.Ctx, x, -1); err != nil { // the count a crash lost
		t.Fatal(err)
	}
	if err := f.svc.countHeld(f.Ctx, x, -1); err != nil {
		t.Fatal(err)
	}
	drifted, err := f.svc.RepairCounters(f.Ctx)
	if err != nil || !drifted {
		t.Fatalf("repair: %v %v", drifted, err)
	}
	got, _ := f.svc.MonthlyFigures(f.Ctx, clock.Month(x.StartsAt))
	tw := x.TownshipID
	wantN := int64(1)
	if clock.Month(x.StartsAt) == month {
		wantN += want[tw][MetricSessionsHeld]
	}
	if got[tw][MetricSessionsHeld] != wantN {
		t.Fatalf("after repair %v, want %d for %s", got, wantN, tw)
	}
	if drifted, _ := f.svc.RepairCounters(f.Ctx); drifted {
		t.Fatal("a second repair found drift")
	}
}
