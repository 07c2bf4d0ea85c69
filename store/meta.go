package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// The meta database ("<base>_meta") holds what must outlive a restore:
// which database is live, and high-water marks of numbers already handed
// to people (certificate serials). A restore replaces the live database,
// never this one (docs/design.md, "Restore").

func (s *Store) metaDB() *mongo.Database { return s.Client.Database(s.base + "_meta") }

// metaC is a collection of the meta database, made with its path index.
func (s *Store) metaC(ctx context.Context, name string) (*mongo.Collection, error) {
	db := s.metaDB()
	if err := s.inLane(ctx, func(ctx context.Context) error { return s.ensure(ctx, db, name) }); err != nil {
		return nil, err
	}
	return db.Collection(name), nil
}

type livePointer struct {
	ID string    `bson:"_id"`
	DB string    `bson:"db"`
	At time.Time `bson:"at"`
}

// selectLive points the store at the live database the meta database names
// (the base name until the first restore).
func (s *Store) selectLive(ctx context.Context) error {
	var p livePointer
	err := s.metaDB().Collection("live").FindOne(ctx, bson.M{"_id": "live"}).Decode(&p)
	if err == mongo.ErrNoDocuments {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the live database's name: %w", err)
	}
	if p.DB != "" {
		s.db.Store(s.Client.Database(p.DB))
	}
	return nil
}

// HighWater reads the high-water mark key (0 when never raised).
func (s *Store) HighWater(ctx context.Context, key string) (int64, error) {
	var doc struct {
		N int64 `bson:"n"`
	}
	err := s.metaDB().Collection("highwater").FindOne(ctx, bson.M{"_id": key}).Decode(&doc)
	if err == mongo.ErrNoDocuments {
		return 0, nil
	}
	return doc.N, err
}

// RaiseHighWater moves the mark key up to n (never down). Raise it before a
// number is handed out, so that a restore of older data never hands it out
// again.
func (s *Store) RaiseHighWater(ctx context.Context, key string, n int64) error {
	c, err := s.metaC(ctx, "highwater")
	if err != nil {
		return err
	}
	return s.inLane(ctx, func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, opTimeout)
		defer cancel()
		_, err := c.UpdateOne(ctx, bson.M{"_id": key}, bson.M{"$max": bson.M{"n": n}}, options.UpdateOne().SetUpsert(true))
		return err
	})
}

// Staging is a store over a new, empty database beside the live one, for a
// restore to fill and check before Promote makes it live. It shares the
// connection, the write lane and the blob files with s.
func (s *Store) Staging(ctx context.Context) (*Store, error) {
	name := fmt.Sprintf("%s_r%s", s.base, time.Now().UTC().Format("20060102150405.000000"))
	name = strings.ReplaceAll(name, ".", "_")
	v := &Store{Client: s.Client, base: s.base, embedded: s.embedded, lane: s.lane, paths: s.paths, log: s.log, dataDir: s.dataDir, staged: true}
	v.caches.init(s.embedded, true, 0)
	v.db.Store(s.Client.Database(name))
	if fb, ok := s.Blobs.(*FileBlobs); ok {
		v.Blobs = &FileBlobs{dir: fb.dir, meta: v.C("blobs")}
	} else {
		v.Blobs = newGridFSBlobs(v)
	}
	return v, nil
}

// Discard drops a staging database that will not be promoted.
func (s *Store) Discard(ctx context.Context, staging *Store) error {
	if !staging.staged {
		return fmt.Errorf("store: discard of a database that is not staging")
	}
	return s.inLane(ctx, func(ctx context.Context) error {
		return staging.Database().Drop(context.WithoutCancel(ctx))
	})
}

// Promote makes a filled staging database the live one, in one step under
// the write lane: the meta database records it (so a restart opens it),
// the store points at it, every cache is emptied, and the old live
// database is dropped. Nothing of the old data is lost before that step.
// On MongoDB with several app nodes, restore is a maintenance step: stop
// the other nodes first, as they keep writing to the database they opened.
func (s *Store) Promote(ctx context.Context, staging *Store) error {
	if !staging.staged {
		return fmt.Errorf("store: promote of a database that is not staging")
	}
	live, err := s.metaC(ctx, "live")
	if err != nil {
		return err
	}
	return s.inLane(ctx, func(ctx context.Context) error {
		if s.paths != nil {
			if err := s.paths.ensure(ctx, staging.Database().Name()); err != nil {
				return err
			}
		}
		old := s.Database()
		next := staging.Database()
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opTimeout)
		defer cancel()
		if _, err := live.ReplaceOne(wctx, bson.M{"_id": "live"}, livePointer{ID: "live", DB: next.Name(), At: time.Now().UTC()},
			options.Replace().SetUpsert(true)); err != nil {
			return fmt.Errorf("recording the restored database: %w", err)
		}
		s.db.Store(next)
		s.InvalidateCaches()
		if err := old.Drop(wctx); err != nil {
			s.log.Error("dropping the database a restore replaced", "db", old.Name(), "err", err.Error())
		}
		return nil
	})
}
