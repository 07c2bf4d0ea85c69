package logistics

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/backup"
	"nongxun/clock"
	"nongxun/server"
	"nongxun/stations"
	"nongxun/testkit"
)

// finishedParcels makes count parcels down warehouse → hub → village, each
// delivered h hours after base, and returns their waybills.
func (n *network) finishedParcels(prefix string, count int) []string {
	n.T.Helper()
	var out []string
	for i := 0; i < count; i++ {
		w := fmt.Sprintf("%s%04d", prefix, i)
		n.parcel(w, DirDown, n.W, n.V)
		for k, s := range []struct{ node, kind string }{{n.W, ScanReceived}, {n.W, ScanDispatched}, {n.Hub, ScanReceived}, {n.Hub, ScanDispatched}, {n.V, ScanDelivered}} {
			if got := n.scan(nil, w, s.node, s.kind, float64(k)); got != 201 {
				n.T.Fatalf("%s %s: %d", w, s.kind, got)
			}
		}
		out = append(out, w)
	}
	return out
}

func (n *network) count(name string) int64 {
	n.T.Helper()
	k, err := n.Store.C(name).Count(n.Ctx, bson.M{})
	if err != nil {
		n.T.Fatal(err)
	}
	return k
}

// TestCollectionsAreTheFixedSet: whatever the package does (register,
// scan, archive, recount), the parcels live in the same fixed collections,
// on either engine — no buckets, no per-day or per-node collections — so a
// backup restores onto the other engine with every parcel. The code asks
// nothing of the engine to choose them.
func TestCollectionsAreTheFixedSet(t *testing.T) {
	n := newNetwork(t)
	n.finishedParcels("FIX", 3)
	n.parcel("FIX9999", DirUp, n.V, n.W)
	if _, err := n.S.ArchiveParcels(n.Ctx, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := n.S.RecountParcels(n.Ctx, true); err != nil {
		t.Fatal(err)
	}
	names, err := n.Store.Database().ListCollectionNames(n.Ctx, bson.M{})
	if err != nil {
		t.Fatal(err)
	}
	var ours []string
	for _, name := range names {
		if strings.HasPrefix(name, "parcel") {
			ours = append(ours, name)
		}
	}
	sort.Strings(ours)
	want := append([]string(nil), Collections...)
	sort.Strings(want)
	if fmt.Sprint(ours) != fmt.Sprint(want) {
		t.Fatalf("parcel collections %v, want exactly %v", ours, want)
	}
	if n.count(collParcels) != 1 || n.count(collArchive) != 3 {
		t.Fatalf("hot %d archived %d", n.count(collParcels), n.count(collArchive))
	}
	// No package of this round picks a layout by engine or holds the lane.
	for _, dir := range []string{".", "../stations", "../funds"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, bad := range []string{".Embedded()", ".Lane("} {
				if bytes.Contains(b, []byte(bad)) {
					t.Errorf("%s calls %s", f, bad)
				}
			}
		}
	}
}

// TestParcelsSurviveBackupAndRestore dumps a store with hot and archived
// parcels and restores it into another database: every parcel reads back
// with its trace, the volumes are the same, and the parcels go on.
func TestParcelsSurviveBackupAndRestore(t *testing.T) {
	n := newNetwork(t)
	done := n.finishedParcels("BAK", 2)
	if moved, err := n.S.ArchiveParcels(n.Ctx, time.Now().Add(time.Hour)); err != nil || moved != 2 {
		t.Fatalf("archived %d %v", moved, err)
	}
	n.parcel("BAK7777", DirDown, n.W, n.V)
	n.scan(nil, "BAK7777", n.W, ScanReceived, 1)
	from, to := clock.Day(base), clock.Day(time.Now())
	volumes := n.Do(n.Admin, "GET", "/api/v1/parcels/volumes?from="+from+"&to="+to, nil).Want(t, 200).Body

	var dump bytes.Buffer
	if _, err := backup.Dump(n.Ctx, n.Store, &dump, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	other := testkit.New(t)
	if _, err := backup.Restore(other.Ctx, other.Store, bytes.NewReader(dump.Bytes())); err != nil {
		t.Fatal(err)
	}
	st, s := services(t, other)
	st.Register(other.API)
	s.Register(other.API)
	admin := other.NewCaller("admin", "")
	for _, w := range append(done, "BAK7777") {
		var p Parcel
		other.Do(admin, "GET", "/api/v1/parcels/"+w, nil).Want(t, 200).Decode(t, &p)
		if len(p.Scans) == 0 || p.Scans[0].NodeName == "" || len(p.RouteNames) != 3 {
			t.Fatalf("restored %s: %+v", w, p)
		}
	}
	if got := other.Do(admin, "GET", "/api/v1/parcels/volumes?from="+from+"&to="+to, nil).Want(t, 200).Body; !bytes.Equal(got, volumes) {
		t.Fatalf("volumes after restore\n%s\nbefore\n%s", got, volumes)
	}
	other.Do(admin, "POST", "/api/v1/parcels/BAK7777/scans", map[string]any{"node_id": n.W, "kind": ScanDispatched, "at": base.Add(2 * time.Hour).Format(time.RFC3339)}).Want(t, 201)
	if r, _ := s.RecountParcels(other.Ctx, false); len(r.DriftedDays) != 0 || r.Parcels != 3 {
		t.Fatalf("recount after restore %+v", r)
	}
}

// TestEightScansOfOneStep: eight scans of the same step at once, half of
// them through a second service on the same database (a second app node):
// exactly one is recorded and counted.
func TestEightScansOfOneStep(t *testing.T) {
	n := newNetwork(t)
	_, second := services(t, n.Env)
	n.parcel("RACE00001", DirDown, n.W, n.V)
	n.scan(nil, "RACE00001", n.W, ScanReceived, 1)
	var mu sync.Mutex
	i := 0
	ok := race(t, 8, func() int {
		mu.Lock()
		i++
		svc := n.S
		if i%2 == 0 {
			svc = second
		}
		mu.Unlock()
		_, err := svc.AddScan(n.Ctx, admin(n), "RACE00001", NewScan{NodeID: n.W, Kind: ScanDispatched, At: at(2)})
		if err == nil {
			return 201
		}
		return 409
	})
	p, err := n.S.findParcel(n.Ctx, "RACE00001")
	if ok != 1 || err != nil || p.NScans != 2 || len(p.Scans) != 2 || p.State != ScanDispatched {
		t.Fatalf("%d accepted, parcel %+v %v", ok, p, err)
	}
	if r, _ := n.S.RecountParcels(n.Ctx, false); len(r.DriftedDays) != 0 {
		t.Fatalf("counters drifted: %+v", r)
	}
}

// TestArchiveTwiceArchivesOnce: two archivers at once (two services on one
// database) and then a third run move each parcel once: none lost, none
// left in both collections; a parcel picked up meanwhile is still whole.
func TestArchiveTwiceArchivesOnce(t *testing.T) {
	n := newNetwork(t)
	done := n.finishedParcels("ARC", 6)
	n.parcel("ARC9999", DirDown, n.W, n.V) // in flight: stays
	_, second := services(t, n.Env)
	cut := time.Now().Add(time.Hour)
	var wg sync.WaitGroup
	moved := make([]int, 3)
	errs := make([]error, 3)
	for i, svc := range []*Service{n.S, second} {
		wg.Add(1)
		go func(i int, svc *Service) {
			defer wg.Done()
			moved[i], errs[i] = svc.ArchiveParcels(n.Ctx, cut)
		}(i, svc)
	}
	// a pickup scan racing the archivers
	pickup := n.scan(nil, done[0], n.V, ScanPickedUp, 6)
	wg.Wait()
	moved[2], errs[2] = n.S.ArchiveParcels(n.Ctx, cut)
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if moved[0]+moved[1]+moved[2] != 6 {
		t.Fatalf("moved %v, want 6 in all", moved)
	}
	if n.count(collArchive) != 6 || n.count(collParcels) != 1 {
		t.Fatalf("archived %d, hot %d", n.count(collArchive), n.count(collParcels))
	}
	for _, w := range done {
		var hot Parcel
		if err := n.S.hot.Get(n.Ctx, w, &hot); err == nil {
			t.Fatalf("%s both hot and archived", w)
		}
		p, err := n.S.findParcel(n.Ctx, w)
		if err != nil || !p.Archived {
			t.Fatalf("%s: %+v %v", w, p, err)
		}
	}
	p, _ := n.S.findParcel(n.Ctx, done[0])
	if (pickup == 201) != (p.State == ScanPickedUp) || len(p.Scans) != 5+map[bool]int{true: 1}[pickup == 201] {
		t.Fatalf("pickup %d, archived parcel %+v", pickup, p)
	}
	if again, err := n.S.ArchiveParcels(n.Ctx, cut); err != nil || again != 0 {
		t.Fatalf("a fourth run moved %d %v", again, err)
	}
	if n.count(collFinished) != 0 {
		t.Fatalf("%d finished lists left", n.count(collFinished))
	}
	if r, _ := n.S.RecountParcels(n.Ctx, false); len(r.DriftedDays) != 0 || r.Parcels != 7 {
		t.Fatalf("recount %+v", r)
	}
}

// TestNotOldEnoughStaysListed: a parcel delivered after the cut-off stays
// hot and listed, and is archived by a later run.
func TestNotOldEnoughStaysListed(t *testing.T) {
	n := newNetwork(t)
	done := n.finishedParcels("OLD", 2)
	if moved, err := n.S.ArchiveParcels(n.Ctx, base.Add(4*time.Hour)); err != nil || moved != 0 {
		t.Fatalf("moved %d %v before the cut-off", moved, err)
	}
	if n.count(collFinished) != 1 {
		t.Fatalf("the list went: %d", n.count(collFinished))
	}
	if moved, err := n.S.ArchiveParcels(n.Ctx, base.Add(5*time.Hour)); err != nil || moved != 2 {
		t.Fatalf("moved %d %v", moved, err)
	}
	if p, err := n.S.findParcel(n.Ctx, done[1]); err != nil || !p.Archived {
		t.Fatalf("%+v %v", p, err)
	}
	// a waybill registered again after its parcel was archived is refused
	r := n.Do(n.Admin, "POST", "/api/v1/parcels", map[string]any{"waybill": done[0], "direction": "down", "origin_id": n.W, "destination_id": n.V})
	if r.Status != 409 || rule(r) != "waybill_unique" {
		t.Fatalf("re-registration: %d %s", r.Status, r.Body)
	}
}

// TestOldLayoutMovesIn: parcels of the old 64-bucket layout and the day
// counters kept in station_counters are moved into the fixed collections
// when the service starts, and read as before.
func TestOldLayoutMovesIn(t *testing.T) {
	n := newNetwork(t)
	now := time.Now().UTC().Truncate(time.Second)
	old := Parcel{Waybill: "LEGACY0001", Direction: DirDown, OriginID: n.W, DestinationID: n.V, Route: []string{n.W, n.Hub, n.V},
		TownshipID: n.Township(0).ID, State: ScanReceived, LastHop: 0, LastAt: now, NScans: 1,
		Scans: []Scan{{NodeID: n.W, Kind: ScanReceived, At: now}}, CreatedAt: now, CreatedBy: "old"}
	gone := old
	gone.Waybill, gone.State, gone.LastHop = "LEGACY0002", ScanDelivered, 2
	if err := n.Store.C("parcels_07").InsertOne(n.Ctx, old); err != nil {
		t.Fatal(err)
	}
	if err := n.Store.C("parcels_archive_12").InsertOne(n.Ctx, gone); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Store.C(collCounters).DeleteMany(n.Ctx, bson.M{}); err != nil {
		t.Fatal(err)
	}
	day := "pd:" + clock.Day(now)
	if err := n.Store.C("station_counters").Inc(n.Ctx, day, map[string]int64{"down": 2, "t." + n.Township(0).ID + ".down": 2}); err != nil {
		t.Fatal(err)
	}
	s, err := New(n.Ctx, Deps{Store: n.Store, Stations: n.St, Regions: n.Regions, Log: n.Log})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"LEGACY0001", "LEGACY0002"} {
		p, err := s.findParcel(n.Ctx, w)
		if err != nil || p.RouteNames[0] == "" || (w == "LEGACY0002") != p.Archived {
			t.Fatalf("%s: %+v %v", w, p, err)
		}
	}
	names, _ := n.Store.Database().ListCollectionNames(n.Ctx, bson.M{"name": bson.M{"$regex": "^parcels_"}})
	for _, name := range names {
		if legacyBucket.MatchString(name) {
			t.Fatalf("bucket %s left", name)
		}
	}
	m, err := s.MonthlyFigures(n.Ctx, clock.Month(now))
	if err != nil || m[n.Township(0).ID]["parcels_down"] != 2 {
		t.Fatalf("monthly %v %v", m, err)
	}
	if k, _ := n.Store.C("station_counters").Count(n.Ctx, bson.M{"_id": day}); k != 0 {
		t.Fatal("the old counter stayed in station_counters")
	}
	// the old parcel goes on under the new layout
	if _, err := s.AddScan(n.Ctx, admin(n), "LEGACY0001", NewScan{NodeID: n.W, Kind: ScanDispatched, At: now.Add(time.Minute).Format(time.RFC3339)}); err != nil {
		t.Fatal(err)
	}
}

// TestScanDatesBounded: a scan dated in year 1 or 9999, or years back, is
// refused in Chinese, naming the field.
func TestScanDatesBounded(t *testing.T) {
	n := newNetwork(t)
	n.parcel("DATE00001", DirDown, n.W, n.V)
	for _, at := range []string{"0001-01-01T00:00:00Z", "9999-12-31T00:00:00Z", time.Now().AddDate(-6, 0, 0).UTC().Format(time.RFC3339), "yesterday"} {
		r := n.Do(n.Admin, "POST", "/api/v1/parcels/DATE00001/scans", map[string]any{"node_id": n.W, "kind": ScanReceived, "at": at}).Want(t, 400)
		e := r.JSON()["error"].(map[string]any)
		f, _ := e["fields"].(map[string]any)["at"].(string)
		if f == "" || strings.ContainsAny(f, "abcdefghijklmnopqrstuvwxyz") {
			t.Fatalf("%s: %s", at, r.Body)
		}
	}
	if _, err := stations.New(n.Ctx, stations.Deps{Store: n.Store, Regions: n.Regions, Log: n.Log}); err != nil {
		t.Fatal(err)
	}
}

func admin(n *network) *server.Principal {
	p := n.Admin.User.Principal()
	return &p
}

// TestStaleScanningCache: a scan through one node after another node moved
// the parcel on is judged against the parcel as it is, not as the first
// node last saw it.
func TestStaleScanningCache(t *testing.T) {
	n := newNetwork(t)
	_, other := services(t, n.Env)
	p := admin(n)
	n.parcel("STALE0001", DirDown, n.W, n.V)
	scan := func(svc *Service, node, kind string, h int) error {
		_, err := svc.AddScan(n.Ctx, p, "STALE0001", NewScan{NodeID: node, Kind: kind, At: at(h)})
		return err
	}
	if err := scan(n.S, n.W, ScanReceived, 1); err != nil {
		t.Fatal(err)
	}
	if err := scan(other, n.W, ScanDispatched, 2); err != nil {
		t.Fatal(err)
	}
	// n.S still holds "received": its dispatch must be refused as a repeat
	if err := scan(n.S, n.W, ScanDispatched, 3); server.ToError(err).Rule != "scan_order" {
		t.Fatalf("repeated dispatch through the stale node: %v", err)
	}
	if err := scan(n.S, n.Hub, ScanReceived, 4); err != nil {
		t.Fatalf("the next step through the stale node: %v", err)
	}
	pc, _ := n.S.findParcel(n.Ctx, "STALE0001")
	if pc.NScans != 3 || pc.State != ScanReceived || pc.LastHop != 1 {
		t.Fatalf("parcel %+v", pc)
	}
}
