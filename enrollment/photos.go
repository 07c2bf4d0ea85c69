package enrollment

import (
	"context"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/server"
	"nongxun/store"
)

// maxPhoto is the largest sign-in sheet photo accepted; maxPhotos the most a session keeps.
const (
	maxPhoto  = 20 << 20
	maxPhotos = 30
)

// Photo is a photo of a session's paper sign-in sheet, kept as evidence.
// Its blob is declared to the store (BlobRef signin_photos.blob_id).
type Photo struct {
	ID          string    `bson:"_id" json:"id"` // sessionID/blobID
	SessionID   string    `bson:"session_id" json:"session_id"`
	BlobID      string    `bson:"blob_id" json:"blob_id"`
	Name        string    `bson:"name" json:"name"`
	Size        int64     `bson:"size" json:"size"`
	ContentType string    `bson:"content_type" json:"content_type"`
	By          string    `bson:"by" json:"by"`
	At          time.Time `bson:"at" json:"at"`
}

// photoList is the list of a session's photo blob ids.
func photoList(sessionID string) string { return "p/" + sessionID }

// AddPhoto stores a sign-in sheet photo (JPEG, PNG or WebP) for a session;
// the same photo twice is kept once.
func (s *Service) AddPhoto(ctx context.Context, sessionID, name string, r io.Reader, by string) (*Photo, error) {
	have, err := s.readList(ctx, photoList(sessionID))
	if err != nil {
		return nil, err
	}
	if len(have) >= maxPhotos {
		return nil, server.Conflict("每个班次最多保存 30 张签到表照片")
	}
	info, err := s.st.Blobs.Put(ctx, r, maxPhoto)
	if err != nil {
		return nil, server.BlobError(err, maxPhoto)
	}
	ct := http.DetectContentType(info.Head)
	if ct != "image/jpeg" && ct != "image/png" && ct != "image/webp" {
		return nil, server.Invalid("请上传 JPG 或 PNG 格式的照片", "file", "不是图片")
	}
	if len([]rune(name)) > 100 {
		name = string([]rune(name)[:100])
	}
	p := &Photo{ID: sessionID + "/" + info.ID, SessionID: sessionID, BlobID: info.ID, Name: strings.TrimSpace(name),
		Size: info.Size, ContentType: ct, By: by, At: s.now().UTC()}
	err = s.st.Unit(ctx, "enrollment.photo", func(u *store.Unit) error {
		created := false
		if err := u.Do(ctx, "photo record", func(ctx context.Context) error {
			var err error
			created, err = s.photos.InsertIfAbsent(ctx, p)
			return err
		}, func(ctx context.Context) error {
			if !created {
				return nil
			}
			_, err := s.photos.DeleteOne(ctx, bson.M{"_id": p.ID})
			return err
		}); err != nil || !created {
			return err
		}
		ch := newChanges()
		ch.add(photoList(sessionID), info.ID)
		return s.logChanges(ctx, u, ch)
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Photos lists a session's sign-in sheet photos, oldest first.
func (s *Service) Photos(ctx context.Context, sessionID string) ([]Photo, error) {
	blobs, err := s.readList(ctx, photoList(sessionID))
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(blobs))
	for i, b := range blobs {
		ids[i] = sessionID + "/" + b
	}
	got, err := getMany[Photo](ctx, s.photos, ids)
	if err != nil {
		return nil, err
	}
	out := make([]Photo, 0, len(got))
	for _, p := range got {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out, nil
}

// SignInPhotos returns the blob ids of a session's sign-in sheet photos.
func (s *Service) SignInPhotos(ctx context.Context, sessionID string) ([]string, error) {
	list, err := s.Photos(ctx, sessionID)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(list))
	for i, p := range list {
		out[i] = p.BlobID
	}
	return out, nil
}

// photo reads one photo record.
func (s *Service) photo(ctx context.Context, sessionID, blobID string) (*Photo, error) {
	var p Photo
	if err := s.photos.Get(ctx, sessionID+"/"+blobID, &p); err != nil {
		if store.IsNotFound(err) {
			return nil, server.NotFound("照片不存在")
		}
		return nil, err
	}
	return &p, nil
}
