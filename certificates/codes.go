package certificates

import (
	"context"
	"sync"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"nongxun/store"
)

// codeIndex maps verification codes to certificate ids in memory. The
// embedded engine filters any field but _id by decoding every document
// (DESIGN.md, fact 2), so a public lookup by code would cost a scan; with
// the index it costs an _id lookup. It is filled by one scan on first use
// and by every issuance; a code it does not know is still looked up in the
// database (another app node or a restore may have written it), which the
// per-address rate limit keeps rare.
type codeIndex struct {
	mu     sync.RWMutex
	m      map[string]string
	loaded bool
	load   sync.Mutex
}

func (x *codeIndex) add(code, id string) {
	x.mu.Lock()
	if x.m == nil {
		x.m = map[string]string{}
	}
	x.m[code] = id
	x.mu.Unlock()
}

func (x *codeIndex) get(code string) (string, bool, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	id, ok := x.m[code]
	return id, ok, x.loaded
}

// ensure fills the index from the certificates once.
func (x *codeIndex) ensure(ctx context.Context, c *store.Collection) error {
	if _, _, loaded := x.get(""); loaded {
		return nil
	}
	x.load.Lock()
	defer x.load.Unlock()
	if _, _, loaded := x.get(""); loaded {
		return nil
	}
	var rows []struct {
		ID   string `bson:"_id"`
		Code string `bson:"code"`
	}
	if err := c.Find(ctx, bson.M{}, &rows, options.Find().SetProjection(bson.M{"code": 1})); err != nil {
		return err
	}
	x.mu.Lock()
	if x.m == nil {
		x.m = make(map[string]string, len(rows))
	}
	for _, r := range rows {
		x.m[r.Code] = r.ID
	}
	x.loaded = true
	x.mu.Unlock()
	return nil
}

// docCache keeps certificates read or written by this process, on the
// embedded engine only: there this process is the only writer (DESIGN.md,
// fact 1), so a write-through cache stays coherent, and it spares the
// public verification and repeated PDF downloads a collection scan. Every
// write of a certificate puts the new version; a read puts only when absent,
// so a read racing a write never brings back the older version.
type docCache struct {
	on bool
	mu sync.RWMutex
	m  map[string]Certificate
}

func (d *docCache) get(id string) (Certificate, bool) {
	if !d.on {
		return Certificate{}, false
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	c, ok := d.m[id]
	return c, ok
}

func (d *docCache) put(c Certificate, overwrite bool) {
	if !d.on {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.m == nil {
		d.m = map[string]Certificate{}
	}
	if _, ok := d.m[c.ID]; ok && !overwrite {
		return
	}
	d.m[c.ID] = c
}
