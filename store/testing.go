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
var (
	testOnce sync.Once
	testEng  *engine
	testDir  string
	testErr  error
	testSeq  atomic.Int64
)

// MustOpenTest gives t a fresh, empty database on the shared embedded
// engine (started in a temp dir on first use), with its own blob directory.
func MustOpenTest(t testing.TB) *Store {
	t.Helper()
	testOnce.Do(func() {
		testDir, testErr = os.MkdirTemp("", "nxt")
		if testErr != nil {
			return
		}
		testEng, testErr = startEngine(context.Background(), testDir, slog.Default())
	})
	if testErr != nil {
		t.Fatalf("embedded test engine: %v", testErr)
	}
	name := fmt.Sprintf("t%d_%d", os.Getpid(), testSeq.Add(1))
	s := &Store{Client: testEng.client, DB: testEng.client.Database(name), embedded: true, lane: &sync.Mutex{}, log: slog.Default(), unclean: true}
	blobs, err := NewFileBlobs(s, filepath.Join(testDir, "blobs", name))
	if err != nil {
		t.Fatal(err)
	}
	s.Blobs = blobs
	t.Cleanup(func() {
		_ = s.DB.Drop(context.Background())
		_ = os.RemoveAll(filepath.Join(testDir, "blobs", name))
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
