package regions

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/audit"
	"nongxun/server"
	"nongxun/store"
)

// Service owns the regions collection. The tree is read from its packs
// (tree.go), one region by its _id, and each is kept in the store's
// write-through caches: every page and most records ask which township a
// village is in. Measured with the demo county's 400 regions
// (BenchmarkTownshipOf, BenchmarkTownships, BenchmarkRegionsTree): a
// lookup took 50 ms uncached when it read the collection; uncached now a
// lookup is one _id read, the townships one small pack, the whole tree
// one pack of 65 KB; cached each is well under a microsecond, so the
// caches stay (on MongoDB an entry lives at most DefaultCacheTTL).
type Service struct {
	st    *store.Store
	c     *store.Collection
	slots *store.Collection // _id "county": the one county
	packs *store.Pack[node]
	lists *store.Cache[string, []Region] // pack id → its regions, sorted
	byID  *store.Cache[string, found]
	// Audit records region changes (nil: not recorded).
	Audit *audit.Log
}

// found is one region looked up by id (ok false: there is none).
type found struct {
	r  Region
	ok bool
}

// New opens the service and declares its collections and indexes.
func New(ctx context.Context, st *store.Store) (*Service, error) {
	s := &Service{st: st, c: st.C("regions"), slots: st.C("region_slots"), packs: newTreePack(st),
		lists: store.NewCache[string, []Region](st, "region lists", 4), byID: store.NewCache[string, found](st, "regions by id", 20000)}
	if err := st.Ensure(ctx, "regions", "region_slots", collTree); err != nil {
		return nil, err
	}
	if err := s.c.Index(ctx, bson.D{{Key: "parent_id", Value: 1}}, false); err != nil {
		return nil, err
	}
	// Two regions of one parent never share a name: a unique key on both
	// engines (every region has both fields).
	if err := s.c.Index(ctx, bson.D{{Key: "parent_id", Value: 1}, {Key: "name", Value: 1}}, true); err != nil {
		return nil, err
	}
	if c := s.ofLevel(ctx, LevelCounty); len(c) > 0 {
		if _, err := s.slots.InsertIfAbsent(ctx, bson.M{"_id": LevelCounty, "region_id": c[0].ID}); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// list is pack id's regions, sorted, or none when the database cannot be
// read (logged; the callers' answers are then "unknown region"). Callers
// must not change what it returns.
func (s *Service) list(ctx context.Context, id string) []Region {
	l, err := s.lists.Get(ctx, id, func(ctx context.Context) ([]Region, error) {
		all, err := s.packed(ctx, id)
		sortRegions(all)
		return all, err
	})
	if err != nil {
		s.unreadable(ctx, err)
		return nil
	}
	return l
}

func (s *Service) unreadable(ctx context.Context, err error) {
	if ctx.Err() == nil {
		s.st.Log().Error("regions unreadable", "err", err.Error())
	}
}

// forget drops what the caches hold after a write of region id ("": all).
func (s *Service) forget(id string) {
	s.lists.Clear()
	if id == "" {
		s.byID.Clear()
	} else {
		s.byID.Forget(id)
	}
}

// All returns the whole tree, county first, then townships, then villages.
func (s *Service) All(ctx context.Context) []Region {
	return append([]Region(nil), s.list(ctx, treeID)...)
}

// Get returns one region (one read by _id).
func (s *Service) Get(ctx context.Context, id string) (Region, bool) {
	f, err := s.byID.Get(ctx, id, func(ctx context.Context) (found, error) {
		var r Region
		err := s.c.Get(ctx, id, &r)
		if store.IsNotFound(err) {
			return found{}, nil
		}
		return found{r: r, ok: err == nil}, err
	})
	if err != nil {
		s.unreadable(ctx, err)
		return Region{}, false
	}
	return f.r, f.ok
}

// TownshipOf returns the township a region lies in: itself for a township,
// its parent for a village, "" for the county or an unknown id.
func (s *Service) TownshipOf(ctx context.Context, id string) string {
	r, ok := s.Get(ctx, id)
	switch {
	case !ok:
		return ""
	case r.Level == LevelTownship:
		return r.ID
	case r.Level == LevelVillage:
		return r.ParentID
	}
	return ""
}

// IsTownship reports whether id names a township.
func (s *Service) IsTownship(ctx context.Context, id string) bool {
	r, ok := s.Get(ctx, id)
	return ok && r.Level == LevelTownship
}

// IsVillage reports whether id names a village.
func (s *Service) IsVillage(ctx context.Context, id string) bool {
	r, ok := s.Get(ctx, id)
	return ok && r.Level == LevelVillage
}

// Townships returns the townships in code order.
func (s *Service) Townships(ctx context.Context) []Region { return s.ofLevel(ctx, LevelTownship) }

// Villages returns the villages.
func (s *Service) Villages(ctx context.Context) []Region { return s.ofLevel(ctx, LevelVillage) }

func (s *Service) ofLevel(ctx context.Context, level string) []Region {
	if level == LevelTownship {
		l := s.list(ctx, townshipsID)
		if len(l) == 0 {
			return nil
		}
		return append([]Region(nil), l...)
	}
	var out []Region
	for _, r := range s.list(ctx, treeID) {
		if r.Level == level {
			out = append(out, r)
		}
	}
	return out
}

// Create adds a region under an existing parent of the level above. The
// one county takes the county slot; a name taken under the same parent is
// refused by the unique (parent_id, name) index, on both engines.
func (s *Service) Create(ctx context.Context, n NewRegion) (*Region, error) {
	if err := n.Validate(); err != nil {
		return nil, err
	}
	r := &Region{ID: store.NewID(), Name: n.Name, Level: n.Level, ParentID: n.ParentID, Poverty: n.Poverty, Code: n.Code, CreatedAt: time.Now().UTC()}
	if n.Level != LevelCounty {
		p, ok := s.Get(ctx, n.ParentID)
		if !ok || p.Level != parentLevel[n.Level] {
			return nil, server.Invalid("上级区域不存在或级别不对", "parent_id", "应为"+levelName[parentLevel[n.Level]])
		}
	}
	err := s.st.Unit(ctx, "region.create", func(u *store.Unit) error {
		if n.Level == LevelCounty {
			if err := s.claimCounty(ctx, u, r.ID); err != nil {
				return err
			}
		}
		if err := u.Do(ctx, "insert region", func(ctx context.Context) error {
			err := s.c.InsertOne(ctx, r)
			if store.IsDup(err) {
				return server.Conflict("同一上级下已有同名区域：" + r.Name)
			}
			return err
		}, func(ctx context.Context) error {
			_, err := s.c.DeleteOne(ctx, bson.M{"_id": r.ID})
			return err
		}); err != nil {
			return err
		}
		return s.putInTree(ctx, u, *r)
	})
	s.forget(r.ID)
	if err != nil {
		return nil, err
	}
	return r, nil
}

var levelName = map[string]string{LevelCounty: "县", LevelTownship: "乡镇", LevelVillage: "行政村"}

// Update renames a region and sets its poverty flag.
func (s *Service) Update(ctx context.Context, id string, name *string, poverty *bool) (*Region, error) {
	set := bson.M{}
	if name != nil {
		n := NewRegion{Name: *name, Level: LevelCounty}
		if err := n.Validate(); err != nil {
			return nil, err
		}
		set["name"] = n.Name
	}
	if poverty != nil {
		set["poverty"] = *poverty
	}
	if len(set) == 0 {
		return nil, server.Invalid("没有要修改的内容")
	}
	var old Region
	if err := s.c.Get(ctx, id, &old); err != nil {
		if store.IsNotFound(err) {
			return nil, server.NotFound("区域不存在")
		}
		return nil, err
	}
	var r Region
	err := s.st.Unit(ctx, "region.update", func(u *store.Unit) error {
		var ok bool
		if err := u.Do(ctx, "region", func(ctx context.Context) (err error) {
			ok, err = s.c.UpdateIfGet(ctx, id, store.Cond{}, bson.M{"$set": set}, &r)
			if err == nil && !ok {
				return server.NotFound("区域不存在")
			}
			return err
		}, func(ctx context.Context) error {
			_, err := s.c.UpdateIf(ctx, id, store.Cond{}, bson.M{"$set": bson.M{"name": old.Name, "poverty": old.Poverty}})
			return err
		}); err != nil {
			return err
		}
		return s.putInTree(ctx, u, r)
	})
	s.forget(id)
	if store.IsDup(err) {
		return nil, server.Conflict("同一上级下已有同名区域")
	}
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// claimCounty takes the one county slot for region id as a step of u (a
// second county is refused; the undo frees the slot).
func (s *Service) claimCounty(ctx context.Context, u *store.Unit, id string) error {
	return u.Do(ctx, "county slot", func(ctx context.Context) error {
		ok, err := s.slots.InsertIfAbsent(ctx, bson.M{"_id": LevelCounty, "region_id": id})
		if err == nil && !ok {
			return server.Conflict("已有县级区域")
		}
		return err
	}, func(ctx context.Context) error {
		_, err := s.slots.DeleteIf(ctx, LevelCounty, store.Cond{"region_id": id})
		return err
	})
}
