package logistics

import (
	"context"
	"log/slog"
	"time"

	"nongxun/audit"
	"nongxun/regions"
	"nongxun/server"
	"nongxun/stations"
	"nongxun/store"
)

// Deps are what the service needs.
type Deps struct {
	Store *store.Store
	// Stations are the nodes: looked up by id (stations.Station) and by
	// township (stations.Hub).
	Stations *stations.Service
	Regions  *regions.Service
	Audit    *audit.Log
	Log      *slog.Logger
	// Now is the clock; time.Now when nil (tests set it).
	Now func() time.Time
}

// Collection names, fixed and the same on both engines: a backup taken on
// one restores onto the other with every parcel (docs/design.md, "Restore").
const (
	collParcels  = "parcels"          // parcels in flight and recent, _id = waybill
	collArchive  = "parcels_archive"  // finished parcels moved out, _id = waybill
	collCounters = "parcel_counters"  // one day counter per day, _id = "pd:YYYY-MM-DD"
	collFinished = "parcels_finished" // per day, the waybills finished that day, _id = "YYYY-MM-DD"
)

// Collections are every collection the package owns.
var Collections = []string{collParcels, collArchive, collCounters, collFinished}

// Service owns the parcels, their archive and counters.
type Service struct {
	d        Deps
	st       *store.Store
	hot      *store.Collection
	archive  *store.Collection
	counters *store.Collection
	finished *store.Collection
	now      func() time.Time

	// scanning holds the hot parcels being scanned, so that a scan reads
	// its parcel once (inside the conditional update) instead of twice:
	// write-through, and a stale entry only makes the conditional update
	// miss, after which the parcel is read afresh (docs/design.md, "Caches").
	scanning *store.Cache[string, Parcel]
}

// New opens the service: it creates its collections and moves parcels of
// the old layout into them.
func New(ctx context.Context, d Deps) (*Service, error) {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	st := d.Store
	if err := st.Ensure(ctx, Collections...); err != nil {
		return nil, err
	}
	s := &Service{d: d, st: st, now: d.Now, hot: st.C(collParcels), archive: st.C(collArchive),
		counters: st.C(collCounters), finished: st.C(collFinished)}
	if s.now == nil {
		s.now = time.Now
	}
	s.scanning = store.NewCache[string, Parcel](st, "parcels being scanned", 10_000)
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// system is the principal the package reads the station list as.
var system = &server.Principal{UserID: "logistics", Role: server.RoleAdmin, Name: "物流"}

func who(p *server.Principal) string {
	if p == nil {
		return "system"
	}
	return p.UserID
}

func (s *Service) note(ctx context.Context, p *server.Principal, action, target string, detail map[string]any) {
	if s.d.Audit != nil {
		s.d.Audit.Note(ctx, p, action, target, detail)
	}
}

// countyKey stands for "no township" in counter field names.
const countyKey = "_county"

func tkey(tid string) string {
	if tid == "" {
		return countyKey
	}
	return tid
}
