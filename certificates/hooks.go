package certificates

import (
	"context"
	"sync"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// hookQueue hands newly issued certificates to OnIssued in the background,
// so issuing to a whole course answers at once (incubation's follow-up
// scheduling costs about 20 ms a certificate on the embedded engine: 200 s
// for 10,000). A certificate is marked hooked once OnIssued has run for it;
// StartHooks hands on any that a crash left unmarked, so OnIssued must be
// idempotent (incubation's is: its markers have natural keys).
type hookQueue struct {
	mu    sync.Mutex
	items []Certificate
	busy  bool
	wake  chan struct{}
	idle  chan struct{} // closed and replaced each time the queue drains
}

// hookBatch is how many certificates are marked hooked in one update.
const hookBatch = 200

// StartHooks starts the background delivery of OnIssued (set OnIssued
// first) and, in the background, queues every certificate not yet
// delivered. Without it, OnIssued runs inside the issuing request.
func (s *Service) StartHooks(ctx context.Context) error {
	if s.OnIssued == nil {
		return nil
	}
	s.hooks = &hookQueue{wake: make(chan struct{}, 1), idle: make(chan struct{}), busy: true}
	bg := context.WithoutCancel(ctx)
	go s.deliverHooks(bg)
	// Finding the undelivered ones reads every certificate (a scan on the
	// embedded engine): done in the background, not before serving.
	go func() {
		var pending []Certificate
		if err := s.certs.Find(bg, bson.M{"hooked": bson.M{"$ne": true}}, &pending); err != nil {
			s.d.Log.Error("finding certificates not yet handed to follow-up scheduling", "err", err.Error())
		}
		if len(pending) > 0 {
			s.d.Log.Info("delivering certificates issued before a restart to follow-up scheduling", "count", len(pending))
		}
		s.enqueueHooks(pending) // also ends the start-up busy state
	}()
	return nil
}

func (s *Service) enqueueHooks(cs []Certificate) {
	q := s.hooks
	q.mu.Lock()
	q.items = append(q.items, cs...)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (s *Service) deliverHooks(ctx context.Context) {
	q := s.hooks
	for range q.wake {
		for {
			q.mu.Lock()
			n := min(len(q.items), hookBatch)
			batch := append([]Certificate(nil), q.items[:n]...)
			q.items = q.items[n:]
			q.busy = n > 0
			if n == 0 {
				close(q.idle)
				q.idle = make(chan struct{})
			}
			q.mu.Unlock()
			if n == 0 {
				break
			}
			ids := make([]string, len(batch))
			for i, c := range batch {
				s.OnIssued(ctx, c)
				ids[i] = c.ID
			}
			if _, err := s.certs.UpdateMany(ctx, bson.M{"_id": bson.M{"$in": ids}}, bson.M{"$set": bson.M{"hooked": true}}); err != nil {
				s.d.Log.Error("marking certificates delivered", "err", err.Error())
			}
		}
	}
}

// WaitHooks returns once every queued certificate has been delivered (or ctx ends).
func (s *Service) WaitHooks(ctx context.Context) {
	q := s.hooks
	if q == nil {
		return
	}
	for {
		q.mu.Lock()
		done := len(q.items) == 0 && !q.busy
		idle := q.idle
		q.mu.Unlock()
		if done {
			return
		}
		select {
		case <-idle:
		case <-ctx.Done():
			return
		}
	}
}
