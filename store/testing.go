package store

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
)

// The test engine is shared by every test of one test binary; each test
// gets a database of its own, so tests stay isolated and the suite fast.
// With NX_TEST_MONGODB_URI set, tests run on that MongoDB instead (each
// test its own database), so the whole suite checks both engines.
var (
	testOnce  sync.Once
	testEng   *engine
	testMongo string
	testDir   string
	testErr   error
	testSeq   atomic.Int64
)

// MustOpenTest gives t a fresh, empty database on the shared embedded
// engine (started in a temp dir on first use) or, with NX_TEST_MONGODB_URI,
// on that MongoDB; with its own blob directory. NX_TEST_NOCACHE=1 switches
// every cache off.
func MustOpenTest(t testing.TB) *Store {
	t.Helper()
	testOnce.Do(func() {
		testMongo = os.Getenv("NX_TEST_MONGODB_URI")
		testDir, testErr = os.MkdirTemp("", "nxt")
		if testErr != nil || testMongo != "" {
			return
		}
		testEng, testErr = startEngine(context.Background(), testDir, slog.Default())
	})
	if testErr != nil {
		t.Fatalf("test engine: %v", testErr)
	}
	name := fmt.Sprintf("t%d_%d", os.Getpid(), testSeq.Add(1))
	opts := Options{Database: name, Logger: slog.Default(), NoCache: os.Getenv("NX_TEST_NOCACHE") == "1", DataDir: testDir}
	var s *Store
	if testMongo != "" {
		client, err := connect(context.Background(), testMongo)
		if err != nil {
			t.Fatalf("NX_TEST_MONGODB_URI: %v", err)
		}
		s = newStore(client, opts, false)
		s.Blobs = newGridFSBlobs(s)
		s.closers = append(s.closers, client.Disconnect)
	} else {
		s = newStore(testEng.client, opts, true)
		s.paths = newPathIndexer(testEng.sqliteDir)
		blobs, err := NewFileBlobs(s, filepath.Join(testDir, "blobs", name))
		if err != nil {
			t.Fatal(err)
		}
		s.Blobs = blobs
	}
	s.unclean = true
	t.Cleanup(func() {
		ctx := context.Background()
		_ = s.bg.stop(ctx, s.log)
		_ = s.Database().Drop(ctx)
		_ = s.metaDB().Drop(ctx)
		_ = os.RemoveAll(filepath.Join(testDir, "blobs", name))
		for _, c := range s.closers {
			_ = c(ctx)
		}
	})
	return s
}

// RunTests runs a package's tests and then removes the shared engine's
// directory; call it from the package's own TestMain.
func RunTests(m *testing.M) {
	code := m.Run()
	if testEng != nil {
		testEng.stop(context.Background())
	}
	if testDir != "" {
		_ = os.RemoveAll(testDir)
	}
	os.Exit(code)
}
