package certificates

import (
	"context"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// TestHooksDeliveredInBackgroundAndAfterACrash: with StartHooks, issuing
// answers without waiting for OnIssued, every certificate reaches OnIssued
// once and is marked; one left unmarked (a crash before the mark) is handed
// on again by the next start.
func TestHooksDeliveredInBackgroundAndAfterACrash(t *testing.T) {
	f := newFixture(t)
	var mu sync.Mutex
	got := map[string]int{}
	f.svc.OnIssued = func(_ context.Context, c Certificate) {
		mu.Lock()
		got[c.ID]++
		mu.Unlock()
	}
	if err := f.svc.StartHooks(f.Ctx); err != nil {
		t.Fatal(err)
	}
	c, ss, _ := f.course("直播带货", 0.5, 3, 2)
	var ids []string
	for i := 0; i < 30; i++ {
		tr := f.plainTrainee("学员", i%3)
		f.enrol(c, ss, []int{0, 1}, tr)
		ids = append(ids, tr.ID)
	}
	res := f.issueAll(c.ID)
	if len(res.Issued) != 30 {
		t.Fatalf("issued %d", len(res.Issued))
	}
	ctx, cancel := context.WithTimeout(f.Ctx, 30*time.Second)
	defer cancel()
	f.svc.WaitHooks(ctx)
	mu.Lock()
	if len(got) != 30 {
		t.Fatalf("OnIssued saw %d certificates, want 30", len(got))
	}
	for id, n := range got {
		if n != 1 {
			t.Fatalf("certificate %s delivered %d times", id, n)
		}
	}
	mu.Unlock()
	if n, _ := f.svc.certs.Count(f.Ctx, bson.M{"hooked": true}); n != 30 {
		t.Fatalf("%d certificates marked delivered, want 30", n)
	}

	// A crash between OnIssued and the mark: the next start delivers again.
	if _, err := f.svc.certs.UpdateOne(f.Ctx, bson.M{"_id": res.Issued[0].ID}, bson.M{"$unset": bson.M{"hooked": ""}}); err != nil {
		t.Fatal(err)
	}
	again, err := New(f.Ctx, f.svc.d)
	if err != nil {
		t.Fatal(err)
	}
	redelivered := make(chan string, 5)
	again.OnIssued = func(_ context.Context, c Certificate) { redelivered <- c.ID }
	if err := again.StartHooks(f.Ctx); err != nil {
		t.Fatal(err)
	}
	again.WaitHooks(ctx)
	close(redelivered)
	var list []string
	for id := range redelivered {
		list = append(list, id)
	}
	if len(list) != 1 || list[0] != res.Issued[0].ID {
		t.Fatalf("after a restart, redelivered %v, want just %s", list, res.Issued[0].ID)
	}
}
