package courses

import (
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"nongxun/server"
)

// Register adds the course, session, category and material routes.
func (s *Service) Register(api fiber.Router) {
	all := server.Require(server.Roles...)
	api.Get("/course-categories", all, s.listCategories)
	api.Post("/course-categories", server.Require(server.RoleAdmin), s.addCategory)

	api.Post("/courses", server.Require(server.RoleAdmin, server.RoleTrainer), s.createCourse)
	api.Get("/courses", all, s.listCourses)
	api.Get("/courses/:id", all, s.getCourse)
	api.Patch("/courses/:id", server.Require(server.RoleAdmin, server.RoleTrainer), s.patchCourse)

	api.Post("/courses/:id/sessions", server.Require(server.RoleAdmin, server.RoleOfficer, server.RoleTrainer), s.createSession)
	api.Get("/courses/:id/sessions", all, s.listSessions)
	api.Get("/sessions/:id", all, s.getSession)
	api.Post("/sessions/:id/cancel", server.Require(server.RoleAdmin, server.RoleOfficer, server.RoleTrainer), s.cancelSession)
	api.Get("/my/sessions", server.Require(server.RoleTrainer, server.RoleTrainee), s.mySessions)
	api.Get("/trainers", server.Require(server.Readers...), s.listTrainers)

	api.Post("/courses/:id/materials", server.Require(server.RoleAdmin, server.RoleTrainer), s.uploadMaterial)
	api.Get("/courses/:id/materials", all, s.listMaterials)
	api.Get("/materials/:id", all, s.downloadMaterial)
	api.Get("/materials/:id/link", all, s.materialLink)
	api.Patch("/materials/:id", server.Require(server.RoleAdmin, server.RoleTrainer), s.patchMaterial)
	api.Delete("/materials/:id", server.Require(server.RoleAdmin, server.RoleTrainer), s.deleteMaterial)
	// Signed links let <video> and the browser's PDF viewer fetch a file
	// without an Authorization header; /api/v1/public/ needs no token.
	api.Get("/public/materials/:id", s.downloadByLink)
}

func (s *Service) listCategories(c *fiber.Ctx) error {
	cs, err := s.Categories(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(cs)
}

func (s *Service) addCategory(c *fiber.Ctx) error {
	var in struct {
		Name string `json:"name"`
	}
	if err := server.Bind(c, &in); err != nil {
		return err
	}
	cat, err := s.AddCategory(c.UserContext(), in.Name)
	if err != nil {
		return err
	}
	if s.d.Audit != nil {
		_ = s.d.Audit.Record(c.UserContext(), server.Who(c), "course_category.add", "course_category:"+cat.Name, nil)
	}
	return c.Status(fiber.StatusCreated).JSON(cat)
}

func (s *Service) createCourse(c *fiber.Ctx) error {
	var in CourseInput
	if err := server.Bind(c, &in); err != nil {
		return err
	}
	co, err := s.CreateCourse(c.UserContext(), server.Who(c), in)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(co)
}

func (s *Service) listCourses(c *fiber.Ctx) error {
	f := CourseFilter{Category: c.Query("category"), Published: c.Query("published"), Mine: c.QueryBool("mine")}
	if f.Published != "" && f.Published != "true" && f.Published != "false" {
		return server.Invalid("published 应为 true 或 false", "published", "应为 true 或 false")
	}
	cs, err := s.Courses(c.UserContext(), server.Who(c), f)
	if err != nil {
		return err
	}
	return c.JSON(cs)
}

func (s *Service) getCourse(c *fiber.Ctx) error {
	id, err := server.ID(c, "id")
	if err != nil {
		return err
	}
	co, err := s.visibleCourse(c.UserContext(), server.Who(c), id)
	if err != nil {
		return err
	}
	return c.JSON(co)
}

func (s *Service) patchCourse(c *fiber.Ctx) error {
	id, err := server.ID(c, "id")
	if err != nil {
		return err
	}
	var in CourseInput
	if err := server.Bind(c, &in); err != nil {
		return err
	}
	co, err := s.UpdateCourse(c.UserContext(), server.Who(c), id, in)
	if err != nil {
		return err
	}
	return c.JSON(co)
}

func (s *Service) createSession(c *fiber.Ctx) error {
	id, err := server.ID(c, "id")
	if err != nil {
		return err
	}
	var in SessionInput
	if err := server.Bind(c, &in); err != nil {
		return err
	}
	x, err := s.CreateSession(c.UserContext(), server.Who(c), id, in)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(x)
}

func (s *Service) listSessions(c *fiber.Ctx) error {
	id, err := server.ID(c, "id")
	if err != nil {
		return err
	}
	p := server.Who(c)
	if _, err := s.visibleCourse(c.UserContext(), p, id); err != nil {
		return err
	}
	ss, err := s.Sessions(c.UserContext(), id)
	if err != nil {
		return err
	}
	out := ss[:0]
	for _, x := range ss {
		if seesSession(p, &x) {
			out = append(out, x)
		}
	}
	return c.JSON(out)
}

func (s *Service) getSession(c *fiber.Ctx) error {
	id, err := server.ID(c, "id")
	if err != nil {
		return err
	}
	p := server.Who(c)
	x, err := s.Session(c.UserContext(), id)
	if err != nil {
		return err
	}
	if !seesSession(p, x) {
		return server.NotFound("班次不存在")
	}
	co, err := s.visibleCourse(c.UserContext(), p, x.CourseID)
	if err != nil {
		return server.NotFound("班次不存在")
	}
	return c.JSON(sessionView{Session: *x, CourseTitle: co.Title})
}

func (s *Service) cancelSession(c *fiber.Ctx) error {
	id, err := server.ID(c, "id")
	if err != nil {
		return err
	}
	var in struct {
		Reason string `json:"reason"`
	}
	if err := server.Bind(c, &in); err != nil {
		return err
	}
	x, err := s.CancelSession(c.UserContext(), server.Who(c), id, in.Reason)
	if err != nil {
		return err
	}
	return c.JSON(x)
}

// sessionView is a session with its course's title, for schedules.
type sessionView struct {
	Session
	CourseTitle string `json:"course_title"`
}

func (s *Service) mySessions(c *fiber.Ctx) error {
	var from time.Time
	if v := c.Query("from"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return server.Invalid("from 应为 RFC 3339 时间", "from", "格式错误")
		}
		from = t
	}
	ctx := c.UserContext()
	ss, err := s.MySessions(ctx, server.Who(c), from)
	if err != nil {
		return err
	}
	titles := map[string]string{}
	out := make([]sessionView, 0, len(ss))
	for _, x := range ss {
		t, ok := titles[x.CourseID]
		if !ok {
			if co, err := s.Course(ctx, x.CourseID); err == nil {
				t = co.Title
			}
			titles[x.CourseID] = t
		}
		out = append(out, sessionView{Session: x, CourseTitle: t})
	}
	return c.JSON(out)
}

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
	ok, err := s.mayUpload(ctx, p, co)
	if err != nil {
		return err
	}
	if !ok {
		return server.Forbidden("只有课程的创建者、该课程的讲师或管理员可以上传资料")
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
	if seesAll(p) {
		return c.JSON(ms)
	}
	enrolled := false
	if p.Is(server.RoleTrainee) {
		if enrolled, err = s.enrolled(ctx, p.UserID, co.ID); err != nil {
			return err
		}
	}
	out := ms[:0]
	for _, m := range ms {
		if m.Public || enrolled {
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
		return nil, server.Forbidden("报名该课程后才能下载此资料")
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

// trainer is the public face of a trainer account, for pickers and schedules.
type trainer struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func (s *Service) listTrainers(c *fiber.Ctx) error {
	us, err := s.d.Users.List(c.UserContext(), server.RoleTrainer)
	if err != nil {
		return err
	}
	out := []trainer{}
	for _, u := range us {
		if !u.Disabled {
			out = append(out, trainer{ID: u.ID, Name: u.Name})
		}
	}
	return c.JSON(out)
}
