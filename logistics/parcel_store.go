package logistics

import (
	"context"
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/clock"
	"nongxun/server"
	"nongxun/stations"
	"nongxun/store"
)

// node returns an operating station that can take parcels (one read by _id).
func (s *Service) node(ctx context.Context, id, field string) (*stations.Station, error) {
	if !store.ValidID(id) {
		return nil, server.Invalid("站点不存在", field, "站点不存在")
	}
	x, err := s.d.Stations.Station(ctx, id)
	if err != nil {
		if server.ToError(err).Code == server.CodeNotFound {
			return nil, server.Invalid("站点不存在", field, "站点不存在")
		}
		return nil, err
	}
	if x.Status != stations.StatusOperating {
		return nil, &server.Error{Code: server.CodeConflict, Rule: "node_operating",
			Message: "站点「" + x.Name + "」未在运营（当前为「" + stations.StatusName(x.Status) + "」），不能收发包裹", Fields: map[string]string{field: "站点未运营"}}
	}
	return x, nil
}

// CreateParcel registers a waybill. The waybill is the document's _id, so
// a duplicate is refused by the engine itself; the parcel and its day
// counter are written as one unit. A station user may only send from their
// own station.
func (s *Service) CreateParcel(ctx context.Context, p *server.Principal, n NewParcel) (*Parcel, error) {
	if err := n.Validate(); err != nil {
		return nil, err
	}
	if p.Role == server.RoleStation && p.StationID != n.OriginID {
		return nil, server.Forbidden("只能登记从本站点发出的包裹")
	}
	o, err := s.node(ctx, n.OriginID, "origin_id")
	if err != nil {
		return nil, err
	}
	d, err := s.node(ctx, n.DestinationID, "destination_id")
	if err != nil {
		return nil, err
	}
	if err := directionRule(n.Direction, o, d); err != nil {
		return nil, err
	}
	var hubErr error
	nodes := route(o, d, func(tid string) *stations.Station {
		h, ok, err := s.d.Stations.Hub(ctx, tid)
		if err != nil {
			hubErr = err
		}
		if !ok {
			return nil
		}
		return h
	})
	if hubErr != nil {
		return nil, hubErr
	}
	now := s.now().UTC()
	tid := d.TownshipID
	if n.Direction == DirUp || tid == "" {
		tid = o.TownshipID
	}
	pc := &Parcel{Waybill: n.Waybill, Direction: n.Direction, OriginID: o.ID, DestinationID: d.ID, OriginKind: o.Kind, DestKind: d.Kind,
		TownshipID: tid, Product: n.Product, WeightG: n.WeightG, State: StateCreated, LastHop: -1, LastAt: now, Scans: []Scan{},
		CreatedAt: now, CreatedBy: who(p)}
	for _, x := range nodes {
		pc.Route, pc.RouteNames = append(pc.Route, x.ID), append(pc.RouteNames, x.Name)
	}
	dup := server.RuleBroken(server.CodeConflict, "waybill_unique", "运单号 "+n.Waybill+" 已登记过")
	err = s.st.Unit(ctx, "parcel.create", func(u *store.Unit) error {
		err := u.Do(ctx, "parcel", func(ctx context.Context) error { return s.hot.InsertOne(ctx, pc) },
			func(ctx context.Context) error {
				_, err := s.hot.DeleteIf(ctx, pc.Waybill, store.Cond{"nscans": 0, "created_at": pc.CreatedAt})
				return err
			})
		if store.IsDup(err) {
			return dup
		}
		if err != nil {
			return err
		}
		// Checked after the insert: an archiver copies a parcel into the
		// archive before it deletes it here, so if this insert succeeded
		// while an old parcel of this waybill was being archived, its copy
		// is already there.
		var old struct {
			ID string `bson:"_id"`
		}
		if err := s.archive.Get(ctx, pc.Waybill, &old); err == nil {
			return dup
		} else if !store.IsNotFound(err) {
			return err
		}
		return s.incDay(ctx, u, clock.Day(now), map[string]int64{n.Direction: 1, "t." + tkey(tid) + "." + n.Direction: 1})
	})
	if err != nil {
		return nil, err
	}
	pc.CreatedAt, pc.LastAt = pc.CreatedAt.Truncate(time.Millisecond), pc.LastAt.Truncate(time.Millisecond) // as stored
	s.scanning.Put(pc.Waybill, *pc)
	return pc, nil
}

// incDay $incs the day counter of day by d inside unit u, undone by -d.
func (s *Service) incDay(ctx context.Context, u *store.Unit, day string, d map[string]int64) error {
	neg := map[string]int64{}
	for k, v := range d {
		neg[k] = -v
	}
	id := "pd:" + day
	return u.Do(ctx, "day counter "+id, func(ctx context.Context) error { return s.counters.Inc(ctx, id, d) },
		func(ctx context.Context) error { return s.counters.Inc(ctx, id, neg) })
}

// findParcel reads a parcel by waybill from the hot collection, or else
// the archive: one or two reads by _id.
func (s *Service) findParcel(ctx context.Context, waybill string) (*Parcel, error) {
	var pc Parcel
	err := s.hot.Get(ctx, waybill, &pc)
	if store.IsNotFound(err) {
		if err = s.archive.Get(ctx, waybill, &pc); err == nil {
			pc.Archived = true
		}
	}
	if store.IsNotFound(err) {
		return nil, server.NotFound("运单不存在：" + waybill)
	}
	if err != nil {
		return nil, err
	}
	if len(pc.RouteNames) != len(pc.Route) {
		s.fillNames(ctx, &pc)
	}
	pc.nameScans()
	return &pc, nil
}

// nameScans names each scan's node from the route's names.
func (pc *Parcel) nameScans() {
	for i := range pc.Scans {
		if k := indexOf(pc.Route, pc.Scans[i].NodeID); k >= 0 && k < len(pc.RouteNames) {
			pc.Scans[i].NodeName = pc.RouteNames[k]
		}
	}
}

// fillNames names the route of a parcel registered before names were kept.
func (s *Service) fillNames(ctx context.Context, pc *Parcel) {
	pc.RouteNames = make([]string, len(pc.Route))
	for i, id := range pc.Route {
		if x, err := s.d.Stations.Station(ctx, id); err == nil {
			pc.RouteNames[i] = x.Name
		} else {
			pc.RouteNames[i] = "（已删除的站点）"
		}
	}
}

// Parcel returns a waybill's trace as p may see it: officers their
// township's, station users parcels routed through their station.
func (s *Service) Parcel(ctx context.Context, p *server.Principal, waybill string) (*Parcel, error) {
	pc, err := s.findParcel(ctx, waybill)
	if err != nil {
		return nil, err
	}
	if (p.Role == server.RoleOfficer && pc.TownshipID != p.TownshipID) ||
		(p.Role == server.RoleStation && indexOf(pc.Route, p.StationID) < 0) {
		return nil, server.Forbidden("您无权查看此运单")
	}
	return pc, nil
}

// errRaced: the scan's conditional update matched nothing.
var errRaced = errors.New("logistics: the parcel changed under the scan")

// AddScan appends a scan. It checks the scan against the parcel's route
// and last scan, and appends with a conditional update on the state and
// scan count as read: of two racing scans (on one node or two) exactly one
// matches. The day counters move in the same unit, and a finishing scan
// lists the parcel for the archive. The parcel comes from the scanning
// cache; if the update misses, it is read afresh and judged once more.
func (s *Service) AddScan(ctx context.Context, p *server.Principal, waybill string, in NewScan) (*Parcel, error) {
	f := server.Fields{}
	f.Add(ScanNames[in.Kind] == "", "kind", "应为收件、分拣、发出、投递到站或已取件")
	f.Add(!store.ValidID(in.NodeID), "node_id", "请指定扫描站点")
	at := parseAt(f, "at", in.At, s.now())
	if err := f.Err(); err != nil {
		return nil, err
	}
	if p.Role == server.RoleStation && p.StationID != in.NodeID {
		return nil, server.Forbidden("只能在本站点扫描")
	}
	for fresh := false; ; fresh = true {
		pc, err := s.scanTarget(ctx, waybill, fresh)
		if err != nil {
			return nil, err
		}
		out, err := s.scan(ctx, p, pc, in, at)
		if err == nil {
			s.scanning.Put(waybill, *out)
			out = copyParcel(out)
			out.nameScans()
			return out, nil
		}
		s.scanning.Forget(waybill)
		if !errors.Is(err, errRaced) || fresh {
			if errors.Is(err, errRaced) {
				err = server.RuleBroken(server.CodeConflict, "scan_order", "运单刚被另一次扫描更新，请刷新后重试")
			}
			return nil, err
		}
	}
}

// scanTarget is the hot parcel a scan applies to: from the scanning cache,
// or read from the database when fresh. An archived parcel is refused.
func (s *Service) scanTarget(ctx context.Context, waybill string, fresh bool) (*Parcel, error) {
	load := func(ctx context.Context) (Parcel, error) {
		var pc Parcel
		err := s.hot.Get(ctx, waybill, &pc)
		if store.IsNotFound(err) {
			if _, err := s.findParcel(ctx, waybill); err != nil {
				return pc, err
			}
			return pc, server.RuleBroken(server.CodeConflict, "scan_archived", "运单已完结归档，不能再扫描")
		}
		if err == nil && len(pc.RouteNames) != len(pc.Route) {
			s.fillNames(ctx, &pc)
		}
		return pc, err
	}
	var pc Parcel
	var err error
	if fresh {
		pc, err = load(ctx)
	} else {
		pc, err = s.scanning.Get(ctx, waybill, load)
	}
	if err != nil {
		return nil, err
	}
	return copyParcel(&pc), nil
}

// copyParcel copies the parts of a parcel a scan changes, so a cached
// value is never changed in place.
func copyParcel(pc *Parcel) *Parcel {
	c := *pc
	c.Scans = append([]Scan(nil), pc.Scans...)
	return &c
}

// scan applies one scan to parcel pc as read, in one unit; errRaced when
// the parcel is no longer as read.
func (s *Service) scan(ctx context.Context, p *server.Principal, pc *Parcel, in NewScan, at time.Time) (*Parcel, error) {
	hop := indexOf(pc.Route, in.NodeID)
	if err := nextScan(pc, hop, in.Kind, at); err != nil {
		return nil, err
	}
	waybill := pc.Waybill
	sc := Scan{NodeID: in.NodeID, Kind: in.Kind, At: at, By: who(p)}
	set := bson.M{"state": in.Kind, "last_hop": hop, "last_at": at}
	counts := map[string]int64{}
	if hop != pc.LastHop {
		counts["n."+in.NodeID+"."+pc.Direction] = 1
	}
	if len(pc.Scans) == 0 && countyLevel(s.kindOf(ctx, pc.OriginKind, pc.OriginID)) {
		set["started_at"] = at
	}
	if in.Kind == ScanDelivered {
		set["delivered_at"] = at
		if s.kindOf(ctx, pc.DestKind, pc.DestinationID) == stations.KindVillage && pc.StartedAt != nil {
			ms := at.Sub(*pc.StartedAt).Milliseconds()
			tk := tkey(pc.TownshipID)
			counts["c2v_ms"], counts["c2v_n"] = ms, 1
			counts["t."+tk+".c2v_ms"], counts["t."+tk+".c2v_n"] = ms, 1
		}
	}
	err := s.st.Unit(ctx, "parcel.scan", func(u *store.Unit) error {
		ok, err := s.hot.UpdateIf(ctx, waybill, store.Cond{"state": pc.State, "nscans": pc.NScans},
			bson.M{"$push": bson.M{"scans": sc}, "$set": set, "$inc": bson.M{"nscans": 1}})
		if err != nil {
			return err
		}
		if !ok {
			return errRaced
		}
		u.OnFail("parcel scan", func(ctx context.Context) error {
			undo := bson.M{"$pop": bson.M{"scans": 1}, "$set": bson.M{"state": pc.State, "last_hop": pc.LastHop, "last_at": pc.LastAt}, "$inc": bson.M{"nscans": -1}}
			unset := bson.M{}
			for _, k := range []string{"started_at", "delivered_at"} {
				if _, ok := set[k]; ok {
					unset[k] = ""
				}
			}
			if len(unset) > 0 {
				undo["$unset"] = unset
			}
			_, err := s.hot.UpdateIf(ctx, waybill, store.Cond{"state": in.Kind, "nscans": pc.NScans + 1}, undo)
			return err
		})
		if err := s.incDay(ctx, u, clock.Day(at), counts); err != nil {
			return err
		}
		if finished(in.Kind) {
			return s.listFinished(ctx, clock.Day(at), waybill)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	pc.Scans = append(pc.Scans, sc)
	pc.State, pc.LastHop, pc.LastAt, pc.NScans = in.Kind, hop, at.Truncate(time.Millisecond), pc.NScans+1
	pc.Scans[len(pc.Scans)-1].At = pc.LastAt
	if v, ok := set["started_at"]; ok {
		t := v.(time.Time).Truncate(time.Millisecond)
		pc.StartedAt = &t
	}
	if in.Kind == ScanDelivered {
		t := pc.LastAt
		pc.DeliveredAt = &t
	}
	return pc, nil
}

// kindOf is a node's kind as the parcel recorded it, or as the station
// says for a parcel registered before kinds were kept.
func (s *Service) kindOf(ctx context.Context, kept, id string) string {
	if kept != "" {
		return kept
	}
	if x, err := s.d.Stations.Station(ctx, id); err == nil {
		return x.Kind
	}
	return ""
}

func countyLevel(kind string) bool {
	return kind == stations.KindCountyCenter || kind == stations.KindWarehouse
}
