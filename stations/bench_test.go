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

// county makes 23 operating township stations and 190 operating village points.
func county(b testing.TB) *fixture {
	f := newFixture(b)
	for i := 0; i < 23; i++ {
		id := f.station(KindTownship, f.Township(i).ID, OriginNew)
		f.walk(id, StatusOperating)
	}
	vs := f.Regions.Villages(f.Ctx)
	for i := 0; i < 190; i++ {
		f.walk(f.station(KindVillage, vs[i*2%len(vs)].ID, OriginNew), StatusOperating)
	}
	return f
}

// BenchmarkStationList measures GET /stations with 213 stations: the first
// read after a write of a station, the p50 of the reads that follow, and
// the write itself (a PATCH, which changes the list's pack as its last step).
func BenchmarkStationList(b *testing.B) {
	f := county(b)
	list := f.Do(f.Admin, "GET", "/api/v1/stations", nil).Want(b, 200).JSON()["items"].([]any)
	var first, times, writes []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := list[i%len(list)].(map[string]any)["id"].(string)
		t0 := time.Now()
		f.Do(f.Admin, "PATCH", "/api/v1/stations/"+id, map[string]any{"hours": "8:00-18:00 第" + string(rune('0'+i%10))}).Want(b, 200)
		writes = append(writes, time.Since(t0))
		t0 = time.Now()
		f.Do(f.Admin, "GET", "/api/v1/stations", nil).Want(b, 200)
		first = append(first, time.Since(t0))
		for j := 0; j < 20; j++ {
			t0 = time.Now()
			f.Do(f.Admin, "GET", "/api/v1/stations", nil).Want(b, 200)
			times = append(times, time.Since(t0))
		}
	}
	b.ReportMetric(p50(first), "first_p50_ms")
	b.ReportMetric(p50(times), "p50_ms")
	b.ReportMetric(p50(writes), "patch_p50_ms")
}

// BenchmarkCoverage measures GET /stations/coverage with 190 operating
// village points and 23 township stations.
func BenchmarkCoverage(b *testing.B) {
	f := county(b)
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
