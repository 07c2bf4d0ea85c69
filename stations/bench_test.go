package stations

import (
	"sort"
	"testing"
	"time"
)

func p50(times []time.Duration) float64 {
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	return float64(times[len(times)/2].Microseconds()) / 1000
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
