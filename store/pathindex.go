package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.mongodb.org/mongo-driver/v2/mongo"
	_ "modernc.org/sqlite" // the driver FerretDB's SQLite backend uses too
)

// The `_id` path index (docs/design.md, "The _id path index"). FerretDB v1's
// SQLite backend answers a filter that is exactly {_id: <string|ObjectID>}
// with `WHERE _ferretdb_sjson->'$._id' = ?`, and updates and deletes every
// matched document the same way, but its own unique _id index is on another
// expression, so each of those is a full table scan. An expression index on
// exactly that path makes them index searches. The store adds it to every
// table: at start-up, when it creates a collection, and after a restore.

// idPath is the expression FerretDB's pushed-down _id filter uses.
const idPath = `_ferretdb_sjson->'$._id'`

// pathIndexer opens a database's SQLite file directly (beside FerretDB's own
// connections; the file is in WAL mode) to add the index. A connection is
// opened per call: calls are rare (once per collection per process) and a
// database FerretDB dropped and made again is a new file.
type pathIndexer struct{ dir string }

func newPathIndexer(dir string) *pathIndexer { return &pathIndexer{dir: dir} }

func (p *pathIndexer) close() error { return nil }

// file is the SQLite file FerretDB keeps database db in.
func (p *pathIndexer) file(db string) string { return filepath.Join(p.dir, db+".sqlite") }

// conn opens db's file when it exists (nil when FerretDB has not made it yet).
func (p *pathIndexer) conn(db string) (*sql.DB, error) {
	f := p.file(db)
	if _, err := os.Stat(f); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	// The files hold personal data: readable by this process's user only.
	for _, x := range []string{f, f + "-wal", f + "-shm"} {
		if err := os.Chmod(x, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("path index: %w", err)
		}
	}
	c, err := sql.Open("sqlite", "file:"+f+"?mode=rw&_pragma=busy_timeout(10000)")
	if err != nil {
		return nil, fmt.Errorf("path index: %w", err)
	}
	c.SetMaxOpenConns(1)
	return c, nil
}

// tables maps collection names of db to their SQLite tables (only those in
// names, or all when names is empty).
func tables(ctx context.Context, c *sql.DB, names ...string) (map[string]string, error) {
	rows, err := c.QueryContext(ctx, `SELECT name, table_name FROM _ferretdb_collections`)
	if err != nil {
		return nil, fmt.Errorf("path index: %w", err)
	}
	defer rows.Close()
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := map[string]string{}
	for rows.Next() {
		var n, t string
		if err := rows.Scan(&n, &t); err != nil {
			return nil, fmt.Errorf("path index: %w", err)
		}
		if len(want) == 0 || want[n] {
			out[n] = t
		}
	}
	return out, rows.Err()
}

// ensure adds the index to the tables of the named collections of db (every
// collection when names is empty). Call it holding the write lane.
func (p *pathIndexer) ensure(ctx context.Context, db string, names ...string) error {
	c, err := p.conn(db)
	if err != nil || c == nil {
		return err
	}
	defer c.Close()
	ts, err := tables(ctx, c, names...)
	if err != nil {
		return err
	}
	for _, t := range ts {
		q := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %q ON %q (%s)`, t+"_nx_id_path", t, idPath)
		if _, err := c.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("path index on %s: %w", t, err)
		}
	}
	return nil
}

// plans asks SQLite how it would answer an _id lookup on each collection of
// db: collection → the plan's detail ("SEARCH … USING INDEX …" or "SCAN …").
func (p *pathIndexer) plans(ctx context.Context, db string) (map[string]string, error) {
	c, err := p.conn(db)
	if err != nil || c == nil {
		return map[string]string{}, err
	}
	defer c.Close()
	ts, err := tables(ctx, c)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for n, t := range ts {
		rows, err := c.QueryContext(ctx, fmt.Sprintf(`EXPLAIN QUERY PLAN SELECT _ferretdb_sjson FROM %q WHERE %s = ?`, t, idPath), `"x"`)
		if err != nil {
			return nil, fmt.Errorf("path index plan of %s: %w", n, err)
		}
		var detail []string
		for rows.Next() {
			var id, parent, notused int
			var d string
			if err := rows.Scan(&id, &parent, &notused, &d); err != nil {
				rows.Close()
				return nil, err
			}
			detail = append(detail, d)
		}
		rows.Close()
		out[n] = strings.Join(detail, "; ")
	}
	return out, nil
}

// PathIndexPlans reports, for every collection of the live database, how the
// embedded engine answers an _id lookup ("SEARCH …" when the path index is
// there). On MongoDB, where _id is always indexed, it is empty.
func (s *Store) PathIndexPlans(ctx context.Context) (map[string]string, error) {
	if s.paths == nil {
		return map[string]string{}, nil
	}
	return s.paths.plans(ctx, s.Database().Name())
}

// codeNamespaceExists is MongoDB's (and FerretDB's) "collection already exists".
const codeNamespaceExists = 48

func isNamespaceExists(err error) bool {
	var ce mongo.CommandError
	return errors.As(err, &ce) && ce.Code == codeNamespaceExists
}

// ensure creates collection name in database db when missing and gives it the
// path index. It runs once per collection and database per process; call it
// holding the write lane.
func (s *Store) ensure(ctx context.Context, db *mongo.Database, name string) error {
	key := db.Name() + "/" + name
	if _, ok := s.ensured.Load(key); ok {
		return nil
	}
	if err := db.CreateCollection(ctx, name); err != nil && !isNamespaceExists(err) {
		return fmt.Errorf("creating collection %s: %w", name, err)
	}
	if s.paths != nil {
		if err := s.paths.ensure(ctx, db.Name(), name); err != nil {
			return err
		}
	}
	s.ensured.Store(key, true)
	return nil
}

// ensureAll gives every existing collection of the live database the path
// index (tables made before this version, or by a restore).
func (s *Store) ensureAll(ctx context.Context) error {
	if s.paths == nil {
		return nil
	}
	return s.inLane(ctx, func(ctx context.Context) error {
		return s.paths.ensure(ctx, s.Database().Name())
	})
}

// Ensure creates the named collections of the live database now, each with
// its path index. Feature packages call it from New for every collection they
// own, so no collection is first made by an insert.
func (s *Store) Ensure(ctx context.Context, names ...string) error {
	return s.inLane(ctx, func(ctx context.Context) error {
		db := s.Database()
		for _, n := range names {
			if err := s.ensure(ctx, db, n); err != nil {
				return err
			}
		}
		return nil
	})
}
