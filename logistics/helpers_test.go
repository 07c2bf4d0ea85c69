package logistics

import (
	"sync"
	"testing"
	"time"

	"nongxun/stations"
	"nongxun/store"
	"nongxun/testkit"
)

func TestMain(m *testing.M) { store.RunTests(m) }

type callerT = testkit.Caller

// network is a warehouse, the hub of township 0, two of its village
// points, a point of another township and a planned point, served by the
// real stations and logistics services.
type network struct {
	*testkit.Env
	St                          *stations.Service
	S                           *Service
	W, Hub, V, V2, Off, Planned string
}

// base is a time safely in the past from which test steps are dated.
var base = time.Now().UTC().Add(-72 * time.Hour).Truncate(time.Second)

func at(h int) string { return base.Add(time.Duration(h) * time.Hour).Format(time.RFC3339) }

var allChecks = map[string]bool{"area": true, "computer": true, "display": true, "recorder": true, "baskets": true, "notice_board": true, "door_sign": true}

// services builds the stations and logistics services on env's store.
func services(t testing.TB, env *testkit.Env) (*stations.Service, *Service) {
	t.Helper()
	st, err := stations.New(env.Ctx, stations.Deps{Store: env.Store, Config: env.Config, Regions: env.Regions, Audit: env.Audit, Users: env.Users, Log: env.Log})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(env.Ctx, Deps{Store: env.Store, Stations: st, Regions: env.Regions, Audit: env.Audit, Log: env.Log})
	if err != nil {
		t.Fatal(err)
	}
	st.UseParcels(s)
	return st, s
}

func newNetwork(t testing.TB) *network {
	env := testkit.New(t)
	st, s := services(t, env)
	st.Register(env.API)
	s.Register(env.API)
	n := &network{Env: env, St: st, S: s}
	county := env.Regions.All(env.Ctx)[0].ID
	n.W = n.operating(stations.KindWarehouse, county)
	n.Hub = n.operating(stations.KindTownship, env.Township(0).ID)
	n.V = n.operating(stations.KindVillage, env.Village(0, 0).ID)
	n.V2 = n.operating(stations.KindVillage, env.Village(0, 1).ID)
	n.Off = n.operating(stations.KindVillage, env.Village(1, 0).ID) // another township
	n.Planned = n.station(stations.KindVillage, env.Village(0, 2).ID)
	return n
}

// station creates a station through the API and returns its id.
func (n *network) station(kind, regionID string) string {
	n.T.Helper()
	r := n.Do(n.Admin, "POST", "/api/v1/stations", map[string]any{"name": stations.KindName(kind) + regionID[18:], "kind": kind, "region_id": regionID, "origin": "new"}).Want(n.T, 201)
	return r.JSON()["id"].(string)
}

// operating creates a station and runs it to operating.
func (n *network) operating(kind, regionID string) string {
	n.T.Helper()
	id := n.station(kind, regionID)
	for i, st := range []string{stations.StatusBuilt, stations.StatusAccepted, stations.StatusOperating} {
		body := map[string]any{"status": st, "at": at(i + 1)}
		if st == stations.StatusAccepted {
			body["inspector"], body["checklist"] = "县工信局 张三", allChecks
		}
		n.Do(n.Admin, "POST", "/api/v1/stations/"+id+"/status", body).Want(n.T, 200)
	}
	return id
}

func (n *network) scan(c *callerT, waybill, node, kind string, h float64) int {
	n.T.Helper()
	if c == nil {
		c = n.Admin
	}
	return n.Do(c, "POST", "/api/v1/parcels/"+waybill+"/scans", map[string]any{"node_id": node, "kind": kind,
		"at": base.Add(time.Duration(h * float64(time.Hour))).Format(time.RFC3339)}).Status
}

func (n *network) parcel(waybill, dir, from, to string) {
	n.T.Helper()
	n.Do(n.Admin, "POST", "/api/v1/parcels", map[string]any{"waybill": waybill, "direction": dir, "origin_id": from, "destination_id": to}).Want(n.T, 201)
}

func rule(r *testkit.Response) string {
	e, _ := r.JSON()["error"].(map[string]any)
	s, _ := e["rule"].(string)
	return s
}

// race runs do n times at once and counts the 201s; any status but 201
// and 409 fails the test.
func race(t testing.TB, n int, do func() int) int {
	t.Helper()
	var wg sync.WaitGroup
	codes := make([]int, n)
	for i := range codes {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			codes[i] = do()
		}(i)
	}
	wg.Wait()
	ok := 0
	for _, c := range codes {
		if c == 201 {
			ok++
		} else if c != 409 {
			t.Fatalf("status %d", c)
		}
	}
	return ok
}
