package incubation

import (
	"math"
	"testing"
)

func near(p *float64, want float64) bool { return p != nil && math.Abs(*p-want) < 1e-9 }

// TestGrowth: month on month, year on year and year to date per shop,
// township and county, with a replaced report moving totals by the difference.
func TestGrowth(t *testing.T) {
	e := newEnv(t)
	a := e.trainee(0, 0)
	r := e.Do(e.Admin, "POST", "/api/v1/shops", map[string]any{"trainee_id": a.ID, "platform": "pinduoduo", "name": "老张核桃",
		"url": "https://mobile.yangkeduo.com/mall_page.html?mall_id=1", "opened_on": "2018-01-01"}).Want(t, 201)
	shop := r.JSON()["id"].(string)
	for _, s := range []struct {
		m   string
		rev int64
	}{{"2018-04", 1000}, {"2018-05", 1000}, {"2019-04", 1000}, {"2019-05", 1500}} {
		e.sale(shop, s.m, 10, s.rev).Want(t, 201)
	}
	check := func(what string, l GrowthLine, rev int64, mom, yoy, ytd float64, meets bool) {
		t.Helper()
		if l.Month != "2019-05" || l.RevenueFen != rev || !near(l.MoM, mom) || !near(l.YoY, yoy) || !near(l.YTDGrowth, ytd) || l.MeetsTarget == nil || *l.MeetsTarget != meets {
			t.Fatalf("%s: %+v (mom %v yoy %v ytd %v)", what, l, deref(l.MoM), deref(l.YoY), deref(l.YTDGrowth))
		}
	}
	var g Growth
	e.Do(e.Admin, "GET", "/api/v1/incubation/growth", nil).Want(t, 200).Decode(t, &g)
	check("county", g.GrowthLine, 1500, 0.5, 0.5, 0.25, false)
	check("county's township", g.ByTownship[a.TownshipID], 1500, 0.5, 0.5, 0.25, false)
	if len(g.ByMonth) != 13 || g.ByMonth[12].Month != "2019-05" || g.ByMonth[0].Month != "2018-05" {
		t.Fatalf("by month: %+v", g.ByMonth)
	}

	e.sale(shop, "2019-05", 12, 2000).Want(t, 201) // replaces 1500
	e.Do(e.officer, "GET", "/api/v1/incubation/growth", nil).Want(t, 200).Decode(t, &g)
	check("officer's township", g.GrowthLine, 2000, 1.0, 1.0, 0.5, true)
	var detail struct {
		Growth Growth
		Sales  []Sale
	}
	e.Do(e.Admin, "GET", "/api/v1/shops/"+shop, nil).Want(t, 200).Decode(t, &detail)
	check("shop", detail.Growth.GrowthLine, 2000, 1.0, 1.0, 0.5, true)
	if len(detail.Sales) != 4 {
		t.Fatalf("current reports: %d", len(detail.Sales))
	}
	// An empty base has no ratio.
	e.Do(e.officer1, "GET", "/api/v1/incubation/growth", nil).Want(t, 200).Decode(t, &g)
	if g.MoM != nil || g.YTDGrowth != nil || g.MeetsTarget != nil {
		t.Fatalf("empty township: %+v", g)
	}
	e.Do(e.Admin, "GET", "/api/v1/incubation/growth?month=2019-5", nil).Want(t, 400)
	e.recountOK()
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

// TestRegistry: products, enterprises, brands and the totals counters.
func TestRegistry(t *testing.T) {
	e := newEnv(t)
	var prods struct{ Products []Product }
	e.Do(e.officer, "GET", "/api/v1/products", nil).Want(t, 200).Decode(t, &prods)
	if len(prods.Products) != 4 || prods.Products[0].Name != "石榴" {
		t.Fatalf("seeded products: %+v", prods.Products)
	}
	e.Do(e.Admin, "POST", "/api/v1/products", map[string]any{"name": "石榴"}).Want(t, 409)
	e.Do(e.officer, "POST", "/api/v1/products", map[string]any{"name": "荞麦"}).Want(t, 403)
	buckwheat := e.Do(e.Admin, "POST", "/api/v1/products", map[string]any{"name": "荞麦", "category": "杂粮"}).Want(t, 201).JSON()["id"].(string)
	e.Do(e.Admin, "PUT", "/api/v1/products/"+buckwheat, map[string]any{"name": "苦荞", "category": "杂粮"}).Want(t, 200)
	e.Do(e.Admin, "PUT", "/api/v1/products/"+buckwheat, map[string]any{"name": "核桃"}).Want(t, 409)

	a := e.trainee(0, 0)
	shop := e.shop(a)
	pomegranate := prods.Products[0].ID
	ent := map[string]any{"name": "会泽县某某农业有限公司", "credit_code": "91530326MA6K5XXX0L", "township_id": a.TownshipID,
		"products": []string{pomegranate}, "shop_ids": []string{shop}, "recognized_on": "2019-03-01"}
	for _, bad := range []struct {
		field string
		v     any
	}{{"credit_code", "123"}, {"shop_ids", []string{a.ID}}, {"products", []string{shop}}, {"township_id", a.RegionID}, {"name", ""}} {
		body := map[string]any{}
		for k, v := range ent {
			body[k] = v
		}
		body[bad.field] = bad.v
		r := e.Do(e.Admin, "POST", "/api/v1/enterprises", body).Want(t, 400)
		if f, _ := r.JSON()["error"].(map[string]any)["fields"].(map[string]any); f[bad.field] == nil {
			t.Fatalf("%s: %s", bad.field, r.Body)
		}
	}
	entID := e.Do(e.Admin, "POST", "/api/v1/enterprises", ent).Want(t, 201).JSON()["id"].(string)
	e.Do(e.Admin, "POST", "/api/v1/enterprises", ent).Want(t, 409)
	ent["business"] = "石榴种植与网销"
	e.Do(e.Admin, "PUT", "/api/v1/enterprises/"+entID, ent).Want(t, 200)

	brand := map[string]any{"name": "会泽石榴", "trademark_no": "12345678", "enterprise_id": entID, "products": []string{pomegranate},
		"certifications": []string{"geographical_indication", "green"}, "shop_ids": []string{shop}}
	e.Do(e.Admin, "POST", "/api/v1/brands", map[string]any{"name": "x", "certifications": []string{"iso9001"}}).Want(t, 400)
	e.Do(e.Admin, "POST", "/api/v1/brands", map[string]any{"name": "x", "enterprise_id": shop}).Want(t, 400)
	e.Do(e.Admin, "POST", "/api/v1/brands", brand).Want(t, 201)
	e.Do(e.Admin, "POST", "/api/v1/brands", brand).Want(t, 409)

	en, br, sh, err := e.svc.Counts(e.Ctx)
	if err != nil || en != 1 || br != 1 || sh != 1 {
		t.Fatalf("counts %d %d %d (%v)", en, br, sh, err)
	}
	var sum map[string]any
	e.Do(e.NewCaller("auditor", ""), "GET", "/api/v1/incubation/summary", nil).Want(t, 200).Decode(t, &sum)
	if sum["enterprises"].(float64) != 1 || sum["brands"].(float64) != 1 {
		t.Fatalf("summary %v", sum)
	}
	e.recountOK()
}
