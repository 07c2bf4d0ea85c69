package backup_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"sort"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/backup"
	"nongxun/server"
	"nongxun/store"
	"nongxun/testkit"
)

func TestMain(m *testing.M) { store.RunTests(m) }

// snapshot reads every collection as sorted extended JSON.
func snapshot(t *testing.T, st *store.Store) map[string][]string {
	t.Helper()
	ctx := context.Background()
	names, err := st.Database().ListCollectionNames(ctx, bson.M{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, n := range names {
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

func equal(a, b map[string][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w := b[k]
		if len(v) != len(w) {
			return false
		}
		for i := range v {
			if v[i] != w[i] {
				return false
			}
		}
	}
	return true
}

func TestRoundTrip(t *testing.T) {
	e := testkit.New(t)
	e.NewCaller(server.RoleOfficer, e.Township(3).ID)
	file := make([]byte, 200_000)
	_, _ = rand.Read(file)
	info, err := e.Store.Blobs.Put(e.Ctx, bytes.NewReader(file), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Store.C("counters").Inc(e.Ctx, "progress", map[string]int64{"person_times": 7, "by_month.2019-05": 7}); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, e.Store)

	var archive bytes.Buffer
	m, err := backup.Dump(e.Ctx, e.Store, &archive)
	if err != nil {
		t.Fatal(err)
	}
	if m.Blobs != 1 || m.Collections["regions"] < 400 || m.Collections["users"] < 2 {
		t.Fatalf("manifest = %+v", m)
	}

	// Change things, then restore: everything is as it was.
	if _, err := e.Store.C("regions").DeleteMany(e.Ctx, bson.M{"level": "village"}); err != nil {
		t.Fatal(err)
	}
	if err := e.Store.C("extra").InsertOne(e.Ctx, bson.M{"_id": "x"}); err != nil {
		t.Fatal(err)
	}
	if _, err := backup.Restore(e.Ctx, e.Store, bytes.NewReader(archive.Bytes())); err != nil {
		t.Fatal(err)
	}
	if after := snapshot(t, e.Store); !equal(before, after) {
		t.Fatal("restored database differs from the dumped one")
	}

	// Onto another, empty database with its own blob store.
	other := store.MustOpenTest(t)
	if _, err := backup.Restore(e.Ctx, other, bytes.NewReader(archive.Bytes())); err != nil {
		t.Fatal(err)
	}
	if !equal(before, snapshot(t, other)) {
		t.Fatal("restore onto a fresh database differs")
	}
	b, err := other.Blobs.Open(e.Ctx, info.ID)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(b)
	b.Close()
	if !bytes.Equal(got, file) {
		t.Fatal("blob content differs after restore")
	}
	// Unique indexes come back too.
	if err := other.C("users").InsertOne(e.Ctx, bson.M{"_id": store.NewID(), "username": e.Admin.User.Username}); !store.IsDup(err) {
		t.Fatalf("unique username index missing after restore: %v", err)
	}
}

func TestDamagedArchiveChangesNothing(t *testing.T) {
	e := testkit.New(t)
	before := snapshot(t, e.Store)
	var archive bytes.Buffer
	if _, err := backup.Dump(e.Ctx, e.Store, &archive); err != nil {
		t.Fatal(err)
	}
	cut := archive.Bytes()[:archive.Len()/2]
	for name, bad := range map[string][]byte{"truncated": cut, "not gzip": []byte("hello"), "empty": nil} {
		if _, err := backup.Restore(e.Ctx, e.Store, bytes.NewReader(bad)); err == nil {
			t.Fatalf("%s archive accepted", name)
		}
	}
	if !equal(before, snapshot(t, e.Store)) {
		t.Fatal("a refused restore changed the database")
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
	e.Upload(e.Admin, "/api/v1/admin/restore?confirm=replace-everything", "b.tar.gz", []byte("junk"), nil).Want(t, 400)
	e.Upload(e.Admin, "/api/v1/admin/restore?confirm=replace-everything", "b.tar.gz", r.Body, nil).Want(t, 200)
}
