// Package store owns the database connection: the embedded FerretDB engine
// or a real MongoDB, the write lane, counters and the blob store.
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
)

// Options say where the data lives.
type Options struct {
	// DataDir holds the embedded engine's files, the blobs and the lock.
	DataDir string
	// MongoURI, when set, selects a real MongoDB instead of the embedded engine.
	MongoURI string
	// Database is the database name; "nongxun" when empty.
	Database string
	// Logger receives the store's own messages.
	Logger *slog.Logger
}

// Store is the one handle to the database every feature package receives.
type Store struct {
	Client    *mongo.Client
	DB        *mongo.Database
	Blobs     Blobs
	embedded  bool
	lane      *sync.Mutex // the embedded engine's write lane; nil on MongoDB
	mongoLane sync.Mutex  // Lane's in-process mutex on MongoDB
	closers   []func(context.Context) error
	log       *slog.Logger
	unclean   bool // see UncleanStart
}

// cleanStop is the marker a clean stop leaves in DATA_DIR.
const cleanStop = "clean-stop"

// UncleanStart reports whether the counters kept beside the records may lag
// them: the previous process on DATA_DIR did not stop cleanly (it was
// killed, or this is the first start), or the store is a MongoDB shared by
// other nodes. Start-up drift checks, which scan whole collections on the
// embedded engine, run only then.
func (s *Store) UncleanStart() bool { return s.unclean }

// Embedded reports whether the store runs on the in-process engine.
func (s *Store) Embedded() bool { return s.embedded }

// Open connects to MongoDB when opts.MongoURI is set, or else starts the
// embedded engine under opts.DataDir and connects to it.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.Database == "" {
		opts.Database = "nongxun"
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MongoURI != "" {
		return openMongo(ctx, opts)
	}
	return openEmbedded(ctx, opts)
}

func openMongo(ctx context.Context, opts Options) (*Store, error) {
	client, err := connect(ctx, opts.MongoURI)
	if err != nil {
		return nil, fmt.Errorf("MONGODB_URI: cannot reach MongoDB: %w", err)
	}
	db := client.Database(opts.Database)
	s := &Store{Client: client, DB: db, lane: nil, log: opts.Logger, unclean: true}
	s.Blobs = newGridFSBlobs(s)
	s.closers = append(s.closers, client.Disconnect)
	return s, nil
}

func connect(ctx context.Context, uri string) (*mongo.Client, error) {
	client, err := mongo.Connect(options.Client().ApplyURI(uri).
		SetServerSelectionTimeout(5 * time.Second).SetMaxPoolSize(64))
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := client.Ping(pctx, readpref.Primary()); err != nil {
		_ = client.Disconnect(context.Background())
		return nil, err
	}
	return client, nil
}

func openEmbedded(ctx context.Context, opts Options) (*Store, error) {
	dir, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return nil, fmt.Errorf("DATA_DIR: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("DATA_DIR: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("DATA_DIR: %w", err)
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	eng, err := startEngine(ctx, dir, opts.Logger)
	if err != nil {
		unlock()
		return nil, err
	}
	s := &Store{Client: eng.client, DB: eng.client.Database(opts.Database), embedded: true, lane: &sync.Mutex{}, log: opts.Logger}
	blobs, err := NewFileBlobs(s, filepath.Join(dir, "blobs"))
	if err != nil {
		eng.stop(ctx)
		unlock()
		return nil, err
	}
	s.Blobs = blobs
	marker := filepath.Join(dir, cleanStop)
	_, err = os.Stat(marker)
	s.unclean = err != nil
	_ = os.Remove(marker) // from now on a crash must leave no marker
	s.closers = append(s.closers, func(ctx context.Context) error {
		eng.stop(ctx)
		// Every write has reached the engine and the engine has stopped.
		werr := os.WriteFile(marker, []byte("stopped cleanly\n"), 0o600)
		unlock()
		return werr
	})
	return s, nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return s.Client.Ping(ctx, readpref.Primary())
}

// Close disconnects and, when embedded, stops the engine and frees DATA_DIR.
func (s *Store) Close(ctx context.Context) error {
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		errs = append(errs, s.closers[i](ctx))
	}
	s.closers = nil
	return errors.Join(errs...)
}

// C returns the named collection behind the write lane.
func (s *Store) C(name string) *Collection {
	return &Collection{coll: s.DB.Collection(name), s: s}
}
