package certificates

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/backup"
	"nongxun/clock"
	"nongxun/events"
	"nongxun/store"
)

// TestSerialsSurviveARestore: issue 3, back up, issue 2 more and revoke
// the first, restore the backup. The restored data is what verification
// judges (the first is valid again, the later two unknown); the next
// certificate is numbered above every serial printed before the restore,
// never repeating one, and a counter wound back the way a restore would is
// overruled by the high-water mark.
func TestSerialsSurviveARestore(t *testing.T) {
	f := newFixture(t)
	c, ss, _ := f.course("农产品直播", 0.5, 3, 2)
	var early []string
	for i := 0; i < 3; i++ {
		tr := f.plainTrainee("学员", i%2)
		f.enrol(c, ss, []int{0, 1}, tr)
		early = append(early, tr.ID)
	}
	first := f.issueAll(c.ID)
	if len(first.Issued) != 3 {
		t.Fatalf("issued %v", first)
	}
	var dump bytes.Buffer
	if _, err := backup.Dump(f.Ctx, f.Store, &dump, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	// After the backup moment: two more, and the first revoked.
	var late []string
	for i := 0; i < 2; i++ {
		tr := f.plainTrainee("后来学员", 0)
		f.enrol(c, ss, []int{0, 1}, tr)
		late = append(late, tr.ID)
	}
	second, err := f.svc.Issue(f.Ctx, admin(f), c.ID, late)
	if err != nil || len(second.Issued) != 2 {
		t.Fatalf("second batch %v %v", second, err)
	}
	firstCert, _ := f.svc.cert(f.Ctx, first.Issued[0].ID)
	lateCert, _ := f.svc.cert(f.Ctx, second.Issued[1].ID)
	f.Do(f.Admin, "POST", "/api/v1/certificates/"+firstCert.ID+"/revoke", map[string]any{"reason": "冒名顶替"}).Want(t, 200)
	printed := map[string]bool{}
	for _, x := range append(first.Issued, second.Issued...) {
		printed[x.Serial] = true
	}

	if _, err := backup.Restore(f.Ctx, f.Store, bytes.NewReader(dump.Bytes())); err != nil {
		t.Fatal(err)
	}
	// Judged from the restored data, not from anything kept in memory.
	v := f.Do(nil, "GET", "/api/v1/verify/"+firstCert.Code, nil).Want(t, 200).JSON()
	if v["status"] != StatusValid {
		t.Fatalf("the certificate revoked after the backup moment is valid in the restored data: %v", v)
	}
	f.Do(nil, "GET", "/api/v1/verify/"+lateCert.Code, nil).Want(t, 404)
	f.Do(f.Admin, "GET", "/api/v1/certificates/"+lateCert.ID, nil).Want(t, 404)

	// Issue again, to a trainee enrolled after the restore.
	newcomer := f.plainTrainee("恢复后学员", 1)
	f.enrol(c, ss, []int{0, 1}, newcomer)
	third, err := f.svc.Issue(f.Ctx, admin(f), c.ID, []string{newcomer.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(third.Issued) == 0 {
		t.Fatalf("nothing issued after the restore: %+v", third)
	}
	max := second.Issued[len(second.Issued)-1].Serial
	for _, x := range third.Issued {
		if printed[x.Serial] || x.Serial <= max {
			t.Fatalf("after a restore a serial printed before was handed out again: %s (printed up to %s)", x.Serial, max)
		}
	}

	// A counter wound back (as a restore of an older backup would): the mark still rules.
	year := time.Now().In(clock.Shanghai).Year()
	if _, err := f.svc.counters.UpdateOne(f.Ctx, bson.M{"_id": serialCtr(year)}, bson.M{"$set": bson.M{"seq": int64(1)}}); err != nil {
		t.Fatal(err)
	}
	hw, _ := f.Store.HighWater(f.Ctx, highWaterKey(year))
	c2, ss2, _ := f.course("物流入门", 0.5, 1)
	tr := f.plainTrainee("新学员", 1)
	f.enrol(c2, ss2, []int{0}, tr)
	fourth := f.issueAll(c2.ID)
	if len(fourth.Issued) != 1 || fourth.Issued[0].Serial != FormatSerial(f.Config.CertPrefix, year, hw+1) {
		t.Fatalf("after the counter was wound back: %+v (mark %d)", fourth, hw)
	}
	_ = early
}

// TestIssuedAndRevokedEvents: issuance publishes CertificateIssued for
// every certificate and revocation CertificateRevoked with the trainee's
// other valid certificates; a handler that fails is retried until it
// succeeds (the old hook marked certificates delivered even when
// scheduling failed).
func TestIssuedAndRevokedEvents(t *testing.T) {
	f := newFixture(t)
	var mu sync.Mutex
	got := map[string]int{}
	failures := 0
	f.Store.Events().Subscribe(events.CertificateIssued, "test", func(_ context.Context, e store.Event) error {
		var p events.Certificate
		if err := e.Decode(&p); err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		if failures < 3 {
			failures++
			return errors.New("follow-up scheduling is down")
		}
		got[p.ID]++
		return nil
	})
	var revoked []events.Certificate
	f.Store.Events().Subscribe(events.CertificateRevoked, "test", func(_ context.Context, e store.Event) error {
		var p events.Certificate
		if err := e.Decode(&p); err != nil {
			return err
		}
		mu.Lock()
		revoked = append(revoked, p)
		mu.Unlock()
		return nil
	})
	f.Store.Events().Start()
	c, ss, _ := f.course("直播带货", 0.5, 3, 2)
	c2, ss2, _ := f.course("网店美工", 0.5, 3)
	tr := f.plainTrainee("学员", 0)
	f.enrol(c2, ss2, []int{0}, tr)
	f.issueAll(c2.ID)
	for i := 0; i < 4; i++ {
		x := f.plainTrainee("学员", i%3)
		f.enrol(c, ss, []int{0, 1}, x)
	}
	f.enrol(c, ss, []int{0, 1}, tr)
	res := f.issueAll(c.ID)
	if len(res.Issued) != 5 {
		t.Fatalf("issued %d", len(res.Issued))
	}
	ctx, cancel := context.WithTimeout(f.Ctx, 60*time.Second)
	defer cancel()
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n == 6 || ctx.Err() != nil {
			break
		}
		_ = f.Store.Events().Wait(ctx)
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	if len(got) != 6 || failures != 3 {
		t.Fatalf("delivered %d of 6 (after %d failures)", len(got), failures)
	}
	mu.Unlock()
	var mine string
	for _, x := range res.Issued {
		if x.TraineeID == tr.ID {
			mine = x.ID
		}
	}
	f.Do(f.Admin, "POST", "/api/v1/certificates/"+mine+"/revoke", map[string]any{"reason": "资料不实"}).Want(t, 200)
	if err := f.Store.Events().Wait(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if len(revoked) != 1 || revoked[0].ID != mine || revoked[0].OthersValid != 1 {
		t.Fatalf("revocation event %+v", revoked)
	}
}

// TestTraineesMerged: the dropped trainee's certificates move to the kept
// one; where both hold one for a course, the earlier serial stays valid
// and the other is revoked as 重复登记合并; a second delivery changes nothing.
func TestTraineesMerged(t *testing.T) {
	f := newFixture(t)
	a, sa, _ := f.course("网店开设", 0.5, 3)
	b, sb, _ := f.course("品牌与质量", 0.5, 3)
	kept := f.plainTrainee("张三", 0)
	dropped := f.plainTrainee("张三", 0)
	f.enrol(a, sa, []int{0}, dropped)
	f.enrol(b, sb, []int{0}, dropped)
	f.issueAll(a.ID)
	early := f.issueAll(b.ID).Issued[0] // the dropped record's, earlier
	f.enrol(b, sb, []int{0}, kept)
	later := f.issueAll(b.ID).Issued[0]
	before, _ := f.svc.CountByTownship(f.Ctx)

	raw, _ := bson.Marshal(events.Merged{Kept: kept.ID, Dropped: dropped.ID, By: f.Admin.User.ID})
	ev := store.Event{ID: "x", Topic: events.TraineesMerged, Key: dropped.ID, Payload: raw}
	for i := 0; i < 2; i++ {
		if err := f.svc.OnTraineesMerged(f.Ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	mine, err := f.svc.traineeCerts(f.Ctx, kept.ID)
	if err != nil {
		t.Fatal(err)
	}
	bySerial := map[string]Certificate{}
	for _, c := range mine {
		bySerial[c.Serial] = c
	}
	if len(mine) != 3 {
		t.Fatalf("the kept trainee holds %d certificates: %+v", len(mine), mine)
	}
	e, l := bySerial[early.Serial], bySerial[later.Serial]
	if e.Status != StatusValid || e.ID != certID(b.ID, kept.ID) || e.TraineeID != kept.ID {
		t.Fatalf("the earlier serial should stay valid under the kept trainee: %+v", e)
	}
	if l.Status != StatusRevoked || l.RevokedReason != mergeReason {
		t.Fatalf("the later one should be revoked: %+v", l)
	}
	moved, err := f.svc.cert(f.Ctx, certID(a.ID, kept.ID))
	if err != nil || moved.Status != StatusValid || moved.MergedFrom != dropped.ID {
		t.Fatalf("course A's certificate re-keyed: %+v %v", moved, err)
	}
	// Verification follows the moves; counters lost exactly the one revoked.
	v := f.Do(nil, "GET", "/api/v1/verify/"+e.Code, nil).Want(t, 200).JSON()
	if v["status"] != StatusValid || v["serial"] != early.Serial {
		t.Fatalf("verify %v", v)
	}
	after, _ := f.svc.CountByTownship(f.Ctx)
	if after[""] != before[""]-1 {
		t.Fatalf("valid certificates %d → %d", before[""], after[""])
	}
	left, _ := f.svc.traineeCerts(f.Ctx, dropped.ID)
	if len(left) != 0 {
		t.Fatalf("the dropped trainee still holds %+v", left)
	}
	st, err := f.svc.Standings(f.Ctx, admin(f), b.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range st {
		if x.TraineeID == kept.ID && x.Serial != early.Serial {
			t.Fatalf("standing of the kept trainee: %+v", x)
		}
	}
	if n, _ := f.svc.moves.Count(f.Ctx, bson.M{}); n != 0 {
		t.Fatalf("%d moves left", n)
	}
	if !strings.HasPrefix(early.Serial, f.Config.CertPrefix) {
		t.Fatal(early.Serial)
	}
}
