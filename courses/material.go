package courses

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/server"
	"nongxun/store"
)

// Material is a file a trainer uploaded to a course. The file itself is a
// blob named by its SHA-256; deleting a material only marks it deleted.
type Material struct {
	ID          string     `bson:"_id" json:"id"`
	CourseID    string     `bson:"course_id" json:"course_id"`
	Name        string     `bson:"name" json:"name"`
	Size        int64      `bson:"size" json:"size"`
	ContentType string     `bson:"content_type" json:"content_type"`
	SHA256      string     `bson:"blob_id" json:"sha256"`
	Public      bool       `bson:"public" json:"public"`
	UploadedBy  string     `bson:"uploaded_by" json:"uploaded_by"`
	CreatedAt   time.Time  `bson:"created_at" json:"created_at"`
	Deleted     bool       `bson:"deleted" json:"deleted,omitempty"`
	DeletedAt   *time.Time `bson:"deleted_at,omitempty" json:"deleted_at,omitempty"`
	DeletedBy   string     `bson:"deleted_by,omitempty" json:"deleted_by,omitempty"`
}

// cleanName keeps a file name's last element, without control characters, at most 200 characters.
func cleanName(n string) string {
	n = strings.ReplaceAll(n, "\\", "/")
	n = filepath.Base(n)
	n = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '"' {
			return -1
		}
		return r
	}, n)
	n = strings.TrimSpace(n)
	if n == "." || n == "/" || n == "" {
		n = "file"
	}
	if utf8.RuneCountInString(n) > 200 {
		ext := filepath.Ext(n)
		if utf8.RuneCountInString(ext) > 20 {
			ext = ""
		}
		r := []rune(strings.TrimSuffix(n, ext))
		n = string(r[:200-utf8.RuneCountInString(ext)]) + ext
	}
	return n
}

// mayUpload: the admin, and the course's makers and assigned trainers.
func (s *Service) mayUpload(p *server.Principal, c *Course) bool {
	return p.Is(server.RoleAdmin) || p.Is(server.RoleTrainer) && c.Teaches(p.UserID)
}

// storeUpload checks a file's type from its first bytes before anything is
// written, then streams it into the blob store under the size limit.
func (s *Service) storeUpload(ctx context.Context, name string, body io.Reader) (store.BlobInfo, string, error) {
	head := make([]byte, sniffLen)
	n, err := io.ReadFull(body, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return store.BlobInfo{}, "", server.Invalid("上传中断，请重试")
	}
	head = head[:n]
	if n == 0 {
		return store.BlobInfo{}, "", server.Invalid("文件为空", "file", "文件为空")
	}
	ct, ok := sniff(head, name)
	if !ok {
		return store.BlobInfo{}, "", server.Invalid("不支持的文件类型：只能上传 PDF、Word/Excel/PPT、图片（JPG/PNG/GIF/WebP）、MP3 或 MP4", "file", "文件类型不支持")
	}
	limit := s.d.Config.MaxUpload
	info, err := s.st.Blobs.Put(ctx, io.MultiReader(bytes.NewReader(head), body), limit)
	if err != nil {
		if errors.Is(err, store.ErrTooLarge) || errors.Is(err, store.ErrEmpty) {
			return store.BlobInfo{}, "", server.BlobError(err, limit)
		}
		if ctx.Err() != nil || isReadErr(err) {
			return store.BlobInfo{}, "", server.Invalid("上传中断，请重试")
		}
		return store.BlobInfo{}, "", err
	}
	return info, ct, nil
}

// isReadErr tells a broken upload (the client's stream ended early) from a store failure.
func isReadErr(err error) bool {
	return errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(err.Error(), "multipart")
}

// upload is a file received into the blob store, not yet a material.
type upload struct {
	name        string
	contentType string
	blob        store.BlobInfo
}

// receive streams an uploaded file into the blob store, never holding it in memory.
func (s *Service) receive(ctx context.Context, name string, body io.Reader) (*upload, error) {
	name = cleanName(name)
	info, ct, err := s.storeUpload(ctx, name, body)
	if err != nil {
		return nil, err
	}
	return &upload{name: name, contentType: ct, blob: info}, nil
}

// addMaterial records a received file as a material of course c.
func (s *Service) addMaterial(ctx context.Context, p *server.Principal, c *Course, up *upload, public bool) (*Material, error) {
	m := &Material{ID: store.NewID(), CourseID: c.ID, Name: up.name, Size: up.blob.Size, ContentType: up.contentType,
		SHA256: up.blob.ID, Public: public, UploadedBy: p.UserID, CreatedAt: s.now().UTC()}
	if err := s.materials.InsertOne(ctx, m); err != nil {
		return nil, err
	}
	return m, nil
}

// Material returns one material that is not deleted; server.NotFound otherwise.
func (s *Service) Material(ctx context.Context, id string) (*Material, error) {
	var m Material
	if err := s.materials.Get(ctx, id, &m); err != nil {
		if store.IsNotFound(err) {
			return nil, server.NotFound("资料不存在")
		}
		return nil, err
	}
	if m.Deleted {
		return nil, server.NotFound("资料已删除")
	}
	m.CreatedAt = m.CreatedAt.UTC()
	return &m, nil
}

// Materials lists a course's materials that are not deleted, oldest first.
func (s *Service) Materials(ctx context.Context, courseID string) ([]Material, error) {
	out := []Material{}
	if err := s.materials.Find(ctx, bson.M{"course_id": courseID, "deleted": false}, &out); err != nil {
		return nil, err
	}
	for i := range out {
		out[i].CreatedAt = out[i].CreatedAt.UTC()
	}
	sortMaterials(out)
	return out, nil
}

func sortMaterials(ms []Material) {
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].CreatedAt.Before(ms[j].CreatedAt) })
}

// mayDownload: the admin and the auditor always; the course's makers and
// assigned trainers; an officer when the course has a session in their
// township; anyone else only from a published course, and only a public
// material or, for a trainee, one of a course they are enrolled in. The
// list of materials and every download (by token or by signed link) use it.
func (s *Service) mayDownload(ctx context.Context, p *server.Principal, m *Material) (bool, error) {
	if p.Is(server.RoleAdmin) || p.Is(server.RoleAuditor) {
		return true, nil
	}
	c, err := s.Course(ctx, m.CourseID)
	if err != nil {
		return false, nil
	}
	return s.mayReadMaterials(ctx, p, c, m.Public)
}

// mayReadMaterials says whether p may read c's materials (public ones, or all).
func (s *Service) mayReadMaterials(ctx context.Context, p *server.Principal, c *Course, public bool) (bool, error) {
	switch {
	case p.Is(server.RoleAdmin) || p.Is(server.RoleAuditor):
		return true, nil
	case p.Is(server.RoleTrainer) && c.Teaches(p.UserID):
		return true, nil
	case p.Is(server.RoleOfficer):
		ok, err := s.hasSessionIn(ctx, c.ID, p.Township())
		if err != nil || ok {
			return ok, err
		}
	}
	if !c.Published {
		return false, nil
	}
	if public {
		return true, nil
	}
	if p.Is(server.RoleTrainee) {
		return s.enrolled(ctx, p.UserID, c.ID)
	}
	return false, nil
}

// hasSessionIn reports whether the course has a session in township t.
func (s *Service) hasSessionIn(ctx context.Context, courseID, t string) (bool, error) {
	if t == "" {
		return true, nil
	}
	ss, err := s.Sessions(ctx, courseID)
	if err != nil {
		return false, err
	}
	for _, x := range ss {
		if x.TownshipID == t {
			return true, nil
		}
	}
	return false, nil
}

// mayEditMaterial: admin, whoever uploaded it, or the course's makers.
func (s *Service) mayEditMaterial(ctx context.Context, p *server.Principal, m *Material) bool {
	if p.Is(server.RoleAdmin) {
		return true
	}
	if !p.Is(server.RoleTrainer) {
		return false
	}
	if m.UploadedBy == p.UserID {
		return true
	}
	c, err := s.Course(ctx, m.CourseID)
	return err == nil && c.IsMaker(p.UserID)
}

// UpdateMaterial renames a material or changes its public flag.
func (s *Service) UpdateMaterial(ctx context.Context, p *server.Principal, id string, name *string, public *bool) (*Material, error) {
	m, err := s.Material(ctx, id)
	if err != nil {
		return nil, err
	}
	if !s.mayEditMaterial(ctx, p, m) {
		return nil, server.Forbidden("只有上传者、课程创建者或管理员可以修改资料")
	}
	set := bson.M{}
	if name != nil {
		if strings.TrimSpace(*name) == "" {
			return nil, server.Invalid("请填写资料名称", "name", "必填")
		}
		m.Name = cleanName(*name)
		set["name"] = m.Name
	}
	if public != nil {
		m.Public = *public
		set["public"] = m.Public
	}
	if len(set) == 0 {
		return m, nil
	}
	ok, err := s.materials.UpdateIf(ctx, id, store.Cond{"deleted": false}, bson.M{"$set": set})
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, server.NotFound("资料已删除")
	}
	if public != nil {
		s.d.Audit.Note(ctx, p, "material.public", "material:"+id, map[string]any{"public": m.Public, "course_id": m.CourseID})
	}
	return m, nil
}

// DeleteMaterial marks a material deleted and records it in the audit log;
// the file and its metadata stay.
func (s *Service) DeleteMaterial(ctx context.Context, p *server.Principal, id string) error {
	m, err := s.Material(ctx, id)
	if err != nil {
		return err
	}
	if !s.mayEditMaterial(ctx, p, m) {
		return server.Forbidden("只有上传者、课程创建者或管理员可以删除资料")
	}
	now := s.now().UTC()
	ok, err := s.materials.UpdateIf(ctx, id, store.Cond{"deleted": false},
		bson.M{"$set": bson.M{"deleted": true, "deleted_at": now, "deleted_by": p.UserID}})
	if err != nil {
		return err
	}
	if !ok {
		return server.NotFound("资料已删除")
	}
	s.d.Audit.Note(ctx, p, "material.delete", "material:"+id,
		map[string]any{"name": m.Name, "course_id": m.CourseID, "sha256": m.SHA256, "size": m.Size})
	return nil
}
