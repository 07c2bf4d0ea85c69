package stations

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/server"
	"nongxun/store"
)

// maxPhotos bounds the photos kept in a station document.
const maxPhotos = 20

// Photo is a picture of a station (door sign, notice board, the room), for
// acceptance and the county's records. The file is in the blob store.
type Photo struct {
	ID          string    `bson:"id" json:"id"`
	BlobID      string    `bson:"blob_id" json:"-"`
	Name        string    `bson:"name" json:"name"`
	ContentType string    `bson:"content_type" json:"content_type"`
	Size        int64     `bson:"size" json:"size"`
	At          time.Time `bson:"at" json:"at"`
	By          string    `bson:"by" json:"by"`
}

// AddPhoto stores an uploaded picture and adds it to station id, at most
// maxPhotos, by a conditional update on the count (race-free on any engine).
func (s *Service) AddPhoto(ctx context.Context, p *server.Principal, id string, u server.Upload) (*Photo, error) {
	x, err := s.visible(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if p.Role == server.RoleStation && p.StationID != id {
		return nil, server.Forbidden("只能上传本站点的照片")
	}
	if len(x.Photos) >= maxPhotos {
		return nil, server.Conflict("照片已达上限（20 张），请联系管理员")
	}
	info, err := s.d.Store.Blobs.Put(ctx, u.Body, s.d.Config.MaxUpload)
	if err != nil {
		return nil, server.BlobError(err, s.d.Config.MaxUpload)
	}
	ct := http.DetectContentType(info.Head)
	if !strings.HasPrefix(ct, "image/") {
		return nil, server.Invalid("只能上传照片（JPG、PNG 等图片）", "file", "不是图片")
	}
	name := filepath.Base(strings.ReplaceAll(u.Filename, "\\", "/"))
	if !utf8.ValidString(name) || name == "." || name == "/" || utf8.RuneCountInString(name) > 100 {
		name = "照片"
	}
	ph := &Photo{ID: store.NewID(), BlobID: info.ID, Name: name, ContentType: ct, Size: info.Size, At: s.now().UTC(), By: who(p)}
	defer s.changed(x)
	cond := store.Cond{"$or": []store.Cond{{"nphotos": bson.M{"$exists": false}}, {"nphotos": bson.M{"$lt": maxPhotos}}}}
	ok, err := s.stations.UpdateIf(ctx, id, cond, bson.M{"$push": bson.M{"photos": ph}, "$inc": bson.M{"nphotos": 1}})
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, server.Conflict("照片已达上限（20 张），请联系管理员")
	}
	s.note(ctx, p, "station.photo", id, map[string]any{"photo_id": ph.ID, "name": name, "size": info.Size, "sha256": info.ID})
	return ph, nil
}

// PhotoFile is photo pid of station id as p may see it.
func (s *Service) PhotoFile(ctx context.Context, p *server.Principal, id, pid string) (*Photo, error) {
	x, err := s.visible(ctx, p, id)
	if err != nil {
		return nil, err
	}
	for i := range x.Photos {
		if x.Photos[i].ID == pid {
			return &x.Photos[i], nil
		}
	}
	return nil, server.NotFound("照片不存在")
}
