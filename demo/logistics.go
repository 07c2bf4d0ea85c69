package demo

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

type scan struct {
	node *station
	kind string
	at   time.Time
}

type parcel struct {
	waybill, dir, product string
	weight                int64
	from, to              *station
	scans                 []scan
}

var (
	upGoods   = []string{"石榴", "马铃薯", "核桃", "辣椒", "苦荞茶", "野生菌干"}
	downGoods = []string{"日用品", "农资（化肥）", "网购服装", "小家电", "手机配件", "学生用品"}
)

// planParcels sends parcels over the last three weeks: farm products up
// from the village points through their township station to the county
// centre or warehouse, goods down from the warehouse to the villages;
// each scanned at every node on its way, the latest still on the road.
func (l *loader) planParcels() []*parcel {
	r := l.rand("parcels")
	var points []*station
	for _, s := range l.stations.villages {
		if s.Status() == "operating" && l.stations.hub(s.Township) != nil {
			points = append(points, s)
		}
	}
	if len(points) == 0 || l.stations.warehouse.Status() != "operating" || l.stations.center.Status() != "operating" {
		return nil
	}
	n := l.scale(400, 40)
	out := make([]*parcel, 0, n)
	lim := l.now.Add(-10 * time.Minute)
	for k := 0; k < n; k++ {
		p := &parcel{}
		t := l.now.Add(-time.Duration(r.IntN(21*24*60)) * time.Minute)
		v := points[r.IntN(len(points))]
		hub := l.stations.hub(v.Township)
		var route []*station
		if r.IntN(100) < 58 {
			p.dir, p.product, p.weight = "up", upGoods[r.IntN(len(upGoods))], int64(2000+r.IntN(13000))
			dest := l.stations.warehouse
			if r.IntN(100) < 35 {
				dest = l.stations.center
			}
			route = []*station{v, hub, dest}
		} else {
			p.dir, p.product, p.weight = "down", downGoods[r.IntN(len(downGoods))], int64(500+r.IntN(7500))
			route = []*station{l.stations.warehouse, hub, v}
		}
		p.from, p.to = route[0], route[len(route)-1]
		p.waybill = fmt.Sprintf("HZ%s%05d", t.Format("060102"), k+1)
		add := func(node *station, kind string, after time.Duration) bool {
			t = t.Add(after)
			if t.After(lim) {
				return false
			}
			p.scans = append(p.scans, scan{node, kind, t})
			return true
		}
		hour := func(a, b int) time.Duration { return time.Duration(a*60+r.IntN((b-a)*60+1)) * time.Minute }
		ok := add(route[0], "received", 0) && add(route[0], "dispatched", hour(1, 5))
		for h := 1; ok && h < len(route)-1; h++ {
			ok = add(route[h], "received", hour(3, 10)) && add(route[h], "sorted", hour(0, 1)) && add(route[h], "dispatched", hour(2, 14))
		}
		if ok && add(p.to, "delivered", hour(3, 12)) && (p.dir == "down" && r.IntN(100) < 80) {
			add(p.to, "picked_up", hour(2, 48))
		}
		out = append(out, p)
	}
	return out
}

// loadLogistics logs the stations' services (代买代卖, 缴费, 快递) of the
// last two months — the station operators their own, the office the
// others' paper logs — and registers and scans the parcels.
func (l *loader) loadLogistics(ctx context.Context) error {
	r := l.rand("services")
	type entry struct {
		s    *station
		body map[string]any
	}
	var entries []entry
	kinds := []struct {
		kind     string
		lo, hi   int
		fenEach  int64
		withCash bool
	}{{"代买", 3, 25, 8000, true}, {"代卖", 2, 15, 15000, true}, {"缴费", 5, 40, 6000, true}, {"快递代收", 10, 80, 0, false}, {"快递代发", 4, 30, 0, false}, {"票务预订", 1, 6, 20000, true}}
	for _, s := range l.stations.all() {
		if s.Status() != "operating" {
			continue
		}
		for e := 0; e < 2+r.IntN(3); e++ {
			k := kinds[r.IntN(len(kinds))]
			if k.kind == "票务预订" && s.Kind == "village" {
				continue // a township station's service
			}
			c := int64(k.lo + r.IntN(k.hi-k.lo+1))
			at := l.now.AddDate(0, 0, -1-r.IntN(55)).Add(-jitter(r, 600))
			if at.Before(s.Operating) {
				continue
			}
			b := map[string]any{"kind": k.kind, "count": c, "at": rfc(at), "client_id": fmt.Sprintf("demo-%s-%d", s.ID[16:], e), "note": "本周汇总"}
			if k.withCash {
				b["amount_fen"] = c * k.fenEach * int64(50+r.IntN(100)) / 100
			}
			entries = append(entries, entry{s, b})
		}
	}
	var done atomic.Int64
	err := parallel(l.workers, len(entries), func(k int) error {
		e := entries[k]
		by := l.admin
		if e.s.Operator != nil {
			by = e.s.Operator
		}
		if err := by.must("登记站点服务 "+e.s.Name, "POST", "/stations/"+e.s.ID+"/services", e.body, nil); err != nil {
			return err
		}
		l.progress("站点服务", int(done.Add(1)), len(entries))
		return nil
	})
	if err != nil {
		return err
	}
	parcels := l.planParcels()
	scans := 0
	for _, p := range parcels {
		scans += len(p.scans)
	}
	done.Store(0)
	err = parallel(l.workers, len(parcels), func(k int) error {
		p := parcels[k]
		by := l.admin
		if p.from.Operator != nil {
			by = p.from.Operator // the village point registers what it sends
		}
		in := map[string]any{"waybill": p.waybill, "direction": p.dir, "origin_id": p.from.ID, "destination_id": p.to.ID,
			"product": p.product, "weight_g": p.weight}
		if err := by.must("登记包裹 "+p.waybill, "POST", "/parcels", in, nil); err != nil {
			return err
		}
		for _, s := range p.scans {
			by := l.admin
			if s.node.Operator != nil {
				by = s.node.Operator
			}
			body := map[string]any{"node_id": s.node.ID, "kind": s.kind, "at": rfc(s.at)}
			if err := by.must("扫描包裹 "+p.waybill, "POST", "/parcels/"+p.waybill+"/scans", body, nil); err != nil {
				return err
			}
		}
		l.progress("包裹", int(done.Add(1)), len(parcels))
		return nil
	})
	if err != nil {
		return err
	}
	l.say("        站点服务记录 %d 条；包裹 %d 件（扫描 %d 次）", len(entries), len(parcels), scans)
	l.count("站点服务记录", len(entries))
	l.count("包裹", len(parcels))
	return nil
}
