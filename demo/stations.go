package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync/atomic"
	"time"
)

// station is one node of the demo's network and the steps it went through.
type station struct {
	ID, Name, Kind, Origin string
	Township, Village      int // Village -1 for county and township nodes
	Lat, Lng, Area         float64

	Built, Accepted, Operating, Closed time.Time // zero: not reached
	FailedAt                           time.Time // a failed acceptance before the pass
	SubsidyFen                         int64
	SubsidyAt                          time.Time // when the fund paid it; zero: still owed
	Operator                           *actor
}

// Status is the station's status now.
func (s *station) Status() string {
	switch {
	case !s.Closed.IsZero():
		return "closed"
	case !s.Operating.IsZero():
		return "operating"
	case !s.Accepted.IsZero():
		return "accepted"
	case !s.Built.IsZero():
		return "built"
	}
	return "planned"
}

type stationSet struct {
	center, warehouse *station
	townships         []*station // by township index
	villages          []*station
	byVillage         map[int]*station
}

func (ss *stationSet) all() []*station {
	out := []*station{ss.center, ss.warehouse}
	out = append(out, ss.townships...)
	return append(out, ss.villages...)
}

// hub is the township's station when it is operating.
func (ss *stationSet) hub(ti int) *station {
	if s := ss.townships[ti]; s != nil && s.Status() == "operating" {
		return s
	}
	return nil
}

// planStations lays out the network: the county centre and warehouse
// first, township stations through the year, village points after them
// (poverty villages first), each at a stage: planned, built (one with a
// failed acceptance), accepted, operating, and a closed point or two.
func (l *loader) planStations() {
	r := l.rand("stations")
	T := int(l.today().Sub(l.programmeStart()).Hours() / 24) // days since the start
	d := func(day int, hh int) time.Time { return l.day(day, hh, r.IntN(50)) }
	ss := &l.stations
	ss.byVillage = map[int]*station{}
	seat := l.townships[0]
	ss.center = &station{Name: "会泽县电子商务公共服务中心" + demoMark, Kind: "county_center", Origin: "new", Township: -1, Village: -1,
		Lat: seat.Lat, Lng: seat.Lng, Area: 860, Built: d(T*12/100, 10), Accepted: d(T*16/100, 15), Operating: d(T*18/100, 9)}
	ss.warehouse = &station{Name: "会泽县农村电商仓储物流配送中心" + demoMark, Kind: "warehouse", Origin: "new", Township: 1, Village: -1,
		Lat: l.townships[1].Lat, Lng: l.townships[1].Lng, Area: 3000, Built: d(T*20/100, 10), Accepted: d(T*25/100, 15), Operating: d(T*27/100, 9)}

	// Township stations: most operating; the last ones at each earlier stage.
	nt := len(l.townships)
	order := r.Perm(nt)
	ss.townships = make([]*station, nt)
	for k, ti := range order {
		t := l.townships[ti]
		s := &station{Name: unmarked(t.Name) + "电子商务服务站" + demoMark, Kind: "township", Origin: "new", Township: ti, Village: -1,
			Lat: t.Lat + 0.004, Lng: t.Lng - 0.003, Area: float64(60 + r.IntN(140))}
		if ti < 3 || r.IntN(100) < 25 {
			s.Origin = "integrated" // the county seat's and some towns' existing shops were taken in
		}
		// The first townships were built early (they are the hubs the
		// village points and parcels need); the last four are behind.
		b := T*14/100 + k*(T*52/100)/nt + r.IntN(12)
		switch {
		case k == nt-1: // planned
		case k == nt-2: // built, acceptance pending
			s.Built = d(T-25, 10)
		case k == nt-3: // built, failed its first acceptance
			s.Built, s.FailedAt = d(T-48, 10), d(T-30, 14)
		case k == nt-4: // accepted, opening soon
			s.Built, s.Accepted = d(T-40, 10), d(T-12, 15)
		default:
			s.Built = d(b, 10)
			s.Accepted = d(b+14+r.IntN(20), 15)
			s.Operating = s.Accepted.AddDate(0, 0, 3+r.IntN(8))
		}
		ss.townships[ti] = s
	}

	// Village points: poverty villages first, then the others, until the
	// plan's count; spread over the townships with operating hubs.
	var poor, other []int
	for i, v := range l.villages {
		if ss.townships[l.townshipOfVillage(i)].Status() != "operating" && r.IntN(100) < 85 {
			continue // few points where the township station is not running yet
		}
		if v.Poverty {
			poor = append(poor, i)
		} else {
			other = append(other, i)
		}
	}
	r.Shuffle(len(poor), func(i, j int) { poor[i], poor[j] = poor[j], poor[i] })
	r.Shuffle(len(other), func(i, j int) { other[i], other[j] = other[j], other[i] })
	n := l.scale(150, 16)
	var chosen []int
	for i := 0; len(chosen) < n && (i < len(poor) || i < len(other)); i++ {
		if i < len(poor) && len(chosen) < n {
			chosen = append(chosen, poor[i])
		}
		if i < len(other) && len(chosen) < n && r.IntN(100) < 60 {
			chosen = append(chosen, other[i])
		}
	}
	sort.Ints(chosen)
	r.Shuffle(len(chosen), func(i, j int) { chosen[i], chosen[j] = chosen[j], chosen[i] })
	share := func(p float64, min int) int {
		k := int(float64(len(chosen))*p + 0.5)
		if k < min {
			return min
		}
		return k
	}
	nPlanned, nBuilt, nAccepted, nClosed := share(0.08, 1), share(0.07, 2), share(0.06, 1), share(0.015, 1)
	for k, vi := range chosen {
		v := l.villages[vi]
		ti := l.townshipOfVillage(vi)
		t := l.townships[ti]
		s := &station{Name: unmarked(v.Name) + "电商服务点" + demoMark, Kind: "village", Origin: "new", Township: ti, Village: vi,
			Lat: t.Lat + (r.Float64()-0.5)*0.12, Lng: t.Lng + (r.Float64()-0.5)*0.12, Area: float64(12 + r.IntN(30))}
		if r.IntN(100) < 28 {
			s.Origin = "integrated" // a village shop or post office point taken in
		}
		switch rest := len(chosen) - k; {
		case rest <= nPlanned:
		case rest <= nPlanned+nBuilt:
			s.Built = d(T-55+r.IntN(40), 10)
			if rest == nPlanned+1 {
				s.FailedAt = s.Built.AddDate(0, 0, 8)
			}
		case rest <= nPlanned+nBuilt+nAccepted:
			s.Built = d(T-70+r.IntN(30), 10)
			s.Accepted = d(T-18+r.IntN(12), 15)
		default:
			hub := ss.townships[ti].Operating
			lo := T * 27 / 100
			if !hub.IsZero() {
				if hd := int(hub.Sub(l.programmeStart()).Hours()/24) + 5; hd > lo {
					lo = hd
				}
			}
			hi := T - 75
			if hi <= lo {
				hi = lo + 1
			}
			closed := rest > len(chosen)-nClosed
			if closed {
				hi = lo + (hi-lo)/3 + 1 // an early point, open for months before it closed
			}
			b := lo + r.IntN(hi-lo)
			s.Built = d(b, 10)
			s.Accepted = d(b+10+r.IntN(30), 15)
			s.Operating = s.Accepted.AddDate(0, 0, 3+r.IntN(10))
			if closed {
				c := s.Operating.AddDate(0, 0, 60+r.IntN(60))
				if lim := l.today().AddDate(0, 0, -5); c.After(lim) {
					c = lim.Add(17 * time.Hour)
				}
				s.Closed = c
			}
		}
		ss.villages = append(ss.villages, s)
		ss.byVillage[vi] = s
	}
	// Subsidies (new township stations and village points, once accepted)
	// are paid through the fund a few weeks after acceptance; the recent
	// ones are still owed.
	for _, s := range ss.all() {
		if s.Origin != "new" || s.Accepted.IsZero() || (s.Kind != "township" && s.Kind != "village") {
			continue
		}
		s.SubsidyFen = 300000
		if s.Kind == "township" {
			s.SubsidyFen = 1000000
		}
		if at := s.Accepted.AddDate(0, 0, 15+r.IntN(25)); at.Before(l.now.AddDate(0, 0, -3)) {
			s.SubsidyAt = at
		}
	}
}

func (l *loader) townshipOfVillage(vi int) int {
	for i, t := range l.townships {
		if t.ID == l.villages[vi].ParentID {
			return i
		}
	}
	return 0
}

var (
	villageServices  = []string{"代买", "代卖", "缴费", "快递代收", "快递代发"}
	townshipServices = []string{"代买", "代卖", "缴费", "票务预订", "快递代收", "快递代发"}
	inspectors       = []string{"县工信局 李明", "县商务局 王芳", "县供销社 赵强"}
)

// loadStations creates every station and takes it through its steps as
// the office recorded them (acceptances with the checklist), then makes
// the station operators' accounts.
func (l *loader) loadStations(ctx context.Context) error {
	l.planStations()
	var cl struct {
		Items []struct {
			Key      string   `json:"key"`
			Required bool     `json:"required"`
			Kinds    []string `json:"kinds"`
		} `json:"items"`
	}
	if err := l.admin.must("读取验收清单", "GET", "/stations/checklist", nil, &cl); err != nil {
		return err
	}
	all := l.stations.all()
	var done atomic.Int64
	err := parallel(l.workers, len(all), func(i int) error {
		s := all[i]
		if err := l.createStation(s, cl.Items); err != nil {
			return err
		}
		l.progress("站点", int(done.Add(1)), len(all))
		return nil
	})
	if err != nil {
		return err
	}
	// Station operators: accounts for a few operating village points in
	// the officers' townships.
	no := l.scale(3, 2)
	for _, s := range l.stations.villages {
		if len(l.operators) >= no {
			break
		}
		if s.Status() != "operating" || l.officerOf(s.Township) == nil {
			continue
		}
		name := operatorNames[len(l.operators)%len(operatorNames)]
		a, err := l.newUser("station", fmt.Sprintf("demo_station%d", len(l.operators)+1), name, map[string]any{"station_id": s.ID})
		if err != nil {
			return err
		}
		if err := l.admin.must("指定站点经营者", "PATCH", "/stations/"+s.ID, map[string]any{"operator_id": a.ID}, nil); err != nil {
			return err
		}
		s.Operator = a
		l.operators = append(l.operators, a)
	}
	by := map[string]int{}
	for _, s := range all {
		by[s.Status()]++
	}
	l.say("        %d 个站点：运营中 %d、已验收 %d、已建成 %d、规划中 %d、已关闭 %d", len(all), by["operating"], by["accepted"], by["built"], by["planned"], by["closed"])
	l.count("站点", len(all))
	return nil
}

var operatorNames = []string{"陈小芬", "卯国富", "杨翠娥", "浦家顺"}

func (l *loader) createStation(s *station, checklist []struct {
	Key      string   `json:"key"`
	Required bool     `json:"required"`
	Kinds    []string `json:"kinds"`
}) error {
	region := l.county.ID
	addr := "会泽县城"
	services := townshipServices
	switch {
	case s.Village >= 0:
		region = l.villages[s.Village].ID
		addr = unmarked(l.villages[s.Village].Name) + "村委会一楼"
		services = villageServices
	case s.Township >= 0:
		region = l.townships[s.Township].ID
		addr = unmarked(l.townships[s.Township].Name) + "集镇街道"
	}
	if s.Kind == "county_center" {
		region, addr = l.county.ID, "会泽县古城街道电商产业园"
	}
	lat, lng := s.Lat, s.Lng
	in := map[string]any{"name": s.Name, "kind": s.Kind, "region_id": region, "origin": s.Origin, "lat": lat, "lng": lng,
		"area_m2": s.Area, "address": addr, "hours": "08:30-18:00", "services": services}
	var out struct {
		ID string `json:"id"`
	}
	if err := l.admin.must("建立站点 "+s.Name, "POST", "/stations", in, &out); err != nil {
		return err
	}
	s.ID = out.ID
	items := map[string]bool{}
	for _, it := range checklist {
		for _, k := range it.Kinds {
			if k == s.Kind {
				items[it.Key] = true
			}
		}
	}
	step := func(status string, at time.Time, extra map[string]any) error {
		if at.IsZero() {
			return nil
		}
		body := map[string]any{"status": status, "at": rfc(l.past(at))}
		for k, v := range extra {
			body[k] = v
		}
		return l.admin.must(s.Name+"："+status, "POST", "/stations/"+s.ID+"/status", body, nil)
	}
	inspector := inspectors[len(s.Name)%len(inspectors)]
	if err := step("built", s.Built, map[string]any{"note": "施工完成，设备已安装"}); err != nil {
		return err
	}
	if !s.FailedAt.IsZero() {
		bad := map[string]bool{}
		for k := range items {
			bad[k] = k != "recorder"
		}
		in := map[string]any{"at": rfc(l.past(s.FailedAt)), "inspector": inspector, "result": "fail", "checklist": bad,
			"note": "上网行为记录仪在线率不足 95%，限期整改后复验"}
		if err := l.admin.must(s.Name+"：验收不合格记录", "POST", "/stations/"+s.ID+"/acceptance", in, nil); err != nil {
			return err
		}
	}
	if err := step("accepted", s.Accepted, map[string]any{"inspector": inspector, "checklist": items, "note": "验收合格"}); err != nil {
		return err
	}
	if err := step("operating", s.Operating, map[string]any{"note": "正式对外营业"}); err != nil {
		return err
	}
	return step("closed", s.Closed, map[string]any{"note": "经营者外出务工，服务点停业，待另选经营者"})
}

// jitter is a duration of up to m minutes.
func jitter(r *rand.Rand, m int) time.Duration { return time.Duration(r.IntN(m*60)) * time.Second }
