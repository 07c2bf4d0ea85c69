package certificates

import (
	"context"
	"net/url"
	"sort"

	"github.com/gofiber/fiber/v2"
	"go.mongodb.org/mongo-driver/v2/bson"
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

	api.Get("/certificates/register", server.Require(server.RoleAdmin, server.RoleOfficer, server.RoleAuditor), s.register)
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

// visible checks that the caller may see cert: a trainee only their own,
// an officer only their township's.
func (s *Service) visible(ctx context.Context, p *server.Principal, cert *Certificate) error {
	if p.Is(server.RoleTrainee) {
		me, err := s.d.Roster.PersonByUser(ctx, p.UserID)
		if err != nil && server.ToError(err).Code != server.CodeNotFound {
			return err
		}
		if me == nil || me.ID != cert.TraineeID {
			return server.NotFound("证书不存在")
		}
	}
	if !p.SeesTownship(cert.TownshipID) {
		return server.Forbidden("只能查看本乡镇学员的证书")
	}
	return nil
}

func (s *Service) load(c *fiber.Ctx) (*Certificate, error) {
	id, err := server.ID(c, "id")
	if err != nil {
		return nil, err
	}
	cert, err := s.cert(c.UserContext(), id)
	if err != nil {
		return nil, err
	}
	return cert, s.visible(c.UserContext(), server.Who(c), cert)
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

// list returns certificates matching f, newest serial first.
func (s *Service) list(c *fiber.Ctx, f bson.M) ([]Certificate, error) {
	if t := server.Who(c).Township(); t != "" {
		f["township_id"] = t
	}
	out := []Certificate{}
	err := s.certs.Find(c.UserContext(), f, &out)
	sort.Slice(out, func(i, j int) bool { return out[i].Serial > out[j].Serial })
	return out, err
}

func (s *Service) listCourse(c *fiber.Ctx) error {
	id, err := server.ID(c, "id")
	if err != nil {
		return err
	}
	if _, err := s.d.Courses.Course(c.UserContext(), id); err != nil {
		return err
	}
	items, err := s.list(c, bson.M{"course_id": id})
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
	items, err := s.list(c, bson.M{"trainee_id": me.ID})
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": items})
}

func (s *Service) eligibility(c *fiber.Ctx) error {
	id, err := server.ID(c, "id")
	if err != nil {
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
