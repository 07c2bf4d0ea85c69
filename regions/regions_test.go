package regions_test

import (
	"net/http/httptest"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/server"
	"nongxun/store"
	"nongxun/testkit"
)

func TestMain(m *testing.M) { store.RunTests(m) }

func TestDemoCounty(t *testing.T) {
	e := testkit.New(t)
	var all []struct {
		ID, Name, Level, ParentID string `json:"-"`
		L                         string `json:"level"`
		P                         bool   `json:"poverty"`
		Parent                    string `json:"parent_id"`
		Demo                      bool   `json:"demo"`
	}
	e.Do(e.NewCaller(server.RoleTrainee, ""), "GET", "/api/v1/regions", nil).Want(t, 200).Decode(t, &all)
	n := map[string]int{}
	poverty := 0
	for _, r := range all {
		n[r.L]++
		if r.P {
			poverty++
		}
		if !r.Demo {
			t.Fatal("demo region not marked demo")
		}
	}
	if n["county"] != 1 || n["township"] != 23 || n["village"] < 370 || n["village"] > 400 {
		t.Fatalf("levels = %v", n)
	}
	if poverty < n["village"]/4 || poverty > n["village"]/2 {
		t.Fatalf("poverty villages = %d of %d", poverty, n["village"])
	}
	// Loading the demo again does nothing.
	if c, err := e.Regions.LoadDemo(e.Ctx); err != nil || c != 0 {
		t.Fatalf("second demo load: %d, %v", c, err)
	}
}

func TestCreateAndRename(t *testing.T) {
	e := testkit.New(t)
	twp := e.Township(2)
	officer := e.NewCaller(server.RoleOfficer, twp.ID)
	body := map[string]any{"name": "新建村", "level": "village", "parent_id": twp.ID, "poverty": true}
	e.Do(officer, "POST", "/api/v1/regions", body).Want(t, 403)
	r := e.Do(e.Admin, "POST", "/api/v1/regions", body).Want(t, 201).JSON()
	id := r["id"].(string)
	if e.Regions.TownshipOf(e.Ctx, id) != twp.ID || !e.Regions.IsVillage(e.Ctx, id) {
		t.Fatal("new village not under its township")
	}
	e.Do(e.Admin, "POST", "/api/v1/regions", body).Want(t, 409)
	for name, bad := range map[string]map[string]any{
		"village under village": {"name": "x", "level": "village", "parent_id": id},
		"township under twp":    {"name": "x", "level": "township", "parent_id": twp.ID},
		"unknown parent":        {"name": "x", "level": "village", "parent_id": store.NewID()},
		"bad level":             {"name": "x", "level": "province"},
		"empty name":            {"name": " ", "level": "village", "parent_id": twp.ID},
	} {
		if r := e.Do(e.Admin, "POST", "/api/v1/regions", bad); r.Status != 400 {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}
	e.Do(e.Admin, "POST", "/api/v1/regions", map[string]any{"name": "另一县", "level": "county"}).Want(t, 409)
	got := e.Do(e.Admin, "PATCH", "/api/v1/regions/"+id, map[string]any{"name": "改名村", "poverty": false}).Want(t, 200).JSON()
	if got["name"] != "改名村" || got["poverty"] != false {
		t.Fatalf("renamed = %v", got)
	}
	e.Do(e.Admin, "PATCH", "/api/v1/regions/"+store.NewID(), map[string]any{"name": "x"}).Want(t, 404)
	e.Do(e.Admin, "PATCH", "/api/v1/regions/xyz", map[string]any{"name": "x"}).Want(t, 400)
}

func TestImportIsIdempotent(t *testing.T) {
	e := testkit.New(t)
	e.Regions.RegisterAdmin(e.API)
	csv := []byte("\xef\xbb\xbfcode,name,level,parent_code,poverty\n530326001901,甲村,村,530326001,是\n530326001902,乙村,village,530326001,0\n530326999901,丙村,village,999,1\n,无码村,village,530326001,0\n")
	var res struct {
		Created, Kept int
		Refused       []struct {
			Row    int
			Reason string
		}
	}
	e.Upload(e.Admin, "/api/v1/regions/import", "villages.csv", csv, nil).Want(t, 200).Decode(t, &res)
	if res.Created != 2 || len(res.Refused) != 2 || res.Refused[0].Row != 4 {
		t.Fatalf("first import = %+v", res)
	}
	res.Refused = nil
	e.Upload(e.Admin, "/api/v1/regions/import", "villages.csv", csv, nil).Want(t, 200).Decode(t, &res)
	if res.Created != 0 || res.Kept != 2 {
		t.Fatalf("second import = %+v", res)
	}
	e.Upload(e.Admin, "/api/v1/regions/import", "", nil, nil).Want(t, 400)
	e.Upload(e.Admin, "/api/v1/regions/import", "x.csv", []byte("a,b\n1,2\n"), nil).Want(t, 400)
	req := httptest.NewRequest("POST", "/api/v1/regions/import", nil)
	req.Header.Set("Content-Type", "text/plain")
	if r := e.Send(e.Admin, req); r.Status != 400 {
		t.Fatalf("non-multipart: %d", r.Status)
	}
}

// TestTreePack checks that the tree's pack, kept by every write, is what
// the repair rebuilds from the regions, and that a missing pack (data from
// before it) is built on first use.
func TestTreePack(t *testing.T) {
	e := testkit.New(t)
	twp := e.Township(1)
	r := e.Do(e.Admin, "POST", "/api/v1/regions", map[string]any{"name": "包内村", "level": "village", "parent_id": twp.ID}).Want(t, 201).JSON()
	id := r["id"].(string)
	e.Do(e.Admin, "PATCH", "/api/v1/regions/"+id, map[string]any{"name": "包内改名村", "poverty": true}).Want(t, 200)
	if drifted, err := e.Regions.RepairTree(e.Ctx); err != nil || drifted {
		t.Fatalf("the maintained pack differs from the regions: drifted=%v err=%v", drifted, err)
	}
	// a missing pack is built from the regions
	if _, err := e.Store.C("region_tree").DeleteMany(e.Ctx, map[string]any{}); err != nil {
		t.Fatal(err)
	}
	e.Store.InvalidateCaches()
	got, ok := e.Regions.Get(e.Ctx, id)
	if !ok || got.Name != "包内改名村" || !got.Poverty || e.Regions.TownshipOf(e.Ctx, id) != twp.ID {
		t.Fatalf("after the pack was lost: %+v %v", got, ok)
	}
	if n := len(e.Regions.Villages(e.Ctx)); n < 370 {
		t.Fatalf("villages after a rebuild: %d", n)
	}
	if n := len(e.Regions.Townships(e.Ctx)); n != 23 {
		t.Fatalf("townships after a rebuild: %d", n)
	}
	found := false
	for _, v := range e.Regions.Villages(e.Ctx) {
		found = found || (v.ID == id && v.Name == "包内改名村")
	}
	if !found {
		t.Fatal("the rebuilt tree misses the renamed village")
	}
	if drifted, err := e.Regions.RepairTree(e.Ctx); err != nil || drifted {
		t.Fatalf("the rebuilt packs differ from the regions: drifted=%v err=%v", drifted, err)
	}
	// a pack that drifted (a region missing from it) is rebuilt by the repair
	if err := store.NewPack[bson.Raw](e.Store, "region_tree", 0, func(x bson.Raw) string { return x.Lookup("i").StringValue() }).Remove(e.Ctx, "all", id); err != nil {
		t.Fatal(err)
	}
	if drifted, err := e.Regions.RepairTree(e.Ctx); err != nil || !drifted {
		t.Fatalf("repair of a drifted pack: drifted=%v err=%v", drifted, err)
	}
	if drifted, err := e.Regions.RepairTree(e.Ctx); err != nil || drifted {
		t.Fatalf("second repair: drifted=%v err=%v", drifted, err)
	}
	found = false
	for _, v := range e.Regions.All(e.Ctx) {
		found = found || v.ID == id
	}
	if !found {
		t.Fatal("the repaired pack misses the region")
	}
	// a township renamed is renamed in the townships' pack too
	e.Do(e.Admin, "PATCH", "/api/v1/regions/"+twp.ID, map[string]any{"name": "改名乡"}).Want(t, 200)
	if got := e.Regions.Townships(e.Ctx); got[1].Name != "改名乡" && got[0].Name != "改名乡" {
		t.Fatalf("townships after a rename: %v", got[:2])
	}
	if drifted, err := e.Regions.RepairTree(e.Ctx); err != nil || drifted {
		t.Fatalf("after a township rename: drifted=%v err=%v", drifted, err)
	}
}
