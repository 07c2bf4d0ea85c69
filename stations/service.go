package stations

import (
	"context"
	"log/slog"
	"sort"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/audit"
	"nongxun/regions"
	"nongxun/server"
	"nongxun/store"
	"nongxun/users"
)

// cacheTTL bounds how stale another app node's view of the stations can be.
const cacheTTL = 30 * time.Second

// Deps are what the service needs.
type Deps struct {
	Store   *store.Store
	Config  server.Config
	Regions *regions.Service
	Audit   *audit.Log
	Users   *users.Service
	Log     *slog.Logger
	// Now is the clock; time.Now when nil (tests set it).
	Now func() time.Time
}

// Service owns the stations, their markers and counters, the services
// log and the parcels.
type Service struct {
	d        Deps
	st       *store.Store
	stations *store.Collection   // one document per station (a few hundred)
	markers  *store.Collection   // natural-key markers: uniqueness and coverage
	counters *store.Collection   // coverage, services and parcel-day counters
	config   *store.Collection   // the acceptance checklist
	services *store.Collection   // the services log, one document per entry
	hot      []*store.Collection // parcels in flight and recent, _id = waybill, by bucket
	archived []*store.Collection // finished parcels moved out of the hot buckets
	now      func() time.Time

	mu     sync.RWMutex
	byID   map[string]Station
	loaded time.Time
}

// New opens the service and declares its indexes.
func New(ctx context.Context, d Deps) (*Service, error) {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	st := d.Store
	s := &Service{d: d, st: st, now: d.Now,
		stations: st.C("stations"), markers: st.C("station_markers"), counters: st.C("station_counters"),
		config: st.C("station_config"), services: st.C("station_services")}
	if s.now == nil {
		s.now = time.Now
	}
	s.hot, s.archived = parcelBuckets(st, "parcels"), parcelBuckets(st, "parcels_archive")
	idx := []struct {
		c    *store.Collection
		keys bson.D
	}{
		{s.stations, bson.D{{Key: "township_id", Value: 1}, {Key: "kind", Value: 1}}},
		{s.services, bson.D{{Key: "station_id", Value: 1}, {Key: "at", Value: -1}}},
	}
	if len(s.hot) == 1 { // MongoDB: the archive query uses it; the embedded engine scans anyway
		idx = append(idx, struct {
			c    *store.Collection
			keys bson.D
		}{s.hot[0], bson.D{{Key: "state", Value: 1}, {Key: "last_at", Value: 1}}})
	}
	for _, x := range idx {
		if err := x.c.Index(ctx, x.keys, false); err != nil {
			return nil, err
		}
	}
	return s, s.reload(ctx)
}

// reload reads every station into the cache used by parcels and lists.
func (s *Service) reload(ctx context.Context) error {
	var all []Station
	if err := s.stations.Find(ctx, bson.M{}, &all); err != nil {
		return err
	}
	by := make(map[string]Station, len(all))
	for _, x := range all {
		by[x.ID] = x
	}
	s.mu.Lock()
	s.byID, s.loaded = by, time.Now()
	s.mu.Unlock()
	return nil
}

func (s *Service) fresh(ctx context.Context) {
	s.mu.RLock()
	stale := time.Since(s.loaded) > cacheTTL
	s.mu.RUnlock()
	if stale {
		if err := s.reload(ctx); err != nil {
			s.d.Log.Warn("stations: cannot reload the cache", "err", err.Error())
		}
	}
}

// cached returns a station from the cache.
func (s *Service) cached(ctx context.Context, id string) (Station, bool) {
	s.fresh(ctx)
	s.mu.RLock()
	defer s.mu.RUnlock()
	x, ok := s.byID[id]
	return x, ok
}

// all returns every cached station, sorted by township, kind and name.
func (s *Service) all(ctx context.Context) []Station {
	s.fresh(ctx)
	s.mu.RLock()
	out := make([]Station, 0, len(s.byID))
	for _, x := range s.byID {
		out = append(out, x)
	}
	s.mu.RUnlock()
	kindOrder := map[string]int{KindCountyCenter: 0, KindWarehouse: 1, KindTownship: 2, KindVillage: 3}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.TownshipID != b.TownshipID {
			return a.TownshipID < b.TownshipID
		}
		if kindOrder[a.Kind] != kindOrder[b.Kind] {
			return kindOrder[a.Kind] < kindOrder[b.Kind]
		}
		return a.Name < b.Name
	})
	return out
}

// hubOf is the operating township station of township tid, if any.
func (s *Service) hubOf(ctx context.Context, tid string) (Station, bool) {
	for _, x := range s.all(ctx) {
		if x.Kind == KindTownship && x.TownshipID == tid && x.Status == StatusOperating {
			return x, true
		}
	}
	return Station{}, false
}

// record writes an audit entry; p may be nil for system actions.
func (s *Service) record(ctx context.Context, p *server.Principal, action, target string, detail map[string]any) error {
	if s.d.Audit == nil {
		return nil
	}
	return s.d.Audit.Record(ctx, p, action, target, detail)
}

// shanghai is China Standard Time (no daylight saving), the zone days are counted in.
var shanghai = time.FixedZone("CST", 8*3600)

func dayOf(t time.Time) string   { return t.In(shanghai).Format("2006-01-02") }
func monthOf(t time.Time) string { return t.In(shanghai).Format("2006-01") }
