package regions_test

import (
	"testing"

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
