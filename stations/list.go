package stations

import (
	"context"
	"sort"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/store"
)

// The station list is read by GET /stations, the subsidies and the fund's
// payee names, and a find over the stations decodes every one with its
// history, inspections and photos on the embedded engine (BenchmarkStationList:
// 130–440 ms for 213). So the stations are also kept as one pack
// (docs/design.md, "Packs"): _id "all" in station_lists, each station as a
// summary (the list's fields, without history, inspections and photos),
// changed as the last step of every unit that writes a station and rebuilt
// from the stations by RepairCounters. A missing pack (data from before
// it, or a restore of such a backup) is built from the stations on first
// use.
const (
	collLists = "station_lists"
	listID    = "all"
	// maxListed bounds the pack: a county has some 200 stations.
	maxListed = 5000
)

// summary is a station as the pack keeps it, with short keys (the pack's
// cost on the embedded engine follows its size).
type summary struct {
	ID           string     `bson:"i"`
	Name         string     `bson:"n"`
	Kind         string     `bson:"k"`
	RegionID     string     `bson:"r"`
	TownshipID   string     `bson:"t,omitempty"`
	Origin       string     `bson:"o"`
	Status       string     `bson:"s"`
	Lat          *float64   `bson:"la,omitempty"`
	Lng          *float64   `bson:"ln,omitempty"`
	AreaM2       float64    `bson:"a,omitempty"`
	Address      string     `bson:"ad,omitempty"`
	Hours        string     `bson:"h,omitempty"`
	Services     []string   `bson:"sv,omitempty"`
	OperatorID   string     `bson:"op,omitempty"`
	OperatorName string     `bson:"on,omitempty"`
	AcceptedAt   *time.Time `bson:"ac,omitempty"`
	SubsidyPaid  bool       `bson:"sp,omitempty"`
	SubsidyEntry string     `bson:"se,omitempty"`
	SubsidyAt    *time.Time `bson:"sa,omitempty"`
	CreatedAt    time.Time  `bson:"c"`
}

func summaryOf(x *Station) summary {
	return summary{ID: x.ID, Name: x.Name, Kind: x.Kind, RegionID: x.RegionID, TownshipID: x.TownshipID, Origin: x.Origin,
		Status: x.Status, Lat: x.Lat, Lng: x.Lng, AreaM2: x.AreaM2, Address: x.Address, Hours: x.Hours, Services: x.Services,
		OperatorID: x.OperatorID, OperatorName: x.OperatorName, AcceptedAt: ms(x.AcceptedAt), SubsidyPaid: x.SubsidyPaid,
		SubsidyEntry: x.SubsidyEntry, SubsidyAt: ms(x.SubsidyAt), CreatedAt: x.CreatedAt.Truncate(time.Millisecond)}
}

// ms is a time as BSON keeps it (milliseconds), so a summary written from
// a station in memory equals one rebuilt from the stored station.
func ms(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.Truncate(time.Millisecond).UTC()
	return &v
}

// station is the summary as a Station of the list (no history,
// inspections or photos; the subsidy derived).
func (m summary) station() Station {
	x := Station{ID: m.ID, Name: m.Name, Kind: m.Kind, RegionID: m.RegionID, TownshipID: m.TownshipID, Origin: m.Origin,
		Status: m.Status, Lat: m.Lat, Lng: m.Lng, AreaM2: m.AreaM2, Address: m.Address, Hours: m.Hours, Services: m.Services,
		OperatorID: m.OperatorID, OperatorName: m.OperatorName, AcceptedAt: m.AcceptedAt, SubsidyPaid: m.SubsidyPaid,
		SubsidyEntry: m.SubsidyEntry, SubsidyAt: m.SubsidyAt, CreatedAt: m.CreatedAt}
	x.SubsidyFen = subsidyOf(x.Kind, x.Origin)
	if x.Services == nil {
		x.Services = []string{}
	}
	return x
}

func newLists(st *store.Store) *store.Pack[summary] {
	return store.NewPack[summary](st, collLists, maxListed, func(m summary) string { return m.ID })
}

// loadAll reads every station from the collection (a scan: the repair's
// and the exports' source), sorted as the list is.
func (s *Service) loadAll(ctx context.Context) ([]Station, error) {
	var out []Station
	if err := s.stations.Find(ctx, bson.M{}, &out); err != nil {
		return nil, err
	}
	sortStations(out)
	return out, nil
}

var kindOrder = map[string]int{KindCountyCenter: 0, KindWarehouse: 1, KindTownship: 2, KindVillage: 3}

// sortStations orders stations by township, kind and name.
func sortStations(out []Station) {
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.TownshipID != b.TownshipID {
			return a.TownshipID < b.TownshipID
		}
		if kindOrder[a.Kind] != kindOrder[b.Kind] {
			return kindOrder[a.Kind] < kindOrder[b.Kind]
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.ID < b.ID
	})
}

// summaries reads every station as the list shows it: the pack, built
// from the stations when it is missing (two builders write it once).
func (s *Service) summaries(ctx context.Context) ([]Station, error) {
	items, err := s.lists.Get(ctx, listID)
	if err == nil && items == nil {
		err = s.lists.Change(ctx, listID, func(cur []summary) ([]summary, error) {
			if cur != nil {
				items = cur
				return cur, nil
			}
			var err error
			items, err = s.scanSummaries(ctx)
			return items, err
		})
	}
	if err != nil {
		return nil, err
	}
	out := make([]Station, len(items))
	for i, m := range items {
		out[i] = m.station()
	}
	sortStations(out)
	return out, nil
}

func (s *Service) scanSummaries(ctx context.Context) ([]summary, error) {
	all, err := s.loadAll(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]summary, len(all))
	for i := range all {
		out[i] = summaryOf(&all[i])
	}
	return out, nil
}

// listStep puts station id as stored into the pack, as the last step of
// unit u that wrote it; old is the station before the unit (nil for a new
// one), which the undo puts back. A missing pack is built from the
// stations, which already hold this one.
func (s *Service) listStep(ctx context.Context, u *store.Unit, id string, old *Station) error {
	x, err := s.load(ctx, id)
	if err != nil {
		return err
	}
	built := false
	return u.Do(ctx, "station list", func(ctx context.Context) error {
		return s.lists.Change(ctx, listID, func(cur []summary) ([]summary, error) {
			built = false
			if cur == nil {
				built = true
				return s.scanSummaries(ctx)
			}
			return replaceSummary(cur, x.ID, x), nil
		})
	}, func(ctx context.Context) error {
		if built {
			_, err := s.repairList(ctx)
			return err
		}
		return s.lists.Change(ctx, listID, func(cur []summary) ([]summary, error) {
			return replaceSummary(cur, id, old), nil
		})
	})
}

// replaceSummary is cur with station id's summary replaced by x's (x nil: removed).
func replaceSummary(cur []summary, id string, x *Station) []summary {
	out := make([]summary, 0, len(cur)+1)
	done := false
	for _, m := range cur {
		if m.ID != id {
			out = append(out, m)
			continue
		}
		if x != nil && !done {
			out = append(out, summaryOf(x))
			done = true
		}
	}
	if x != nil && !done {
		out = append(out, summaryOf(x))
	}
	return out
}

// repairList rebuilds the pack from the stations and reports whether it
// differed. It is safe while others write: a station written meanwhile is
// put in the pack by its own unit, or by the next run.
func (s *Service) repairList(ctx context.Context) (bool, error) {
	want, err := s.scanSummaries(ctx)
	if err != nil {
		return false, err
	}
	have, err := s.lists.Get(ctx, listID)
	if err != nil {
		return false, err
	}
	if s.lists.Same(have, want) {
		return false, nil
	}
	return true, s.lists.Set(ctx, listID, want)
}
