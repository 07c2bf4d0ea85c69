package stations

import (
	"context"
	"regexp"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/server"
	"nongxun/store"
)

// Volumes are the parcel figures of a period over the stations' nodes, as
// the station network reports them (the reports read these). The parcels
// and their counters are the logistics package's; its own Volumes carries
// the per-node detail.
type Volumes struct {
	From                    string      `json:"from"`
	To                      string      `json:"to"`
	TownshipID              string      `json:"township_id,omitempty"`
	Up                      int64       `json:"up"`
	Down                    int64       `json:"down"`
	UpwardShare             float64     `json:"upward_share"`
	AvgCountyToVillageHours float64     `json:"avg_county_to_village_hours"`
	CountyToVillageCount    int64       `json:"county_to_village_deliveries"`
	Days                    []DayVolume `json:"days"`
}

// DayVolume is one day of parcel volumes.
type DayVolume struct {
	Date string `json:"date"`
	Up   int64  `json:"up"`
	Down int64  `json:"down"`
}

// ParcelSource is the logistics over the stations' nodes, for the figures
// the stations package reports (logistics.Service; wired with UseParcels in
// main: stations does not import logistics, logistics imports stations).
type ParcelSource interface {
	// StationVolumes is the last 30 days of the county ("") or of one township.
	StationVolumes(ctx context.Context, townshipID string) (*Volumes, error)
	// MonthlyFigures is township id → parcels_up / parcels_down for "YYYY-MM".
	MonthlyFigures(ctx context.Context, month string) (map[string]map[string]int64, error)
}

// UseParcels wires the logistics package in (before serving).
func (s *Service) UseParcels(p ParcelSource) { s.parcels = p }

// ParcelVolumes is the last 30 days of parcels of the county ("") or of one
// township, read from the logistics package's day counters (empty figures
// when none is wired).
func (s *Service) ParcelVolumes(ctx context.Context, townshipID string) (*Volumes, error) {
	if s.parcels == nil {
		return &Volumes{Days: []DayVolume{}}, nil
	}
	return s.parcels.StationVolumes(ctx, townshipID)
}

var monthRe = regexp.MustCompile(`^\d{4}-(0[1-9]|1[0-2])$`)

// MonthlyFigures returns township id → metric → value for month "YYYY-MM",
// read from counters: station_services, and parcels_up, parcels_down from
// the logistics package. Figures of county-level stations and parcels are
// under township id "".
func (s *Service) MonthlyFigures(ctx context.Context, month string) (map[string]map[string]int64, error) {
	if !monthRe.MatchString(month) {
		return nil, server.Invalid("月份格式应为 YYYY-MM", "month", "格式错误")
	}
	out := map[string]map[string]int64{}
	put := func(tk, metric string, v int64) {
		if v == 0 {
			return
		}
		tid := tk
		if tk == countyKey {
			tid = ""
		}
		if out[tid] == nil {
			out[tid] = map[string]int64{}
		}
		out[tid][metric] += v
	}
	var svc bson.Raw
	err := s.counters.Get(ctx, "svcm:"+month, &svc)
	if err != nil && !store.IsNotFound(err) {
		return nil, err
	}
	if err == nil {
		elems, err := svc.Elements()
		if err != nil {
			return nil, err
		}
		for _, e := range elems {
			var c KindTotal
			if e.Key() == "_id" || e.Value().Unmarshal(&c) != nil {
				continue
			}
			put(e.Key(), "station_services", c.Count)
		}
	}
	if s.parcels != nil {
		figs, err := s.parcels.MonthlyFigures(ctx, month)
		if err != nil {
			return nil, err
		}
		for tid, m := range figs {
			for k, v := range m {
				put(tkey(tid), k, v)
			}
		}
	}
	return out, nil
}
