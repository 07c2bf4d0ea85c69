package store

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Events between features go through an outbox (docs/design.md, "Events"):
// Publish stores one document per subscriber in the outbox collection, in
// the same request as the record it announces; a background worker hands
// each to its subscriber's handler and deletes it only when the handler
// returned nil. A failed handler is retried with growing delays; a crash
// loses nothing, as the documents wait in the database. Delivery is at
// least once, so handlers must be idempotent (natural-key writes).

const outboxColl = "outbox"

// Event is one published fact, as a handler receives it.
type Event struct {
	ID       string    `bson:"_id"`
	Topic    string    `bson:"topic"`
	Sub      string    `bson:"sub"`
	Key      string    `bson:"key"`
	Payload  bson.Raw  `bson:"payload"`
	Attempts int       `bson:"attempts"`
	NextAt   time.Time `bson:"next_at"`
	Lease    string    `bson:"lease,omitempty"`
	LeaseTil time.Time `bson:"lease_until,omitempty"`
	LastErr  string    `bson:"last_error,omitempty"`
	At       time.Time `bson:"at"`
}

// Decode reads the event's payload into v.
func (e Event) Decode(v any) error { return bson.Unmarshal(e.Payload, v) }

// Handler handles one event; an error means "try again later".
type Handler func(ctx context.Context, e Event) error

// BatchHandler handles several events of one topic at once (up to the
// bus's batch of 200), so the subscriber can write them with a few bulk
// writes; an error puts every one of them back to be retried.
type BatchHandler func(ctx context.Context, es []Event) error

type subscriber struct {
	name  string
	fn    Handler
	batch BatchHandler
}

// Bus is the store's event outbox and its delivery worker.
type Bus struct {
	s       *Store
	mu      sync.Mutex
	subs    map[string][]subscriber
	wake    chan struct{}
	workers int
	poll    time.Duration
	lease   time.Duration
	now     func() time.Time
	started bool
}

// Delivery tuning: at most busWorkers handlers run at once; other nodes'
// events are noticed within busPoll; a claimed event is another node's to
// take after busLease; delays grow from busRetryMin to busRetryMax.
const (
	busWorkers  = 2
	busBatch    = 200
	busPoll     = 2 * time.Second
	busLease    = 2 * time.Minute
	busRetryMin = time.Second
	busRetryMax = 10 * time.Minute
)

// Events is the store's event bus.
func (s *Store) Events() *Bus {
	s.busOnce.Do(func() {
		b := &Bus{s: s, subs: map[string][]subscriber{}, wake: make(chan struct{}, 1),
			workers: busWorkers, poll: busPoll, lease: busLease, now: time.Now}
		s.bus = b
	})
	return s.bus
}

// Subscribe registers handler name for topic. Subscribe every handler
// (in main) before Start and before anything is published.
func (b *Bus) Subscribe(topic, name string, fn Handler) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.subs[topic] = append(b.subs[topic], subscriber{name: name, fn: fn})
}

// SubscribeBatch registers a handler that takes the due events of topic
// in batches (see BatchHandler).
func (b *Bus) SubscribeBatch(topic, name string, fn BatchHandler) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.subs[topic] = append(b.subs[topic], subscriber{name: name, batch: fn})
}

// Message is one event to publish: a key unique within its topic (a
// natural key: publishing the same key again while it waits is a no-op)
// and a payload marshalled as BSON.
type Message struct {
	Key     string
	Payload any
}

// Publish stores events of topic for every subscriber. It is one insert
// per batch of messages, so publish inside the unit of work that writes
// the record announced: if the publish fails, the unit undoes the record.
func (b *Bus) Publish(ctx context.Context, topic string, msgs ...Message) error {
	b.mu.Lock()
	subs := append([]subscriber(nil), b.subs[topic]...)
	b.mu.Unlock()
	if len(subs) == 0 || len(msgs) == 0 {
		return nil
	}
	now := b.now().UTC()
	docs := make([]any, 0, len(msgs)*len(subs))
	for _, m := range msgs {
		raw, err := bson.Marshal(m.Payload)
		if err != nil {
			return fmt.Errorf("event %s: %w", topic, err)
		}
		for _, sub := range subs {
			docs = append(docs, Event{ID: topic + "/" + sub.name + "/" + m.Key, Topic: topic, Sub: sub.name, Key: m.Key,
				Payload: raw, NextAt: now, At: now})
		}
	}
	for len(docs) > 0 {
		k := min(len(docs), 1000)
		_, err := b.s.C(outboxColl).InsertMany(ctx, docs[:k])
		if err != nil && !allDup(err) {
			return fmt.Errorf("event %s: %w", topic, err)
		}
		docs = docs[k:]
	}
	b.notify()
	return nil
}

// allDup reports whether every failure of an unordered insert was a duplicate key.
func allDup(err error) bool {
	_, derr := DupIndexes(err)
	return derr == nil
}

func (b *Bus) notify() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// Start runs the delivery worker in the background until the store closes.
func (b *Bus) Start() {
	b.mu.Lock()
	if b.started {
		b.mu.Unlock()
		return
	}
	b.started = true
	b.mu.Unlock()
	b.s.Go("events", b.run)
}

func (b *Bus) run(ctx context.Context) {
	for {
		n, next, err := b.deliver(ctx)
		if err != nil && ctx.Err() == nil {
			b.s.log.Error("event delivery", "err", err.Error())
		}
		if ctx.Err() != nil {
			return
		}
		if n == busBatch {
			continue // more are waiting
		}
		wait := b.poll
		if !next.IsZero() {
			if d := next.Sub(b.now()); d < wait {
				wait = max(d, 10*time.Millisecond)
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-b.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// deliver claims up to busBatch due events and hands them to their
// handlers; it returns how many it claimed and when the next one is due.
func (b *Bus) deliver(ctx context.Context) (int, time.Time, error) {
	out := b.s.C(outboxColl)
	now := b.now().UTC()
	var due []Event
	if err := out.Find(ctx, bson.M{"next_at": bson.M{"$lte": now}}, &due, options.Find().SetLimit(busBatch)); err != nil {
		return 0, time.Time{}, err
	}
	var next time.Time
	if len(due) < busBatch {
		var later Event
		err := out.FindOne(ctx, bson.M{"next_at": bson.M{"$gt": now}}, &later, options.FindOne().SetSort(bson.D{{Key: "next_at", Value: 1}}))
		if err == nil {
			next = later.NextAt
		}
	}
	if len(due) == 0 {
		return 0, next, nil
	}
	// Claim: an event whose lease is free or expired becomes ours. With
	// several app nodes this is what keeps two from running one handler at
	// once (a lease that expires lets another node retry a stuck one).
	lease := NewID()
	ids := bson.A{}
	for _, e := range due {
		ids = append(ids, e.ID)
	}
	if _, err := out.UpdateMany(ctx, bson.M{"_id": bson.M{"$in": ids}, "next_at": bson.M{"$lte": now},
		"$or": bson.A{bson.M{"lease_until": nil}, bson.M{"lease_until": bson.M{"$lt": now}}}},
		bson.M{"$set": bson.M{"lease": lease, "lease_until": now.Add(b.lease)}}); err != nil {
		return 0, next, err
	}
	var mine []Event
	if err := out.Find(ctx, bson.M{"_id": bson.M{"$in": ids}, "lease": lease}, &mine); err != nil {
		return 0, next, err
	}
	b.mu.Lock()
	handlers := map[string]subscriber{}
	for topic, subs := range b.subs {
		for _, sub := range subs {
			handlers[topic+"/"+sub.name] = sub
		}
	}
	b.mu.Unlock()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		done bson.A
		sem  = make(chan struct{}, b.workers)
	)
	// Handlers finish what they started even when the store is closing.
	hctx := context.WithoutCancel(ctx)
	batches := map[string][]Event{}
	for _, e := range mine {
		sub := handlers[e.Topic+"/"+e.Sub]
		if sub.batch != nil {
			batches[e.Topic+"/"+e.Sub] = append(batches[e.Topic+"/"+e.Sub], e)
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func(e Event) {
			defer func() { <-sem; wg.Done() }()
			err := b.call(hctx, sub.fn, e)
			if err == nil {
				mu.Lock()
				done = append(done, e.ID)
				mu.Unlock()
				return
			}
			b.retry(hctx, e, err)
		}(e)
	}
	for key, es := range batches {
		fn := handlers[key].batch
		wg.Add(1)
		sem <- struct{}{}
		go func(es []Event) {
			defer func() { <-sem; wg.Done() }()
			err := b.callBatch(hctx, fn, es)
			if err == nil {
				mu.Lock()
				for _, e := range es {
					done = append(done, e.ID)
				}
				mu.Unlock()
				return
			}
			b.retryBatch(hctx, es, err)
		}(es)
	}
	wg.Wait()
	if len(done) > 0 {
		if _, err := out.DeleteMany(hctx, bson.M{"_id": bson.M{"$in": done}, "lease": lease}); err != nil {
			return len(due), next, err
		}
	}
	return len(due), next, nil
}

func (b *Bus) callBatch(ctx context.Context, fn BatchHandler, es []Event) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panicked: %v", r)
		}
	}()
	return fn(ctx, es)
}

func (b *Bus) call(ctx context.Context, fn Handler, e Event) (err error) {
	if fn == nil {
		return fmt.Errorf("no handler %s for topic %s in this process", e.Sub, e.Topic)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panicked: %v", r)
		}
	}()
	return fn(ctx, e)
}

// retry puts a failed event back with a growing delay.
func (b *Bus) retry(ctx context.Context, e Event, cause error) {
	delay := retryDelay(e.Attempts)
	b.s.log.Warn("event handler failed; will retry", "topic", e.Topic, "handler", e.Sub, "key", e.Key,
		"attempt", e.Attempts+1, "retry_in", delay.String(), "err", cause.Error())
	_, err := b.s.C(outboxColl).UpdateIf(ctx, e.ID, Cond{"lease": e.Lease},
		bson.M{"$inc": bson.M{"attempts": 1}, "$set": bson.M{"next_at": b.now().UTC().Add(delay), "last_error": cause.Error()},
			"$unset": bson.M{"lease": "", "lease_until": ""}})
	if err != nil {
		b.s.log.Error("cannot reschedule a failed event (its lease will expire and it is retried then)", "event", e.ID, "err", err.Error())
	}
}

// retryBatch puts a failed batch back, due again all at once.
func (b *Bus) retryBatch(ctx context.Context, es []Event, cause error) {
	attempts := 0
	ids := bson.A{}
	for _, e := range es {
		attempts = max(attempts, e.Attempts)
		ids = append(ids, e.ID)
	}
	delay := retryDelay(attempts)
	b.s.log.Warn("event batch handler failed; will retry", "topic", es[0].Topic, "handler", es[0].Sub, "events", len(es),
		"attempt", attempts+1, "retry_in", delay.String(), "err", cause.Error())
	_, err := b.s.C(outboxColl).UpdateMany(ctx, bson.M{"_id": bson.M{"$in": ids}, "lease": es[0].Lease},
		bson.M{"$inc": bson.M{"attempts": 1}, "$set": bson.M{"next_at": b.now().UTC().Add(delay), "last_error": cause.Error()},
			"$unset": bson.M{"lease": "", "lease_until": ""}})
	if err != nil {
		b.s.log.Error("cannot reschedule a failed batch (its lease will expire and it is retried then)", "events", len(es), "err", err.Error())
	}
}

func retryDelay(attempts int) time.Duration {
	delay := busRetryMin << min(attempts, 20)
	if delay > busRetryMax || delay <= 0 {
		delay = busRetryMax
	}
	return delay
}

// Wait returns once no event is due (every due one was delivered or
// rescheduled), or ctx ends. Tests and the CLI use it.
func (b *Bus) Wait(ctx context.Context) error {
	for {
		var due []Event
		if err := b.s.C(outboxColl).Find(ctx, bson.M{"next_at": bson.M{"$lte": b.now().UTC()}}, &due, options.Find().SetLimit(1)); err != nil {
			return err
		}
		if len(due) == 0 {
			return nil
		}
		b.notify()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Pending counts the events waiting in the outbox (for the health page).
func (b *Bus) Pending(ctx context.Context) (int64, error) {
	return b.s.C(outboxColl).Count(ctx, bson.M{})
}
