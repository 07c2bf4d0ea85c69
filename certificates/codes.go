package certificates

import (
	"context"
	"sync"
)

// codeIndex maps verification codes to certificate ids in memory, on the
// embedded engine only. There every query scans the collection (DESIGN.md,
// fact 2), so the first lookup reads every certificate once into the index
// and the document cache, and issuance keeps both up to date; verification
// and PDF requests then touch no database. A code the index does not know
// is still looked up in the database (a restore may have written it),
// which the per-address rate limit keeps rare. On MongoDB the indexes on
// code and _id do this work.
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

// ensure runs load once (the first caller runs it, the others wait), and
// marks the index loaded when it succeeds.
func (x *codeIndex) ensure(ctx context.Context, load func(ctx context.Context) error) error {
	if _, _, loaded := x.get(""); loaded {
		return nil
	}
	x.load.Lock()
	defer x.load.Unlock()
	if _, _, loaded := x.get(""); loaded {
		return nil
	}
	if err := load(ctx); err != nil {
		return err
	}
	x.mu.Lock()
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

// attach records a cached PDF on the cached certificate, when it was drawn
// for the certificate's current status.
func (d *docCache) attach(id string, ref *pdfRef) {
	if !d.on {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if c, ok := d.m[id]; ok && c.Status == ref.Status {
		c.PDF = ref
		d.m[id] = c
	}
}
