package regions_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"nongxun/regions"
	"nongxun/testkit"
)

// BenchmarkTownshipOf is the lookup other packages make per record (which
// township a village lies in), on the demo county's ~400 regions.
func BenchmarkTownshipOf(b *testing.B) {
	e := testkit.New(b)
	v := e.Village(5, 3)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if e.Regions.TownshipOf(e.Ctx, v.ID) == "" {
			b.Fatal("no township")
		}
	}
}

// BenchmarkRegionsTree serves the whole tree, as GET /api/v1/regions does.
func BenchmarkRegionsTree(b *testing.B) {
	e := testkit.New(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.Do(e.Admin, "GET", "/api/v1/regions", nil).Want(b, 200)
	}
}

// BenchmarkTownships is the list of townships most pages show.
func BenchmarkTownships(b *testing.B) {
	e := testkit.New(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if len(e.Regions.Townships(e.Ctx)) != 23 {
			b.Fatal("townships")
		}
	}
}

// BenchmarkVillages is the whole list of villages (coverage, imports).
func BenchmarkVillages(b *testing.B) {
	e := testkit.New(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if len(e.Regions.Villages(e.Ctx)) < 370 {
			b.Fatal("villages")
		}
	}
}

// BenchmarkImport400 imports a region list of 20 new townships with 20
// villages each (420 rows, parents first) into the demo county through
// the handler: preview, then commit. It reports seconds per import.
func BenchmarkImport400(b *testing.B) {
	var csv strings.Builder
	csv.WriteString("区划代码,名称,级别,上级代码,贫困村\r\n")
	for t := 0; t < 20; t++ {
		tc := fmt.Sprintf("5303267%02d", t)
		fmt.Fprintf(&csv, "%s,新设%d镇,乡镇,530326,\r\n", tc, t)
		for v := 0; v < 20; v++ {
			fmt.Fprintf(&csv, "%s%03d,新设%d镇%d村,村,%s,%d\r\n", tc, v, t, v, tc, v%3/2)
		}
	}
	data := []byte(csv.String())
	for _, mode := range []string{"preview", "commit"} {
		b.Run(mode, func(b *testing.B) {
			var secs float64
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				e := testkit.New(b)
				e.Regions.RegisterAdmin(e.API)
				path := "/api/v1/regions/import"
				if mode == "preview" {
					path += "?preview=1"
				}
				b.StartTimer()
				t0 := time.Now()
				var res regions.ImportResult
				e.Upload(e.Admin, path, "区划.csv", data, nil).Want(b, 200).Decode(b, &res)
				secs += time.Since(t0).Seconds()
				b.StopTimer()
				if res.Created != 420 {
					b.Fatalf("created %d", res.Created)
				}
			}
			b.ReportMetric(secs/float64(b.N), "s/import")
		})
	}
}
