package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

func TestEveryCollectionHasThePathIndex(t *testing.T) {
	s := MustOpenTest(t)
	ctx := context.Background()
	if err := s.Ensure(ctx, "made_explicitly"); err != nil {
		t.Fatal(err)
	}
	if err := s.C("made_by_insert").InsertOne(ctx, bson.M{"_id": "a"}); err != nil {
		t.Fatal(err)
	}
	if err := s.C("made_by_index").Index(ctx, bson.D{{Key: "x", Value: 1}}, false); err != nil {
		t.Fatal(err)
	}
	// A table FerretDB made behind the store's back (an older version, a
	// restore) gets it at the next start.
	if _, err := s.Database().Collection("made_behind").InsertOne(ctx, bson.M{"_id": "b"}); err != nil {
		t.Fatal(err)
	}
	if !s.Embedded() {
		t.Log("MongoDB: _id is always indexed")
		return
	}
	plans, err := s.PathIndexPlans(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plans["made_behind"], "SCAN") {
		t.Fatalf("a table made without the store should scan before ensureAll, plan %q", plans["made_behind"])
	}
	if err := s.ensureAll(ctx); err != nil {
		t.Fatal(err)
	}
	assertAllSearch(t, s)
}

// assertAllSearch fails t when an _id lookup on any collection of s scans.
func assertAllSearch(t *testing.T, s *Store) {
	t.Helper()
	plans, err := s.PathIndexPlans(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(plans) == 0 {
		t.Fatal("no collections to check")
	}
	for name, plan := range plans {
		if !strings.Contains(plan, "SEARCH") || !strings.Contains(plan, "nx_id_path") {
			t.Errorf("collection %s: an _id lookup is %q, want a SEARCH using the path index", name, plan)
		}
	}
}

func TestPathIndexMakesIDLookupsCheap(t *testing.T) {
	s := MustOpenTest(t)
	ctx := context.Background()
	c := s.C("many")
	docs := make([]any, 20000)
	for i := range docs {
		docs[i] = bson.M{"_id": fmt.Sprintf("d%05d", i), "pad": strings.Repeat("农", 20)}
	}
	for i := 0; i < len(docs); i += 1000 {
		if _, err := c.InsertMany(ctx, docs[i:i+1000]); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	for i := 0; i < 200; i++ {
		var out bson.M
		if err := c.Get(ctx, fmt.Sprintf("d%05d", (i*97)%20000), &out); err != nil {
			t.Fatal(err)
		}
	}
	per := time.Since(start) / 200
	t.Logf("_id read with 20,000 documents: %v", per)
	// A scan of 20,000 documents takes ~13 ms here; the index takes well under 1.
	if per > 5*time.Millisecond {
		t.Fatalf("_id read took %v: the path index is not used", per)
	}
	// Duplicates are still refused.
	if err := c.InsertOne(ctx, bson.M{"_id": "d00001"}); !IsDup(err) {
		t.Fatalf("duplicate insert: %v, want E11000", err)
	}
}

func TestUpdateIfCapsUnderConcurrency(t *testing.T) {
	s := MustOpenTest(t)
	ctx := context.Background()
	c := s.C("tranches")
	if ok, err := c.InsertIfAbsent(ctx, bson.M{"_id": "t1", "paid": int64(0)}); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if ok, _ := c.InsertIfAbsent(ctx, bson.M{"_id": "t1", "paid": int64(5)}); ok {
		t.Fatal("InsertIfAbsent inserted over an existing document")
	}
	const capFen, amount = 1000, 70 // room for 14 payments
	var wg sync.WaitGroup
	var won atomic.Int64
	for i := 0; i < 24; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := c.UpdateIf(ctx, "t1", Cond{"paid": bson.M{"$lte": capFen - amount}}, bson.M{"$inc": bson.M{"paid": amount}})
			if err != nil {
				t.Error(err)
			}
			if ok {
				won.Add(1)
			}
		}()
	}
	wg.Wait()
	var doc struct{ Paid int64 }
	if err := c.Get(ctx, "t1", &doc); err != nil {
		t.Fatal(err)
	}
	if won.Load() != 14 || doc.Paid != 14*amount {
		t.Fatalf("%d payments accepted, paid %d; want 14 and %d", won.Load(), doc.Paid, 14*amount)
	}
	var after struct{ Paid int64 }
	ok, err := c.UpdateIfGet(ctx, "t1", Cond{"paid": int64(980)}, bson.M{"$inc": bson.M{"paid": -80}}, &after)
	if err != nil || !ok || after.Paid != 900 {
		t.Fatalf("UpdateIfGet: ok %v err %v paid %d", ok, err, after.Paid)
	}
	if ok, err := c.UpdateIf(ctx, "missing", Cond{}, bson.M{"$set": bson.M{"x": 1}}); ok || err != nil {
		t.Fatalf("UpdateIf on a missing document: %v %v", ok, err)
	}
	if _, err := c.UpdateIf(ctx, "t1", Cond{"paid": bson.M{"$regex": "x"}}, bson.M{}); err == nil {
		t.Fatal("an unsupported operator was accepted")
	}
	if ok, err := c.DeleteIf(ctx, "t1", Cond{"paid": int64(1)}); ok || err != nil {
		t.Fatalf("DeleteIf with a false condition: %v %v", ok, err)
	}
	if ok, err := c.DeleteIf(ctx, "t1", Cond{"paid": int64(900)}); !ok || err != nil {
		t.Fatalf("DeleteIf: %v %v", ok, err)
	}
}

func TestConditionsMatchLikeMongoDB(t *testing.T) {
	now := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	doc := bson.M{"state": "built", "n": int32(3), "f": 2.5, "tags": bson.A{"a", "b"}, "at": bson.DateTime(now.UnixMilli()),
		"nested": bson.D{{Key: "x", Value: int64(7)}}, "null": nil}
	cases := []struct {
		cond Cond
		want bool
	}{
		{Cond{"state": "built"}, true},
		{Cond{"state": "planned"}, false},
		{Cond{"n": 3}, true},
		{Cond{"n": int64(3), "f": bson.M{"$gt": 2, "$lt": 3}}, true},
		{Cond{"n": bson.M{"$gte": 4}}, false},
		{Cond{"missing": nil}, true},
		{Cond{"null": nil}, true},
		{Cond{"state": nil}, false},
		{Cond{"missing": bson.M{"$ne": "x"}}, true},
		{Cond{"missing": bson.M{"$lt": 5}}, false},
		{Cond{"missing": bson.M{"$exists": false}}, true},
		{Cond{"state": bson.M{"$exists": true}}, true},
		{Cond{"state": bson.M{"$in": bson.A{"planned", "built"}}}, true},
		{Cond{"state": bson.M{"$nin": []string{"built"}}}, false},
		{Cond{"tags": "b"}, true},
		{Cond{"tags": "c"}, false},
		{Cond{"at": bson.M{"$lt": now.Add(time.Second)}}, true},
		{Cond{"at": bson.M{"$gt": now}}, false},
		{Cond{"nested.x": 7}, true},
		{Cond{"state": bson.M{"$lt": 5}}, false},
		{Cond{"$or": bson.A{bson.M{"state": "x"}, bson.M{"n": 3}}}, true},
		{Cond{"$or": []Cond{{"state": "x"}, {"n": 4}}}, false},
		{Cond{"$and": []Cond{{"state": "built"}, {"n": 3}}}, true},
	}
	for i, c := range cases {
		if err := checkCond(c.cond); err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		got, err := matches(doc, c.cond)
		if err != nil || got != c.want {
			t.Errorf("case %d %v: got %v (%v), want %v", i, c.cond, got, err, c.want)
		}
	}
}

func TestUnitUndoesInReverseAndRecordsWhatItCannot(t *testing.T) {
	s := MustOpenTest(t)
	ctx := context.Background()
	c := s.C("unit_docs")
	var order []string
	boom := errors.New("third write failed")
	err := s.Unit(ctx, "test-step", func(u *Unit) error {
		for _, id := range []string{"a", "b"} {
			if err := u.Do(ctx, "insert "+id, func(ctx context.Context) error { return c.InsertOne(ctx, bson.M{"_id": id}) },
				func(ctx context.Context) error {
					order = append(order, id)
					_, err := c.DeleteOne(ctx, bson.M{"_id": id})
					return err
				}); err != nil {
				return err
			}
		}
		u.OnFail("counter", func(ctx context.Context) error { order = append(order, "counter"); return errors.New("cannot undo") })
		return u.Do(ctx, "third", func(ctx context.Context) error { return boom }, nil)
	})
	if !errors.Is(err, boom) {
		t.Fatalf("unit returned %v", err)
	}
	if strings.Join(order, ",") != "counter,b,a" {
		t.Fatalf("undo order %v", order)
	}
	if n, _ := c.Count(ctx, bson.M{}); n != 0 {
		t.Fatalf("%d documents left after the undo", n)
	}
	rep, err := s.PendingRepairs(ctx)
	if err != nil || len(rep) != 1 || rep[0].Unit != "test-step" || rep[0].Step != "counter" {
		t.Fatalf("repairs %+v %v", rep, err)
	}
	// The next start runs the registered repairs and clears the record.
	ran := false
	s.OnRepair("test counters", func(ctx context.Context) (bool, error) { ran = true; return true, nil })
	s.unclean = false
	if err := s.RunRepairs(ctx); err != nil || !ran {
		t.Fatalf("repairs ran %v, err %v", ran, err)
	}
	if rep, _ := s.PendingRepairs(ctx); len(rep) != 0 {
		t.Fatalf("repairs left after running: %v", rep)
	}
	// A unit whose client went away still undoes.
	cctx, cancel := context.WithCancel(ctx)
	err = s.Unit(cctx, "hung-up", func(u *Unit) error {
		if err := u.Do(cctx, "insert", func(ctx context.Context) error { return c.InsertOne(ctx, bson.M{"_id": "z"}) },
			func(ctx context.Context) error { _, err := c.DeleteOne(ctx, bson.M{"_id": "z"}); return err }); err != nil {
			return err
		}
		cancel()
		return u.Do(cctx, "after hang-up", func(ctx context.Context) error { return c.InsertOne(ctx, bson.M{"_id": "y"}) }, nil)
	})
	if err == nil {
		t.Fatal("a write with a cancelled context succeeded")
	}
	if n, _ := c.Count(ctx, bson.M{}); n != 0 {
		t.Fatalf("%d documents left after a hung-up unit", n)
	}
}

func TestEventsDeliveredOnceHandlerSucceeds(t *testing.T) {
	s := MustOpenTest(t)
	ctx := context.Background()
	bus := s.Events()
	var mu sync.Mutex
	got := map[string]int{}
	fails := 2
	bus.Subscribe("cert.issued", "followups", func(ctx context.Context, e Event) error {
		var p struct{ N int }
		if err := e.Decode(&p); err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		if e.Key == "flaky" && fails > 0 {
			fails--
			return errors.New("not yet")
		}
		got[e.Key] += p.N
		return nil
	})
	msgs := []Message{{Key: "flaky", Payload: bson.M{"n": 1}}}
	for i := 0; i < 300; i++ {
		msgs = append(msgs, Message{Key: fmt.Sprint(i), Payload: bson.M{"n": 1}})
	}
	if err := bus.Publish(ctx, "cert.issued", msgs...); err != nil {
		t.Fatal(err)
	}
	// Published twice while waiting: one event.
	if err := bus.Publish(ctx, "cert.issued", Message{Key: "7", Payload: bson.M{"n": 1}}); err != nil {
		t.Fatal(err)
	}
	bus.now = func() time.Time { return time.Now().Add(time.Hour) } // retries fall due at once
	bus.Start()
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		if err := bus.Wait(wctx); err != nil {
			t.Fatal(err)
		}
		if n, _ := bus.Pending(ctx); n == 0 {
			break
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 301 || got["flaky"] != 1 || got["7"] != 1 {
		t.Fatalf("delivered %d keys, flaky %d, 7 %d", len(got), got["flaky"], got["7"])
	}
}

func TestEventsSurviveARestart(t *testing.T) {
	s := MustOpenTest(t)
	ctx := context.Background()
	first := s.Events()
	first.Subscribe("course.finished", "followups", func(ctx context.Context, e Event) error { return errors.New("down") })
	if err := first.Publish(ctx, "course.finished", Message{Key: "c1/t1", Payload: bson.M{"course": "c1"}}); err != nil {
		t.Fatal(err)
	}
	// A new process (a new bus on the same database) delivers what waits.
	again := &Bus{s: s, subs: map[string][]subscriber{}, wake: make(chan struct{}, 1), workers: 2, poll: 50 * time.Millisecond, lease: time.Minute, now: time.Now}
	done := make(chan string, 1)
	again.Subscribe("course.finished", "followups", func(ctx context.Context, e Event) error { done <- e.Key; return nil })
	s.Go("events-again", again.run)
	select {
	case k := <-done:
		if k != "c1/t1" {
			t.Fatalf("delivered %q", k)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the waiting event was not delivered after the restart")
	}
}

func TestCacheNeverKeepsAStaleLoad(t *testing.T) {
	s := MustOpenTest(t)
	ctx := context.Background()
	c := NewCache[string, int](s, "test", 0)
	release := make(chan struct{})
	loaded := make(chan struct{})
	go func() {
		_, _ = c.Get(ctx, "k", func(context.Context) (int, error) { close(loaded); <-release; return 1, nil }) // a slow load of the old value
	}()
	<-loaded
	c.Put("k", 2) // a write lands meanwhile
	close(release)
	time.Sleep(20 * time.Millisecond)
	v, _ := c.Get(ctx, "k", func(context.Context) (int, error) { return 3, nil })
	if v != 2 {
		t.Fatalf("cache holds %d, want the written 2", v)
	}
	s.InvalidateCaches()
	v, _ = c.Get(ctx, "k", func(context.Context) (int, error) { return 4, nil })
	if v != 4 {
		t.Fatalf("after invalidation %d, want a fresh load", v)
	}
}

func TestStagingPromoteAndHighWater(t *testing.T) {
	s := MustOpenTest(t)
	ctx := context.Background()
	if err := s.C("ledger").InsertOne(ctx, bson.M{"_id": "old"}); err != nil {
		t.Fatal(err)
	}
	if err := s.RaiseHighWater(ctx, "serial/2026", 8); err != nil {
		t.Fatal(err)
	}
	st, err := s.Staging(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.C("ledger").InsertOne(ctx, bson.M{"_id": "restored"}); err != nil {
		t.Fatal(err)
	}
	var x bson.M
	if err := s.C("ledger").Get(ctx, "restored", &x); !IsNotFound(err) {
		t.Fatal("staging data visible before promotion")
	}
	if err := s.Promote(ctx, st); err != nil {
		t.Fatal(err)
	}
	if err := s.C("ledger").Get(ctx, "restored", &x); err != nil {
		t.Fatal("restored data not live after promotion:", err)
	}
	if err := s.C("ledger").Get(ctx, "old", &x); !IsNotFound(err) {
		t.Fatal("old data still live after promotion")
	}
	if hw, err := s.HighWater(ctx, "serial/2026"); err != nil || hw != 8 {
		t.Fatalf("high-water mark after restore: %d %v", hw, err)
	}
	if err := s.RaiseHighWater(ctx, "serial/2026", 3); err != nil {
		t.Fatal(err)
	}
	if hw, _ := s.HighWater(ctx, "serial/2026"); hw != 8 {
		t.Fatalf("high-water mark went down to %d", hw)
	}
	if s.Embedded() {
		assertAllSearch(t, s)
	}
}

func TestSweepRemovesUnreferencedBlobs(t *testing.T) {
	s := MustOpenTest(t)
	ctx := context.Background()
	s.BlobRef("materials", "blob_id")
	s.BlobRef("photos", "files.blob")
	put := func(content string) string {
		info, err := s.Blobs.Put(ctx, strings.NewReader(content), 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		return info.ID
	}
	kept, nested, orphan, fresh := put("kept"), put("nested"), put("orphan"), put("fresh")
	if err := s.C("materials").InsertOne(ctx, bson.M{"_id": "m", "blob_id": kept}); err != nil {
		t.Fatal(err)
	}
	if err := s.C("photos").InsertOne(ctx, bson.M{"_id": "p", "files": bson.A{bson.M{"blob": nested}}}); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * SweepGrace)
	if _, err := s.C("blobs").UpdateMany(ctx, bson.M{"_id": bson.M{"$ne": fresh}}, bson.M{"$set": bson.M{"touched_at": old}}); err != nil {
		t.Fatal(err)
	}
	rep, err := s.SweepBlobs(ctx, SweepGrace)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Removed) != 1 || rep.Removed[0] != orphan {
		t.Fatalf("removed %v, want only the orphan", rep.Removed)
	}
	for _, id := range []string{kept, nested, fresh} {
		b, err := s.Blobs.Open(ctx, id)
		if err != nil {
			t.Fatalf("blob %s gone: %v", id, err)
		}
		b.Close()
	}
	if _, err := s.Blobs.Open(ctx, orphan); !errors.Is(err, ErrNoBlob) {
		t.Fatalf("orphan still there: %v", err)
	}
}

func TestPackKeepsEveryConcurrentChange(t *testing.T) {
	s := MustOpenTest(t)
	ctx := context.Background()
	type item struct {
		ID   string `bson:"id"`
		Name string `bson:"name"`
	}
	p := NewPack[item](s, "packs", 1000, func(x item) string { return x.ID })
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				if err := p.Put(ctx, "course/1", item{ID: fmt.Sprintf("%d-%d", g, i), Name: "学员"}); err != nil {
					t.Error(err)
				}
			}
		}(g)
	}
	wg.Wait()
	got, err := p.Get(ctx, "course/1")
	if err != nil || len(got) != 80 {
		t.Fatalf("%d items after 80 concurrent puts (%v)", len(got), err)
	}
	if err := p.Put(ctx, "course/1", item{ID: "0-0", Name: "改名"}); err != nil {
		t.Fatal(err)
	}
	if err := p.Remove(ctx, "course/1", "1-1", "1-2"); err != nil {
		t.Fatal(err)
	}
	got, _ = p.Get(ctx, "course/1")
	renamed := ""
	for _, x := range got {
		if x.ID == "0-0" {
			renamed = x.Name
		}
	}
	if len(got) != 78 || renamed != "改名" {
		t.Fatalf("after replace and remove: %d items, 0-0 named %q", len(got), renamed)
	}
	small := NewPack[item](s, "packs", 2, func(x item) string { return x.ID })
	if err := small.Put(ctx, "full", item{ID: "a"}, item{ID: "b"}, item{ID: "c"}); !errors.Is(err, ErrPackFull) {
		t.Fatalf("over the bound: %v", err)
	}
	if err := p.Set(ctx, "course/1", nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := p.Get(ctx, "course/1"); len(got) != 0 {
		t.Fatal("Set(nil) left items")
	}
}

func TestBatchSubscribersTakeManyAtOnce(t *testing.T) {
	s := MustOpenTest(t)
	ctx := context.Background()
	bus := s.Events()
	var mu sync.Mutex
	calls, seen, failed := 0, map[string]bool{}, false
	bus.SubscribeBatch("cert.issued", "followups", func(ctx context.Context, es []Event) error {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if !failed {
			failed = true
			return errors.New("first batch fails")
		}
		for _, e := range es {
			seen[e.Key] = true
		}
		return nil
	})
	var msgs []Message
	for i := 0; i < 150; i++ {
		msgs = append(msgs, Message{Key: fmt.Sprint(i), Payload: bson.M{"n": i}})
	}
	if err := bus.Publish(ctx, "cert.issued", msgs...); err != nil {
		t.Fatal(err)
	}
	bus.now = func() time.Time { return time.Now().Add(time.Hour) }
	bus.Start()
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		if err := bus.Wait(wctx); err != nil {
			t.Fatal(err)
		}
		if n, _ := bus.Pending(ctx); n == 0 {
			break
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 150 || calls > 3 {
		t.Fatalf("%d delivered in %d calls", len(seen), calls)
	}
}
