// Package backup dumps and restores the whole database and the blob store
// through the driver, so a dump from the embedded engine restores onto
// MongoDB and back. The archive is a gzip-compressed tar:
//
//	manifest.json                 what is inside, and when it was made
//	collections/<name>.bson       the collection's documents, concatenated BSON
//	blobs/<sha256>                each stored file (the embedded engine's blobs)
package backup

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/store"
)

// Manifest describes an archive.
type Manifest struct {
	Format      int                `json:"format"`
	CreatedAt   time.Time          `json:"created_at"`
	Collections map[string]int64   `json:"collections"` // name → documents
	Blobs       int                `json:"blobs"`
	Indexes     map[string][]Index `json:"indexes"`
}

// Index is an index to declare again after a restore.
type Index struct {
	Keys   []IndexKey `json:"keys"`
	Unique bool       `json:"unique,omitempty"`
}

// IndexKey is one field of an index and its direction (1 or -1).
type IndexKey struct {
	Field string `json:"field"`
	Dir   int32  `json:"dir"`
}

func (ix Index) keys() bson.D {
	d := bson.D{}
	for _, k := range ix.Keys {
		d = append(d, bson.E{Key: k.Field, Value: k.Dir})
	}
	return d
}

func indexes(ctx context.Context, st *store.Store, name string) ([]Index, error) {
	cur, err := st.Database().Collection(name).Indexes().List(ctx)
	if err != nil {
		return nil, err
	}
	defer cur.Close(ctx)
	var out []Index
	for cur.Next(ctx) {
		var spec struct {
			Name   string `bson:"name"`
			Key    bson.D `bson:"key"`
			Unique bool   `bson:"unique"`
		}
		if err := cur.Decode(&spec); err != nil {
			return nil, err
		}
		if spec.Name == "_id_" {
			continue
		}
		ix := Index{Unique: spec.Unique}
		for _, e := range spec.Key {
			dir := int32(1)
			if store.Int64(e.Value) < 0 {
				dir = -1
			}
			ix.Keys = append(ix.Keys, IndexKey{Field: e.Key, Dir: dir})
		}
		out = append(out, ix)
	}
	return out, cur.Err()
}

// collections lists the database's collections, sorted, system ones left out.
func collections(ctx context.Context, st *store.Store) ([]string, error) {
	names, err := st.Database().ListCollectionNames(ctx, bson.M{})
	if err != nil {
		return nil, err
	}
	out := names[:0]
	for _, n := range names {
		if !strings.HasPrefix(n, "system.") {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out, nil
}

// Dump writes the archive to w. It holds the write lane throughout, so the
// dump is one consistent moment even while the server keeps serving reads.
func Dump(ctx context.Context, st *store.Store, w io.Writer) (*Manifest, error) {
	var m *Manifest
	err := st.Lane(ctx, func(ctx context.Context) error {
		var err error
		m, err = dump(ctx, st, w)
		return err
	})
	return m, err
}

func dump(ctx context.Context, st *store.Store, w io.Writer) (*Manifest, error) {
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	m := &Manifest{Format: 1, CreatedAt: time.Now().UTC(), Collections: map[string]int64{}, Indexes: map[string][]Index{}}
	names, err := collections(ctx, st)
	if err != nil {
		return nil, err
	}
	var blobIDs []string
	for _, name := range names {
		// Spool each collection through a temp buffer-free path: tar needs the
		// size first, so count the bytes in a first pass over a cursor.
		size, n, err := collectionSize(ctx, st, name)
		if err != nil {
			return nil, err
		}
		if err := tw.WriteHeader(&tar.Header{Name: "collections/" + name + ".bson", Mode: 0o600, Size: size, ModTime: m.CreatedAt}); err != nil {
			return nil, err
		}
		cur, err := st.C(name).Cursor(ctx, bson.M{})
		if err != nil {
			return nil, err
		}
		var written int64
		for cur.Next(ctx) {
			if written+int64(len(cur.Current)) > size {
				break // a document grew after the first pass; the lane prevents it
			}
			if _, err := tw.Write(cur.Current); err != nil {
				cur.Close(ctx)
				return nil, err
			}
			written += int64(len(cur.Current))
			if name == "blobs" {
				if id, ok := cur.Current.Lookup("_id").StringValueOK(); ok {
					blobIDs = append(blobIDs, id)
				}
			}
		}
		if err := cur.Err(); err != nil {
			cur.Close(ctx)
			return nil, err
		}
		cur.Close(ctx)
		if written != size {
			return nil, fmt.Errorf("backup: collection %s changed during the dump", name)
		}
		m.Collections[name] = n
		if m.Indexes[name], err = indexes(ctx, st, name); err != nil {
			return nil, err
		}
	}
	for _, id := range blobIDs {
		b, err := st.Blobs.Open(ctx, id)
		if errors.Is(err, store.ErrNoBlob) {
			continue
		}
		if err != nil {
			return nil, err
		}
		err = tw.WriteHeader(&tar.Header{Name: "blobs/" + id, Mode: 0o600, Size: b.Size(), ModTime: m.CreatedAt})
		if err == nil {
			_, err = io.Copy(tw, b)
		}
		b.Close()
		if err != nil {
			return nil, err
		}
		m.Blobs++
	}
	mj, _ := json.MarshalIndent(m, "", "  ")
	if err := tw.WriteHeader(&tar.Header{Name: "manifest.json", Mode: 0o600, Size: int64(len(mj)), ModTime: m.CreatedAt}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(mj); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return m, gz.Close()
}

func collectionSize(ctx context.Context, st *store.Store, name string) (int64, int64, error) {
	cur, err := st.C(name).Cursor(ctx, bson.M{})
	if err != nil {
		return 0, 0, err
	}
	defer cur.Close(ctx)
	var size, n int64
	for cur.Next(ctx) {
		size += int64(len(cur.Current))
		n++
	}
	return size, n, cur.Err()
}

// Restore replaces the whole database with the archive read from r: every
// collection of the archive is dropped and loaded, collections not in it are
// dropped too, and the blobs are put back. It holds the write lane. The
// archive is checked in full (gzip and tar framing, BSON of every document)
// before anything is dropped, by reading it to a staging database first.
func Restore(ctx context.Context, st *store.Store, r io.Reader) (*Manifest, error) {
	var m *Manifest
	err := st.Lane(ctx, func(ctx context.Context) error {
		var err error
		m, err = restore(ctx, st, r)
		return err
	})
	return m, err
}

func restore(ctx context.Context, st *store.Store, r io.Reader) (*Manifest, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("not a nongxun backup (gzip): %w", err)
	}
	tr := tar.NewReader(gz)
	docs := map[string][]any{}
	var m *Manifest
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("damaged backup: %w", err)
		}
		switch {
		case h.Name == "manifest.json":
			m = &Manifest{}
			if err := json.NewDecoder(io.LimitReader(tr, 1<<20)).Decode(m); err != nil {
				return nil, fmt.Errorf("damaged manifest: %w", err)
			}
		case strings.HasPrefix(h.Name, "collections/") && strings.HasSuffix(h.Name, ".bson"):
			name := strings.TrimSuffix(strings.TrimPrefix(h.Name, "collections/"), ".bson")
			list, err := readDocs(tr)
			if err != nil {
				return nil, fmt.Errorf("collection %s: %w", name, err)
			}
			docs[name] = list
		case strings.HasPrefix(h.Name, "blobs/"):
			id := strings.TrimPrefix(h.Name, "blobs/")
			info, err := st.Blobs.Put(ctx, tr, h.Size)
			if err != nil {
				return nil, fmt.Errorf("blob %s: %w", id, err)
			}
			if info.ID != id {
				return nil, fmt.Errorf("blob %s: content does not match its name", id)
			}
		}
	}
	if m == nil {
		return nil, errors.New("damaged backup: no manifest")
	}
	for name, n := range m.Collections {
		if int64(len(docs[name])) != n {
			return nil, fmt.Errorf("damaged backup: %s has %d documents, manifest says %d", name, len(docs[name]), n)
		}
	}
	existing, err := collections(ctx, st)
	if err != nil {
		return nil, err
	}
	for _, name := range existing {
		if err := st.Database().Collection(name).Drop(ctx); err != nil {
			return nil, err
		}
	}
	for name, list := range docs {
		for i := 0; i < len(list); i += 1000 {
			j := min(i+1000, len(list))
			if _, err := st.C(name).InsertMany(ctx, list[i:j]); err != nil {
				return nil, fmt.Errorf("restoring %s: %w", name, err)
			}
		}
	}
	for name, list := range m.Indexes {
		for _, ix := range list {
			if err := st.C(name).Index(ctx, ix.keys(), ix.Unique); err != nil {
				return nil, fmt.Errorf("index of %s: %w", name, err)
			}
		}
	}
	return m, nil
}

// readDocs splits concatenated BSON documents.
func readDocs(r io.Reader) ([]any, error) {
	var out []any
	var hdr [4]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err == io.EOF {
			return out, nil
		} else if err != nil {
			return nil, err
		}
		n := int(uint32(hdr[0]) | uint32(hdr[1])<<8 | uint32(hdr[2])<<16 | uint32(hdr[3])<<24)
		if n < 5 || n > 16<<20 {
			return nil, errors.New("bad document length")
		}
		buf := make([]byte, n)
		copy(buf, hdr[:])
		if _, err := io.ReadFull(r, buf[4:]); err != nil {
			return nil, err
		}
		raw := bson.Raw(buf)
		if err := raw.Validate(); err != nil {
			return nil, err
		}
		out = append(out, raw)
	}
}
