package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// Blob errors a handler maps to 413, 400 and 404.
var (
	ErrTooLarge  = errors.New("blob exceeds the size limit")
	ErrEmpty     = errors.New("blob is empty")
	ErrNoBlob    = errors.New("blob not found")
	errBadBlobID = errors.New("malformed blob id")
)

// headSize is how much of a blob's start Put hands back for content sniffing.
const headSize = 512

// BlobInfo describes a stored blob. ID is the SHA-256 of the content in hex.
type BlobInfo struct {
	ID        string    `bson:"_id" json:"id"`
	Size      int64     `bson:"size" json:"size"`
	CreatedAt time.Time `bson:"created_at" json:"created_at"`
	// TouchedAt is the last time the content was put (again): the sweep
	// leaves a blob alone for a while after it, as a record may be about to
	// reference it.
	TouchedAt time.Time `bson:"touched_at" json:"-"`
	// Head is the content's first bytes, for sniffing its type.
	Head []byte `bson:"-" json:"-"`
}

// Blob is an open stored file: seekable, so byte ranges can be served.
type Blob interface {
	io.ReadSeekCloser
	Size() int64
}

// Blobs stores files by content: on disk when embedded, GridFS on MongoDB.
// Both stream in and out and never hold a whole file in memory.
type Blobs interface {
	// Put streams r in, refusing it (and keeping nothing) past limit bytes or when empty.
	Put(ctx context.Context, r io.Reader, limit int64) (BlobInfo, error)
	// Open opens a blob by id for reading.
	Open(ctx context.Context, id string) (Blob, error)
	// Delete removes a blob (the sweep calls it for blobs no record references).
	Delete(ctx context.Context, id string) error
}

// validBlobID guards every path built from a blob id: 64 lowercase hex only.
func validBlobID(id string) bool {
	if len(id) != 64 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil && id == hexLower(id)
}

func hexLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'F' {
			b[i] = c + 32
		}
	}
	return string(b)
}

// hashingCopy copies at most limit bytes of r into w, hashing them and
// keeping the head. It fails with ErrTooLarge past limit and ErrEmpty at zero.
func hashingCopy(w io.Writer, r io.Reader, limit int64) (sum string, n int64, head []byte, err error) {
	h := sha256.New()
	hw := &headWriter{max: headSize}
	n, err = io.Copy(io.MultiWriter(w, h, hw), io.LimitReader(r, limit+1))
	if err != nil {
		return "", n, nil, err
	}
	if n > limit {
		return "", n, nil, ErrTooLarge
	}
	if n == 0 {
		return "", 0, nil, ErrEmpty
	}
	return hex.EncodeToString(h.Sum(nil)), n, hw.buf, nil
}

type headWriter struct {
	buf []byte
	max int
}

func (h *headWriter) Write(p []byte) (int, error) {
	if room := h.max - len(h.buf); room > 0 {
		if len(p) < room {
			room = len(p)
		}
		h.buf = append(h.buf, p[:room]...)
	}
	return len(p), nil
}

// FileBlobs keeps blobs as files named by their SHA-256 under a directory.
type FileBlobs struct {
	dir  string
	meta *Collection
}

// NewFileBlobs prepares dir (and clears temp files a crash left behind).
func NewFileBlobs(s *Store, dir string) (*FileBlobs, error) {
	tmp := filepath.Join(dir, "tmp")
	_ = os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return nil, fmt.Errorf("blobs: %w", err)
	}
	return &FileBlobs{dir: dir, meta: s.C("blobs")}, nil
}

func (b *FileBlobs) path(id string) string { return filepath.Join(b.dir, id[:2], id) }

// Put writes r to a temp file, fsyncs it and renames it to its hash.
func (b *FileBlobs) Put(ctx context.Context, r io.Reader, limit int64) (BlobInfo, error) {
	f, err := os.CreateTemp(filepath.Join(b.dir, "tmp"), "up-*")
	if err != nil {
		return BlobInfo{}, fmt.Errorf("blobs: %w", err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	sum, n, head, err := hashingCopy(f, &ctxReader{ctx: ctx, r: r}, limit)
	if err != nil {
		return BlobInfo{}, err
	}
	if err := f.Sync(); err != nil {
		return BlobInfo{}, fmt.Errorf("blobs: %w", err)
	}
	if err := f.Close(); err != nil {
		return BlobInfo{}, fmt.Errorf("blobs: %w", err)
	}
	final := b.path(sum)
	if err := os.MkdirAll(filepath.Dir(final), 0o700); err != nil {
		return BlobInfo{}, fmt.Errorf("blobs: %w", err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return BlobInfo{}, fmt.Errorf("blobs: %w", err)
	}
	ok = true
	now := time.Now().UTC()
	info := BlobInfo{ID: sum, Size: n, CreatedAt: now, TouchedAt: now, Head: head}
	if err := putMeta(ctx, b.meta, info); err != nil {
		return BlobInfo{}, err
	}
	return info, nil
}

// putMeta records a blob's metadata, or marks a blob stored before as put
// again now (so the sweep waits before it considers it).
func putMeta(ctx context.Context, meta *Collection, doc any) error {
	err := meta.InsertOne(ctx, doc)
	if IsDup(err) {
		id := ""
		switch d := doc.(type) {
		case BlobInfo:
			id = d.ID
		case blobMeta:
			id = d.ID
		}
		_, err = meta.UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$set": bson.M{"touched_at": time.Now().UTC()}})
	}
	if err != nil {
		return fmt.Errorf("blobs: %w", err)
	}
	return nil
}

// Delete removes the blob's file and its metadata.
func (b *FileBlobs) Delete(ctx context.Context, id string) error {
	if !validBlobID(id) {
		return errBadBlobID
	}
	if err := os.Remove(b.path(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("blobs: %w", err)
	}
	_, err := b.meta.DeleteOne(ctx, bson.M{"_id": id})
	return err
}

// Open opens the blob's file.
func (b *FileBlobs) Open(_ context.Context, id string) (Blob, error) {
	if !validBlobID(id) {
		return nil, errBadBlobID
	}
	f, err := os.Open(b.path(id))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNoBlob
	}
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &fileBlob{File: f, size: st.Size()}, nil
}

type fileBlob struct {
	*os.File
	size int64
}

func (f *fileBlob) Size() int64 { return f.size }

// ctxReader stops a copy when the request's context ends (client gone).
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// blobMeta is the metadata document GridFS blobs keep to map hash → file.
type blobMeta struct {
	BlobInfo `bson:",inline"`
	FileID   bson.ObjectID `bson:"file_id,omitempty"`
}
