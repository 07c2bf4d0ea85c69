// Package store owns the database: the embedded FerretDB engine or a real
// MongoDB, the write lane, the `_id` path index, conditional updates, units
// of work, the event outbox, caches, counters, background work and the blob
// store. Feature packages write once against MongoDB's guarantees; this
// package makes the embedded engine keep them (docs/design.md).
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
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
	// Database is the base database name; "nongxun" when empty.
	Database string
	// Logger receives the store's own messages.
	Logger *slog.Logger
	// NoCache switches every cache of the store off (benchmarks run with it
	// to show the figures carry to several app nodes).
	NoCache bool
	// CacheTTL bounds how long a cached value is served on MongoDB, where
	// other app nodes write too; 0 means DefaultCacheTTL.
	CacheTTL time.Duration
}

// Store is the one handle to the database every feature package receives.
type Store struct {
	Client   *mongo.Client
	Blobs    Blobs
	base     string // base database name; the live one may differ after a restore
	db       atomic.Pointer[mongo.Database]
	embedded bool
	lane     *sync.Mutex // the embedded engine's write lane; nil on MongoDB
	paths    *pathIndexer
	ensured  sync.Map // database/collection → true once created with its path index
	caches   cacheSet
	bg       background
	closers  []func(context.Context) error
	log      *slog.Logger
	unclean  bool // see UncleanStart
	dataDir  string
	staged   bool // a staging database for a restore (see Staging)
	busOnce  sync.Once
	bus      *Bus
	blobRefs []blobRef // see BlobRef
}

// cleanStop is the marker a clean stop leaves in DATA_DIR.
const cleanStop = "clean-stop"

// UncleanStart reports whether the counters kept beside the records may lag
// them because the previous process on DATA_DIR did not stop cleanly (it
// was killed, or this is the first start). Only the embedded engine can
// know; on MongoDB it is false and recounts are explicit commands
// (docs/design.md, "Repairs").
func (s *Store) UncleanStart() bool { return s.unclean }

// Embedded reports whether the store runs on the in-process engine. Only
// store itself, main's log line and the benchmarks may ask: feature code is
// written once for both engines.
func (s *Store) Embedded() bool { return s.embedded }

// Log is the store's logger.
func (s *Store) Log() *slog.Logger { return s.log }

// Open connects to MongoDB when opts.MongoURI is set, or else starts the
// embedded engine under opts.DataDir and connects to it.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.Database == "" {
		opts.Database = "nongxun"
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	var s *Store
	var err error
	if opts.MongoURI != "" {
		s, err = openMongo(ctx, opts)
	} else {
		s, err = openEmbedded(ctx, opts)
	}
	if err != nil {
		return nil, err
	}
	if err := s.selectLive(ctx); err != nil {
		_ = s.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	if err := s.ensureAll(ctx); err != nil {
		_ = s.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	return s, nil
}

func newStore(client *mongo.Client, opts Options, embedded bool) *Store {
	s := &Store{Client: client, base: opts.Database, embedded: embedded, log: opts.Logger, dataDir: opts.DataDir}
	if embedded {
		s.lane = &sync.Mutex{}
	}
	s.caches.init(embedded, opts.NoCache, opts.CacheTTL)
	s.bg.init()
	s.db.Store(client.Database(opts.Database))
	return s
}

func openMongo(ctx context.Context, opts Options) (*Store, error) {
	client, err := connect(ctx, opts.MongoURI)
	if err != nil {
		return nil, fmt.Errorf("MONGODB_URI: cannot reach MongoDB: %w", err)
	}
	s := newStore(client, opts, false)
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
	opts.DataDir = dir
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
	s := newStore(eng.client, opts, true)
	s.paths = newPathIndexer(eng.sqliteDir)
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
		perr := s.paths.close()
		eng.stop(ctx)
		// Every write has reached the engine and the engine has stopped.
		werr := os.WriteFile(marker, []byte("stopped cleanly\n"), 0o600)
		unlock()
		return errors.Join(perr, werr)
	})
	return s, nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return s.Client.Ping(ctx, readpref.Primary())
}

// Close stops the background work (in the reverse order it was started),
// then disconnects and, when embedded, stops the engine and frees DATA_DIR.
func (s *Store) Close(ctx context.Context) error {
	errs := []error{s.bg.stop(ctx, s.log)}
	for i := len(s.closers) - 1; i >= 0; i-- {
		errs = append(errs, s.closers[i](ctx))
	}
	s.closers = nil
	return errors.Join(errs...)
}

// Database is the live database. A restore swaps it for another; hold on to
// collections by name (C), never to the *mongo.Database.
func (s *Store) Database() *mongo.Database { return s.db.Load() }

// C returns the named collection of the live database, behind the write lane.
func (s *Store) C(name string) *Collection {
	return &Collection{name: name, s: s}
}
