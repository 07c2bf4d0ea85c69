package certificates

import (
	"context"
	"net/url"
	"sort"

	"github.com/gofiber/fiber/v2"
	"nongxun/server"
)

// Register adds the certificate routes under api (/api/v1).
func (s *Service) Register(api fiber.Router) {
	admin := server.Require(server.RoleAdmin)
	readers := server.Require(server.Readers...)

	api.Post("/courses/:id/certificates", server.Require(server.RoleAdmin, server.RoleTrainer), s.issue)
	api.Get("/courses/:id/certificates", readers, s.listCourse)
	api.Get("/courses/:id/certificates/zip", server.Require(server.RoleAdmin, server.RoleTrainer, server.RoleOfficer), s.zipCourse)
	api.Get("/courses/:id/eligibility", readers, s.eligibility)
	api.Get("/courses/:id/certificate-rule", readers, s.getRule)
	api.Put("/courses/:id/certificate-rule", admin, s.putRule)
	api.Get("/courses/:id/assessments", readers, s.listAssessments)
	api.Post("/courses/:id/assessments", admin, s.postAssessments)

	api.Get("/certificates/register", server.Require(server.RoleAdmin, server.RoleOfficer, server.RoleTrainer, server.RoleAuditor), s.register)
	api.Get("/certificates/settings", readers, s.getSettings)
	api.Put("/certificates/settings", admin, s.putSettings)
	api.Get("/certificates/seal", admin, s.getSeal)
	api.Post("/certificates/seal", admin, s.putSeal)
	api.Delete("/certificates/seal", admin, s.deleteSeal)
	api.Get("/certificates/:id", server.Require(append([]string{server.RoleTrainee}, server.Readers...)...), s.get)
	api.Get("/certificates/:id/pdf", server.Require(server.RoleTrainee, server.RoleAdmin, server.RoleTrainer, server.RoleOfficer), s.pdf)
	api.Post("/certificates/:id/revoke", admin, s.revoke)
	api.Get("/my/certificates", server.Require(server.RoleTrainee), s.mine)

	api.Get("/verify/:code", s.verifyJSON) // public: under server.PublicAPI
}

// RegisterPublic adds the public verification page, GET /verify/:code.
func (s *Service) RegisterPublic(app fiber.Router) {
	app.Get("/verify/:code", s.verifyPage)
}

func (s *Service) issue(c *fiber.Ctx) error {
	id, err := server.ID(c, "id")
	if err != nil {
		return err
	}
	var in struct {
		TraineeIDs []string `json:"trainee_ids"`
	}
	if err := server.Bind(c, &in); err != nil {
		return err
	}
	res, err := s.Issue(c.UserContext(), server.Who(c), id, in.TraineeIDs)
	if err != nil {
		return err
	}
	return c.JSON(res)
}

// scope is who may read which certificates, and so every file derived
// from them: the record, its PDF, the course's ZIP and the register
// (CSV/XLSX) all ask scope.sees (L5). The admin and the auditor see all; a
// trainer the certificates of courses they teach (made or assigned); an
// officer those of trainees of their township; a trainee their own.
type scope struct {
	s       *Service
	p       *server.Principal
	me      string          // the trainee's own id
	teaches map[string]bool // course id → the trainer teaches it
}

func (s *Service) scopeOf(ctx context.Context, p *server.Principal) (*scope, error) {
	sc := &scope{s: s, p: p, teaches: map[string]bool{}}
	if p.Is(server.RoleTrainee) {
		me, err := s.d.Roster.PersonByUser(ctx, p.UserID)
		if err != nil && server.ToError(err).Code != server.CodeNotFound {
			return nil, err
		}
		if me != nil {
			sc.me = me.ID
		}
	}
	return sc, nil
}

// teachesCourse reports whether the caller is a trainer teaching the course.
func (sc *scope) teachesCourse(ctx context.Context, courseID string) (bool, error) {
	if v, ok := sc.teaches[courseID]; ok {
		return v, nil
	}
	c, err := sc.s.d.Courses.Course(ctx, courseID)
	if err != nil && server.ToError(err).Code != server.CodeNotFound {
		return false, err
	}
	v := err == nil && sc.p.Is(server.RoleTrainer) && c.Teaches(sc.p.UserID)
	sc.teaches[courseID] = v
	return v, nil
}

// sees reports whether the caller may read cert and the files drawn from it.
func (sc *scope) sees(ctx context.Context, cert *Certificate) (bool, error) {
	switch {
	case sc.p.Is(server.RoleAdmin), sc.p.Is(server.RoleAuditor):
		return true, nil
	case sc.p.Is(server.RoleTrainee):
		return sc.me != "" && sc.me == cert.TraineeID, nil
	case sc.p.Is(server.RoleOfficer):
		return sc.p.Township() != "" && cert.TownshipID == sc.p.Township(), nil
	case sc.p.Is(server.RoleTrainer):
		return sc.teachesCourse(ctx, cert.CourseID)
	}
	return false, nil
}

// course checks that the caller may read a course's certificates at all
// (a trainer only of courses they teach); officers are narrowed per
// certificate by sees.
func (sc *scope) course(ctx context.Context, courseID string) error {
	if !sc.p.Is(server.RoleTrainer) {
		return nil
	}
	ok, err := sc.teachesCourse(ctx, courseID)
	if err != nil {
		return err
	}
	if !ok {
		return server.Forbidden("只能查看自己授课课程的证书")
	}
	return nil
}

// visible loads the certificate of the request when the caller may read it.
func (s *Service) load(c *fiber.Ctx) (*Certificate, error) {
	id, err := server.ID(c, "id")
	if err != nil {
		return nil, err
	}
	ctx := c.UserContext()
	cert, err := s.cert(ctx, id)
	if err != nil {
		return nil, err
	}
	sc, err := s.scopeOf(ctx, server.Who(c))
	if err != nil {
		return nil, err
	}
	ok, err := sc.sees(ctx, cert)
	if err != nil {
		return nil, err
	}
	if !ok {
		if sc.p.Is(server.RoleTrainee) {
			return nil, server.NotFound("证书不存在")
		}
		return nil, server.Forbidden("无权查看该证书")
	}
	return cert, nil
}

func (s *Service) get(c *fiber.Ctx) error {
	cert, err := s.load(c)
	if err != nil {
		return err
	}
	return c.JSON(cert)
}

func (s *Service) pdf(c *fiber.Ctx) error {
	cert, err := s.load(c)
	if err != nil {
		return err
	}
	b, etag, err := s.PDF(c.UserContext(), cert)
	if err != nil {
		return err
	}
	c.Set("Cache-Control", "private, no-cache") // revocation must reach a reloaded page
	return server.SendBlob(c, b, etag, "application/pdf", pdfName(cert), c.QueryBool("inline"))
}

func pdfName(c *Certificate) string { return "证书-" + c.Serial + ".pdf" }

func (s *Service) revoke(c *fiber.Ctx) error {
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
	cert, err := s.Revoke(c.UserContext(), server.Who(c), id, in.Reason)
	if err != nil {
		return err
	}
	return c.JSON(cert)
}

// courseCerts returns the course's certificates the caller may read,
// newest serial first, through the course's index documents.
func (s *Service) courseCerts(c *fiber.Ctx, courseID string) ([]Certificate, error) {
	ctx := c.UserContext()
	if _, err := s.d.Courses.Course(ctx, courseID); err != nil {
		return nil, err
	}
	sc, err := s.scopeOf(ctx, server.Who(c))
	if err != nil {
		return nil, err
	}
	if err := sc.course(ctx, courseID); err != nil {
		return nil, err
	}
	es, err := s.courseEntries(ctx, courseID)
	if err != nil {
		return nil, err
	}
	t := sc.p.Township()
	ids := make([]string, 0, len(es))
	for id, e := range es {
		if t == "" || e.TownshipID == t {
			ids = append(ids, id)
		}
	}
	var serr error
	out, err := s.certsByID(ctx, ids, func(x *Certificate) bool {
		ok, err := sc.sees(ctx, x)
		if err != nil {
			serr = err
		}
		return ok && x.CourseID == courseID
	})
	if err == nil {
		err = serr
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Serial > out[j].Serial })
	return out, err
}

func (s *Service) listCourse(c *fiber.Ctx) error {
	id, err := server.ID(c, "id")
	if err != nil {
		return err
	}
	items, err := s.courseCerts(c, id)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": items})
}

func (s *Service) mine(c *fiber.Ctx) error {
	me, err := s.d.Roster.PersonByUser(c.UserContext(), server.Who(c).UserID)
	if err != nil {
		if server.ToError(err).Code == server.CodeNotFound {
			return c.JSON(fiber.Map{"items": []Certificate{}})
		}
		return err
	}
	items, err := s.traineeCerts(c.UserContext(), me.ID)
	if err != nil {
		return err
	}
	sort.Slice(items, func(i, j int) bool { return items[i].Serial > items[j].Serial })
	return c.JSON(fiber.Map{"items": items})
}

func (s *Service) eligibility(c *fiber.Ctx) error {
	id, err := server.ID(c, "id")
	if err != nil {
		return err
	}
	sc, err := s.scopeOf(c.UserContext(), server.Who(c))
	if err != nil {
		return err
	}
	if err := sc.course(c.UserContext(), id); err != nil {
		return err
	}
	items, err := s.Standings(c.UserContext(), server.Who(c), id)
	if err != nil {
		return err
	}
	rule, err := s.Rule(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"rule": rule, "items": items})
}

func (s *Service) getRule(c *fiber.Ctx) error {
	id, err := server.ID(c, "id")
	if err != nil {
		return err
	}
	if _, err := s.d.Courses.Course(c.UserContext(), id); err != nil {
		return err
	}
	r, err := s.Rule(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(r)
}

func (s *Service) putRule(c *fiber.Ctx) error {
	id, err := server.ID(c, "id")
	if err != nil {
		return err
	}
	var in struct {
		RequiresAssessment *bool `json:"requires_assessment"`
	}
	if err := server.Bind(c, &in); err != nil {
		return err
	}
	if in.RequiresAssessment == nil {
		return server.Invalid("请说明是否要求考核", "requires_assessment", "必填 true 或 false")
	}
	r, err := s.SetRule(c.UserContext(), server.Who(c), id, *in.RequiresAssessment)
	if err != nil {
		return err
	}
	return c.JSON(r)
}

func (s *Service) listAssessments(c *fiber.Ctx) error {
	id, err := server.ID(c, "id")
	if err != nil {
		return err
	}
	if _, err := s.d.Courses.Course(c.UserContext(), id); err != nil {
		return err
	}
	items, err := s.Assessments(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": items})
}

func (s *Service) postAssessments(c *fiber.Ctx) error {
	id, err := server.ID(c, "id")
	if err != nil {
		return err
	}
	var in struct {
		Results []AssessmentInput `json:"results"`
	}
	if err := server.Bind(c, &in); err != nil {
		return err
	}
	n, err := s.RecordAssessments(c.UserContext(), server.Who(c), id, in.Results)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"recorded": n})
}

// attachment sets a download's name, UTF-8 safe.
func attachment(c *fiber.Ctx, name string) {
	c.Set("Content-Disposition", "attachment; filename*=UTF-8''"+url.PathEscape(name))
}
