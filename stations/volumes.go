package stations

import (
	"context"
	"math"
	"regexp"
	"sort"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/server"
	"nongxun/store"
)

// dirCount is one direction pair inside a parcel-day counter.
type dirCount struct {
	Up    int64 `bson:"up" json:"up"`
	Down  int64 `bson:"down" json:"down"`
	C2VMs int64 `bson:"c2v_ms" json:"-"`
	C2VN  int64 `bson:"c2v_n" json:"-"`
}

// dayDoc is the parcel counter of one day ("pd:YYYY-MM-DD", Beijing time):
// parcels created by direction, per township (t) and per node (n, the
// parcels that reached the node that day), and the sum and count of
// county→village delivery times.
type dayDoc struct {
	ID    string              `bson:"_id"`
	Up    int64               `bson:"up"`
	Down  int64               `bson:"down"`
	C2VMs int64               `bson:"c2v_ms"`
	C2VN  int64               `bson:"c2v_n"`
	T     map[string]dirCount `bson:"t"`
	N     map[string]dirCount `bson:"n"`
}

// DayVolume is one day of parcel volumes.
type DayVolume struct {
	Date  string              `json:"date"`
	Up    int64               `json:"up"`
	Down  int64               `json:"down"`
	Nodes map[string]dirCount `json:"nodes"`
}

// NodeVolume is one node's parcels over the period.
type NodeVolume struct {
	NodeID string `json:"node_id"`
	Name   string `json:"name"`
	Kind   string `json:"kind"`
	Up     int64  `json:"up"`
	Down   int64  `json:"down"`
}

// Volumes is the parcel figures of a period, read from the day counters.
type Volumes struct {
	From                    string       `json:"from"`
	To                      string       `json:"to"`
	TownshipID              string       `json:"township_id,omitempty"`
	Up                      int64        `json:"up"`
	Down                    int64        `json:"down"`
	UpwardShare             float64      `json:"upward_share"`
	AvgCountyToVillageHours float64      `json:"avg_county_to_village_hours"`
	CountyToVillageCount    int64        `json:"county_to_village_deliveries"`
	Days                    []DayVolume  `json:"days"`
	Nodes                   []NodeVolume `json:"nodes"`
}

// ParcelVolumes is the last 30 days of the county ("") or of one township.
func (s *Service) ParcelVolumes(ctx context.Context, townshipID string) (*Volumes, error) {
	to := s.now().In(shanghai)
	return s.VolumesBetween(ctx, townshipID, to.AddDate(0, 0, -29).Format("2006-01-02"), to.Format("2006-01-02"))
}

// VolumesBetween reads the day counters from..to (YYYY-MM-DD, inclusive, ≤ 366 days).
func (s *Service) VolumesBetween(ctx context.Context, townshipID, from, to string) (*Volumes, error) {
	f, err1 := time.Parse("2006-01-02", from)
	t, err2 := time.Parse("2006-01-02", to)
	switch {
	case err1 != nil:
		return nil, server.Invalid("起始日期格式应为 YYYY-MM-DD", "from", "格式错误")
	case err2 != nil:
		return nil, server.Invalid("结束日期格式应为 YYYY-MM-DD", "to", "格式错误")
	case t.Before(f) || t.Sub(f) > 366*24*time.Hour:
		return nil, server.Invalid("日期范围应在一年以内，且结束不早于起始", "to", "范围错误")
	}
	var docs []dayDoc
	if err := s.counters.Find(ctx, bson.M{"_id": bson.M{"$gte": "pd:" + from, "$lte": "pd:" + to}}, &docs); err != nil {
		return nil, err
	}
	byDay := map[string]dayDoc{}
	for _, d := range docs {
		byDay[d.ID[3:]] = d
	}
	v := &Volumes{From: from, To: to, TownshipID: townshipID, Days: []DayVolume{}, Nodes: []NodeVolume{}}
	nodes := map[string]*NodeVolume{}
	var ms, n int64
	for day := f; !day.After(t); day = day.AddDate(0, 0, 1) {
		key := day.Format("2006-01-02")
		d := byDay[key]
		dv := DayVolume{Date: key, Nodes: map[string]dirCount{}}
		if townshipID == "" {
			dv.Up, dv.Down = d.Up, d.Down
			ms, n = ms+d.C2VMs, n+d.C2VN
		} else {
			c := d.T[townshipID]
			dv.Up, dv.Down = c.Up, c.Down
			ms, n = ms+c.C2VMs, n+c.C2VN
		}
		for id, c := range d.N {
			x, ok := s.cached(ctx, id)
			if townshipID != "" && (!ok || x.TownshipID != townshipID) {
				continue
			}
			dv.Nodes[id] = dirCount{Up: c.Up, Down: c.Down}
			nv := nodes[id]
			if nv == nil {
				nv = &NodeVolume{NodeID: id, Name: x.Name, Kind: x.Kind}
				nodes[id] = nv
			}
			nv.Up += c.Up
			nv.Down += c.Down
		}
		v.Up += dv.Up
		v.Down += dv.Down
		v.Days = append(v.Days, dv)
	}
	for _, nv := range nodes {
		v.Nodes = append(v.Nodes, *nv)
	}
	sort.Slice(v.Nodes, func(i, j int) bool {
		a, b := v.Nodes[i], v.Nodes[j]
		if a.Up+a.Down != b.Up+b.Down {
			return a.Up+a.Down > b.Up+b.Down
		}
		return a.NodeID < b.NodeID
	})
	v.UpwardShare = ratio(v.Up, v.Up+v.Down)
	v.CountyToVillageCount = n
	if n > 0 {
		v.AvgCountyToVillageHours = math.Round(float64(ms)/float64(n)/3600e3*100) / 100
	}
	return v, nil
}

var monthRe = regexp.MustCompile(`^\d{4}-(0[1-9]|1[0-2])$`)

// MonthlyFigures returns township id → metric → value for month "YYYY-MM",
// read from counters: station_services, parcels_up, parcels_down. Figures
// of county-level stations and parcels are under township id "".
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
	err := s.counters.FindOne(ctx, bson.M{"_id": "svcm:" + month}, &svc)
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
	var docs []dayDoc
	if err := s.counters.Find(ctx, bson.M{"_id": bson.M{"$gte": "pd:" + month + "-01", "$lte": "pd:" + month + "-31"}}, &docs); err != nil {
		return nil, err
	}
	for _, d := range docs {
		for tk, c := range d.T {
			put(tk, "parcels_up", c.Up)
			put(tk, "parcels_down", c.Down)
		}
	}
	return out, nil
}
