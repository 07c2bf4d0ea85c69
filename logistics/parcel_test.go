package logistics

import (
	"fmt"
	"testing"
	"time"

	"nongxun/clock"
	"nongxun/server"
)

func TestParcelCreate(t *testing.T) {
	n := newNetwork(t)
	op := n.NewCaller(server.RoleStation, n.V)
	cases := []struct {
		name   string
		caller *callerT
		body   map[string]any
		status int
		rule   string
	}{
		{"down to a village", nil, map[string]any{"waybill": "YT1000001", "direction": "down", "origin_id": n.W, "destination_id": n.V, "product": "化肥", "weight_g": 25000}, 201, ""},
		{"duplicate waybill", nil, map[string]any{"waybill": "YT1000001", "direction": "down", "origin_id": n.W, "destination_id": n.V}, 409, "waybill_unique"},
		{"up from a village by its operator", op, map[string]any{"waybill": "YT1000002", "direction": "up", "origin_id": n.V, "destination_id": n.W, "product": "石榴"}, 201, ""},
		{"operator sending from another station", op, map[string]any{"waybill": "YT1000003", "direction": "up", "origin_id": n.V2, "destination_id": n.W}, 403, ""},
		{"up from the warehouse", nil, map[string]any{"waybill": "YT1000004", "direction": "up", "origin_id": n.W, "destination_id": n.V}, 400, "parcel_direction"},
		{"down from a village", nil, map[string]any{"waybill": "YT1000005", "direction": "down", "origin_id": n.V, "destination_id": n.W}, 400, "parcel_direction"},
		{"to a planned point", nil, map[string]any{"waybill": "YT1000006", "direction": "down", "origin_id": n.W, "destination_id": n.Planned}, 409, "node_operating"},
		{"unknown node", nil, map[string]any{"waybill": "YT1000007", "direction": "down", "origin_id": n.W, "destination_id": "0123456789abcdef01234567"}, 400, ""},
		{"same ends", nil, map[string]any{"waybill": "YT1000008", "direction": "down", "origin_id": n.V, "destination_id": n.V}, 400, ""},
		{"bad waybill", nil, map[string]any{"waybill": "ab", "direction": "down", "origin_id": n.W, "destination_id": n.V}, 400, ""},
		{"bad direction", nil, map[string]any{"waybill": "YT1000009", "direction": "sideways", "origin_id": n.W, "destination_id": n.V}, 400, ""},
		{"too heavy", nil, map[string]any{"waybill": "YT1000010", "direction": "down", "origin_id": n.W, "destination_id": n.V, "weight_g": 900000}, 400, ""},
		{"officer cannot", n.NewCaller(server.RoleOfficer, ""), map[string]any{"waybill": "YT1000011", "direction": "down", "origin_id": n.W, "destination_id": n.V}, 403, ""},
	}
	for _, c := range cases {
		caller := n.Admin
		if c.caller != nil {
			caller = c.caller
		}
		r := n.Do(caller, "POST", "/api/v1/parcels", c.body)
		if r.Status != c.status || rule(r) != c.rule {
			t.Fatalf("%s: %d %q, want %d %q: %s", c.name, r.Status, rule(r), c.status, c.rule, r.Body)
		}
	}
	var p Parcel
	n.Do(n.Admin, "GET", "/api/v1/parcels/YT1000001", nil).Want(t, 200).Decode(t, &p)
	if fmt.Sprint(p.Route) != fmt.Sprint([]string{n.W, n.Hub, n.V}) || p.State != StateCreated || len(p.Scans) != 0 {
		t.Fatalf("parcel %+v", p)
	}
	n.Do(n.Admin, "GET", "/api/v1/parcels/NOPE0000", nil).Want(t, 404)
	n.Do(n.Admin, "GET", "/api/v1/parcels/x", nil).Want(t, 400)
	// a station user reads parcels routed through their station only
	n.Do(op, "GET", "/api/v1/parcels/YT1000001", nil).Want(t, 200)
	n.Do(n.NewCaller(server.RoleStation, n.Off), "GET", "/api/v1/parcels/YT1000001", nil).Want(t, 403)
	n.Do(n.NewCaller(server.RoleOfficer, n.Township(1).ID), "GET", "/api/v1/parcels/YT1000001", nil).Want(t, 403)
	n.Do(n.NewCaller(server.RoleOfficer, n.Township(0).ID), "GET", "/api/v1/parcels/YT1000001", nil).Want(t, 200)
}

func TestScanOrder(t *testing.T) {
	n := newNetwork(t)
	n.parcel("SF2000001", DirDown, n.W, n.V)
	steps := []struct {
		name       string
		node, kind string
		h          float64
		status     int
	}{
		{"delivered before anything", n.V, ScanDelivered, 1, 409},
		{"received at the hub first", n.Hub, ScanReceived, 1, 409},
		{"received off the route", n.Off, ScanReceived, 1, 409},
		{"received at the warehouse", n.W, ScanReceived, 1, 201},
		{"received twice", n.W, ScanReceived, 1.1, 409},
		{"delivered before dispatched", n.V, ScanDelivered, 2, 409},
		{"sorted", n.W, ScanSorted, 2, 201},
		{"dispatched", n.W, ScanDispatched, 3, 201},
		{"received at the village skipping the hub", n.V, ScanReceived, 4, 409},
		{"received at a sibling village", n.V2, ScanReceived, 4, 409},
		{"received at the hub earlier than dispatch", n.Hub, ScanReceived, 2.5, 409},
		{"received at the hub", n.Hub, ScanReceived, 5, 201},
		{"delivered at the hub", n.Hub, ScanDelivered, 5.5, 409},
		{"dispatched from the hub", n.Hub, ScanDispatched, 6, 201},
		{"picked up before delivery", n.V, ScanPickedUp, 7, 409},
		{"delivered at the village", n.V, ScanDelivered, 8, 201},
		{"picked up", n.V, ScanPickedUp, 9, 201},
		{"anything after pickup", n.V, ScanPickedUp, 10, 409},
		{"bad kind", n.V, "lost", 10, 400},
	}
	for _, s := range steps {
		if got := n.scan(nil, "SF2000001", s.node, s.kind, s.h); got != s.status {
			t.Fatalf("%s: %d, want %d", s.name, got, s.status)
		}
	}
	var p Parcel
	n.Do(n.Admin, "GET", "/api/v1/parcels/SF2000001", nil).Want(t, 200).Decode(t, &p)
	if len(p.Scans) != 7 || p.State != ScanPickedUp || p.DeliveredAt == nil || p.StartedAt == nil {
		t.Fatalf("trace %+v", p)
	}
	// a station user scans only at their own node
	n.parcel("SF2000002", DirDown, n.W, n.V)
	if got := n.scan(n.NewCaller(server.RoleStation, n.V), "SF2000002", n.W, ScanReceived, 1); got != 403 {
		t.Fatalf("foreign node scan: %d", got)
	}
	if got := n.scan(n.NewCaller(server.RoleStation, n.W), "SF2000002", n.W, ScanReceived, 1); got != 201 {
		t.Fatalf("own node scan: %d", got)
	}
	if got := n.scan(nil, "SF9999999", n.W, ScanReceived, 1); got != 404 {
		t.Fatalf("unknown waybill: %d", got)
	}
}

func TestConcurrentScans(t *testing.T) {
	n := newNetwork(t)
	n.parcel("ZT3000001", DirDown, n.W, n.V)
	ok := race(t, 8, func() int { return n.scan(nil, "ZT3000001", n.W, ScanReceived, 1) })
	p, err := n.S.findParcel(n.Ctx, "ZT3000001")
	if ok != 1 || err != nil || len(p.Scans) != 1 || p.NScans != 1 || p.Scans[0].NodeName == "" {
		t.Fatalf("%d accepted, parcel %+v %v", ok, p, err)
	}
}

func TestVolumesAndArchive(t *testing.T) {
	n := newNetwork(t)
	// two parcels down warehouse → hub → village, delivered 6 h and 10 h after leaving
	for i, hours := range []float64{6, 10} {
		w := fmt.Sprintf("EMS400000%d", i)
		n.parcel(w, DirDown, n.W, n.V)
		for _, s := range []struct {
			node, kind string
			h          float64
		}{{n.W, ScanReceived, 0}, {n.W, ScanDispatched, 1}, {n.Hub, ScanReceived, 2}, {n.Hub, ScanDispatched, 3}, {n.V, ScanDelivered, hours}} {
			if got := n.scan(nil, w, s.node, s.kind, s.h); got != 201 {
				t.Fatalf("%s %s: %d", w, s.kind, got)
			}
		}
	}
	// three up, one from another township
	n.parcel("EMS4000010", DirUp, n.V, n.W)
	n.parcel("EMS4000011", DirUp, n.V2, n.W)
	n.parcel("EMS4000012", DirUp, n.Off, n.W)
	n.scan(nil, "EMS4000010", n.V, ScanReceived, 1)
	var v Volumes
	today := clock.Day(n.S.now())
	from := clock.Day(base)
	n.Do(n.Admin, "GET", "/api/v1/parcels/volumes?from="+from+"&to="+today, nil).Want(t, 200).Decode(t, &v)
	if v.Up != 3 || v.Down != 2 || v.UpwardShare != 0.6 || v.CountyToVillageCount != 2 || v.AvgCountyToVillageHours != 8 {
		t.Fatalf("volumes %+v", v)
	}
	nodes := map[string]NodeVolume{}
	for _, x := range v.Nodes {
		nodes[x.NodeID] = x
	}
	if nodes[n.W].Down != 2 || nodes[n.Hub].Down != 2 || nodes[n.V].Down != 2 || nodes[n.V].Up != 1 {
		t.Fatalf("nodes %+v", v.Nodes)
	}
	// the officer of township 0 sees its parcels only
	var v0 Volumes
	n.Do(n.NewCaller(server.RoleOfficer, n.Township(0).ID), "GET", "/api/v1/parcels/volumes?from="+from+"&to="+today, nil).Want(t, 200).Decode(t, &v0)
	if v0.Up != 2 || v0.Down != 2 || v0.AvgCountyToVillageHours != 8 || len(v0.Nodes) != 2 {
		t.Fatalf("township volumes %+v", v0)
	}
	n.Do(n.Admin, "GET", "/api/v1/parcels/volumes?from=2019-13-01", nil).Want(t, 400)
	n.Do(n.NewCaller(server.RoleStation, n.V), "GET", "/api/v1/parcels/volumes", nil).Want(t, 403)
	m, err := n.S.MonthlyFigures(n.Ctx, clock.Month(n.S.now()))
	if err != nil || m[n.Township(0).ID]["parcels_up"] != 2 || m[n.Township(0).ID]["parcels_down"] != 2 || m[n.Township(1).ID]["parcels_up"] != 1 {
		t.Fatalf("monthly %+v %v", m, err)
	}
	// finished parcels leave the hot collection and stay readable
	moved, err := n.S.ArchiveParcels(n.Ctx, time.Now().Add(time.Hour))
	if err != nil || moved != 2 {
		t.Fatalf("archived %d %v", moved, err)
	}
	var p Parcel
	n.Do(n.Admin, "GET", "/api/v1/parcels/EMS4000000", nil).Want(t, 200).Decode(t, &p)
	if !p.Archived || len(p.Scans) != 5 {
		t.Fatalf("archived parcel %+v", p)
	}
	if got := n.scan(nil, "EMS4000000", n.V, ScanPickedUp, 20); got != 409 {
		t.Fatalf("scan of an archived parcel: %d", got)
	}
	if hot, _ := n.S.hot.Count(n.Ctx, map[string]any{}); hot != 3 {
		t.Fatalf("%d parcels left hot", hot)
	}
}
