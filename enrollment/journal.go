package enrollment

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"nongxun/store"
)

// Lists are the "all X of Y" a page reads by _id: the trainees enrolled in
// a course (c/<course>), who was recorded at a session and how
// (s/<session>, members "trainee:status"), a session's sign-in sheet
// photos (p/<session>) and the trainee search buckets (q/…, search.go).
// Each is a document of enrollment_lists {_id: list id, m: [members]}.
//
// A list is changed only through the journal: the unit of work that
// writes a record adds one journal document naming the members it adds
// to and removes from each list (one insert, however many lists). A
// background compactor folds the journal into the list documents, one
// update per list for many journal entries, and then deletes the entries
// it applied. Updates cost about a millisecond each on the embedded engine
// whatever their size, so a batch of 50 check-ins into 50 sessions costs
// one insert here instead of 50 updates, and a second of them 50 updates
// in all (docs/design.md, "The `_id` path index").
//
// Readers read the journal first and then the list documents, and apply
// the entries still in the journal on top: the answer is exact whether or
// not the compactor has run (an entry applied twice changes nothing, as
// list members are sets and entries are applied in order).

// When the compactor runs: once this process has written compactBacklog
// entries, or its oldest unfolded entry is compactAge old, or nothing was
// written for compactIdle. Each compaction costs about one update per
// list and counter document touched, however many entries it folds, so
// under load it runs rarely and folds much; readers scan what waits.
const (
	compactBacklog = 64
	compactAge     = 5 * time.Second
	compactIdle    = 300 * time.Millisecond
	// compactPoll is how often the journal is looked at when this node
	// wrote nothing (other nodes' entries).
	compactPoll = 5 * time.Second
	// compactLease is how long one node holds the compactor's lease.
	compactLease = 30 * time.Second
	// compactBatch is the most journal entries one compaction folds.
	compactBatch = 1000
)

// listOp is one list's change in a journal entry.
type listOp struct {
	List string   `bson:"l"`
	Add  []string `bson:"a,omitempty"`
	Del  []string `bson:"d,omitempty"`
}

// counterOp is one deferred counter document's increments in a journal
// entry (a list: stored field names may not contain the dots of a path).
type counterOp struct {
	Doc string     `bson:"c"`
	Inc []fieldInc `bson:"f"`
}

type fieldInc struct {
	Field string `bson:"k"`
	N     int64  `bson:"n"`
}

type journalEntry struct {
	ID  string      `bson:"_id"`
	At  time.Time   `bson:"at"`
	Ops []listOp    `bson:"ops"`
	Inc []counterOp `bson:"inc,omitempty"`
}

type listDoc struct {
	ID string   `bson:"_id"`
	M  []string `bson:"m"`
}

// changes collects the list changes (and deferred counter moves) of one unit of work.
type changes struct {
	ops   map[string]*listOp
	order []string
	incs  deltas
}

func newChanges() *changes { return &changes{ops: map[string]*listOp{}, incs: deltas{}} }

// inc records deferred counter moves (township documents, see counters.go).
func (c *changes) inc(d deltas) { c.incs.merge(d) }

func (c *changes) counterOps() []counterOp {
	ids := make([]string, 0, len(c.incs))
	for id := range c.incs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var out []counterOp
	for _, id := range ids {
		var f []fieldInc
		for k, v := range c.incs[id] {
			if v != 0 {
				f = append(f, fieldInc{k, v})
			}
		}
		if len(f) > 0 {
			sort.Slice(f, func(i, j int) bool { return f[i].Field < f[j].Field })
			out = append(out, counterOp{Doc: id, Inc: f})
		}
	}
	return out
}

func (c *changes) op(list string) *listOp {
	o := c.ops[list]
	if o == nil {
		o = &listOp{List: list}
		c.ops[list] = o
		c.order = append(c.order, list)
	}
	return o
}

// add records members added to list (a later del of one cancels it).
func (c *changes) add(list string, members ...string) {
	o := c.op(list)
	for _, m := range members {
		o.Del = without(o.Del, m)
		if !contains(o.Add, m) {
			o.Add = append(o.Add, m)
		}
	}
}

// del records members removed from list (a later add of one cancels it).
func (c *changes) del(list string, members ...string) {
	o := c.op(list)
	for _, m := range members {
		o.Add = without(o.Add, m)
		if !contains(o.Del, m) {
			o.Del = append(o.Del, m)
		}
	}
}

func (c *changes) empty() bool {
	for _, o := range c.ops {
		if len(o.Add) > 0 || len(o.Del) > 0 {
			return false
		}
	}
	return len(c.counterOps()) == 0
}

func (c *changes) list() []listOp {
	out := make([]listOp, 0, len(c.order))
	for _, l := range c.order {
		if o := c.ops[l]; len(o.Add) > 0 || len(o.Del) > 0 {
			out = append(out, *o)
		}
	}
	return out
}

// inverse undoes c (its adds removed, its dels added back). It is exact
// because units journal only real changes: a member added was absent.
func (c *changes) inverse() *changes {
	inv := newChanges()
	for _, o := range c.list() {
		inv.del(o.List, o.Add...)
		inv.add(o.List, o.Del...)
	}
	inv.incs = c.incs.neg()
	return inv
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func without(xs []string, x string) []string {
	for i, y := range xs {
		if y == x {
			return append(xs[:i:i], xs[i+1:]...)
		}
	}
	return xs
}

// logChanges writes c as one journal entry inside unit u; its undo journals
// the inverse (never deleting the entry, which the compactor may already
// have applied).
func (s *Service) logChanges(ctx context.Context, u *store.Unit, c *changes) error {
	if c.empty() {
		return nil
	}
	err := u.Do(ctx, "journal", func(ctx context.Context) error { return s.writeJournal(ctx, c) },
		func(ctx context.Context) error { return s.writeJournal(ctx, c.inverse()) })
	if err == nil {
		s.compactor.wake()
	}
	return err
}

func (s *Service) writeJournal(ctx context.Context, c *changes) error {
	if c.empty() {
		return nil
	}
	return s.journal.InsertOne(ctx, journalEntry{ID: store.NewID(), At: s.now().UTC(), Ops: c.list(), Inc: c.counterOps()})
}

// pendingJournal reads the journal in order (oldest first).
func (s *Service) pendingJournal(ctx context.Context, lists []string) ([]journalEntry, error) {
	var out []journalEntry
	filter := bson.M{}
	if len(lists) == 1 {
		filter = bson.M{"ops.l": lists[0]}
	}
	err := s.journal.Find(ctx, filter, &out, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	return out, err
}

// readLists returns the members of each list, exact (see the top of this file).
func (s *Service) readLists(ctx context.Context, ids ...string) (map[string][]string, error) {
	pending, err := s.pendingJournal(ctx, ids)
	if err != nil {
		return nil, err
	}
	docs, err := getMany[listDoc](ctx, s.lists, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]string, len(ids))
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
		out[id] = append([]string{}, docs[id].M...)
	}
	for _, e := range pending {
		for _, o := range e.Ops {
			if !want[o.List] {
				continue
			}
			m := out[o.List]
			for _, x := range o.Del {
				m = without(m, x)
			}
			for _, x := range o.Add {
				if !contains(m, x) {
					m = append(m, x)
				}
			}
			out[o.List] = m
		}
	}
	return out, nil
}

// readList returns one list's members.
func (s *Service) readList(ctx context.Context, id string) ([]string, error) {
	m, err := s.readLists(ctx, id)
	return m[id], err
}

// compactor is the journal's background folding.
type compactor struct {
	wakeC   chan struct{}
	written atomic.Int64 // entries this process wrote since the last compaction
	mu      sync.Mutex   // one compaction at a time in this process
}

func newCompactor() *compactor { return &compactor{wakeC: make(chan struct{}, 1)} }

func (c *compactor) wake() {
	c.written.Add(1)
	select {
	case c.wakeC <- struct{}{}:
	default:
	}
}

// compactLoop folds the journal until ctx ends (see compactBacklog).
func (s *Service) compactLoop(ctx context.Context) {
	c := s.compactor
	for {
		poll := time.NewTimer(compactPoll)
		select {
		case <-ctx.Done():
			poll.Stop()
			return
		case <-c.wakeC:
		case <-poll.C:
		}
		poll.Stop()
		// Gather: until enough entries, the first one old enough, or a pause.
		first := time.Now()
		for c.written.Load() < compactBacklog && time.Since(first) < compactAge {
			idle := time.NewTimer(compactIdle)
			select {
			case <-ctx.Done():
				idle.Stop()
				return
			case <-c.wakeC:
				idle.Stop()
				continue
			case <-idle.C:
			}
			break
		}
		c.written.Store(0)
		if _, err := s.Compact(ctx); err != nil && ctx.Err() == nil {
			s.d.Log.Error("enrollment journal compaction", "err", err.Error())
		}
	}
}

const compactorLease = "compactor"

// lease takes or renews the compactor's lease: with several app nodes one
// folds at a time, so entries are applied in order.
func (s *Service) lease(ctx context.Context) (bool, error) {
	now := time.Now().UTC() // the wall clock: a lease is between processes
	for try := 0; try < 2; try++ {
		ok, err := s.counters.UpdateIf(ctx, compactorLease,
			store.Cond{"$or": bson.A{bson.M{"by": s.node}, bson.M{"until": bson.M{"$lt": now}}}},
			bson.M{"$set": bson.M{"by": s.node, "until": now.Add(compactLease)}})
		if err != nil || ok {
			return ok, err
		}
		// Held by another node, or not made yet (the first compaction).
		if made, err := s.counters.InsertIfAbsent(ctx, bson.M{"_id": compactorLease, "by": "", "until": now}); err != nil || !made {
			return false, err
		}
	}
	return false, nil
}

// yield lets a batch of check-ins being written go first: the compactor
// waits (a little) before each of its writes while one is, so people
// waiting for their check-in are not kept waiting by the bookkeeping.
func (s *Service) yield() {
	for i := 0; i < 20 && s.commit.busy.Load() > 0; i++ {
		time.Sleep(time.Millisecond)
	}
}

// Compact folds the journal into the list documents now and reports how
// many entries it applied.
func (s *Service) Compact(ctx context.Context) (int, error) {
	s.compactor.mu.Lock()
	defer s.compactor.mu.Unlock()
	total := 0
	for {
		var entries []journalEntry
		if err := s.journal.Find(ctx, bson.M{}, &entries, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(compactBatch)); err != nil {
			return total, err
		}
		if len(entries) == 0 {
			return total, nil
		}
		if ok, err := s.lease(ctx); err != nil || !ok {
			return total, err
		}
		// Fold: for each list and member, the last change wins.
		final := map[string]map[string]bool{}
		var order []string
		for _, e := range entries {
			for _, o := range e.Ops {
				f := final[o.List]
				if f == nil {
					f = map[string]bool{}
					final[o.List] = f
					order = append(order, o.List)
				}
				for _, x := range o.Del {
					f[x] = false
				}
				for _, x := range o.Add {
					f[x] = true
				}
			}
		}
		for _, l := range order {
			var add, del bson.A
			keys := make([]string, 0, len(final[l]))
			for x := range final[l] {
				keys = append(keys, x)
			}
			sort.Strings(keys)
			for _, x := range keys {
				if final[l][x] {
					add = append(add, x)
				} else {
					del = append(del, x)
				}
			}
			// Two updates: MongoDB refuses $pullAll and $addToSet on one path
			// in one update (and FerretDB ignores $pull with $in).
			s.yield()
			if len(del) > 0 {
				if _, err := s.lists.UpdateOne(ctx, bson.M{"_id": l}, bson.M{"$pullAll": bson.M{"m": del}}); err != nil {
					return total, err
				}
			}
			if len(add) > 0 {
				if _, err := s.lists.UpdateOne(ctx, bson.M{"_id": l}, bson.M{"$addToSet": bson.M{"m": bson.M{"$each": add}}},
					options.UpdateOne().SetUpsert(true)); err != nil {
					return total, err
				}
			}
		}
		if err := s.compactCounters(ctx, entries); err != nil {
			return total, err
		}
		ids := bson.A{}
		for _, e := range entries {
			ids = append(ids, e.ID)
		}
		if _, err := s.journal.DeleteMany(ctx, bson.M{"_id": bson.M{"$in": ids}}); err != nil {
			return total, err
		}
		total += len(entries)
		if len(entries) < compactBatch {
			return total, nil
		}
	}
}

// getMany reads the documents ids of c by _id, a few at a time in
// parallel; absent ones are left out of the map.
func getMany[T any](ctx context.Context, c *store.Collection, ids []string) (map[string]T, error) {
	out := make(map[string]T, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var (
		mu    sync.Mutex
		wg    sync.WaitGroup
		first error
		next  = make(chan string)
	)
	workers := min(8, len(ids))
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range next {
				var v T
				err := c.Get(ctx, id, &v)
				mu.Lock()
				switch {
				case err == nil:
					out[id] = v
				case !store.IsNotFound(err) && first == nil:
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		mu.Lock()
		stop := first != nil
		mu.Unlock()
		if stop {
			break
		}
		next <- id
	}
	close(next)
	wg.Wait()
	return out, first
}

// Deferred counters. A township's counter document moves with nearly
// every check-in, and a batch of check-ins from all over the county would
// update one per township; so their moves ride in the batch's journal
// entry and the compactor applies them, once a second for all entries
// at once. Exactly once: each deferred document lists the journal entries
// applied to it (ap) and is updated on the version read (ver); an entry
// is deleted only after it was applied everywhere, and its id leaves the
// list later (after appliedKeep, longer than any read takes).

const appliedKeep = time.Minute

// deferredDoc is a deferred counter document's bookkeeping fields.
type deferredDoc struct {
	Ver int64    `bson:"ver"`
	Ap  []string `bson:"ap"`
}

// entryTime is when a journal entry was written (its id is an ObjectID).
func entryTime(id string) time.Time {
	oid, err := bson.ObjectIDFromHex(id)
	if err != nil {
		return time.Time{}
	}
	return oid.Timestamp()
}

// compactCounters applies the counter moves of entries to their documents.
func (s *Service) compactCounters(ctx context.Context, entries []journalEntry) error {
	byDoc := map[string][]int{}
	var order []string
	for k, e := range entries {
		for _, o := range e.Inc {
			if byDoc[o.Doc] == nil {
				order = append(order, o.Doc)
			}
			byDoc[o.Doc] = append(byDoc[o.Doc], k)
		}
	}
	for _, id := range order {
		s.yield()
		var d deferredDoc
		err := s.counters.Get(ctx, id, &d)
		if store.IsNotFound(err) {
			if _, err = s.counters.InsertIfAbsent(ctx, bson.M{"_id": id, "ver": int64(0), "ap": bson.A{}}); err == nil {
				err = s.counters.Get(ctx, id, &d)
			}
		}
		if err != nil {
			return err
		}
		applied := map[string]bool{}
		for _, a := range d.Ap {
			applied[a] = true
		}
		inc := bson.M{}
		ap := bson.A{}
		cutoff := time.Now().Add(-appliedKeep)
		for _, a := range d.Ap {
			if entryTime(a).After(cutoff) {
				ap = append(ap, a)
			}
		}
		for _, k := range byDoc[id] {
			e := entries[k]
			if applied[e.ID] {
				continue
			}
			for _, o := range e.Inc {
				if o.Doc != id {
					continue
				}
				for _, x := range o.Inc {
					n, _ := inc[x.Field].(int64)
					inc[x.Field] = n + x.N
				}
			}
			ap = append(ap, e.ID)
		}
		update := bson.M{"$set": bson.M{"ap": ap, "ver": d.Ver + 1}}
		if len(inc) > 0 {
			update["$inc"] = inc
		}
		cond := store.Cond{"ver": d.Ver}
		if d.Ver == 0 {
			cond = store.Cond{"$or": bson.A{bson.M{"ver": int64(0)}, bson.M{"ver": nil}}}
		}
		ok, err := s.counters.UpdateIf(ctx, id, cond, update)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("enrollment: counter %s changed while the journal was applied; next time", id)
		}
	}
	return nil
}

// deferredCounter reads a deferred counter document with the journal
// entries not yet applied to it added (the journal first, then the
// document: see the top of this file).
func (s *Service) deferredCounter(ctx context.Context, id string) (bson.M, error) {
	var pending []journalEntry
	if err := s.journal.Find(ctx, bson.M{"inc.c": id}, &pending, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}})); err != nil {
		return nil, err
	}
	doc, err := s.counters.Counter(ctx, id)
	if err != nil {
		return nil, err
	}
	if len(pending) == 0 {
		return doc, nil
	}
	applied := map[string]bool{}
	if a, ok := doc["ap"].(bson.A); ok {
		for _, x := range a {
			if s, ok := x.(string); ok {
				applied[s] = true
			}
		}
	}
	for _, e := range pending {
		if applied[e.ID] {
			continue
		}
		for _, o := range e.Inc {
			if o.Doc != id {
				continue
			}
			for _, x := range o.Inc {
				addPath(doc, x.Field, x.N)
			}
		}
	}
	return doc, nil
}

// addPath adds v to the number at dotted path f of doc.
func addPath(doc bson.M, f string, v int64) {
	a, b, nested := strings.Cut(f, ".")
	if !nested {
		doc[a] = store.Int64(doc[a]) + v
		return
	}
	var sub bson.M
	switch m := doc[a].(type) {
	case bson.M:
		sub = m
	case bson.D:
		sub = bson.M{}
		for _, e := range m {
			sub[e.Key] = e.Value
		}
	default:
		sub = bson.M{}
	}
	sub[b] = store.Int64(sub[b]) + v
	doc[a] = sub
}
