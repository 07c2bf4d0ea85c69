package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// Pack is a bounded list of items kept in ONE document as a single binary
// field (a BSON document of the items), so a page reads a whole list with
// one `_id` lookup. The embedded engine decodes a document field by field,
// slowly (docs/design.md, "Scans"); one binary field decodes in one step:
// measured here, 500 session summaries read in 5 ms as a pack against
// 50–70 ms as a filtered find or as a document of 500 sub-documents. On
// MongoDB a pack is simply one document.
//
// A pack is a derived copy (an index) of records kept elsewhere: change it
// in the same unit of work as the records, and let the package's repair
// rebuild it with Set. Writes are optimistic: read, change, write if the
// version is unchanged (UpdateIf), retry — atomic on both engines.
type Pack[T any] struct {
	c   *Collection
	key func(T) string
	max int
}

type packDoc struct {
	ID  string      `bson:"_id"`
	Ver int64       `bson:"ver"`
	N   int         `bson:"n"`
	V   bson.Binary `bson:"v"`
}

type packBody[T any] struct {
	Items []T `bson:"items"`
}

// ErrPackFull is returned when a change would take a pack past its bound.
var ErrPackFull = errors.New("store: pack is full")

// packRetries bounds the optimistic retries of one change.
const packRetries = 50

// NewPack keeps packs of T in collection coll, items identified by key;
// a pack holds at most max items (keep packs small enough to read on a
// request path: split them by township, month or course).
func NewPack[T any](s *Store, coll string, max int, key func(T) string) *Pack[T] {
	return &Pack[T]{c: s.C(coll), key: key, max: max}
}

// Same reports whether two lists hold the same items (by key and by their
// stored form), in any order: what a repair compares before it rewrites.
func (p *Pack[T]) Same(a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	m := make(map[string][]byte, len(a))
	for _, x := range a {
		raw, err := bson.Marshal(x)
		if err != nil {
			return false
		}
		m[p.key(x)] = raw
	}
	for _, x := range b {
		raw, err := bson.Marshal(x)
		if y, ok := m[p.key(x)]; err != nil || !ok || string(y) != string(raw) {
			return false
		}
	}
	return true
}

// Collection is where the packs are kept.
func (p *Pack[T]) Collection() *Collection { return p.c }

// Get reads pack id (empty when it does not exist).
func (p *Pack[T]) Get(ctx context.Context, id string) ([]T, error) {
	_, items, err := p.read(ctx, id)
	return items, err
}

func (p *Pack[T]) read(ctx context.Context, id string) (*packDoc, []T, error) {
	var d packDoc
	if err := p.c.Get(ctx, id, &d); err != nil {
		if IsNotFound(err) {
			return nil, nil, nil
		}
		return nil, nil, err
	}
	var body packBody[T]
	if len(d.V.Data) > 0 {
		if err := bson.Unmarshal(d.V.Data, &body); err != nil {
			return nil, nil, fmt.Errorf("store: pack %s/%s: %w", p.c.Name(), id, err)
		}
	}
	return &d, body.Items, nil
}

// Change applies fn to pack id's items and writes the result, retrying when
// another writer changed the pack meanwhile; fn may run more than once and
// must not have side effects. An empty result deletes the pack.
func (p *Pack[T]) Change(ctx context.Context, id string, fn func(items []T) ([]T, error)) error {
	// On the embedded engine the lane makes this process's changes take
	// turns (no retries among them); the version check is what makes a
	// change correct, on both engines.
	return p.c.s.inLane(ctx, func(ctx context.Context) error { return p.change(ctx, id, fn) })
}

func (p *Pack[T]) change(ctx context.Context, id string, fn func(items []T) ([]T, error)) error {
	for try := 0; try < packRetries; try++ {
		if try > 0 {
			d := time.Duration(1+rand.IntN(1<<min(try, 6))) * time.Millisecond
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(d):
			}
		}
		d, items, err := p.read(ctx, id)
		if err != nil {
			return err
		}
		next, err := fn(items)
		if err != nil {
			return err
		}
		if p.max > 0 && len(next) > p.max {
			return ErrPackFull
		}
		ok, err := p.write(ctx, id, d, next)
		if err != nil || ok {
			return err
		}
	}
	return fmt.Errorf("store: pack %s/%s: too many concurrent changes", p.c.Name(), id)
}

func (p *Pack[T]) write(ctx context.Context, id string, d *packDoc, items []T) (bool, error) {
	if d == nil {
		if len(items) == 0 {
			return true, nil
		}
		raw, err := bson.Marshal(packBody[T]{Items: items})
		if err != nil {
			return false, err
		}
		return p.c.InsertIfAbsent(ctx, packDoc{ID: id, Ver: 1, N: len(items), V: bson.Binary{Data: raw}})
	}
	if len(items) == 0 {
		return p.c.DeleteIf(ctx, id, Cond{"ver": d.Ver})
	}
	raw, err := bson.Marshal(packBody[T]{Items: items})
	if err != nil {
		return false, err
	}
	return p.c.UpdateIf(ctx, id, Cond{"ver": d.Ver}, bson.M{"$set": bson.M{"ver": d.Ver + 1, "n": len(items), "v": bson.Binary{Data: raw}}})
}

// Put adds items to pack id, replacing those with the same key.
func (p *Pack[T]) Put(ctx context.Context, id string, items ...T) error {
	return p.Change(ctx, id, func(cur []T) ([]T, error) {
		idx := map[string]int{}
		for i, x := range cur {
			idx[p.key(x)] = i
		}
		out := append([]T(nil), cur...)
		for _, x := range items {
			if i, ok := idx[p.key(x)]; ok {
				out[i] = x
			} else {
				idx[p.key(x)] = len(out)
				out = append(out, x)
			}
		}
		return out, nil
	})
}

// Remove drops the items with the given keys from pack id.
func (p *Pack[T]) Remove(ctx context.Context, id string, keys ...string) error {
	drop := map[string]bool{}
	for _, k := range keys {
		drop[k] = true
	}
	return p.Change(ctx, id, func(cur []T) ([]T, error) {
		out := cur[:0:0]
		for _, x := range cur {
			if !drop[p.key(x)] {
				out = append(out, x)
			}
		}
		return out, nil
	})
}

// Set replaces pack id with items, whatever it held (a repair rebuilding it
// from the records).
func (p *Pack[T]) Set(ctx context.Context, id string, items []T) error {
	return p.Change(ctx, id, func([]T) ([]T, error) { return items, nil })
}

// Keys are the keys of items, sorted (to compare a pack with its records).
func (p *Pack[T]) Keys(items []T) []string {
	out := make([]string, len(items))
	for i, x := range items {
		out[i] = p.key(x)
	}
	sort.Strings(out)
	return out
}
