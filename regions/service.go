package regions

import (
	"context"
	"sort"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/audit"
	"nongxun/server"
	"nongxun/store"
)

// Service owns the regions collection. The whole tree (a few hundred
// nodes) is read in one go and kept in the store's write-through cache:
// every page and most records ask it which township a village is in.
type Service struct {
	st    *store.Store
	c     *store.Collection
	slots *store.Collection // _id "county": the one county
	tree  *store.Cache[string, *tree]
	// Audit records region changes (nil: not recorded).
	Audit *audit.Log
}

type tree struct {
	all  []Region
	byID map[string]*Region
}

// New opens the service and declares its collections and indexes.
func New(ctx context.Context, st *store.Store) (*Service, error) {
	s := &Service{st: st, c: st.C("regions"), slots: st.C("region_slots"), tree: store.NewCache[string, *tree](st, "regions", 1)}
	if err := st.Ensure(ctx, "regions", "region_slots"); err != nil {
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

func (s *Service) load(ctx context.Context) (*tree, error) {
	return s.tree.Get(ctx, "all", func(ctx context.Context) (*tree, error) {
		var all []Region
		if err := s.c.Find(ctx, bson.M{}, &all); err != nil {
			return nil, err
		}
		order := map[string]int{LevelCounty: 0, LevelTownship: 1, LevelVillage: 2}
		sort.Slice(all, func(i, j int) bool {
			a, b := all[i], all[j]
			if order[a.Level] != order[b.Level] {
				return order[a.Level] < order[b.Level]
			}
			if a.Code != b.Code {
				return a.Code < b.Code
			}
			return a.Name < b.Name
		})
		t := &tree{all: all, byID: make(map[string]*Region, len(all))}
		for i := range all {
			t.byID[all[i].ID] = &all[i]
		}
		return t, nil
	})
}

// current is the tree, or an empty one when the database cannot be read
// (logged; the callers' answers are then "unknown region").
func (s *Service) current(ctx context.Context) *tree {
	t, err := s.load(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.st.Log().Error("regions unreadable", "err", err.Error())
		}
		return &tree{byID: map[string]*Region{}}
	}
	return t
}

// All returns the whole tree, county first, then townships, then villages.
func (s *Service) All(ctx context.Context) []Region {
	return append([]Region(nil), s.current(ctx).all...)
}

// Get returns one region.
func (s *Service) Get(ctx context.Context, id string) (Region, bool) {
	r, ok := s.current(ctx).byID[id]
	if !ok {
		return Region{}, false
	}
	return *r, true
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
	var out []Region
	for _, r := range s.current(ctx).all {
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
			if err := u.Do(ctx, "county slot", func(ctx context.Context) error {
				ok, err := s.slots.InsertIfAbsent(ctx, bson.M{"_id": LevelCounty, "region_id": r.ID})
				if err == nil && !ok {
					return server.Conflict("已有县级区域")
				}
				return err
			}, func(ctx context.Context) error {
				_, err := s.slots.DeleteIf(ctx, LevelCounty, store.Cond{"region_id": r.ID})
				return err
			}); err != nil {
				return err
			}
		}
		return u.Do(ctx, "insert region", func(ctx context.Context) error {
			err := s.c.InsertOne(ctx, r)
			if store.IsDup(err) {
				return server.Conflict("同一上级下已有同名区域：" + r.Name)
			}
			return err
		}, nil)
	})
	s.tree.Forget("all")
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
	var r Region
	ok, err := s.c.UpdateIfGet(ctx, id, store.Cond{}, bson.M{"$set": set}, &r)
	s.tree.Forget("all")
	if store.IsDup(err) {
		return nil, server.Conflict("同一上级下已有同名区域")
	}
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, server.NotFound("区域不存在")
	}
	return &r, nil
}
