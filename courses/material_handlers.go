package courses

import (
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"nongxun/server"
)

func (s *Service) uploadMaterial(c *fiber.Ctx) error {
	id, err := server.ID(c, "id")
	if err != nil {
		return err
	}
	ctx, p := c.UserContext(), server.Who(c)
	co, err := s.Course(ctx, id)
	if err != nil {
		return err
	}
	if !s.mayUpload(p, co) {
		return server.Forbidden("只有课程的创建者、指派的讲师或管理员可以上传资料")
	}
	var up *upload
	values, err := server.StreamUpload(c, "file", func(u server.Upload) error {
		up, err = s.receive(ctx, u.Filename, u.Body)
		return err
	})
	// Once the file part has ended whole and was stored, a broken part after
	// it does not undo it: the blob is kept only with its material.
	if err != nil && up == nil {
		return err
	}
	public := c.QueryBool("public") || values["public"] == "true" || values["public"] == "1" || values["public"] == "on"
	m, err := s.addMaterial(ctx, p, co, up, public)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(m)
}

func (s *Service) listMaterials(c *fiber.Ctx) error {
	id, err := server.ID(c, "id")
	if err != nil {
		return err
	}
	ctx, p := c.UserContext(), server.Who(c)
	co, err := s.visibleCourse(ctx, p, id)
	if err != nil {
		return err
	}
	ms, err := s.Materials(ctx, co.ID)
	if err != nil {
		return err
	}
	all, err := s.mayReadMaterials(ctx, p, co, false)
	if err != nil {
		return err
	}
	if all {
		return c.JSON(ms)
	}
	pub, err := s.mayReadMaterials(ctx, p, co, true)
	if err != nil {
		return err
	}
	out := ms[:0]
	for _, m := range ms {
		if m.Public && pub {
			out = append(out, m)
		}
	}
	return c.JSON(out)
}

// readableMaterial loads a material p may download.
func (s *Service) readableMaterial(c *fiber.Ctx) (*Material, error) {
	id, err := server.ID(c, "id")
	if err != nil {
		return nil, err
	}
	m, err := s.Material(c.UserContext(), id)
	if err != nil {
		return nil, err
	}
	ok, err := s.mayDownload(c.UserContext(), server.Who(c), m)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, server.Forbidden("只有该课程的讲师、报名学员和相关工作人员可以下载此资料")
	}
	return m, nil
}

func (s *Service) downloadMaterial(c *fiber.Ctx) error {
	m, err := s.readableMaterial(c)
	if err != nil {
		return err
	}
	return s.send(c, m)
}

func (s *Service) send(c *fiber.Ctx, m *Material) error {
	b, err := s.st.Blobs.Open(c.UserContext(), m.SHA256)
	if err != nil {
		return server.BlobError(err, s.d.Config.MaxUpload)
	}
	if m.ContentType == typePDF {
		// The browser's PDF viewer is a plugin the shell's CSP (object-src 'none') would block.
		c.Response().Header.Del(fiber.HeaderContentSecurityPolicy)
	}
	return server.SendBlob(c, b, m.SHA256, m.ContentType, m.Name, inline(m.ContentType))
}

func (s *Service) materialLink(c *fiber.Ctx) error {
	m, err := s.readableMaterial(c)
	if err != nil {
		return err
	}
	uid := server.Who(c).UserID
	exp := s.now().Add(linkTTL).Unix()
	q := url.Values{"u": {uid}, "exp": {strconv.FormatInt(exp, 10)}, "sig": {s.linkSig(m.ID, uid, exp)}}
	return c.JSON(fiber.Map{
		"url":          fmt.Sprintf("/api/v1/public/materials/%s?%s", m.ID, q.Encode()),
		"expires_at":   time.Unix(exp, 0).UTC(),
		"content_type": m.ContentType,
		"name":         m.Name,
		"course_id":    m.CourseID,
	})
}

func (s *Service) downloadByLink(c *fiber.Ctx) error {
	id, err := server.ID(c, "id")
	if err != nil {
		return err
	}
	if !s.linkValid(id, c.Query("u"), c.Query("exp"), c.Query("sig")) {
		return server.Forbidden("链接无效或已过期，请回到资料列表重新打开")
	}
	m, err := s.Material(c.UserContext(), id)
	if err != nil {
		return err
	}
	return s.send(c, m)
}

func (s *Service) patchMaterial(c *fiber.Ctx) error {
	id, err := server.ID(c, "id")
	if err != nil {
		return err
	}
	var in struct {
		Name   *string `json:"name"`
		Public *bool   `json:"public"`
	}
	if err := server.Bind(c, &in); err != nil {
		return err
	}
	m, err := s.UpdateMaterial(c.UserContext(), server.Who(c), id, in.Name, in.Public)
	if err != nil {
		return err
	}
	return c.JSON(m)
}

func (s *Service) deleteMaterial(c *fiber.Ctx) error {
	id, err := server.ID(c, "id")
	if err != nil {
		return err
	}
	if err := s.DeleteMaterial(c.UserContext(), server.Who(c), id); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
