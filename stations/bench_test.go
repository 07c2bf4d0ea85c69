package stations

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"nongxun/store"
)

// seedParcels stores n parcels down warehouse → hub → village, in every
// state a county's hot collection holds (created … picked up).
func seedParcels(b testing.TB, n *network, count int) {
	b.Helper()
	now := time.Now().UTC()
	route := []string{n.W, n.Hub, n.V}
	kinds := []struct {
		node, kind string
		hop        int
	}{{n.W, ScanReceived, 0}, {n.W, ScanDispatched, 0}, {n.Hub, ScanReceived, 1}, {n.Hub, ScanDispatched, 1}, {n.V, ScanDelivered, 2}, {n.V, ScanPickedUp, 2}}
	const batch = 10000
	for start := 0; start < count; start += batch {
		docs := map[*store.Collection][]any{}
		for i := start; i < start+batch && i < count; i++ {
			p := Parcel{Waybill: fmt.Sprintf("SEED%08d", i), Direction: DirDown, OriginID: n.W, DestinationID: n.V, Route: route,
				TownshipID: n.Township(0).ID, Product: "日用品", WeightG: 1200, State: StateCreated, LastHop: -1, LastAt: now,
				Scans: []Scan{}, CreatedAt: now, CreatedBy: "seed"}
			for k := 0; k < i%7; k++ {
				s := kinds[k]
				p.Scans = append(p.Scans, Scan{NodeID: s.node, Kind: s.kind, At: now.Add(time.Duration(k) * time.Hour), By: "seed"})
				p.State, p.LastHop, p.NScans = s.kind, s.hop, k+1
			}
			c := n.S.bucket(n.S.hot, p.Waybill)
			docs[c] = append(docs[c], p)
		}
		for c, d := range docs {
			if _, err := c.InsertMany(n.Ctx, d); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func p50(times []time.Duration) float64 {
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	return float64(times[len(times)/2].Microseconds()) / 1000
}

// BenchmarkParcels measures, with 50,000 parcels in the hot collection,
// the throughput of creating a parcel and scanning it four times over the
// API, and the p50 of GET /parcels/:waybill.
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
		const samples = 100
		times := make([]time.Duration, 0, samples*b.N)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			for j := 0; j < samples; j++ {
				w := fmt.Sprintf("SEED%08d", (j*7919+i)%50_000)
				t0 := time.Now()
				n.Do(n.Admin, "GET", "/api/v1/parcels/"+w, nil).Want(b, 200)
				times = append(times, time.Since(t0))
			}
		}
		b.ReportMetric(p50(times), "p50_ms")
	})
}

// BenchmarkCoverage measures GET /stations/coverage with 190 operating
// village points and 23 township stations.
func BenchmarkCoverage(b *testing.B) {
	f := newFixture(b)
	for i := 0; i < 23; i++ {
		id := f.station(KindTownship, f.Township(i).ID, OriginNew)
		f.walk(id, StatusOperating)
	}
	vs := f.Regions.Villages(f.Ctx)
	for i := 0; i < 190; i++ {
		f.walk(f.station(KindVillage, vs[i*2%len(vs)].ID, OriginNew), StatusOperating)
	}
	const samples = 200
	times := make([]time.Duration, 0, samples*b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := 0; j < samples; j++ {
			t0 := time.Now()
			r := f.Do(f.Admin, "GET", "/api/v1/stations/coverage", nil).Want(b, 200)
			times = append(times, time.Since(t0))
			if r.JSON()["operating_points"].(float64) != 190 {
				b.Fatalf("coverage %s", r.Body)
			}
		}
	}
	b.ReportMetric(p50(times), "p50_ms")
}
