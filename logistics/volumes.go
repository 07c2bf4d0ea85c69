package logistics

import (
	"context"
	"math"
	"sort"
	"sync"
	"time"

	"nongxun/clock"
	"nongxun/server"
	"nongxun/stations"
	"nongxun/store"
)

// DirCount is one direction pair inside a day counter.
type DirCount struct {
	Up    int64 `bson:"up" json:"up"`
	Down  int64 `bson:"down" json:"down"`
	C2VMs int64 `bson:"c2v_ms" json:"-"`
	C2VN  int64 `bson:"c2v_n" json:"-"`
}

// dayDoc is the parcel counter of one day ("pd:YYYY-MM-DD", Beijing time):
// parcels registered by direction, per township (t) and per node (n, the
// parcels that reached the node that day), and the sum and count of
// county→village delivery times.
type dayDoc struct {
	ID    string              `bson:"_id"`
	Up    int64               `bson:"up"`
	Down  int64               `bson:"down"`
	C2VMs int64               `bson:"c2v_ms"`
	C2VN  int64               `bson:"c2v_n"`
	T     map[string]DirCount `bson:"t"`
	N     map[string]DirCount `bson:"n"`
}

// DayVolume is one day of parcel volumes.
type DayVolume struct {
	Date  string              `json:"date"`
	Up    int64               `json:"up"`
	Down  int64               `json:"down"`
	Nodes map[string]DirCount `json:"nodes"`
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
	to := s.now()
	return s.VolumesBetween(ctx, townshipID, clock.Day(to.AddDate(0, 0, -29)), clock.Day(to))
}

// StationVolumes is ParcelVolumes as the stations package reports it
// (stations.ParcelSource).
func (s *Service) StationVolumes(ctx context.Context, townshipID string) (*stations.Volumes, error) {
	to := s.now()
	v, err := s.volumes(ctx, townshipID, clock.Day(to.AddDate(0, 0, -29)), clock.Day(to), false)
	if err != nil {
		return nil, err
	}
	out := &stations.Volumes{From: v.From, To: v.To, TownshipID: v.TownshipID, Up: v.Up, Down: v.Down, UpwardShare: v.UpwardShare,
		AvgCountyToVillageHours: v.AvgCountyToVillageHours, CountyToVillageCount: v.CountyToVillageCount, Days: make([]stations.DayVolume, len(v.Days))}
	for i, d := range v.Days {
		out.Days[i] = stations.DayVolume{Date: d.Date, Up: d.Up, Down: d.Down}
	}
	return out, nil
}

// days reads the day counters from..to, each by _id (docs/design.md, "The
// _id path index"), eight at a time: the cost follows the period, not the
// years stored, and the wait the slowest reads, not their sum.
func (s *Service) days(ctx context.Context, f, t time.Time) (map[string]dayDoc, error) {
	var keys []string
	for day := f; !day.After(t); day = day.AddDate(0, 0, 1) {
		keys = append(keys, day.Format("2006-01-02"))
	}
	docs := make([]dayDoc, len(keys))
	found := make([]bool, len(keys))
	errs := make([]error, len(keys))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, key := range keys {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			err := s.counters.Get(ctx, "pd:"+key, &docs[i])
			found[i] = err == nil
			if err != nil && !store.IsNotFound(err) {
				errs[i] = err
			}
		}()
	}
	wg.Wait()
	out := make(map[string]dayDoc, len(keys))
	for i, key := range keys {
		if errs[i] != nil {
			return nil, errs[i]
		}
		if found[i] {
			out[key] = docs[i]
		}
	}
	return out, nil
}

// VolumesBetween reads the day counters from..to (YYYY-MM-DD, inclusive, ≤ 366 days).
func (s *Service) VolumesBetween(ctx context.Context, townshipID, from, to string) (*Volumes, error) {
	return s.volumes(ctx, townshipID, from, to, true)
}

// volumes is VolumesBetween, with the per-node figures (and the station
// list they are named from) only when nodes is set.
func (s *Service) volumes(ctx context.Context, townshipID, from, to string, nodes bool) (*Volumes, error) {
	f, err1 := clock.ParseDay(from)
	t, err2 := clock.ParseDay(to)
	switch {
	case err1 != nil:
		return nil, server.Invalid("起始日期格式应为 YYYY-MM-DD", "from", "格式错误")
	case err2 != nil:
		return nil, server.Invalid("结束日期格式应为 YYYY-MM-DD", "to", "格式错误")
	case !clock.InProgrammeRange(f) || !clock.InProgrammeRange(t):
		return nil, server.Invalid("日期应在 2000 年至 2100 年之间", "from", "超出范围")
	case t.Before(f) || t.Sub(f) > 366*24*time.Hour:
		return nil, server.Invalid("日期范围应在一年以内，且结束不早于起始", "to", "范围错误")
	}
	byDay, err := s.days(ctx, f, t)
	if err != nil {
		return nil, err
	}
	nodeOf := map[string]stations.Station{}
	if nodes {
		list, err := s.d.Stations.ListErr(ctx, system, stations.ListFilter{})
		if err != nil {
			return nil, err
		}
		for _, x := range list {
			nodeOf[x.ID] = x
		}
	}
	v := &Volumes{From: from, To: to, TownshipID: townshipID, Days: []DayVolume{}, Nodes: []NodeVolume{}}
	byNode := map[string]*NodeVolume{}
	var ms, n int64
	for day := f; !day.After(t); day = day.AddDate(0, 0, 1) {
		key := day.Format("2006-01-02")
		d := byDay[key]
		dv := DayVolume{Date: key, Nodes: map[string]DirCount{}}
		if townshipID == "" {
			dv.Up, dv.Down = d.Up, d.Down
			ms, n = ms+d.C2VMs, n+d.C2VN
		} else {
			c := d.T[townshipID]
			dv.Up, dv.Down = c.Up, c.Down
			ms, n = ms+c.C2VMs, n+c.C2VN
		}
		for id, c := range d.N {
			if !nodes {
				break
			}
			x, ok := nodeOf[id]
			if townshipID != "" && (!ok || x.TownshipID != townshipID) {
				continue
			}
			dv.Nodes[id] = DirCount{Up: c.Up, Down: c.Down}
			nv := byNode[id]
			if nv == nil {
				nv = &NodeVolume{NodeID: id, Name: x.Name, Kind: x.Kind}
				if !ok {
					nv.Name = "（已删除的站点）"
				}
				byNode[id] = nv
			}
			nv.Up += c.Up
			nv.Down += c.Down
		}
		v.Up += dv.Up
		v.Down += dv.Down
		v.Days = append(v.Days, dv)
	}
	for _, nv := range byNode {
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

func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return math.Round(float64(a)/float64(b)*10000) / 10000
}

// MonthlyFigures returns township id → parcels_up / parcels_down for month
// "YYYY-MM" (by the day of registration), read from the month's day
// counters; county-level parcels are under "".
func (s *Service) MonthlyFigures(ctx context.Context, month string) (map[string]map[string]int64, error) {
	first, err := clock.ParseMonth(month)
	if err != nil {
		return nil, server.Invalid("月份格式应为 YYYY-MM", "month", "格式错误")
	}
	byDay, err := s.days(ctx, first, first.AddDate(0, 1, -1))
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]int64{}
	for _, d := range byDay {
		for tk, c := range d.T {
			tid := tk
			if tk == countyKey {
				tid = ""
			}
			if out[tid] == nil {
				out[tid] = map[string]int64{}
			}
			out[tid]["parcels_up"] += c.Up
			out[tid]["parcels_down"] += c.Down
		}
	}
	for tid, m := range out {
		for k, v := range m {
			if v == 0 {
				delete(m, k)
			}
		}
		if len(m) == 0 {
			delete(out, tid)
		}
	}
	return out, nil
}
