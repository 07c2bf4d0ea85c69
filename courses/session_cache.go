package courses

import (
	"context"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// cacheTTL is how often the session cache is read again from the
// database, as a safety net for writes made around this package (a
// restore from backup).
const cacheTTL = 2 * time.Minute

// sessionCache holds every session in memory on the embedded engine,
// where this process is the only writer and every query is a full scan
// (DESIGN.md, facts 2 and 7): listing 500 sessions costs ~100 ms from the
// engine and microseconds from here. Every session write goes through the
// write lane and updates the cache before the lane is released. On MongoDB
// there is no cache (other app nodes write too; indexed reads are fast).
type sessionCache struct {
	mu        sync.RWMutex
	byID      map[string]Session
	loaded    time.Time
	reloading bool
}

func (s *Service) loadSessions(ctx context.Context) error {
	if s.cache == nil {
		return nil
	}
	return s.st.Lane(ctx, func(ctx context.Context) error {
		var all []Session
		if err := s.sessions.Find(ctx, bson.M{}, &all); err != nil {
			return err
		}
		by := make(map[string]Session, len(all))
		for _, x := range all {
			fixSession(&x)
			by[x.ID] = x
		}
		c := s.cache
		c.mu.Lock()
		c.byID, c.loaded = by, time.Now()
		c.mu.Unlock()
		return nil
	})
}

// cached returns the sessions matching keep, reloading in the background when stale.
func (s *Service) cached(keep func(*Session) bool) []Session {
	c := s.cache
	c.mu.Lock()
	if time.Since(c.loaded) > cacheTTL && !c.reloading {
		c.reloading = true
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := s.loadSessions(ctx); err != nil {
				s.d.Log.Warn("courses: reloading the session cache", "err", err.Error())
			}
			c.mu.Lock()
			c.reloading = false
			c.mu.Unlock()
		}()
	}
	c.mu.Unlock()
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := []Session{}
	for _, x := range c.byID {
		if keep(&x) {
			out = append(out, copySession(x))
		}
	}
	return out
}

// cachePut records a session just written (inside the write lane).
func (s *Service) cachePut(x *Session) {
	if s.cache == nil {
		return
	}
	s.cache.mu.Lock()
	s.cache.byID[x.ID] = copySession(*x)
	s.cache.mu.Unlock()
}

func (s *Service) cacheDrop(id string) {
	if s.cache == nil {
		return
	}
	s.cache.mu.Lock()
	delete(s.cache.byID, id)
	s.cache.mu.Unlock()
}

// copySession keeps callers from changing the cached geofence or times.
func copySession(x Session) Session {
	if x.Geofence != nil {
		g := *x.Geofence
		x.Geofence = &g
	}
	if x.CancelledAt != nil {
		t := *x.CancelledAt
		x.CancelledAt = &t
	}
	return x
}
