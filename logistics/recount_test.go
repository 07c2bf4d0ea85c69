package logistics

import (
	"fmt"
	"testing"
	"time"

	"nongxun/clock"
)

// TestRecountParcels: the rebuild reproduces the live day counters exactly
// (no drift on a consistent store), finds counts a crash lost, and restores
// the volumes.
func TestRecountParcels(t *testing.T) {
	n := newNetwork(t)
	for i, hours := range []float64{6, 10} {
		w := fmt.Sprintf("EMS500000%d", i)
		n.parcel(w, DirDown, n.W, n.V)
		for _, s := range []struct {
			node, kind string
			h          float64
		}{{n.W, ScanReceived, 0}, {n.W, ScanSorted, 0.5}, {n.W, ScanDispatched, 1}, {n.Hub, ScanReceived, 2}, {n.Hub, ScanDispatched, 3}, {n.V, ScanDelivered, hours}} {
			if got := n.scan(nil, w, s.node, s.kind, s.h); got != 201 {
				t.Fatalf("%s %s: %d", w, s.kind, got)
			}
		}
	}
	n.parcel("EMS5000010", DirUp, n.V, n.W)
	n.parcel("EMS5000012", DirUp, n.Off, n.W)
	n.scan(nil, "EMS5000010", n.V, ScanReceived, 1)

	res, err := n.S.RecountParcels(n.Ctx, false)
	if err != nil || res.Parcels != 4 || len(res.DriftedDays) != 0 {
		t.Fatalf("consistent store: %+v %v", res, err)
	}
	volumes := func() string {
		from := clock.Day(base)
		today := clock.Day(n.S.now())
		return string(n.Do(n.Admin, "GET", "/api/v1/parcels/volumes?from="+from+"&to="+today, nil).Want(t, 200).Body)
	}
	before := volumes()

	// A crash lost a delivery's count and a creation's count.
	day := clock.Day(base.Add(6 * 3600e9))
	if err := n.S.counters.Inc(n.Ctx, "pd:"+day, map[string]int64{"c2v_n": -1, "c2v_ms": -6 * 3600e3, "n." + n.V + ".down": -1}); err != nil {
		t.Fatal(err)
	}
	if err := n.S.counters.Inc(n.Ctx, "pd:"+clock.Day(n.S.now()), map[string]int64{"up": -1}); err != nil {
		t.Fatal(err)
	}
	if volumes() == before {
		t.Fatal("the corruption did not show")
	}
	res, err = n.S.RecountParcels(n.Ctx, false)
	if err != nil || len(res.DriftedDays) == 0 || res.Fixed {
		t.Fatalf("check: %+v %v", res, err)
	}
	res, err = n.S.RecountParcels(n.Ctx, true)
	if err != nil || !res.Fixed {
		t.Fatalf("fix: %+v %v", res, err)
	}
	if got := volumes(); got != before {
		t.Fatalf("volumes after the rebuild\n%s\nbefore\n%s", got, before)
	}
	if res, _ := n.S.RecountParcels(n.Ctx, false); len(res.DriftedDays) != 0 {
		t.Fatalf("drift after the fix: %+v", res)
	}
}

// TestRepairRunsInTheBackground: the start-up repair returns at once and
// the recount it starts puts a lost count back while the server serves.
func TestRepairRunsInTheBackground(t *testing.T) {
	n := newNetwork(t)
	n.parcel("EMS6000001", DirUp, n.V, n.W)
	if err := n.S.counters.Inc(n.Ctx, "pd:"+clock.Day(n.S.now()), map[string]int64{"up": -1}); err != nil {
		t.Fatal(err)
	}
	if drifted, err := n.S.RepairInBackground(n.Ctx); err != nil || drifted {
		t.Fatalf("repair %v %v", drifted, err)
	}
	n.Do(n.Admin, "GET", "/api/v1/parcels/EMS6000001", nil).Want(t, 200) // serving meanwhile
	deadline := time.Now().Add(20 * time.Second)
	for {
		r, err := n.S.RecountParcels(n.Ctx, false)
		if err == nil && len(r.DriftedDays) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still drifted: %+v %v", r, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
