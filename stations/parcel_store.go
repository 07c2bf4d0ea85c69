package stations

import (
	"context"
	"fmt"
	"hash/fnv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"nongxun/server"
	"nongxun/store"
)

// node returns an operating station that can take parcels.
func (s *Service) node(ctx context.Context, id, field string) (*Station, error) {
	x, ok := s.cached(ctx, id)
	if !ok {
		got, err := s.Station(ctx, id)
		if err != nil {
			return nil, server.Invalid("站点不存在", field, "站点不存在")
		}
		x = *got
	}
	if x.Status != StatusOperating {
		return nil, &server.Error{Code: server.CodeConflict, Rule: "node_operating",
			Message: "站点「" + x.Name + "」未在运营（当前为「" + statusName[x.Status] + "」），不能收发包裹", Fields: map[string]string{field: "站点未运营"}}
	}
	return &x, nil
}

// CreateParcel registers a waybill. The waybill is the document's _id, so
// a duplicate is refused by the engine itself. A station user may only
// send from their own station.
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
	now := s.now().UTC()
	tid := d.TownshipID
	if n.Direction == DirUp || tid == "" {
		tid = o.TownshipID
	}
	pc := &Parcel{Waybill: n.Waybill, Direction: n.Direction, OriginID: o.ID, DestinationID: d.ID,
		Route: route(o, d, func(t string) (Station, bool) { return s.hubOf(ctx, t) }), TownshipID: tid,
		Product: n.Product, WeightG: n.WeightG, State: StateCreated, LastHop: -1, LastAt: now, Scans: []Scan{},
		CreatedAt: now, CreatedBy: who(p)}
	if err := s.bucket(s.hot, pc.Waybill).InsertOne(ctx, pc); err != nil {
		if store.IsDup(err) {
			return nil, server.RuleBroken(server.CodeConflict, "waybill_unique", "运单号 "+n.Waybill+" 已登记过")
		}
		return nil, err
	}
	tk := tkey(tid)
	if err := s.counters.Inc(ctx, "pd:"+dayOf(now), map[string]int64{n.Direction: 1, "t." + tk + "." + n.Direction: 1}); err != nil {
		_, _ = s.bucket(s.hot, pc.Waybill).DeleteOne(context.WithoutCancel(ctx), bson.M{"_id": pc.Waybill})
		return nil, err
	}
	return pc, nil
}

// findParcel reads a parcel from the hot collection, or else the archive.
func (s *Service) findParcel(ctx context.Context, waybill string) (*Parcel, error) {
	var pc Parcel
	err := s.bucket(s.hot, waybill).FindOne(ctx, bson.M{"_id": waybill}, &pc)
	if store.IsNotFound(err) {
		if err = s.bucket(s.archived, waybill).FindOne(ctx, bson.M{"_id": waybill}, &pc); err == nil {
			pc.Archived = true
		}
	}
	if store.IsNotFound(err) {
		return nil, server.NotFound("运单不存在：" + waybill)
	}
	if err != nil {
		return nil, err
	}
	return &pc, nil
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

// AddScan appends a scan. Inside the lane it reads the parcel, checks the
// scan against the route and the last scan, and appends with an update
// conditional on the state it read (so it is also right on MongoDB with
// several app nodes); then it moves the day counters.
func (s *Service) AddScan(ctx context.Context, p *server.Principal, waybill string, in NewScan) (*Parcel, error) {
	f := server.Fields{}
	f.Add(scanName[in.Kind] == "", "kind", "应为 received、sorted、dispatched、delivered 或 picked_up")
	f.Add(!store.ValidID(in.NodeID), "node_id", "请指定扫描站点")
	at := parseAt(f, "at", in.At, s.now())
	if err := f.Err(); err != nil {
		return nil, err
	}
	if p.Role == server.RoleStation && p.StationID != in.NodeID {
		return nil, server.Forbidden("只能在本站点扫描")
	}
	var out *Parcel
	err := s.st.Lane(ctx, func(ctx context.Context) error {
		pc, err := s.findParcel(ctx, waybill)
		if err != nil {
			return err
		}
		if pc.Archived {
			return server.Conflict("运单已完结归档，不能再扫描")
		}
		hop := indexOf(pc.Route, in.NodeID)
		if err := nextScan(pc, hop, in.Kind, at); err != nil {
			return err
		}
		sc := Scan{NodeID: in.NodeID, Kind: in.Kind, At: at, By: who(p)}
		set := bson.M{"state": in.Kind, "last_hop": hop, "last_at": at}
		counts := map[string]int64{}
		if hop != pc.LastHop {
			counts["n."+in.NodeID+"."+pc.Direction] = 1
		}
		if len(pc.Scans) == 0 {
			if o, ok := s.cached(ctx, pc.OriginID); ok && o.CountyLevel() {
				set["started_at"] = at
			}
		}
		if in.Kind == ScanDelivered {
			set["delivered_at"] = at
			if d, ok := s.cached(ctx, pc.DestinationID); ok && d.Kind == KindVillage && pc.StartedAt != nil {
				ms := at.Sub(*pc.StartedAt).Milliseconds()
				tk := tkey(pc.TownshipID)
				counts["c2v_ms"], counts["c2v_n"] = ms, 1
				counts["t."+tk+".c2v_ms"], counts["t."+tk+".c2v_n"] = ms, 1
			}
		}
		res, err := s.bucket(s.hot, waybill).UpdateOne(ctx, s.asRead(waybill, pc.State, pc.NScans),
			bson.M{"$push": bson.M{"scans": sc}, "$set": set, "$inc": bson.M{"nscans": 1}})
		if err != nil {
			return err
		}
		if res.MatchedCount == 0 {
			return server.RuleBroken(server.CodeConflict, "scan_order", "运单刚被另一次扫描更新，请刷新后重试")
		}
		if err := s.counters.Inc(ctx, "pd:"+dayOf(at), counts); err != nil {
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
			_, _ = s.bucket(s.hot, waybill).UpdateOne(context.WithoutCancel(ctx), s.asRead(waybill, in.Kind, pc.NScans+1), undo)
			return err
		}
		pc.Scans = append(pc.Scans, sc)
		pc.State, pc.LastHop, pc.LastAt, pc.NScans = in.Kind, hop, at, pc.NScans+1
		if v, ok := set["started_at"]; ok {
			t := v.(time.Time)
			pc.StartedAt = &t
		}
		if in.Kind == ScanDelivered {
			pc.DeliveredAt = &at
		}
		out = pc
		return nil
	})
	return out, err
}

// asRead is the filter of a scan's conditional update: the parcel still
// in the state it was read in. On MongoDB (several app nodes, no lane) the
// state and scan count are in the filter, so of two racing scans one
// matches nothing. On the embedded engine the lane already makes the read
// and the write one step (one process owns DATA_DIR, DESIGN.md fact 7),
// and a filter on anything but _id is not pushed down to SQLite: it
// decodes the whole collection, measured at 45-180 ms against 1-4 ms per
// update with 5,000 parcels stored. So there the filter is _id alone.
func (s *Service) asRead(waybill, state string, nscans int) bson.M {
	if s.st.Embedded() {
		return bson.M{"_id": waybill}
	}
	return bson.M{"_id": waybill, "state": state, "nscans": nscans}
}

// ArchiveParcels moves finished parcels (delivered or picked up) whose
// last scan is older than before out of the hot buckets, so that the
// collections every scan reads stay small (DESIGN.md, fact 2). They stay
// readable by waybill from the archive.
func (s *Service) ArchiveParcels(ctx context.Context, before time.Time) (int, error) {
	total := 0
	for i := range s.hot {
		for {
			n, err := s.archiveBatch(ctx, s.hot[i], s.archived[i], before)
			total += n
			if err != nil {
				return total, err
			}
			if n == 0 {
				break
			}
		}
	}
	return total, nil
}

// archiveBatch moves up to 1,000 finished parcels of one bucket, holding
// the lane so no scan lands between the copy and the delete.
func (s *Service) archiveBatch(ctx context.Context, hot, arch *store.Collection, before time.Time) (int, error) {
	n := 0
	err := s.st.Lane(ctx, func(ctx context.Context) error {
		var batch []Parcel
		err := hot.Find(ctx, bson.M{"state": bson.M{"$in": bson.A{ScanDelivered, ScanPickedUp}}, "last_at": bson.M{"$lt": before}},
			&batch, options.Find().SetLimit(1000))
		if err != nil || len(batch) == 0 {
			return err
		}
		docs := make([]any, len(batch))
		ids := make(bson.A, len(batch))
		for i := range batch {
			docs[i], ids[i] = batch[i], batch[i].Waybill
		}
		if _, err := arch.InsertMany(ctx, docs); err != nil && !allDup(err) {
			return err
		}
		d, err := hot.DeleteMany(ctx, bson.M{"_id": bson.M{"$in": ids}})
		n = int(d)
		return err
	})
	return n, err
}

// allDup reports whether every error of a bulk insert is a duplicate key
// (the parcel was archived before, by an earlier interrupted run).
func allDup(err error) bool {
	var bw mongo.BulkWriteException
	if e, ok := err.(mongo.BulkWriteException); ok {
		bw = e
	} else {
		return store.IsDup(err)
	}
	for _, we := range bw.WriteErrors {
		if we.Code != 11000 {
			return false
		}
	}
	return bw.WriteConcernError == nil
}

// embeddedBuckets is how many collections the parcels are spread over on
// the embedded engine, where every lookup scans its whole collection: at
// 50,000 parcels a bucket holds about 800. MongoDB keeps one collection
// (sharded on the hashed waybill, docs/scaling.md).
const embeddedBuckets = 64

func parcelBuckets(st *store.Store, name string) []*store.Collection {
	if !st.Embedded() {
		return []*store.Collection{st.C(name)}
	}
	out := make([]*store.Collection, embeddedBuckets)
	for i := range out {
		out[i] = st.C(fmt.Sprintf("%s_%02d", name, i))
	}
	return out
}

// bucket is the collection of list that holds waybill w.
func (s *Service) bucket(list []*store.Collection, w string) *store.Collection {
	if len(list) == 1 {
		return list[0]
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(w))
	return list[h.Sum32()%uint32(len(list))]
}
