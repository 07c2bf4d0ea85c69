package enrollment

import (
	"context"
	"io"
	"net/http"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"nongxun/server"
	"nongxun/store"
)

// maxPhoto is the largest sign-in sheet photo accepted.
const maxPhoto = 20 << 20

// Photo is a photo of a session's paper sign-in sheet, kept as evidence.
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

// AddPhoto stores a sign-in sheet photo (JPEG, PNG or WebP) for a session;
// the same photo twice is kept once.
func (s *Service) AddPhoto(ctx context.Context, sessionID, name string, r io.Reader, by string) (*Photo, error) {
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
	if err := s.photos.InsertOne(ctx, p); err != nil && !store.IsDup(err) {
		return nil, err
	}
	return p, nil
}

// Photos lists a session's sign-in sheet photos, oldest first.
func (s *Service) Photos(ctx context.Context, sessionID string) ([]Photo, error) {
	out := []Photo{}
	err := s.photos.Find(ctx, bson.M{"session_id": sessionID}, &out, options.Find().SetSort(bson.D{{Key: "at", Value: 1}}))
	return out, err
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
	if err := s.photos.FindOne(ctx, bson.M{"_id": sessionID + "/" + blobID}, &p); err != nil {
		if store.IsNotFound(err) {
			return nil, server.NotFound("照片不存在")
		}
		return nil, err
	}
	return &p, nil
}
