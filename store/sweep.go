package store

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// SweepGrace is how long after a blob was put the sweep leaves it alone: an
// upload is stored before the record that references it, and that record's
// write takes milliseconds, so an hour cannot catch one in flight.
const SweepGrace = time.Hour

type blobRef struct{ coll, field string }

// BlobRef declares that documents of collection coll reference blobs by the
// blob id in field (a dotted path; arrays along it are followed). Every
// package that keeps blob ids declares them, so the sweep knows which
// blobs are still wanted.
func (s *Store) BlobRef(coll, field string) {
	s.bg.mu.Lock()
	defer s.bg.mu.Unlock()
	for _, r := range s.blobRefs {
		if r.coll == coll && r.field == field {
			return
		}
	}
	s.blobRefs = append(s.blobRefs, blobRef{coll, field})
}

// ErrNoBlobRefs refuses a sweep when no package declared its references:
// it would remove every file.
var ErrNoBlobRefs = errors.New("store: no blob references declared")

// SweepReport says what a sweep removed.
type SweepReport struct {
	Checked int      `json:"checked"`
	Removed []string `json:"removed"`
	Bytes   int64    `json:"bytes"`
}

// SweepBlobs removes every blob that no declared reference names and that
// was last put more than grace ago: the files of uploads whose record write
// failed, and of records since deleted. It reports what it removed.
func (s *Store) SweepBlobs(ctx context.Context, grace time.Duration) (*SweepReport, error) {
	s.bg.mu.Lock()
	refs := append([]blobRef(nil), s.blobRefs...)
	s.bg.mu.Unlock()
	if len(refs) == 0 {
		return nil, ErrNoBlobRefs
	}
	wanted := map[string]bool{}
	for _, r := range refs {
		cur, err := s.C(r.coll).Cursor(ctx, bson.M{}, options.Find().SetProjection(bson.M{r.field: 1}))
		if err != nil {
			return nil, err
		}
		for cur.Next(ctx) {
			var doc bson.M
			if err := cur.Decode(&doc); err != nil {
				cur.Close(ctx)
				return nil, err
			}
			for _, id := range stringsAt(doc, strings.Split(r.field, ".")) {
				wanted[id] = true
			}
		}
		err = cur.Err()
		cur.Close(ctx)
		if err != nil {
			return nil, err
		}
	}
	cutoff := time.Now().Add(-grace)
	var metas []BlobInfo
	if err := s.C("blobs").Find(ctx, bson.M{}, &metas); err != nil {
		return nil, err
	}
	rep := &SweepReport{Removed: []string{}}
	known := map[string]bool{}
	for _, m := range metas {
		known[m.ID] = true
		rep.Checked++
		last := m.TouchedAt
		if last.IsZero() {
			last = m.CreatedAt
		}
		if wanted[m.ID] || last.After(cutoff) {
			continue
		}
		if err := s.Blobs.Delete(ctx, m.ID); err != nil {
			return rep, err
		}
		rep.Removed = append(rep.Removed, m.ID)
		rep.Bytes += m.Size
	}
	// Files without metadata: a crash between the file's rename and its
	// metadata insert.
	if fb, ok := s.Blobs.(*FileBlobs); ok {
		err := filepath.WalkDir(fb.dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				if d != nil && d.IsDir() && d.Name() == "tmp" {
					return filepath.SkipDir
				}
				return err
			}
			id := d.Name()
			if !validBlobID(id) || known[id] || wanted[id] {
				return nil
			}
			info, err := d.Info()
			if err != nil || info.ModTime().After(cutoff) {
				return err
			}
			if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
				return err
			}
			rep.Checked++
			rep.Removed = append(rep.Removed, id)
			rep.Bytes += info.Size()
			return nil
		})
		if err != nil {
			return rep, err
		}
	}
	sort.Strings(rep.Removed)
	if len(rep.Removed) > 0 {
		s.log.Info("blob sweep removed files no record references", "count", len(rep.Removed), "bytes", rep.Bytes)
	}
	return rep, nil
}

// stringsAt collects the strings at path in v, following arrays.
func stringsAt(v any, path []string) []string {
	if len(path) == 0 {
		switch x := v.(type) {
		case string:
			return []string{x}
		case bson.A:
			var out []string
			for _, e := range x {
				out = append(out, stringsAt(e, nil)...)
			}
			return out
		}
		return nil
	}
	switch x := v.(type) {
	case bson.M:
		return stringsAt(x[path[0]], path[1:])
	case bson.D:
		for _, e := range x {
			if e.Key == path[0] {
				return stringsAt(e.Value, path[1:])
			}
		}
	case bson.A:
		var out []string
		for _, e := range x {
			out = append(out, stringsAt(e, path)...)
		}
		return out
	}
	return nil
}
