package courses

import (
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
	api.Put("/courses/:id/trainers", server.Require(server.RoleAdmin, server.RoleTrainer), s.putTrainers)

	api.Post("/courses/:id/sessions", server.Require(server.RoleAdmin, server.RoleOfficer, server.RoleTrainer), s.createSession)
	api.Get("/courses/:id/sessions", all, s.listSessions)
	api.Get("/sessions/:id", all, s.getSession)
	api.Post("/sessions/:id/cancel", server.Require(server.RoleAdmin, server.RoleOfficer, server.RoleTrainer), s.cancelSession)
	api.Post("/sessions/:id/start", server.Require(server.RoleAdmin, server.RoleOfficer, server.RoleTrainer), s.startSession)
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
	s.d.Audit.Note(c.UserContext(), server.Who(c), "course_category.add", "course_category:"+cat.Name, nil)
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

func (s *Service) putTrainers(c *fiber.Ctx) error {
	id, err := server.ID(c, "id")
	if err != nil {
		return err
	}
	var in struct {
		TrainerIDs *[]string `json:"trainer_ids"`
	}
	if err := server.Bind(c, &in); err != nil {
		return err
	}
	if in.TrainerIDs == nil {
		return server.Invalid("请给出指派的讲师（可为空列表）", "trainer_ids", "必填")
	}
	co, err := s.SetTrainers(c.UserContext(), server.Who(c), id, *in.TrainerIDs)
	if err != nil {
		return err
	}
	return c.JSON(co)
}

func (s *Service) startSession(c *fiber.Ctx) error {
	id, err := server.ID(c, "id")
	if err != nil {
		return err
	}
	x, err := s.StartNow(c.UserContext(), server.Who(c), id)
	if err != nil {
		return err
	}
	return c.JSON(x)
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
