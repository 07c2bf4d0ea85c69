package store

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// opTimeout bounds every database call: a call gets this long, or less when
// its context (the request's) ends sooner.
const opTimeout = 15 * time.Second

type laneKey struct{}

// Collection is a collection of the live database, named, so that it follows
// the store across a restore. Its writes pass through the write lane on the
// embedded engine (docs/design.md, "The write lane"); reads stay concurrent.
// The first write of a process to a collection creates it with its `_id`
// path index, so no collection is ever without it.
type Collection struct {
	name string
	s    *Store
}

// inLane runs fn holding the embedded engine's write lane (on MongoDB it
// just runs fn). Writes inside fn must use the ctx it is given.
func (s *Store) inLane(ctx context.Context, fn func(ctx context.Context) error) error {
	if s.lane == nil || ctx.Value(laneKey{}) != nil {
		return fn(ctx)
	}
	s.lane.Lock()
	defer s.lane.Unlock()
	return fn(context.WithValue(ctx, laneKey{}, true))
}

// WithWritesHeld runs fn while no other write of this process runs (the
// embedded engine's write lane), for a backup's one consistent moment. It is
// not a lock across app nodes: on MongoDB other nodes keep writing (take a
// cluster's point-in-time copy with mongodump --oplog; docs/scaling.md).
func (s *Store) WithWritesHeld(ctx context.Context, fn func(ctx context.Context) error) error {
	return s.inLane(ctx, fn)
}

// write prepares one write of collection c: the lane (embedded), the
// collection made with its path index, a deadline.
func (c *Collection) write(ctx context.Context) (context.Context, *mongo.Collection, func(), error) {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	unlock := func() {}
	if c.s.lane != nil && ctx.Value(laneKey{}) == nil {
		c.s.lane.Lock()
		ctx = context.WithValue(ctx, laneKey{}, true)
		unlock = c.s.lane.Unlock
	}
	db := c.s.Database()
	if err := c.s.ensure(ctx, db, c.name); err != nil {
		unlock()
		cancel()
		return nil, nil, nil, err
	}
	return ctx, db.Collection(c.name), func() { unlock(); cancel() }, nil
}

// read prepares one read with a deadline.
func (c *Collection) read(ctx context.Context) (context.Context, *mongo.Collection, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	return ctx, c.s.Database().Collection(c.name), cancel
}

// Name is the collection's name.
func (c *Collection) Name() string { return c.name }

// Store is the store the collection belongs to.
func (c *Collection) Store() *Store { return c.s }

// Raw gives the driver's collection of the live database, for reads and
// index work only (and for tests that must bypass the lane on purpose).
func (c *Collection) Raw() *mongo.Collection { return c.s.Database().Collection(c.name) }

// InsertOne inserts one document.
func (c *Collection) InsertOne(ctx context.Context, doc any) error {
	ctx, coll, done, err := c.write(ctx)
	if err != nil {
		return err
	}
	defer done()
	_, err = coll.InsertOne(ctx, doc)
	return err
}

// InsertMany inserts documents unordered: duplicates are skipped and reported in the error.
func (c *Collection) InsertMany(ctx context.Context, docs []any) (int, error) {
	if len(docs) == 0 {
		return 0, nil
	}
	ctx, coll, done, err := c.write(ctx)
	if err != nil {
		return 0, err
	}
	defer done()
	res, err := coll.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	n := 0
	if res != nil {
		n = len(res.InsertedIDs)
	}
	return n, err
}

// UpdateOne updates the first matching document. A filter other than a
// plain {_id: …} scans on the embedded engine: for "this _id if these
// conditions hold" use UpdateIf.
func (c *Collection) UpdateOne(ctx context.Context, filter, update any, opts ...options.Lister[options.UpdateOneOptions]) (*mongo.UpdateResult, error) {
	ctx, coll, done, err := c.write(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	return coll.UpdateOne(ctx, filter, update, opts...)
}

// UpdateMany updates every matching document.
func (c *Collection) UpdateMany(ctx context.Context, filter, update any, opts ...options.Lister[options.UpdateManyOptions]) (*mongo.UpdateResult, error) {
	ctx, coll, done, err := c.write(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	return coll.UpdateMany(ctx, filter, update, opts...)
}

// ReplaceOne replaces the first matching document.
func (c *Collection) ReplaceOne(ctx context.Context, filter, doc any, opts ...options.Lister[options.ReplaceOptions]) (*mongo.UpdateResult, error) {
	ctx, coll, done, err := c.write(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	return coll.ReplaceOne(ctx, filter, doc, opts...)
}

// DeleteOne deletes the first matching document.
func (c *Collection) DeleteOne(ctx context.Context, filter any) (int64, error) {
	ctx, coll, done, err := c.write(ctx)
	if err != nil {
		return 0, err
	}
	defer done()
	res, err := coll.DeleteOne(ctx, filter)
	if err != nil {
		return 0, err
	}
	return res.DeletedCount, nil
}

// DeleteMany deletes every matching document.
func (c *Collection) DeleteMany(ctx context.Context, filter any) (int64, error) {
	ctx, coll, done, err := c.write(ctx)
	if err != nil {
		return 0, err
	}
	defer done()
	res, err := coll.DeleteMany(ctx, filter)
	if err != nil {
		return 0, err
	}
	return res.DeletedCount, nil
}

// FindOneAndUpdate updates one document and decodes it into out (after the
// update when opts say so). It returns mongo.ErrNoDocuments when none matched.
func (c *Collection) FindOneAndUpdate(ctx context.Context, filter, update, out any, opts ...options.Lister[options.FindOneAndUpdateOptions]) error {
	ctx, coll, done, err := c.write(ctx)
	if err != nil {
		return err
	}
	defer done()
	return coll.FindOneAndUpdate(ctx, filter, update, opts...).Decode(out)
}

// BulkWrite runs several writes in one call.
func (c *Collection) BulkWrite(ctx context.Context, models []mongo.WriteModel, opts ...options.Lister[options.BulkWriteOptions]) (*mongo.BulkWriteResult, error) {
	ctx, coll, done, err := c.write(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	return coll.BulkWrite(ctx, models, opts...)
}

// FindOne decodes the first matching document into out; mongo.ErrNoDocuments when none.
func (c *Collection) FindOne(ctx context.Context, filter, out any, opts ...options.Lister[options.FindOneOptions]) error {
	ctx, coll, cancel := c.read(ctx)
	defer cancel()
	return coll.FindOne(ctx, filter, opts...).Decode(out)
}

// Get decodes the document id into out: an indexed read on both engines.
// It returns ErrNotFound (IsNotFound) when there is none.
func (c *Collection) Get(ctx context.Context, id any, out any) error {
	err := c.FindOne(ctx, byID(id), out)
	if err == mongo.ErrNoDocuments {
		return ErrNotFound
	}
	return err
}

// Find decodes every matching document into out (a pointer to a slice).
func (c *Collection) Find(ctx context.Context, filter, out any, opts ...options.Lister[options.FindOptions]) error {
	ctx, coll, cancel := c.read(ctx)
	defer cancel()
	cur, err := coll.Find(ctx, filter, opts...)
	if err != nil {
		return err
	}
	return cur.All(ctx, out)
}

// Cursor opens a cursor for streaming large results; the caller closes it.
// It has no deadline of its own: the caller's context bounds it.
func (c *Collection) Cursor(ctx context.Context, filter any, opts ...options.Lister[options.FindOptions]) (*mongo.Cursor, error) {
	return c.s.Database().Collection(c.name).Find(ctx, filter, opts...)
}

// Count counts matching documents. It scans on the embedded engine: keep it
// off request paths (docs/design.md, "Scans").
func (c *Collection) Count(ctx context.Context, filter any) (int64, error) {
	ctx, coll, cancel := c.read(ctx)
	defer cancel()
	return coll.CountDocuments(ctx, filter)
}

// Index declares an index (creating the collection first); declaring it
// again is a no-op. The embedded engine uses only the `_id` path index, but
// MongoDB uses these, and unique ones are enforced on both.
func (c *Collection) Index(ctx context.Context, keys any, unique bool) error {
	ctx, coll, done, err := c.write(ctx)
	if err != nil {
		return err
	}
	defer done()
	m := mongo.IndexModel{Keys: keys}
	if unique {
		m.Options = options.Index().SetUnique(true)
	}
	_, err = coll.Indexes().CreateOne(ctx, m)
	return err
}
