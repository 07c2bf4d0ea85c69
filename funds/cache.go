package funds

import (
	"context"
	"sort"
	"sync"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// ledgerCache keeps the whole ledger in memory on the embedded engine,
// where every query scans the collection (DESIGN.md, fact 2) and this
// process is the only writer, so a write-through copy stays exact. A
// county's ledger is thousands of entries at most (a few MB). On MongoDB
// several nodes write, so the cache is off and queries go to the database.
type ledgerCache struct {
	mu     sync.RWMutex
	loaded bool
	list   []Entry // by seq
	byID   map[string]int
}

// load reads the ledger once.
func (c *ledgerCache) load(ctx context.Context, s *Service) error {
	c.mu.RLock()
	ok := c.loaded
	c.mu.RUnlock()
	if ok {
		return nil
	}
	// Under the lane, so no write is half done while the ledger is read;
	// c.mu is taken inside the lane, never held while waiting for it.
	return s.d.Store.Lane(ctx, func(ctx context.Context) error {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.loaded {
			return nil
		}
		var list []Entry
		if err := s.entries.Find(ctx, bson.M{}, &list, options.Find().SetSort(bson.D{{Key: "seq", Value: 1}})); err != nil {
			return err
		}
		c.list, c.byID, c.loaded = list, make(map[string]int, len(list)), true
		for i, e := range list {
			c.byID[e.ID] = i
		}
		return nil
	})
}

// add appends an entry written for good (a loaded cache only; else the
// next load reads it from the database).
func (c *ledgerCache) add(e Entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.loaded {
		return
	}
	c.list = append(c.list, e)
	if n := len(c.list); n > 1 && c.list[n-2].Seq > e.Seq {
		sort.Slice(c.list, func(i, j int) bool { return c.list[i].Seq < c.list[j].Seq })
		for i, x := range c.list {
			c.byID[x.ID] = i
		}
		return
	}
	c.byID[e.ID] = len(c.list) - 1
}

// cached reports whether reads may use the cache (embedded engine only).
func (s *Service) cached() bool { return s.d.Store.Embedded() && !s.noCache }

// cachedEntry is an entry by id from the cache; ok false when absent.
func (s *Service) cachedEntry(ctx context.Context, id string) (*Entry, bool, error) {
	if err := s.cache.load(ctx, s); err != nil {
		return nil, false, err
	}
	s.cache.mu.RLock()
	defer s.cache.mu.RUnlock()
	i, ok := s.cache.byID[id]
	if !ok {
		return nil, false, nil
	}
	e := s.cache.list[i]
	return &e, true, nil
}

// cachedPage filters and pages the cached ledger, newest first.
func (s *Service) cachedPage(ctx context.Context, q LedgerQuery) ([]Entry, int64, error) {
	if err := s.cache.load(ctx, s); err != nil {
		return nil, 0, err
	}
	s.cache.mu.RLock()
	defer s.cache.mu.RUnlock()
	out := []Entry{}
	var next int64
	for i := len(s.cache.list) - 1; i >= 0; i-- {
		e := &s.cache.list[i]
		if q.Before > 0 && e.Seq >= q.Before || !q.match(e) {
			continue
		}
		if int64(len(out)) == q.Limit {
			next = out[len(out)-1].Seq
			break
		}
		out = append(out, *e)
	}
	return out, next, nil
}

// match reports whether e passes the query's filters (not the paging).
func (q LedgerQuery) match(e *Entry) bool {
	return (q.Kind == "" || e.Kind == q.Kind) && (q.Category == "" || e.Category == q.Category) &&
		(q.StationID == "" || e.StationID == q.StationID) && (q.Tranche == 0 || e.Tranche == q.Tranche) &&
		(q.From.IsZero() || !e.At.Before(q.From)) && (q.To.IsZero() || e.At.Before(q.To))
}
