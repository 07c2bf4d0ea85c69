package backup_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/backup"
	"nongxun/server"
	"nongxun/store"
	"nongxun/testkit"
)

func TestMain(m *testing.M) { store.RunTests(m) }

// snapshot reads every collection a backup carries as sorted extended JSON.
func snapshot(t *testing.T, st *store.Store) map[string][]string {
	t.Helper()
	ctx := context.Background()
	names, err := st.Database().ListCollectionNames(ctx, bson.M{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, n := range names {
		if n == "blobs" { // blob metadata is rebuilt by a restore
			continue
		}
		var docs []bson.Raw
		if err := st.C(n).Find(ctx, bson.M{}, &docs); err != nil {
			t.Fatal(err)
		}
		var rows []string
		for _, d := range docs {
			j, err := bson.MarshalExtJSON(d, true, false)
			if err != nil {
				t.Fatal(err)
			}
			rows = append(rows, string(j))
		}
		sort.Strings(rows)
		out[n] = rows
	}
	return out
}

func sameData(t *testing.T, a, b map[string][]string) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%d collections, want %d", len(b), len(a))
	}
	for k, v := range a {
		if strings.Join(v, "\n") != strings.Join(b[k], "\n") {
			t.Fatalf("collection %s differs (%d documents, want %d)", k, len(b[k]), len(v))
		}
	}
}

func dump(t *testing.T, st *store.Store) []byte {
	t.Helper()
	var archive bytes.Buffer
	if _, err := backup.Dump(context.Background(), st, &archive, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	return archive.Bytes()
}

// populate gives the database a few collections, parcels among them, and a file.
func populate(t *testing.T, e *testkit.Env) (blobID string, file []byte) {
	t.Helper()
	e.NewCaller(server.RoleOfficer, e.Township(3).ID)
	file = make([]byte, 200_000)
	_, _ = rand.Read(file)
	info, err := e.Store.Blobs.Put(e.Ctx, bytes.NewReader(file), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Store.C("counters").Inc(e.Ctx, "progress", map[string]int64{"person_times": 7, "by_month.2019-05": 7}); err != nil {
		t.Fatal(err)
	}
	var parcels []any
	for i := 0; i < 1500; i++ {
		parcels = append(parcels, bson.M{"_id": fmt.Sprintf("YT%010d", i), "direction": "up", "state": "delivered"})
	}
	if _, err := e.Store.C("parcels").InsertMany(e.Ctx, parcels); err != nil {
		t.Fatal(err)
	}
	if err := e.Store.C("materials").InsertOne(e.Ctx, bson.M{"_id": "m1", "blob_id": info.ID}); err != nil {
		t.Fatal(err)
	}
	return info.ID, file
}

func TestRoundTrip(t *testing.T) {
	e := testkit.New(t)
	blobID, file := populate(t, e)
	before := snapshot(t, e.Store)
	archive := dump(t, e.Store)

	// Change things, then restore: everything is as it was.
	if _, err := e.Store.C("regions").DeleteMany(e.Ctx, bson.M{"level": "village"}); err != nil {
		t.Fatal(err)
	}
	if err := e.Store.C("extra").InsertOne(e.Ctx, bson.M{"_id": "x"}); err != nil {
		t.Fatal(err)
	}
	m, err := backup.Restore(e.Ctx, e.Store, bytes.NewReader(archive))
	if err != nil {
		t.Fatal(err)
	}
	if m.Format != backup.Format || m.Collections["parcels"] != 1500 || m.Blobs != 1 {
		t.Fatalf("manifest %+v", m)
	}
	sameData(t, before, snapshot(t, e.Store))
	{
		// Empty on MongoDB, which indexes _id itself.
		plans, err := e.Store.PathIndexPlans(e.Ctx)
		if err != nil {
			t.Fatal(err)
		}
		for n, p := range plans {
			if !strings.Contains(p, "SEARCH") {
				t.Errorf("restored collection %s: _id lookup %q", n, p)
			}
		}
	}

	// Onto another, empty database with its own blob store.
	other := store.MustOpenTest(t)
	if _, err := backup.Restore(e.Ctx, other, bytes.NewReader(archive)); err != nil {
		t.Fatal(err)
	}
	sameData(t, before, snapshot(t, other))
	b, err := other.Blobs.Open(e.Ctx, blobID)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(b)
	b.Close()
	if !bytes.Equal(got, file) {
		t.Fatal("blob content differs after restore")
	}
	// Unique indexes come back too.
	var village bson.M
	if err := other.C("regions").FindOne(e.Ctx, bson.M{"level": "village"}, &village); err != nil {
		t.Fatal(err)
	}
	if err := other.C("regions").InsertOne(e.Ctx, bson.M{"_id": store.NewID(), "parent_id": village["parent_id"], "name": village["name"], "level": "village"}); !store.IsDup(err) {
		t.Fatalf("unique region name index missing after restore: %v", err)
	}
	// The restored file is referenced, so the sweep keeps it.
	other.BlobRef("materials", "blob_id")
	rep, err := other.SweepBlobs(e.Ctx, 0)
	if err != nil || len(rep.Removed) != 0 {
		t.Fatalf("sweep after restore removed %v (%v)", rep, err)
	}
}

// entry is one tar entry of a hand-made archive.
type entry struct {
	name string
	body []byte
	size int64 // when >0, the header's size (a lie, for hostile archives)
}

func archiveOf(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		size := int64(len(e.body))
		if e.size > 0 {
			size = e.size
		}
		if err := tw.WriteHeader(&tar.Header{Name: e.name, Mode: 0o600, Size: size}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(e.body); err != nil && e.size == 0 {
			t.Fatal(err)
		}
	}
	_ = tw.Close()
	_ = gz.Close()
	return buf.Bytes()
}

func docs(t *testing.T, list ...bson.M) []byte {
	t.Helper()
	var out []byte
	for _, d := range list {
		b, err := bson.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b...)
	}
	return out
}

func manifestOf(t *testing.T, m backup.Manifest) entry {
	t.Helper()
	b, _ := json.Marshal(m)
	return entry{name: "manifest.json", body: b}
}

func TestRefusedRestoresChangeNothing(t *testing.T) {
	e := testkit.New(t)
	populate(t, e)
	before := snapshot(t, e.Store)
	good := dump(t, e.Store)
	ok := docs(t, bson.M{"_id": "a"}, bson.M{"_id": "b"})
	dup := docs(t, bson.M{"_id": "a"}, bson.M{"_id": "a"})
	m2 := func(sizes map[string]int64, counts map[string]int64, blobs int, blobBytes int64) entry {
		return manifestOf(t, backup.Manifest{Format: 2, Collections: counts, Sizes: sizes, Blobs: blobs, BlobBytes: blobBytes})
	}
	huge := make([]byte, 4)
	huge[0], huge[1], huge[2], huge[3] = 0, 0, 0, 0x10 // a document claiming 256 MiB
	cases := map[string][]byte{
		"truncated": good[:len(good)/2],
		"not gzip":  []byte("hello"),
		"empty":     nil,
		// Fails late: every collection but the last loads; the last holds a duplicate _id.
		"duplicate _id in the last collection": archiveOf(t,
			m2(map[string]int64{"aaa": int64(len(ok)), "zzz": int64(len(dup))}, map[string]int64{"aaa": 2, "zzz": 2}, 0, 0),
			entry{name: "collections/aaa.bson", body: ok}, entry{name: "collections/zzz.bson", body: dup}),
		"a file whose content does not match its name": archiveOf(t,
			m2(map[string]int64{"aaa": int64(len(ok))}, map[string]int64{"aaa": 2}, 1, 5),
			entry{name: "collections/aaa.bson", body: ok},
			entry{name: "blobs/" + strings.Repeat("ab", 32), body: []byte("hello")}),
		"fewer documents than the manifest says": archiveOf(t,
			m2(map[string]int64{"aaa": int64(len(ok))}, map[string]int64{"aaa": 3}, 0, 0),
			entry{name: "collections/aaa.bson", body: ok}),
		"an entry larger than the manifest declares": archiveOf(t,
			m2(map[string]int64{"aaa": 10}, map[string]int64{"aaa": 2}, 0, 0),
			entry{name: "collections/aaa.bson", body: ok}),
		"a document over 16 MiB": archiveOf(t,
			m2(map[string]int64{"aaa": 300 << 20}, map[string]int64{"aaa": 1}, 0, 0),
			entry{name: "collections/aaa.bson", body: huge, size: 300 << 20}),
		"a path outside the archive's folders": archiveOf(t,
			m2(map[string]int64{}, map[string]int64{}, 0, 0), entry{name: "../../etc/passwd", body: []byte("x")}),
		"an engine collection": archiveOf(t,
			m2(map[string]int64{"system.users": int64(len(ok))}, map[string]int64{"system.users": 2}, 0, 0),
			entry{name: "collections/system.users.bson", body: ok}),
		"no manifest": archiveOf(t, entry{name: "collections/aaa.bson", body: ok}),
	}
	for name, bad := range cases {
		_, err := backup.Restore(e.Ctx, e.Store, bytes.NewReader(bad))
		var ref *backup.Refusal
		if err == nil || !errors.As(err, &ref) {
			t.Fatalf("%s: restore returned %v, want a refusal", name, err)
		}
		if !hasHan(ref.Message) || strings.Contains(ref.Message, "bson") || strings.Contains(ref.Message, "E11000") {
			t.Errorf("%s: message %q is not in the admin's terms", name, ref.Message)
		}
		sameData(t, before, snapshot(t, e.Store))
	}
	// The staging databases of the refused restores are gone.
	names, err := e.Store.Client.ListDatabaseNames(e.Ctx, bson.M{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if strings.HasPrefix(n, e.Store.Database().Name()+"_r") {
			t.Errorf("staging database %s left behind", n)
		}
	}
}

func TestRestoreMemoryStaysBounded(t *testing.T) {
	e := testkit.New(t)
	// 48 documents of 2 MiB of the same character: 96 MiB that gzip squeezes to
	// about 100 KiB. The old restore held them all in memory.
	const n, size = 48, 2 << 20
	pad := strings.Repeat("农", size/3)
	padLen := len(pad)
	var body []byte
	for i := 0; i < n; i++ {
		body = append(body, docs(t, bson.M{"_id": fmt.Sprint(i), "pad": pad})...)
	}
	archive := archiveOf(t, manifestOf(t, backup.Manifest{Format: 2, Collections: map[string]int64{"big": n}, Sizes: map[string]int64{"big": int64(len(body))}}),
		entry{name: "collections/big.bson", body: body})
	body, pad = nil, ""
	t.Logf("archive: %d KiB for %d MiB of documents", len(archive)/1024, n*size>>20)
	// Collect eagerly, so the peak measures what is held, not garbage.
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
		}
	}()
	_, err := backup.Restore(e.Ctx, e.Store, bytes.NewReader(archive))
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	growth := int64(peak.Load()) - int64(base.HeapInuse)
	t.Logf("heap growth during the restore: %d MiB", growth>>20)
	// The engine encodes each inserted document a few times over; the
	// restore itself holds one batch (≤ 4 MiB + one document).
	if growth > 64<<20 {
		t.Fatalf("heap grew %d MiB restoring %d MiB of documents: not streamed", growth>>20, n*size>>20)
	}
	// Each document by _id (a count decodes all 96 MiB in one call, longer
	// than the store's per-call deadline under the race detector).
	for i := 0; i < n; i++ {
		var d struct {
			Pad string `bson:"pad"`
		}
		if err := e.Store.C("big").Get(e.Ctx, fmt.Sprint(i), &d); err != nil || len(d.Pad) != padLen {
			t.Fatalf("document %d after the restore: %d bytes, want %d (%v)", i, len(d.Pad), padLen, err)
		}
	}
}

func TestFormatOneArchivesStillRestore(t *testing.T) {
	e := testkit.New(t)
	ok := docs(t, bson.M{"_id": "a", "x": 1})
	meta := docs(t, bson.M{"_id": strings.Repeat("cd", 32), "size": 3})
	b, _ := json.Marshal(map[string]any{"format": 1, "collections": map[string]int64{"things": 1, "blobs": 1}, "blobs": 0, "indexes": map[string]any{}})
	archive := archiveOf(t, entry{name: "collections/blobs.bson", body: meta}, entry{name: "collections/things.bson", body: ok}, entry{name: "manifest.json", body: b})
	if _, err := backup.Restore(e.Ctx, e.Store, bytes.NewReader(archive)); err != nil {
		t.Fatal(err)
	}
	var x bson.M
	if err := e.Store.C("things").Get(e.Ctx, "a", &x); err != nil {
		t.Fatal(err)
	}
}

func TestEndpoints(t *testing.T) {
	e := testkit.New(t)
	backup.New(e.Store, t.TempDir(), e.Audit).Register(e.API)
	e.Do(e.NewCaller(server.RoleAuditor, ""), "GET", "/api/v1/admin/backup", nil).Want(t, 403)
	r := e.Do(e.Admin, "GET", "/api/v1/admin/backup", nil).Want(t, 200)
	if r.Header.Get("Content-Type") != "application/gzip" || len(r.Body) < 1000 {
		t.Fatalf("backup: %v, %d bytes", r.Header, len(r.Body))
	}
	e.Upload(e.Admin, "/api/v1/admin/restore", "b.tar.gz", r.Body, nil).Want(t, 400)
	bad := e.Upload(e.Admin, "/api/v1/admin/restore?confirm=replace-everything", "b.tar.gz", []byte("junk"), nil).Want(t, 400)
	if msg := bad.JSON()["error"].(map[string]any)["message"].(string); !strings.Contains(msg, "现有数据没有改变") || strings.Contains(msg, "gzip: ") {
		t.Fatalf("restore error %q: want Chinese, without the reader's text", msg)
	}
	e.Upload(e.Admin, "/api/v1/admin/restore?confirm=replace-everything", "b.tar.gz", r.Body, nil).Want(t, 200)
	e.Do(e.NewCaller(server.RoleAuditor, ""), "POST", "/api/v1/admin/blobs/sweep", nil).Want(t, 403)
	e.Do(e.Admin, "POST", "/api/v1/admin/blobs/sweep", nil).Want(t, 409) // nothing declared its files
	e.Store.BlobRef("materials", "blob_id")
	e.Do(e.Admin, "POST", "/api/v1/admin/blobs/sweep", nil).Want(t, 200)
}

func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}
