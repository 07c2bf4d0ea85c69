package regions

import (
	"context"
	"sort"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/server"
	"nongxun/store"
)

// cacheTTL bounds how stale another app node's view of the tree can be.
const cacheTTL = 30 * time.Second

// Service owns the regions collection and keeps the whole tree (a few
// hundred nodes) in memory, reloaded after each write and every cacheTTL.
type Service struct {
	st *store.Store
	c  *store.Collection

	mu     sync.RWMutex
	byID   map[string]*Region
	all    []Region
	loaded time.Time
}

// New opens the service and declares its indexes.
func New(ctx context.Context, st *store.Store) (*Service, error) {
	s := &Service{st: st, c: st.C("regions")}
	if err := s.c.Index(ctx, bson.D{{Key: "parent_id", Value: 1}}, false); err != nil {
		return nil, err
	}
	return s, s.reload(ctx)
}

func (s *Service) reload(ctx context.Context) error {
	var all []Region
	if err := s.c.Find(ctx, bson.M{}, &all); err != nil {
		return err
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
	by := make(map[string]*Region, len(all))
	for i := range all {
		by[all[i].ID] = &all[i]
	}
	s.mu.Lock()
	s.all, s.byID, s.loaded = all, by, time.Now()
	s.mu.Unlock()
	return nil
}

func (s *Service) fresh(ctx context.Context) {
	s.mu.RLock()
	stale := time.Since(s.loaded) > cacheTTL
	s.mu.RUnlock()
	if stale {
		_ = s.reload(ctx)
	}
}

// All returns the whole tree, county first, then townships, then villages.
func (s *Service) All(ctx context.Context) []Region {
	s.fresh(ctx)
	s.mu.RLock()
	defer s.mu.RUnlock()
	return append([]Region(nil), s.all...)
}

// Get returns one region.
func (s *Service) Get(ctx context.Context, id string) (Region, bool) {
	s.fresh(ctx)
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, ok := s.byID[id]
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
	for _, r := range s.All(ctx) {
		if r.Level == level {
			out = append(out, r)
		}
	}
	return out
}

// Create adds a region under an existing parent of the level above.
func (s *Service) Create(ctx context.Context, n NewRegion) (*Region, error) {
	if err := n.Validate(); err != nil {
		return nil, err
	}
	r := &Region{ID: store.NewID(), Name: n.Name, Level: n.Level, ParentID: n.ParentID, Poverty: n.Poverty, Code: n.Code, CreatedAt: time.Now().UTC()}
	err := s.st.Lane(ctx, func(ctx context.Context) error {
		if err := s.reload(ctx); err != nil {
			return err
		}
		if n.Level == LevelCounty {
			if len(s.ofLevel(ctx, LevelCounty)) > 0 {
				return server.Conflict("已有县级区域")
			}
		} else {
			p, ok := s.Get(ctx, n.ParentID)
			if !ok || p.Level != parentLevel[n.Level] {
				return server.Invalid("上级区域不存在或级别不对", "parent_id", "应为"+levelName[parentLevel[n.Level]])
			}
		}
		for _, o := range s.all {
			if o.ParentID == r.ParentID && o.Name == r.Name {
				return server.Conflict("同一上级下已有同名区域：" + r.Name)
			}
		}
		return s.c.InsertOne(ctx, r)
	})
	if err != nil {
		return nil, err
	}
	return r, s.reload(ctx)
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
	res, err := s.c.UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$set": set})
	if err != nil {
		return nil, err
	}
	if res.MatchedCount == 0 {
		return nil, server.NotFound("区域不存在")
	}
	if err := s.reload(ctx); err != nil {
		return nil, err
	}
	r, _ := s.Get(ctx, id)
	return &r, nil
}
