package stations

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/regions"
	"nongxun/server"
	"nongxun/store"
)

// marker is a natural-key document: its _id makes a rule hold on any engine.
type marker struct {
	ID        string   `bson:"_id"`
	StationID string   `bson:"station_id,omitempty"`
	Township  string   `bson:"township_id,omitempty"`
	Poverty   bool     `bson:"poverty,omitempty"`
	Points    []string `bson:"points,omitempty"`
}

// uniqueKey names the marker that keeps a kind of station single: one
// county centre, one station per township. Others have none.
func uniqueKey(kind, regionID string) string {
	switch kind {
	case KindCountyCenter:
		return "unique:county_center"
	case KindTownship:
		return "unique:township:" + regionID
	}
	return ""
}

// placeRule checks that a station sits in a region of the right level.
func placeRule(kind string, r regions.Region) error {
	switch {
	case kind == KindVillage && r.Level != regions.LevelVillage:
		return &server.Error{Code: server.CodeInvalid, Rule: "village_point_in_village", Message: "村级服务点须设在行政村（所选区域不是行政村）", Fields: map[string]string{"region_id": "应为行政村"}}
	case kind == KindTownship && r.Level != regions.LevelTownship:
		return &server.Error{Code: server.CodeInvalid, Rule: "township_station_in_township", Message: "乡镇服务站须设在乡镇（街道）（所选区域不是乡镇）", Fields: map[string]string{"region_id": "应为乡镇"}}
	case (kind == KindCountyCenter || kind == KindWarehouse) && r.Level == regions.LevelVillage:
		return &server.Error{Code: server.CodeInvalid, Rule: "county_node_in_county", Message: "县级中心须设在县城或乡镇（街道），不能设在行政村", Fields: map[string]string{"region_id": "不能是行政村"}}
	}
	return nil
}

// Create adds a planned station. A second county centre, or a second
// station in one township, is a conflict.
func (s *Service) Create(ctx context.Context, p *server.Principal, n NewStation) (*Station, error) {
	if err := n.Validate(); err != nil {
		return nil, err
	}
	r, ok := s.d.Regions.Get(ctx, n.RegionID)
	if !ok {
		return nil, server.Invalid("所选区域不存在", "region_id", "区域不存在")
	}
	if err := placeRule(n.Kind, r); err != nil {
		return nil, err
	}
	now := s.now().UTC()
	x := &Station{ID: store.NewID(), Name: n.Name, Kind: n.Kind, RegionID: n.RegionID,
		TownshipID: s.d.Regions.TownshipOf(ctx, n.RegionID), Origin: n.Origin, Status: StatusPlanned,
		Lat: n.Lat, Lng: n.Lng, AreaM2: n.AreaM2, Address: n.Address, Hours: n.Hours, Services: n.Services,
		History: []Step{{Status: StatusPlanned, At: now, By: who(p)}}, CreatedAt: now}
	if x.Services == nil {
		x.Services = []string{}
	}
	key := uniqueKey(n.Kind, n.RegionID)
	// The marker's natural _id keeps a kind single on any engine and any
	// number of app nodes; the station document follows it in one unit.
	err := s.st.Unit(ctx, "station.create", func(u *store.Unit) error {
		if key != "" {
			err := u.Do(ctx, "uniqueness marker", func(ctx context.Context) error {
				return s.markers.InsertOne(ctx, marker{ID: key, StationID: x.ID})
			}, func(ctx context.Context) error { return s.dropMarker(ctx, key, x.ID) })
			if store.IsDup(err) {
				if n.Kind == KindCountyCenter {
					return server.RuleBroken(server.CodeConflict, "one_county_center", "全县只能有一个县级电子商务公共服务中心，已建有一个")
				}
				return server.RuleBroken(server.CodeConflict, "one_township_station", "每个乡镇（街道）只能有一个乡镇服务站，"+r.Name+"已有")
			}
			if err != nil {
				return err
			}
		}
		if err := u.Do(ctx, "station", func(ctx context.Context) error { return s.stations.InsertOne(ctx, x) },
			func(ctx context.Context) error {
				_, err := s.stations.DeleteIf(ctx, x.ID, store.Cond{"status": StatusPlanned})
				return err
			}); err != nil {
			return err
		}
		return s.listStep(ctx, u, x.ID, nil)
	})
	s.changed(x)
	if err != nil {
		return nil, err
	}
	s.note(ctx, p, "station.create", x.ID, map[string]any{"name": x.Name, "kind": x.Kind, "region_id": x.RegionID, "origin": x.Origin})
	x.SubsidyFen = subsidyOf(x.Kind, x.Origin)
	return x, nil
}

// dropMarker removes a uniqueness marker when station id holds it.
func (s *Service) dropMarker(ctx context.Context, key, id string) error {
	if key == "" {
		return nil
	}
	_, err := s.markers.DeleteIf(ctx, key, store.Cond{"station_id": id})
	return err
}

func who(p *server.Principal) string {
	if p == nil {
		return "system"
	}
	return p.UserID
}

// Station reads one station by id: the lookup of a node the logistics
// package makes on every parcel write, served from a write-through cache
// (on MongoDB at most DefaultCacheTTL old). Write paths read with load.
func (s *Service) Station(ctx context.Context, id string) (*Station, error) {
	x, err := s.byID.Get(ctx, id, func(ctx context.Context) (Station, error) {
		x, err := s.load(ctx, id)
		if err != nil {
			return Station{}, err
		}
		return *x, nil
	})
	if err != nil {
		return nil, err
	}
	return &x, nil
}

// load reads one station by id from the database (an indexed read on both
// engines), for the read-check-writes that must see the latest state.
func (s *Service) load(ctx context.Context, id string) (*Station, error) {
	var x Station
	if err := s.stations.Get(ctx, id, &x); err != nil {
		if store.IsNotFound(err) {
			return nil, server.NotFound("服务站点不存在")
		}
		return nil, err
	}
	x.SubsidyFen = subsidyOf(x.Kind, x.Origin)
	if x.Services == nil {
		x.Services = []string{}
	}
	return &x, nil
}

// visible is the station as p may read it, or not_found/forbidden.
func (s *Service) visible(ctx context.Context, p *server.Principal, id string) (*Station, error) {
	x, err := s.Station(ctx, id)
	if err != nil {
		return nil, err
	}
	if !canSee(p, x) {
		return nil, server.Forbidden("您只能查看本乡镇或本站点的信息")
	}
	return x, nil
}

func canSee(p *server.Principal, x *Station) bool {
	switch {
	case p.Role == server.RoleStation:
		return p.StationID == x.ID
	case p.Role == server.RoleOfficer:
		return x.TownshipID == p.TownshipID
	}
	return true
}

// ListFilter narrows the station list.
type ListFilter struct {
	Kind, Status, TownshipID string
}

// List returns the stations p may see (a station user: their own and the
// county-level nodes), filtered. A failed read is logged and lists none.
func (s *Service) List(ctx context.Context, p *server.Principal, f ListFilter) []Station {
	out, _ := s.ListErr(ctx, p, f)
	return out
}

// ListErr is List that reports a failed read.
func (s *Service) ListErr(ctx context.Context, p *server.Principal, f ListFilter) ([]Station, error) {
	out := []Station{}
	all, err := s.summaries(ctx)
	if err != nil {
		s.d.Log.Error("stations: cannot list", "err", err.Error())
		return out, err
	}
	for _, x := range all {
		// a station user also sees the county-level nodes, to send parcels to
		seen := canSee(p, &x) || (p.Role == server.RoleStation && x.CountyLevel())
		if !seen || (f.Kind != "" && x.Kind != f.Kind) || (f.Status != "" && x.Status != f.Status) ||
			(f.TownshipID != "" && x.TownshipID != f.TownshipID) {
			continue
		}
		out = append(out, x)
	}
	return out, nil
}

// Update changes a station's descriptive fields. Admin may change all;
// the station's own operator only address, hours, services and position.
func (s *Service) Update(ctx context.Context, p *server.Principal, id string, u StationUpdate) (*Station, error) {
	if err := u.Validate(); err != nil {
		return nil, err
	}
	if _, err := s.visible(ctx, p, id); err != nil {
		return nil, err
	}
	x, err := s.load(ctx, id) // as stored: the undo puts it back
	if err != nil {
		return nil, err
	}
	defer s.changed(x)
	if p.Role != server.RoleAdmin && (u.Name != nil || u.OperatorID != nil || u.AreaM2 != nil) {
		return nil, server.Forbidden("名称、面积和运营人员只能由管理员修改")
	}
	set := bson.M{}
	unset := bson.M{}
	if u.Name != nil {
		set["name"] = *u.Name
	}
	if u.Address != nil {
		set["address"] = *u.Address
	}
	if u.Hours != nil {
		set["hours"] = *u.Hours
	}
	if u.Services != nil {
		set["services"] = *u.Services
	}
	if u.Lat != nil {
		set["lat"], set["lng"] = *u.Lat, *u.Lng
	}
	if u.AreaM2 != nil {
		set["area_m2"] = *u.AreaM2
	}
	if u.OperatorID != nil {
		if *u.OperatorID == "" {
			unset["operator_id"], unset["operator_name"] = "", ""
		} else {
			op, err := s.d.Users.Get(ctx, *u.OperatorID)
			if err != nil || op.Role != server.RoleStation || op.StationID != x.ID {
				return nil, server.Invalid("运营人员须是属于本站点的服务站账号", "operator_id", "应为本站点的服务站账号")
			}
			set["operator_id"], set["operator_name"] = op.ID, op.Name
		}
	}
	if len(set)+len(unset) == 0 {
		return nil, server.Invalid("没有要修改的内容")
	}
	upd := bson.M{}
	if len(set) > 0 {
		upd["$set"] = set
	}
	if len(unset) > 0 {
		upd["$unset"] = unset
	}
	err = s.st.Unit(ctx, "station.update", func(u *store.Unit) error {
		if err := u.Do(ctx, "station", func(ctx context.Context) error {
			_, err := s.stations.UpdateOne(ctx, bson.M{"_id": id}, upd)
			return err
		}, func(ctx context.Context) error { return s.putBack(ctx, x, set, unset) }); err != nil {
			return err
		}
		return s.listStep(ctx, u, id, x)
	})
	if err != nil {
		return nil, err
	}
	detail := map[string]any{}
	for k, v := range set {
		detail[k] = v
	}
	for k := range unset {
		detail[k] = nil
	}
	s.note(ctx, p, "station.update", id, detail)
	return s.load(ctx, id)
}

// putBack restores the fields an update set or unset to station x's values
// (the undo of Update).
func (s *Service) putBack(ctx context.Context, x *Station, set, unset bson.M) error {
	raw, err := bson.Marshal(x)
	if err != nil {
		return err
	}
	var old bson.M
	if err := bson.Unmarshal(raw, &old); err != nil {
		return err
	}
	back, gone := bson.M{}, bson.M{}
	for _, fields := range []bson.M{set, unset} {
		for k := range fields {
			if v, ok := old[k]; ok {
				back[k] = v
			} else {
				gone[k] = ""
			}
		}
	}
	upd := bson.M{}
	if len(back) > 0 {
		upd["$set"] = back
	}
	if len(gone) > 0 {
		upd["$unset"] = gone
	}
	_, err = s.stations.UpdateOne(ctx, bson.M{"_id": x.ID}, upd)
	return err
}
