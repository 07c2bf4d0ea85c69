// Package backup dumps and restores the whole database and the blob store
// through the driver. Collection names and document shapes are the same on
// both engines, so a dump from the embedded engine restores onto MongoDB and
// back. The archive is a gzip-compressed tar:
//
//	manifest.json                 first: what is inside, with every size
//	collections/<name>.bson       the collection's documents, concatenated BSON
//	blobs/<sha256>                each stored file
//
// A restore never touches the live data until the whole archive has been
// read into a staging database and checked (docs/design.md, "Restore").
package backup

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/store"
)

// Format is the archive format Dump writes: 2 has the manifest first, with
// the byte size of every collection; 1 (read still) had it last.
const Format = 2

// maxDoc is the largest document MongoDB stores; a longer one in an archive
// is refused before it is read.
const maxDoc = 16 << 20

// Manifest describes an archive.
type Manifest struct {
	Format      int                `json:"format"`
	CreatedAt   time.Time          `json:"created_at"`
	Collections map[string]int64   `json:"collections"`     // name → documents
	Sizes       map[string]int64   `json:"sizes,omitempty"` // name → bytes of its entry
	Blobs       int                `json:"blobs"`
	BlobBytes   int64              `json:"blob_bytes,omitempty"`
	Indexes     map[string][]Index `json:"indexes"`
}

// Index is an index to declare again after a restore.
type Index struct {
	Keys   []IndexKey `json:"keys"`
	Unique bool       `json:"unique,omitempty"`
}

// IndexKey is one field of an index and its direction (1 or -1).
type IndexKey struct {
	Field string `json:"field"`
	Dir   int32  `json:"dir"`
}

func (ix Index) keys() bson.D {
	d := bson.D{}
	for _, k := range ix.Keys {
		d = append(d, bson.E{Key: k.Field, Value: k.Dir})
	}
	return d
}

// Refusal is a restore refused for something in the archive: Message is
// for the person who uploaded it (Chinese, no database internals); Err
// goes to the log.
type Refusal struct {
	Message string
	Err     error
}

func (r *Refusal) Error() string {
	if r.Err != nil {
		return r.Message + ": " + r.Err.Error()
	}
	return r.Message
}

func (r *Refusal) Unwrap() error { return r.Err }

func refuse(msg string, err error) error { return &Refusal{Message: msg, Err: err} }

func indexes(ctx context.Context, st *store.Store, name string) ([]Index, error) {
	cur, err := st.C(name).Raw().Indexes().List(ctx)
	if err != nil {
		return nil, err
	}
	defer cur.Close(ctx)
	var out []Index
	for cur.Next(ctx) {
		var spec struct {
			Name   string `bson:"name"`
			Key    bson.D `bson:"key"`
			Unique bool   `bson:"unique"`
		}
		if err := cur.Decode(&spec); err != nil {
			return nil, err
		}
		if spec.Name == "_id_" {
			continue
		}
		ix := Index{Unique: spec.Unique}
		for _, e := range spec.Key {
			dir := int32(1)
			if store.Int64(e.Value) < 0 {
				dir = -1
			}
			ix.Keys = append(ix.Keys, IndexKey{Field: e.Key, Dir: dir})
		}
		out = append(out, ix)
	}
	return out, cur.Err()
}

// skipped are collections a backup leaves out: the engine's own, and the
// blob metadata, which each engine keeps in its own shape (GridFS file ids
// on MongoDB) and which a restore rebuilds as it puts the files back.
func skipped(name string) bool {
	return strings.HasPrefix(name, "system.") || strings.HasPrefix(name, "fs.") || name == "blobs"
}

// validName guards the collection names an archive may bring.
var validName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,99}$`)

// collections lists the database's collections a backup carries, sorted.
func collections(ctx context.Context, st *store.Store) ([]string, error) {
	names, err := st.Database().ListCollectionNames(ctx, bson.M{})
	if err != nil {
		return nil, err
	}
	out := names[:0]
	for _, n := range names {
		if !skipped(n) {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out, nil
}

// Dump writes the archive to w. The documents are copied to spool files in
// spoolDir holding the write lane (one consistent moment, a single pass);
// the archive is then written from the spool and the blob files without it,
// so writers wait only for the copy.
func Dump(ctx context.Context, st *store.Store, w io.Writer, spoolDir string) (*Manifest, error) {
	if err := os.MkdirAll(spoolDir, 0o700); err != nil {
		return nil, err
	}
	spool, err := os.MkdirTemp(spoolDir, "dump-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(spool)
	m := &Manifest{Format: Format, CreatedAt: time.Now().UTC(), Collections: map[string]int64{}, Sizes: map[string]int64{}, Indexes: map[string][]Index{}}
	var blobs []store.BlobInfo
	err = st.WithWritesHeld(ctx, func(ctx context.Context) error {
		names, err := collections(ctx, st)
		if err != nil {
			return err
		}
		for _, name := range names {
			n, size, err := spoolCollection(ctx, st, name, filepath.Join(spool, name))
			if err != nil {
				return err
			}
			m.Collections[name], m.Sizes[name] = n, size
			if m.Indexes[name], err = indexes(ctx, st, name); err != nil {
				return err
			}
		}
		return st.C("blobs").Find(ctx, bson.M{}, &blobs)
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(blobs, func(i, j int) bool { return blobs[i].ID < blobs[j].ID })
	for _, b := range blobs {
		m.Blobs++
		m.BlobBytes += b.Size
	}
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	mj, _ := json.MarshalIndent(m, "", "  ")
	if err := tw.WriteHeader(&tar.Header{Name: "manifest.json", Mode: 0o600, Size: int64(len(mj)), ModTime: m.CreatedAt}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(mj); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(m.Collections))
	for n := range m.Collections {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := copyFile(tw, "collections/"+name+".bson", filepath.Join(spool, name), m.Sizes[name], m.CreatedAt); err != nil {
			return nil, err
		}
	}
	for _, info := range blobs {
		b, err := st.Blobs.Open(ctx, info.ID)
		if err != nil {
			return nil, fmt.Errorf("backup: file %s: %w", info.ID, err)
		}
		if b.Size() != info.Size {
			b.Close()
			return nil, fmt.Errorf("backup: file %s has %d bytes, its record says %d", info.ID, b.Size(), info.Size)
		}
		err = tw.WriteHeader(&tar.Header{Name: "blobs/" + info.ID, Mode: 0o600, Size: b.Size(), ModTime: m.CreatedAt})
		if err == nil {
			_, err = io.Copy(tw, b)
		}
		b.Close()
		if err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return m, gz.Close()
}

// spoolCollection writes a collection's documents, concatenated, to path.
func spoolCollection(ctx context.Context, st *store.Store, name, path string) (int64, int64, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	cur, err := st.C(name).Cursor(ctx, bson.M{})
	if err != nil {
		return 0, 0, err
	}
	defer cur.Close(ctx)
	var n, size int64
	for cur.Next(ctx) {
		if _, err := f.Write(cur.Current); err != nil {
			return 0, 0, err
		}
		n++
		size += int64(len(cur.Current))
	}
	if err := cur.Err(); err != nil {
		return 0, 0, err
	}
	return n, size, f.Close()
}

func copyFile(tw *tar.Writer, name, path string, size int64, at time.Time) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: size, ModTime: at}); err != nil {
		return err
	}
	n, err := io.Copy(tw, f)
	if err == nil && n != size {
		err = fmt.Errorf("backup: spool of %s has %d bytes, want %d", name, n, size)
	}
	return err
}

// Restore replaces the whole database with the archive read from r. The
// archive is streamed into a staging database (at most one batch of
// documents in memory), checked against its manifest (documents, sizes,
// files, indexes), and only then made live in one step; a restore refused
// or failing at any point leaves the live data exactly as it was. The
// restored database's caches start empty.
func Restore(ctx context.Context, st *store.Store, r io.Reader) (*Manifest, error) {
	staging, err := st.Staging(ctx)
	if err != nil {
		return nil, err
	}
	m, err := load(ctx, staging, r)
	if err != nil {
		if derr := st.Discard(context.WithoutCancel(ctx), staging); derr != nil {
			st.Log().Error("dropping the staging database of a refused restore", "err", derr.Error())
		}
		return nil, err
	}
	if err := st.Promote(ctx, staging); err != nil {
		if derr := st.Discard(context.WithoutCancel(ctx), staging); derr != nil {
			st.Log().Error("dropping the staging database of a failed restore", "err", derr.Error())
		}
		return nil, err
	}
	return m, nil
}

// batchBytes and batchDocs bound one insert of a restore (and so its memory).
const (
	batchBytes = 4 << 20
	batchDocs  = 1000
)

// load reads the archive into the staging store and checks it.
func load(ctx context.Context, staging *store.Store, r io.Reader) (*Manifest, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, refuse("不是 nongxun 的备份文件（应为 .tar.gz）", err)
	}
	tr := tar.NewReader(gz)
	var m *Manifest
	got := map[string]int64{}
	blobs, first := 0, true
	var blobBytes int64
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, refuse("备份文件已损坏或不完整", err)
		}
		isFirst := first
		first = false
		switch {
		case h.Name == "manifest.json":
			if m != nil {
				return nil, refuse("备份文件有两份清单", nil)
			}
			m = &Manifest{}
			if err := json.NewDecoder(io.LimitReader(tr, 4<<20)).Decode(m); err != nil {
				return nil, refuse("备份清单已损坏", err)
			}
			if m.Format < 1 || m.Format > Format {
				return nil, refuse(fmt.Sprintf("备份格式 %d 不受支持", m.Format), nil)
			}
			if isFirst && m.Format < 2 {
				return nil, refuse("备份清单与格式不符", nil)
			}
		case strings.HasPrefix(h.Name, "collections/") && strings.HasSuffix(h.Name, ".bson"):
			name := strings.TrimSuffix(strings.TrimPrefix(h.Name, "collections/"), ".bson")
			if name == "blobs" && (m == nil || m.Format < 2) {
				continue // format 1 carried the engine's blob metadata: rebuilt from the files
			}
			if !validName.MatchString(name) || skipped(name) {
				return nil, refuse("备份中有无效的集合名："+name, nil)
			}
			if _, dup := got[name]; dup {
				return nil, refuse("备份中集合 "+name+" 出现两次", nil)
			}
			if m != nil && m.Format >= 2 {
				want, ok := m.Sizes[name]
				if !ok || h.Size != want {
					return nil, refuse("备份中集合 "+name+" 的大小与清单不符", nil)
				}
			}
			n, err := loadCollection(ctx, staging, name, tr, h.Size)
			if err != nil {
				return nil, err
			}
			got[name] = n
		case strings.HasPrefix(h.Name, "blobs/"):
			id := strings.TrimPrefix(h.Name, "blobs/")
			if m != nil && m.Format >= 2 && blobBytes+h.Size > m.BlobBytes {
				return nil, refuse("备份中的文件超出清单所列大小", nil)
			}
			info, err := staging.Blobs.Put(ctx, tr, max(h.Size, 1))
			if err != nil {
				return nil, refuse("备份中的文件 "+id+" 无法恢复", err)
			}
			if info.ID != id {
				return nil, refuse("备份中的文件 "+id+" 内容与名称不符（文件已损坏）", nil)
			}
			blobs++
			blobBytes += h.Size
		default:
			return nil, refuse("备份中有无法识别的内容："+h.Name, nil)
		}
	}
	if m == nil {
		return nil, refuse("备份文件缺少清单", nil)
	}
	for name, n := range m.Collections {
		if name == "blobs" && m.Format < 2 {
			continue
		}
		if got[name] != n {
			return nil, refuse(fmt.Sprintf("备份不完整：集合 %s 有 %d 条记录，清单写的是 %d 条", name, got[name], n), nil)
		}
	}
	for name := range got {
		if _, ok := m.Collections[name]; !ok {
			return nil, refuse("备份中的集合 "+name+" 不在清单里", nil)
		}
	}
	if blobs != m.Blobs {
		return nil, refuse(fmt.Sprintf("备份不完整：有 %d 个文件，清单写的是 %d 个", blobs, m.Blobs), nil)
	}
	for name, list := range m.Indexes {
		if name == "blobs" || skipped(name) {
			continue
		}
		if _, ok := m.Collections[name]; !ok {
			return nil, refuse("备份清单中的索引属于不存在的集合 "+name, nil)
		}
		for _, ix := range list {
			if err := staging.C(name).Index(ctx, ix.keys(), ix.Unique); err != nil {
				return nil, refuse("备份中集合 "+name+" 的数据违反唯一约束，无法恢复", err)
			}
		}
	}
	return m, nil
}

// loadCollection streams one entry of concatenated BSON documents into the
// staging collection, in bounded batches, and returns how many it held.
func loadCollection(ctx context.Context, staging *store.Store, name string, r io.Reader, size int64) (int64, error) {
	c := staging.C(name)
	if err := staging.Ensure(ctx, name); err != nil {
		return 0, err
	}
	var (
		batch  []any
		bytes  int
		n      int64
		read   int64
		hdr    [4]byte
		damage = func(err error) error { return refuse("备份中集合 "+name+" 的数据已损坏", err) }
	)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		_, err := c.InsertMany(ctx, batch)
		if err != nil {
			if _, derr := store.DupIndexes(err); derr == nil {
				return refuse("备份中集合 "+name+" 有重复的记录", err)
			}
			return err
		}
		batch, bytes = batch[:0], 0
		return nil
	}
	for read < size {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return 0, damage(err)
		}
		l := int64(uint32(hdr[0]) | uint32(hdr[1])<<8 | uint32(hdr[2])<<16 | uint32(hdr[3])<<24)
		if l < 5 || l > maxDoc {
			return 0, refuse(fmt.Sprintf("备份中集合 %s 有一条超过 16 MiB 或长度无效的记录", name), nil)
		}
		if read+l > size {
			return 0, damage(errors.New("a document runs past its entry"))
		}
		buf := make([]byte, l)
		copy(buf, hdr[:])
		if _, err := io.ReadFull(r, buf[4:]); err != nil {
			return 0, damage(err)
		}
		raw := bson.Raw(buf)
		if err := raw.Validate(); err != nil {
			return 0, damage(err)
		}
		if _, err := raw.LookupErr("_id"); err != nil {
			return 0, damage(errors.New("a document without _id"))
		}
		read += l
		n++
		batch = append(batch, raw)
		bytes += int(l)
		if bytes >= batchBytes || len(batch) >= batchDocs {
			if err := flush(); err != nil {
				return 0, err
			}
		}
	}
	return n, flush()
}
