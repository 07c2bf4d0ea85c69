package store

import (
	"context"
	"sync"
	"time"
)

// DefaultCacheTTL bounds how long a cached value is served on MongoDB,
// where other app nodes write too: a value written by another node is seen
// here at most this late (docs/design.md, "Caches").
const DefaultCacheTTL = 5 * time.Second

// cacheSet is every cache of a store, so that a restore or a recount can
// empty them all at once.
type cacheSet struct {
	mu    sync.Mutex
	all   []interface{ Clear() }
	off   bool
	ttl   time.Duration // 0: no bound (the embedded engine: this process is the only writer)
	clock func() time.Time
}

func (cs *cacheSet) init(embedded, off bool, ttl time.Duration) {
	cs.off, cs.clock = off, time.Now
	if !embedded {
		if ttl <= 0 {
			ttl = DefaultCacheTTL
		}
		cs.ttl = ttl
	}
}

// InvalidateCaches empties every cache of the store: a restore does it, and
// so must every recount that rewrites documents a cache may hold.
func (s *Store) InvalidateCaches() {
	s.caches.mu.Lock()
	all := append([]interface{ Clear() }(nil), s.caches.all...)
	s.caches.mu.Unlock()
	for _, c := range all {
		c.Clear()
	}
}

// CachesOff reports whether the store runs with every cache switched off.
func (s *Store) CachesOff() bool { return s.caches.off }

// Cache is the one cache mechanism of nongxun: values of type V by key K,
// loaded on a miss. Write-through: a feature that writes a cached document
// calls Put (or Forget) after the write succeeds. On the embedded engine,
// where this process is the only writer, an entry lives until it is
// replaced, forgotten or the store's caches are invalidated; on MongoDB it
// lives at most the store's CacheTTL. A load that raced a Put or Forget is
// not kept, so a stale value can never overwrite a fresh one. Values are
// shared: callers must not change what Get returns.
type Cache[K comparable, V any] struct {
	set  *cacheSet
	name string
	max  int
	mu   sync.Mutex
	gen  uint64
	m    map[K]cacheEntry[V]
}

type cacheEntry[V any] struct {
	v  V
	at time.Time
}

// NewCache makes a cache of at most max entries (0: no limit; a full cache
// is emptied and refilled) and registers it with the store.
func NewCache[K comparable, V any](s *Store, name string, max int) *Cache[K, V] {
	c := &Cache[K, V]{set: &s.caches, name: name, max: max, m: map[K]cacheEntry[V]{}}
	s.caches.mu.Lock()
	s.caches.all = append(s.caches.all, c)
	s.caches.mu.Unlock()
	return c
}

// Get returns the cached value of k, or loads, keeps and returns it.
func (c *Cache[K, V]) Get(ctx context.Context, k K, load func(ctx context.Context) (V, error)) (V, error) {
	if c.set.off {
		return load(ctx)
	}
	c.mu.Lock()
	e, ok := c.m[k]
	gen := c.gen
	c.mu.Unlock()
	if ok && (c.set.ttl == 0 || c.set.clock().Sub(e.at) < c.set.ttl) {
		return e.v, nil
	}
	at := c.set.clock()
	v, err := load(ctx)
	if err != nil {
		return v, err
	}
	c.mu.Lock()
	if c.gen == gen {
		c.store(k, cacheEntry[V]{v: v, at: at})
	}
	c.mu.Unlock()
	return v, nil
}

func (c *Cache[K, V]) store(k K, e cacheEntry[V]) {
	if c.max > 0 && len(c.m) >= c.max {
		if _, ok := c.m[k]; !ok {
			c.m = map[K]cacheEntry[V]{}
		}
	}
	c.m[k] = e
}

// Put records the value just written for k.
func (c *Cache[K, V]) Put(k K, v V) {
	if c.set.off {
		return
	}
	c.mu.Lock()
	c.gen++
	c.store(k, cacheEntry[V]{v: v, at: c.set.clock()})
	c.mu.Unlock()
}

// Forget drops k, so the next Get loads it again.
func (c *Cache[K, V]) Forget(k K) {
	c.mu.Lock()
	c.gen++
	delete(c.m, k)
	c.mu.Unlock()
}

// Clear drops every entry.
func (c *Cache[K, V]) Clear() {
	c.mu.Lock()
	c.gen++
	c.m = map[K]cacheEntry[V]{}
	c.mu.Unlock()
}
