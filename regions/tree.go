package regions

import (
	"context"
	"sort"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/store"
)

// The tree is read on nearly every request (which township a village is
// in, the list of townships), and a find over the regions decodes all of
// them on the embedded engine: 50 ms for the demo county's 400
// (BenchmarkTownshipOf with caches off). So the regions are also kept as
// packs (docs/design.md, "Packs") in region_tree: "all" (the whole tree,
// 65 KB and 2–3 ms to read for 400 regions) and "township" (the
// townships alone, what most pages list), changed as the last step of
// every unit that writes a region and rebuilt from the regions by
// RepairTree. One region is read by its _id. A missing pack (data from
// before packs, or a restore of such a backup) is built from the regions
// on first use.
const (
	collTree    = "region_tree"
	treeID      = "all"
	townshipsID = LevelTownship
	// maxTree bounds a pack: a county has a few hundred regions, a
	// prefecture some thousands.
	maxTree = 20000
)

// node is a region as the packs keep it: short keys and the creation time
// in milliseconds, so a pack is small to read (its cost on the embedded
// engine follows its size).
type node struct {
	ID       string `bson:"i"`
	Name     string `bson:"n"`
	Level    string `bson:"l"`
	ParentID string `bson:"p,omitempty"`
	Poverty  bool   `bson:"v,omitempty"`
	Code     string `bson:"c,omitempty"`
	Demo     bool   `bson:"d,omitempty"`
	At       int64  `bson:"t"`
}

func nodeOf(r Region) node {
	return node{ID: r.ID, Name: r.Name, Level: r.Level, ParentID: r.ParentID, Poverty: r.Poverty, Code: r.Code, Demo: r.Demo, At: r.CreatedAt.UnixMilli()}
}

func (n node) region() Region {
	return Region{ID: n.ID, Name: n.Name, Level: n.Level, ParentID: n.ParentID, Poverty: n.Poverty, Code: n.Code, Demo: n.Demo, CreatedAt: time.UnixMilli(n.At).UTC()}
}

func regionsOf(ns []node) []Region {
	if ns == nil {
		return nil
	}
	out := make([]Region, len(ns))
	for i, n := range ns {
		out[i] = n.region()
	}
	return out
}

func newTreePack(st *store.Store) *store.Pack[node] {
	return store.NewPack[node](st, collTree, maxTree, func(n node) string { return n.ID })
}

// packIDs are the packs, each with the regions it holds.
var packIDs = []struct {
	id   string
	keep func(level string) bool
}{
	{treeID, func(string) bool { return true }},
	{townshipsID, func(l string) bool { return l == LevelTownship }},
}

// scan reads the regions from the collection that pack id holds (the
// source of a rebuild).
func (s *Service) scan(ctx context.Context, id string) ([]node, error) {
	f := bson.M{}
	if id != treeID {
		f["level"] = id
	}
	var all []Region
	if err := s.c.Find(ctx, f, &all); err != nil {
		return nil, err
	}
	out := make([]node, len(all))
	for i, r := range all {
		out[i] = nodeOf(r)
	}
	return out, nil
}

// packed reads pack id, building it from the regions when it is missing
// (two builders at once write it once: the first insert wins).
func (s *Service) packed(ctx context.Context, id string) ([]Region, error) {
	all, err := s.packs.Get(ctx, id)
	if err != nil || all != nil {
		return regionsOf(all), err
	}
	var out []node
	err = s.packs.Change(ctx, id, func(cur []node) ([]node, error) {
		if cur != nil {
			out = cur
			return cur, nil
		}
		scanned, err := s.scan(ctx, id)
		out = scanned
		return scanned, err
	})
	return regionsOf(out), err
}

// putInTree writes regions into the packs that hold them, within u (the
// last steps of a unit that wrote them); each undo puts back what the
// pack held of them (or takes them out). A missing pack is built from the
// regions, which already hold the new ones.
func (s *Service) putInTree(ctx context.Context, u *store.Unit, regions ...Region) error {
	for _, p := range packIDs {
		var list []node
		for _, r := range regions {
			if p.keep(r.Level) {
				list = append(list, nodeOf(r))
			}
		}
		if len(list) == 0 {
			continue
		}
		if err := s.putInPack(ctx, u, p.id, list); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) putInPack(ctx context.Context, u *store.Unit, id string, list []node) error {
	before := map[string]node{}
	var built bool
	return u.Do(ctx, "region pack "+id, func(ctx context.Context) error {
		return s.packs.Change(ctx, id, func(cur []node) ([]node, error) {
			clear(before)
			built = false
			if cur == nil {
				built = true
				return s.scan(ctx, id)
			}
			idx := map[string]int{}
			for i, n := range cur {
				idx[n.ID] = i
			}
			out := append([]node(nil), cur...)
			for _, n := range list {
				if i, ok := idx[n.ID]; ok {
					before[n.ID] = out[i]
					out[i] = n
				} else {
					idx[n.ID] = len(out)
					out = append(out, n)
				}
			}
			return out, nil
		})
	}, func(ctx context.Context) error {
		if built {
			// built from the regions: the undo of their writes ran first,
			// so a rebuild is what the regions say now
			_, err := s.RepairTree(ctx)
			return err
		}
		return s.packs.Change(ctx, id, func(cur []node) ([]node, error) {
			drop := map[string]bool{}
			for _, n := range list {
				drop[n.ID] = true
			}
			out := make([]node, 0, len(cur))
			for _, n := range cur {
				if !drop[n.ID] {
					out = append(out, n)
				} else if old, ok := before[n.ID]; ok {
					out = append(out, old)
				}
			}
			return out, nil
		})
	})
}

// RepairTree rebuilds the packs from the regions and reports whether one
// differed (registered with st.OnRepair in main). It is safe while others
// write: a region written meanwhile is put in the packs by its own unit,
// or by the next run.
func (s *Service) RepairTree(ctx context.Context) (bool, error) {
	all, err := s.scan(ctx, treeID)
	if err != nil {
		return false, err
	}
	drifted := false
	for _, p := range packIDs {
		want := []node{}
		for _, n := range all {
			if p.keep(n.Level) {
				want = append(want, n)
			}
		}
		have, err := s.packs.Get(ctx, p.id)
		if err != nil {
			return drifted, err
		}
		if s.packs.Same(have, want) {
			continue
		}
		drifted = true
		if err := s.packs.Set(ctx, p.id, want); err != nil {
			return drifted, err
		}
	}
	if drifted {
		s.forget("")
	}
	return drifted, nil
}

// sortRegions orders regions county first, then townships, then villages, by code.
func sortRegions(all []Region) {
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
}
