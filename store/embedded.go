package store

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// maxSocketPath is the longest Unix socket path Linux accepts (sun_path less NUL).
const maxSocketPath = 107

type engine struct {
	client    *mongo.Client
	cancel    context.CancelFunc
	done      chan struct{}
	sqliteDir string
}

func (e *engine) stop(ctx context.Context) {
	_ = e.client.Disconnect(ctx)
	e.cancel()
	select {
	case <-e.done:
	case <-time.After(10 * time.Second):
	}
}

// startEngine runs FerretDB (SQLite handler) in-process on a Unix socket in dir.
func startEngine(ctx context.Context, dir string, log *slog.Logger) (*engine, error) {
	sqliteDir := filepath.Join(dir, "sqlite")
	if err := os.MkdirAll(sqliteDir, 0o700); err != nil {
		return nil, fmt.Errorf("DATA_DIR: %w", err)
	}
	lc := ferretdb.ListenerConfig{}
	sock := filepath.Join(dir, "db.sock")
	if len(sock) <= maxSocketPath {
		_ = os.Remove(sock) // a stale socket from a killed process; the lock proves it is ours
		lc.Unix = sock
	} else {
		log.Warn("DATA_DIR path too long for a Unix socket; embedded engine listens on 127.0.0.1 instead", "socket", sock)
		lc.TCP = "127.0.0.1:0"
	}
	quiet := slog.New(&errorsOnly{h: slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})})
	fdb, err := ferretdb.New(&ferretdb.Config{
		Listener:  lc,
		Logger:    quiet,
		Handler:   "sqlite",
		SQLiteURL: "file:" + sqliteDir + "/",
	})
	if err != nil {
		return nil, fmt.Errorf("embedded engine: %w", err)
	}
	rctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = fdb.Run(rctx)
	}()
	var uri string
	if lc.Unix != "" {
		uri = "mongodb://" + url.PathEscape(sock) + "/"
		// Run starts listening asynchronously; wait for the socket file.
		for i := 0; i < 200; i++ {
			if _, err := os.Stat(sock); err == nil {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		_ = os.Chmod(sock, 0o600)
	} else {
		uri = fdb.MongoDBURI()
	}
	client, err := connect(ctx, uri)
	if err != nil {
		cancel()
		<-done
		return nil, fmt.Errorf("embedded engine: %w", err)
	}
	return &engine{client: client, cancel: cancel, done: done, sqliteDir: sqliteDir}, nil
}

// errorsOnly is the engine's logger: it prints errors only, and its With
// and WithGroup return it unchanged. FerretDB makes child loggers with
// attributes for every connection and command; with a plain handler those
// cost 13% of the CPU of a parcel benchmark for log lines never printed.
type errorsOnly struct{ h slog.Handler }

func (e *errorsOnly) Enabled(_ context.Context, l slog.Level) bool    { return l >= slog.LevelError }
func (e *errorsOnly) Handle(ctx context.Context, r slog.Record) error { return e.h.Handle(ctx, r) }
func (e *errorsOnly) WithAttrs([]slog.Attr) slog.Handler              { return e }
func (e *errorsOnly) WithGroup(string) slog.Handler                   { return e }
