package logistics

import (
	"fmt"
	"sort"
	"testing"
	"time"
)

// seedParcels stores count parcels down warehouse → hub → village, in
// every state a county's hot collection holds (created … picked up),
// straight through the store in batches of 1,000 (setup, not the figure).
func seedParcels(b testing.TB, n *network, count int) {
	b.Helper()
	now := time.Now().UTC()
	route := []string{n.W, n.Hub, n.V}
	names := []string{"县仓储物流中心", "乡镇服务站", "村级服务点"}
	kinds := []struct {
		node, kind string
		hop        int
	}{{n.W, ScanReceived, 0}, {n.W, ScanDispatched, 0}, {n.Hub, ScanReceived, 1}, {n.Hub, ScanDispatched, 1}, {n.V, ScanDelivered, 2}, {n.V, ScanPickedUp, 2}}
	const batch = 1000
	docs := make([]any, 0, batch)
	for i := 0; i < count; i++ {
		p := Parcel{Waybill: fmt.Sprintf("SEED%08d", i), Direction: DirDown, OriginID: n.W, DestinationID: n.V, OriginKind: "warehouse", DestKind: "village",
			Route: route, RouteNames: names, TownshipID: n.Township(0).ID, Product: "日用品", WeightG: 1200, State: StateCreated, LastHop: -1, LastAt: now,
			Scans: []Scan{}, CreatedAt: now, CreatedBy: "seed"}
		for k := 0; k < i%7; k++ {
			s := kinds[k]
			p.Scans = append(p.Scans, Scan{NodeID: s.node, NodeName: names[s.hop], Kind: s.kind, At: now.Add(time.Duration(k) * time.Hour), By: "seed"})
			p.State, p.LastHop, p.NScans = s.kind, s.hop, k+1
		}
		docs = append(docs, p)
		if len(docs) == batch || i == count-1 {
			if _, err := n.S.hot.InsertMany(n.Ctx, docs); err != nil {
				b.Fatal(err)
			}
			docs = docs[:0]
		}
	}
}

func p50(times []time.Duration) float64 {
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	return float64(times[len(times)/2].Microseconds()) / 1000
}

// BenchmarkParcels measures, with 50,000 parcels stored, the throughput of
// registering a parcel and scanning it four times over the API, the p50 of
// GET /parcels/:waybill, and archiving finished parcels.
func BenchmarkParcels(b *testing.B) {
	n := newNetwork(b)
	seedParcels(b, n, 50_000)
	seq := 0
	b.Run("create_and_4_scans", func(b *testing.B) {
		const perIter = 40
		var creates, scans []time.Duration
		t0 := time.Now()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			for j := 0; j < perIter; j++ {
				seq++
				w := fmt.Sprintf("BENCH%07d", seq)
				t1 := time.Now()
				n.Do(n.Admin, "POST", "/api/v1/parcels", map[string]any{"waybill": w, "direction": "down", "origin_id": n.W, "destination_id": n.V}).Want(b, 201)
				creates = append(creates, time.Since(t1))
				for k, s := range []struct{ node, kind string }{{n.W, ScanReceived}, {n.W, ScanDispatched}, {n.Hub, ScanReceived}, {n.Hub, ScanDispatched}} {
					t1 = time.Now()
					r := n.Do(n.Admin, "POST", "/api/v1/parcels/"+w+"/scans", map[string]any{"node_id": s.node, "kind": s.kind,
						"at": time.Now().UTC().Add(time.Duration(k-10) * time.Minute).Format(time.RFC3339)})
					scans = append(scans, time.Since(t1))
					r.Want(b, 201)
				}
			}
		}
		secs := time.Since(t0).Seconds()
		b.ReportMetric(float64(b.N*perIter)/secs, "parcels/s")
		b.ReportMetric(float64(b.N*perIter*5)/secs, "writes/s")
		b.ReportMetric(p50(creates), "create_p50_ms")
		b.ReportMetric(p50(scans), "scan_p50_ms")
	})
	b.Run("get_parcel", func(b *testing.B) {
		getParcels(b, n, 50_000)
	})
	b.Run("archive", func(b *testing.B) {
		// a day's worth of delivered parcels, then archived
		b.StopTimer()
		var ws []string
		for i := 0; i < 100*b.N; i++ {
			seq++
			w := fmt.Sprintf("BENCH%07d", seq)
			n.parcel(w, DirDown, n.W, n.V)
			for k, s := range []struct{ node, kind string }{{n.W, ScanReceived}, {n.W, ScanDispatched}, {n.Hub, ScanReceived}, {n.Hub, ScanDispatched}, {n.V, ScanDelivered}} {
				if got := n.scan(nil, w, s.node, s.kind, float64(k)); got != 201 {
					b.Fatalf("%s %s: %d", w, s.kind, got)
				}
			}
			ws = append(ws, w)
		}
		b.StartTimer()
		t0 := time.Now()
		moved, err := n.S.ArchiveParcels(n.Ctx, time.Now().Add(time.Hour))
		if err != nil || moved != len(ws) {
			b.Fatalf("archived %d of %d: %v", moved, len(ws), err)
		}
		b.ReportMetric(float64(time.Since(t0).Microseconds())/1000/float64(moved), "ms/parcel")
	})
	b.Run("recount", func(b *testing.B) {
		// the seeded parcels were stored without their counts: the first
		// run sets them, the timed ones check them
		if _, err := n.S.RecountParcels(n.Ctx, true); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		t0 := time.Now()
		for i := 0; i < b.N; i++ {
			r, err := n.S.RecountParcels(n.Ctx, false)
			if err != nil || len(r.DriftedDays) != 0 {
				b.Fatalf("recount %+v %v", r, err)
			}
		}
		b.ReportMetric(time.Since(t0).Seconds()/float64(b.N), "s/recount")
	})
}

// getParcels measures the p50 of GET /parcels/:waybill over the seeded parcels.
func getParcels(b *testing.B, n *network, stored int) {
	const samples = 100
	times := make([]time.Duration, 0, samples*b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := 0; j < samples; j++ {
			w := fmt.Sprintf("SEED%08d", (j*7919+i*104729)%stored)
			t0 := time.Now()
			n.Do(n.Admin, "GET", "/api/v1/parcels/"+w, nil).Want(b, 200)
			times = append(times, time.Since(t0))
		}
	}
	b.ReportMetric(p50(times), "p50_ms")
}

// BenchmarkParcels500k measures GET /parcels/:waybill with 500,000 parcels
// stored (a county's year and more); the seeding goes straight through the
// store in batches of 1,000 and is reported apart (seed_s).
func BenchmarkParcels500k(b *testing.B) {
	n := newNetwork(b)
	t0 := time.Now()
	seedParcels(b, n, 500_000)
	seed := time.Since(t0).Seconds()
	b.Run("get_parcel", func(b *testing.B) {
		getParcels(b, n, 500_000)
		b.ReportMetric(seed, "seed_s")
	})
	seq := 0
	b.Run("create_and_4_scans", func(b *testing.B) {
		const perIter = 20
		t0 := time.Now()
		for i := 0; i < b.N; i++ {
			for j := 0; j < perIter; j++ {
				seq++
				w := fmt.Sprintf("BIG%07d", seq)
				n.Do(n.Admin, "POST", "/api/v1/parcels", map[string]any{"waybill": w, "direction": "down", "origin_id": n.W, "destination_id": n.V}).Want(b, 201)
				for k, s := range []struct{ node, kind string }{{n.W, ScanReceived}, {n.W, ScanDispatched}, {n.Hub, ScanReceived}, {n.Hub, ScanDispatched}} {
					n.Do(n.Admin, "POST", "/api/v1/parcels/"+w+"/scans", map[string]any{"node_id": s.node, "kind": s.kind,
						"at": time.Now().UTC().Add(time.Duration(k-10) * time.Minute).Format(time.RFC3339)}).Want(b, 201)
				}
			}
		}
		b.ReportMetric(float64(b.N*perIter*5)/time.Since(t0).Seconds(), "writes/s")
	})
}
