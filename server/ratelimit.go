package server

import (
	"sync"
	"time"
)

// Limiter counts events per key in fixed windows; in-process, which is
// enough for one node (several nodes each enforce it on their share).
type Limiter struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	hits   map[string]*bucket
	now    func() time.Time
	sweep  time.Time
}

type bucket struct {
	start time.Time
	n     int
}

// NewLimiter allows max events per key in each window.
func NewLimiter(max int, window time.Duration) *Limiter {
	return &Limiter{max: max, window: window, hits: map[string]*bucket{}, now: time.Now}
}

// Exceeded reports whether key has already used its allowance.
func (l *Limiter) Exceeded(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.hits[key]
	return b != nil && l.now().Sub(b.start) < l.window && b.n >= l.max
}

// Hit records one event for key and reports whether it is over the limit.
func (l *Limiter) Hit(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Sub(l.sweep) > l.window {
		for k, b := range l.hits {
			if now.Sub(b.start) >= l.window {
				delete(l.hits, k)
			}
		}
		l.sweep = now
	}
	b := l.hits[key]
	if b == nil || now.Sub(b.start) >= l.window {
		b = &bucket{start: now}
		l.hits[key] = b
	}
	b.n++
	return b.n > l.max
}

// Reset forgets key (after a successful login, say).
func (l *Limiter) Reset(key string) {
	l.mu.Lock()
	delete(l.hits, key)
	l.mu.Unlock()
}
