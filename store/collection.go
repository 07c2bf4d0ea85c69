package store

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// opTimeout bounds every database call that arrives without a deadline.
const opTimeout = 15 * time.Second

type laneKey struct{}

// Collection is a MongoDB collection whose writes pass through the write
// lane in embedded mode (DESIGN.md, fact 1). Reads stay concurrent.
type Collection struct {
	coll *mongo.Collection
	s    *Store
}

// Lane runs fn holding the write lane, so that a read-check-write sequence
// (capacity, a tranche's balance, a serial number) cannot interleave with
// another writer of this process. Writes inside fn must use the ctx it is
// given. Keep fn short: every writer waits for it.
func (s *Store) Lane(ctx context.Context, fn func(ctx context.Context) error) error {
	if ctx.Value(laneKey{}) != nil {
		return fn(ctx)
	}
	mu := s.lane
	if mu == nil {
		mu = &s.mongoLane
	}
	mu.Lock()
	defer mu.Unlock()
	return fn(context.WithValue(ctx, laneKey{}, true))
}

// write wraps one write: with the lane in embedded mode, with a deadline always.
func (s *Store) write(ctx context.Context) (context.Context, func()) {
	ctx, cancel := withDeadline(ctx)
	if s.lane == nil || ctx.Value(laneKey{}) != nil {
		return ctx, cancel
	}
	s.lane.Lock()
	return ctx, func() { s.lane.Unlock(); cancel() }
}

func withDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, opTimeout)
}

// Name is the collection's name.
func (c *Collection) Name() string { return c.coll.Name() }

// Raw gives the driver's collection for reads and index work only.
func (c *Collection) Raw() *mongo.Collection { return c.coll }

// InsertOne inserts one document.
func (c *Collection) InsertOne(ctx context.Context, doc any) error {
	ctx, done := c.s.write(ctx)
	defer done()
	_, err := c.coll.InsertOne(ctx, doc)
	return err
}

// InsertMany inserts documents unordered: duplicates are skipped and reported in the error.
func (c *Collection) InsertMany(ctx context.Context, docs []any) (int, error) {
	ctx, done := c.s.write(ctx)
	defer done()
	res, err := c.coll.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	n := 0
	if res != nil {
		n = len(res.InsertedIDs)
	}
	return n, err
}

// UpdateOne updates the first matching document.
func (c *Collection) UpdateOne(ctx context.Context, filter, update any, opts ...options.Lister[options.UpdateOneOptions]) (*mongo.UpdateResult, error) {
	ctx, done := c.s.write(ctx)
	defer done()
	return c.coll.UpdateOne(ctx, filter, update, opts...)
}

// UpdateMany updates every matching document.
func (c *Collection) UpdateMany(ctx context.Context, filter, update any, opts ...options.Lister[options.UpdateManyOptions]) (*mongo.UpdateResult, error) {
	ctx, done := c.s.write(ctx)
	defer done()
	return c.coll.UpdateMany(ctx, filter, update, opts...)
}

// ReplaceOne replaces the first matching document.
func (c *Collection) ReplaceOne(ctx context.Context, filter, doc any, opts ...options.Lister[options.ReplaceOptions]) (*mongo.UpdateResult, error) {
	ctx, done := c.s.write(ctx)
	defer done()
	return c.coll.ReplaceOne(ctx, filter, doc, opts...)
}

// DeleteOne deletes the first matching document.
func (c *Collection) DeleteOne(ctx context.Context, filter any) (int64, error) {
	ctx, done := c.s.write(ctx)
	defer done()
	res, err := c.coll.DeleteOne(ctx, filter)
	if err != nil {
		return 0, err
	}
	return res.DeletedCount, nil
}

// DeleteMany deletes every matching document.
func (c *Collection) DeleteMany(ctx context.Context, filter any) (int64, error) {
	ctx, done := c.s.write(ctx)
	defer done()
	res, err := c.coll.DeleteMany(ctx, filter)
	if err != nil {
		return 0, err
	}
	return res.DeletedCount, nil
}

// FindOneAndUpdate updates one document and decodes it into out (after the
// update when opts say so). It returns mongo.ErrNoDocuments when none matched.
func (c *Collection) FindOneAndUpdate(ctx context.Context, filter, update, out any, opts ...options.Lister[options.FindOneAndUpdateOptions]) error {
	ctx, done := c.s.write(ctx)
	defer done()
	return c.coll.FindOneAndUpdate(ctx, filter, update, opts...).Decode(out)
}

// BulkWrite runs several writes in one call.
func (c *Collection) BulkWrite(ctx context.Context, models []mongo.WriteModel, opts ...options.Lister[options.BulkWriteOptions]) (*mongo.BulkWriteResult, error) {
	ctx, done := c.s.write(ctx)
	defer done()
	return c.coll.BulkWrite(ctx, models, opts...)
}

// FindOne decodes the first matching document into out; mongo.ErrNoDocuments when none.
func (c *Collection) FindOne(ctx context.Context, filter, out any, opts ...options.Lister[options.FindOneOptions]) error {
	ctx, cancel := withDeadline(ctx)
	defer cancel()
	return c.coll.FindOne(ctx, filter, opts...).Decode(out)
}

// Find decodes every matching document into out (a pointer to a slice).
func (c *Collection) Find(ctx context.Context, filter, out any, opts ...options.Lister[options.FindOptions]) error {
	ctx, cancel := withDeadline(ctx)
	defer cancel()
	cur, err := c.coll.Find(ctx, filter, opts...)
	if err != nil {
		return err
	}
	return cur.All(ctx, out)
}

// Cursor opens a cursor for streaming large results; the caller closes it.
func (c *Collection) Cursor(ctx context.Context, filter any, opts ...options.Lister[options.FindOptions]) (*mongo.Cursor, error) {
	return c.coll.Find(ctx, filter, opts...)
}

// Count counts matching documents. It scans on the embedded engine: keep it
// off request paths (DESIGN.md, fact 2).
func (c *Collection) Count(ctx context.Context, filter any) (int64, error) {
	ctx, cancel := withDeadline(ctx)
	defer cancel()
	return c.coll.CountDocuments(ctx, filter)
}

// Index declares an index; declaring it again is a no-op.
func (c *Collection) Index(ctx context.Context, keys any, unique bool) error {
	ctx, done := c.s.write(ctx)
	defer done()
	m := mongo.IndexModel{Keys: keys}
	if unique {
		m.Options = options.Index().SetUnique(true)
	}
	_, err := c.coll.Indexes().CreateOne(ctx, m)
	return err
}
