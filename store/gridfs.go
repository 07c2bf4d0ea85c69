package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// GridFSBlobs keeps blobs in GridFS; only used on a real MongoDB, where
// chunk lookups use the index (DESIGN.md, fact 6).
type GridFSBlobs struct {
	s    *Store
	meta *Collection
}

func newGridFSBlobs(s *Store) *GridFSBlobs { return &GridFSBlobs{s: s, meta: s.C("blobs")} }

func (g *GridFSBlobs) bucket() *mongo.GridFSBucket { return g.s.Database().GridFSBucket() }

// Put streams r into a GridFS file, then records hash → file.
func (g *GridFSBlobs) Put(ctx context.Context, r io.Reader, limit int64) (BlobInfo, error) {
	fileID := bson.NewObjectID()
	up, err := g.bucket().OpenUploadStreamWithID(ctx, fileID, fileID.Hex())
	if err != nil {
		return BlobInfo{}, fmt.Errorf("blobs: %w", err)
	}
	sum, n, head, err := hashingCopy(up, &ctxReader{ctx: ctx, r: r}, limit)
	if err != nil {
		_ = up.Abort()
		return BlobInfo{}, err
	}
	if err := up.Close(); err != nil {
		return BlobInfo{}, fmt.Errorf("blobs: %w", err)
	}
	now := time.Now().UTC()
	info := BlobInfo{ID: sum, Size: n, CreatedAt: now, TouchedAt: now, Head: head}
	err = g.meta.InsertOne(ctx, blobMeta{BlobInfo: info, FileID: fileID})
	if IsDup(err) { // same content stored before: keep the first copy
		if derr := g.bucket().Delete(ctx, fileID); derr != nil {
			g.s.log.Warn("blobs: dropping a duplicate upload (the sweep removes it later)", "err", derr.Error())
		}
		return info, putMeta(ctx, g.meta, blobMeta{BlobInfo: info})
	}
	if err != nil {
		if derr := g.bucket().Delete(ctx, fileID); derr != nil {
			g.s.log.Warn("blobs: dropping a failed upload (the sweep removes it later)", "err", derr.Error())
		}
		return BlobInfo{}, fmt.Errorf("blobs: %w", err)
	}
	return info, nil
}

// Delete removes the blob's GridFS file and its metadata.
func (g *GridFSBlobs) Delete(ctx context.Context, id string) error {
	var m blobMeta
	if err := g.meta.FindOne(ctx, bson.M{"_id": id}, &m); err != nil {
		if errors.Is(err, mongo.ErrNoDocuments) {
			return nil
		}
		return err
	}
	if err := g.bucket().Delete(ctx, m.FileID); err != nil && !errors.Is(err, mongo.ErrFileNotFound) {
		return fmt.Errorf("blobs: %w", err)
	}
	_, err := g.meta.DeleteOne(ctx, bson.M{"_id": id})
	return err
}

// Open opens the blob for reading; Seek reopens and skips.
func (g *GridFSBlobs) Open(ctx context.Context, id string) (Blob, error) {
	if !validBlobID(id) {
		return nil, errBadBlobID
	}
	var m blobMeta
	if err := g.meta.FindOne(ctx, bson.M{"_id": id}, &m); err != nil {
		if errors.Is(err, mongo.ErrNoDocuments) {
			return nil, ErrNoBlob
		}
		return nil, err
	}
	gb := &gridBlob{ctx: ctx, g: g, id: m.FileID, size: m.Size}
	if err := gb.reopen(0); err != nil {
		return nil, err
	}
	return gb, nil
}

type gridBlob struct {
	ctx  context.Context
	g    *GridFSBlobs
	id   bson.ObjectID
	size int64
	pos  int64
	ds   *mongo.GridFSDownloadStream
}

func (b *gridBlob) reopen(at int64) error {
	if b.ds != nil {
		_ = b.ds.Close()
	}
	ds, err := b.g.bucket().OpenDownloadStream(b.ctx, b.id)
	if err != nil {
		return err
	}
	if at > 0 {
		if _, err := ds.Skip(at); err != nil {
			_ = ds.Close()
			return err
		}
	}
	b.ds, b.pos = ds, at
	return nil
}

func (b *gridBlob) Read(p []byte) (int, error) {
	n, err := b.ds.Read(p)
	b.pos += int64(n)
	return n, err
}

func (b *gridBlob) Seek(off int64, whence int) (int64, error) {
	var at int64
	switch whence {
	case io.SeekStart:
		at = off
	case io.SeekCurrent:
		at = b.pos + off
	case io.SeekEnd:
		at = b.size + off
	}
	if at < 0 {
		return 0, errors.New("blobs: negative seek")
	}
	if at == b.pos {
		return at, nil
	}
	if at >= b.size {
		b.pos = at
		return at, nil
	}
	return at, b.reopen(at)
}

func (b *gridBlob) Close() error { return b.ds.Close() }
func (b *gridBlob) Size() int64  { return b.size }
