package stations

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/audit"
	"nongxun/regions"
	"nongxun/server"
	"nongxun/store"
	"nongxun/users"
)

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

// Collections are the collections the package owns, the same on both
// engines (a backup taken on one restores onto the other).
var Collections = []string{"stations", "station_markers", "station_counters", "station_config", "station_services", collLists}

// Service owns the stations, their markers and counters, the services
// log and the station photos. Parcels over the stations are the logistics
// package's.
type Service struct {
	d        Deps
	st       *store.Store
	stations *store.Collection    // one document per station (a few hundred)
	markers  *store.Collection    // natural-key markers: uniqueness and coverage
	counters *store.Collection    // coverage, services and subsidy counters
	config   *store.Collection    // the acceptance checklist
	services *store.Collection    // the services log, one document per entry
	lists    *store.Pack[summary] // the station list (list.go)
	parcels  ParcelSource         // the logistics package, for the figures (UseParcels)
	now      func() time.Time

	// byID and hubs serve the node lookups of every parcel write (a
	// registration reads both ends and a hub): write-through, forgotten
	// after every write of a station (docs/design.md, "Caches").
	byID *store.Cache[string, Station]
	hubs *store.Cache[string, string] // township id → its station's id, "" for none
}

// New opens the service: it creates its collections and declares its
// indexes and the blob references of the station photos.
func New(ctx context.Context, d Deps) (*Service, error) {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	st := d.Store
	if err := st.Ensure(ctx, Collections...); err != nil {
		return nil, err
	}
	s := &Service{d: d, st: st, now: d.Now,
		stations: st.C("stations"), markers: st.C("station_markers"), counters: st.C("station_counters"),
		config: st.C("station_config"), services: st.C("station_services"), lists: newLists(st)}
	if s.now == nil {
		s.now = time.Now
	}
	s.byID = store.NewCache[string, Station](st, "stations", 2000)
	s.hubs = store.NewCache[string, string](st, "station hubs", 200)
	for _, x := range []struct {
		c    *store.Collection
		keys bson.D
	}{
		{s.stations, bson.D{{Key: "township_id", Value: 1}, {Key: "kind", Value: 1}}},
		{s.services, bson.D{{Key: "station_id", Value: 1}, {Key: "at", Value: -1}}},
	} {
		if err := x.c.Index(ctx, x.keys, false); err != nil {
			return nil, err
		}
	}
	st.BlobRef("stations", "photos.blob_id")
	return s, s.initTotals(ctx)
}

// Hub is the operating township station of township tid, if any: the
// township's uniqueness marker names it, so this is two reads by _id.
func (s *Service) Hub(ctx context.Context, tid string) (*Station, bool, error) {
	id, err := s.hubs.Get(ctx, tid, func(ctx context.Context) (string, error) {
		var m marker
		err := s.markers.Get(ctx, uniqueKey(KindTownship, tid), &m)
		if store.IsNotFound(err) {
			return "", nil
		}
		return m.StationID, err
	})
	if err != nil || id == "" {
		return nil, false, err
	}
	x, err := s.Station(ctx, id)
	if notFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return x, x.Status == StatusOperating, nil
}

// changed forgets what the caches hold of station x after a write to it
// (or to its township's place).
func (s *Service) changed(x *Station) {
	s.byID.Forget(x.ID)
	if x.Kind == KindTownship {
		s.hubs.Forget(x.TownshipID)
	}
}

// notFound reports a missing document, as the store or as the API says it.
func notFound(err error) bool {
	var se *server.Error
	return store.IsNotFound(err) || (errors.As(err, &se) && se.Code == server.CodeNotFound)
}

// note writes an audit entry for a write that has happened; p may be nil
// for system actions. A failed audit write is logged, never dropped.
func (s *Service) note(ctx context.Context, p *server.Principal, action, target string, detail map[string]any) {
	if s.d.Audit == nil {
		return
	}
	s.d.Audit.Note(ctx, p, action, target, detail)
}
