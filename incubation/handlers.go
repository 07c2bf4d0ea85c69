package incubation

import (
	"context"

	"github.com/gofiber/fiber/v2"
	"nongxun/clock"
	"nongxun/server"
	"nongxun/store"
)

// Register adds the follow-up and incubation routes under /api/v1.
func (s *Service) Register(api fiber.Router) {
	staff := server.Require(server.Staff...)
	readers := server.Require(server.Readers...)
	admin := server.Require(server.RoleAdmin)
	anyone := server.Require(server.RoleAdmin, server.RoleOfficer, server.RoleTrainer, server.RoleAuditor, server.RoleTrainee)

	api.Post("/followups", staff, s.postFollowup)
	api.Get("/followups", readers, s.getFollowups)
	api.Get("/followups/tasks", readers, s.getTasks)

	api.Post("/shops", server.Require(server.RoleAdmin, server.RoleOfficer, server.RoleTrainer, server.RoleTrainee), s.postShop)
	api.Get("/shops", anyone, s.getShops)
	api.Get("/shops/:id", anyone, s.getShop)
	api.Post("/shops/:id/sales", server.Require(server.RoleAdmin, server.RoleOfficer, server.RoleTrainer, server.RoleTrainee), s.postSales)
	api.Get("/shops/:id/sales", anyone, s.getShopSales)
	api.Post("/shops/:id/close", server.Require(server.RoleAdmin, server.RoleOfficer), s.postClose)

	api.Get("/conversion", readers, s.getConversion)
	api.Get("/conversion/steps/:step", readers, s.getStep)
	api.Post("/conversion/recount", admin, s.postRecount)
	api.Get("/incubation/growth", readers, s.getGrowth)
	api.Get("/incubation/summary", readers, s.getSummary)

	api.Get("/cohorts", readers, s.getCohorts)
	api.Post("/cohorts", admin, s.postCohort)
	api.Get("/cohorts/:id", readers, s.getCohort)
	api.Put("/cohorts/:id", admin, s.putCohort)
	api.Post("/cohorts/:id/members", admin, s.postMember)
	api.Post("/cohorts/:id/members/:shop/milestones", admin, s.postMilestone)
	api.Post("/cohorts/:id/members/:shop/graduate", admin, s.postGraduate)

	api.Get("/enterprises", readers, s.getEnterprises)
	api.Post("/enterprises", admin, s.postEnterprise)
	api.Put("/enterprises/:id", admin, s.putEnterprise)
	api.Get("/brands", readers, s.getBrands)
	api.Post("/brands", admin, s.postBrand)
	api.Put("/brands/:id", admin, s.putBrand)
	api.Get("/products", anyone, s.getProducts)
	api.Post("/products", admin, s.postProduct)
	api.Put("/products/:id", admin, s.putProduct)
}

func ctxOf(c *fiber.Ctx) context.Context { return c.UserContext() }

func (s *Service) postFollowup(c *fiber.Ctx) error {
	var n NewFollowup
	if err := server.Bind(c, &n); err != nil {
		return err
	}
	fu, err := s.RecordFollowup(ctxOf(c), server.Who(c), n)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(fu)
}

func (s *Service) getFollowups(c *fiber.Ctx) error {
	id := c.Query("trainee_id")
	if !store.ValidID(id) {
		return server.Invalid("请指定学员", "trainee_id", "格式错误")
	}
	t, err := s.trainee(ctxOf(c), id)
	if err != nil {
		return err
	}
	if !server.Who(c).SeesTownship(t.TownshipID) {
		return server.Forbidden("该学员不在您负责的乡镇")
	}
	list, err := s.Followups(ctxOf(c), id)
	if err != nil {
		return err
	}
	tasks, err := s.Tasks(ctxOf(c), TaskQuery{TraineeID: id, Status: "all", Due: "all"})
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"followups": list, "tasks": tasks})
}

// getTasks: scope=mine (default) lists the caller's tasks; scope=all the
// township's (officer) or everyone's (admin, auditor).
func (s *Service) getTasks(c *fiber.Ctx) error {
	p := server.Who(c)
	q := TaskQuery{Status: c.Query("status"), Due: c.Query("due")}
	switch q.Status {
	case "", TaskOpen, TaskDone, "all":
	default:
		return server.Invalid("status 应为 open、done 或 all", "status", "取值错误")
	}
	switch q.Due {
	case "", "soon", "overdue", "all":
	default:
		return server.Invalid("due 应为 soon、overdue 或 all", "due", "取值错误")
	}
	switch c.Query("scope", "mine") {
	case "mine":
		q.AssigneeID = p.UserID
		if p.Role == server.RoleOfficer {
			q.PoolOf = p.TownshipID // tasks with no trainer go to the township's officers
		}
	case "all":
		if p.Role == server.RoleTrainer {
			return server.Forbidden("讲师只能查看自己的跟踪任务")
		}
		q.TownshipID = p.Township()
	default:
		return server.Invalid("scope 应为 mine 或 all", "scope", "取值错误")
	}
	if t := c.Query("township_id"); t != "" && p.Township() == "" && q.AssigneeID == "" {
		q.TownshipID = t
	}
	list, err := s.Tasks(ctxOf(c), q)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"tasks": list, "today": clock.Day(s.now())})
}

func (s *Service) postShop(c *fiber.Ctx) error {
	var n NewShop
	if err := server.Bind(c, &n); err != nil {
		return err
	}
	p := server.Who(c)
	if p.Role == server.RoleTrainee && n.TraineeID == "" {
		me, err := s.d.Trainees.TraineeByUser(ctxOf(c), p.UserID)
		if err != nil {
			return server.Forbidden("未找到您的学员档案")
		}
		n.TraineeID = me.ID
	}
	sh, err := s.CreateShop(ctxOf(c), p, n)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(sh)
}

func (s *Service) getShops(c *fiber.Ctx) error {
	p := server.Who(c)
	q := ShopQuery{TownshipID: p.Township(), TraineeID: c.Query("trainee_id"), Platform: c.Query("platform"), Status: c.Query("status")}
	if t := c.Query("township_id"); t != "" && q.TownshipID == "" {
		q.TownshipID = t
	}
	if p.Role == server.RoleTrainee {
		me, err := s.d.Trainees.TraineeByUser(ctxOf(c), p.UserID)
		if err != nil {
			return c.JSON(fiber.Map{"shops": []Shop{}})
		}
		q.TraineeID = me.ID
	}
	list, err := s.Shops(ctxOf(c), q)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"shops": list})
}

// shopFor loads the shop of the route and checks the caller may see it.
func (s *Service) shopFor(c *fiber.Ctx) (*Shop, error) {
	id, err := server.ID(c, "id")
	if err != nil {
		return nil, err
	}
	sh, err := s.Shop(ctxOf(c), id)
	if err != nil {
		return nil, err
	}
	p := server.Who(c)
	if !p.SeesTownship(sh.TownshipID) {
		return nil, server.Forbidden("该网店不在您负责的乡镇")
	}
	if p.Role == server.RoleTrainee {
		me, err := s.d.Trainees.TraineeByUser(ctxOf(c), p.UserID)
		if err != nil || me.ID != sh.TraineeID {
			return nil, server.Forbidden("只能查看自己的网店")
		}
	}
	return sh, nil
}

func (s *Service) getShop(c *fiber.Ctx) error {
	sh, err := s.shopFor(c)
	if err != nil {
		return err
	}
	sales, err := s.ShopSales(ctxOf(c), sh.ID)
	if err != nil {
		return err
	}
	g, err := s.ShopGrowth(ctxOf(c), sh.ID, c.Query("month"))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"shop": sh, "sales": sales, "growth": g})
}

func (s *Service) postSales(c *fiber.Ctx) error {
	id, err := server.ID(c, "id")
	if err != nil {
		return err
	}
	var n NewSale
	if err := server.Bind(c, &n); err != nil {
		return err
	}
	sale, err := s.ReportSales(ctxOf(c), server.Who(c), id, n)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(sale)
}

func (s *Service) getShopSales(c *fiber.Ctx) error {
	sh, err := s.shopFor(c)
	if err != nil {
		return err
	}
	cur, err := s.ShopSales(ctxOf(c), sh.ID)
	if err != nil {
		return err
	}
	hist, err := s.SalesHistory(ctxOf(c), sh.ID)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"sales": cur, "history": hist})
}

func (s *Service) postClose(c *fiber.Ctx) error {
	id, err := server.ID(c, "id")
	if err != nil {
		return err
	}
	var body struct {
		Closed   *bool  `json:"closed"`
		ClosedOn string `json:"closed_on"`
	}
	if err := server.Bind(c, &body); err != nil {
		return err
	}
	closed := body.Closed == nil || *body.Closed
	sh, err := s.CloseShop(ctxOf(c), server.Who(c), id, closed, body.ClosedOn)
	if err != nil {
		return err
	}
	return c.JSON(sh)
}

// township reads ?township_id= for roles that see the county; an officer always gets their own.
func (s *Service) township(c *fiber.Ctx) (string, error) {
	p := server.Who(c)
	if t := p.Township(); t != "" {
		return t, nil
	}
	t := c.Query("township_id")
	if t != "" && s.d.Regions != nil && !s.d.Regions.IsTownship(ctxOf(c), t) {
		return "", server.Invalid("乡镇不存在", "township_id", "不存在")
	}
	return t, nil
}

func (s *Service) getConversion(c *fiber.Ctx) error {
	t, err := s.township(c)
	if err != nil {
		return err
	}
	conv, err := s.Conversion(ctxOf(c), t)
	if err != nil {
		return err
	}
	return c.JSON(conv)
}

func (s *Service) getStep(c *fiber.Ctx) error {
	t, err := s.township(c)
	if err != nil {
		return err
	}
	list, err := s.StepTrainees(ctxOf(c), c.Params("step"), t, c.Query("group"))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"step": c.Params("step"), "trainees": list})
}

func (s *Service) postRecount(c *fiber.Ctx) error {
	var body struct {
		Fix *bool `json:"fix"`
	}
	if err := server.Bind(c, &body); err != nil {
		return err
	}
	fix := c.QueryBool("fix", true)
	if body.Fix != nil {
		fix = *body.Fix
	}
	res, err := s.RecountFunnel(ctxOf(c), fix)
	if err != nil {
		return err
	}
	if res.Fixed {
		s.audit(ctxOf(c), server.Who(c), "conversion.recount", "funnel", map[string]any{"differences": len(res.Differences)})
	}
	return c.JSON(res)
}

func (s *Service) getGrowth(c *fiber.Ctx) error {
	t, err := s.township(c)
	if err != nil {
		return err
	}
	m := c.Query("month")
	if m != "" && !validMonth(m) {
		return server.Invalid("月份应为 YYYY-MM", "month", "格式错误")
	}
	g, err := s.GrowthAt(ctxOf(c), t, m)
	if err != nil {
		return err
	}
	return c.JSON(g)
}

func (s *Service) getSummary(c *fiber.Ctx) error {
	e, b, sh, err := s.Counts(ctxOf(c))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{
		"enterprises": e, "enterprises_target": fiber.Map{"min": EnterprisesMin, "max": EnterprisesMax},
		"brands": b, "brands_target": fiber.Map{"min": BrandsMin, "max": BrandsMax},
		"shops": sh, "growth_target": GrowthTarget,
	})
}

func (s *Service) getCohorts(c *fiber.Ctx) error {
	list, err := s.Cohorts(ctxOf(c))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"cohorts": list})
}

func (s *Service) postCohort(c *fiber.Ctx) error {
	var n CohortInput
	if err := server.Bind(c, &n); err != nil {
		return err
	}
	co, err := s.CreateCohort(ctxOf(c), server.Who(c), n)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(co)
}

func (s *Service) getCohort(c *fiber.Ctx) error {
	id, err := server.ID(c, "id")
	if err != nil {
		return err
	}
	co, err := s.Cohort(ctxOf(c), id)
	if err != nil {
		return err
	}
	ms, err := s.Members(ctxOf(c), id, server.Who(c).Township())
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"cohort": co, "members": ms})
}

func (s *Service) putCohort(c *fiber.Ctx) error {
	id, err := server.ID(c, "id")
	if err != nil {
		return err
	}
	var n CohortInput
	if err := server.Bind(c, &n); err != nil {
		return err
	}
	co, err := s.UpdateCohort(ctxOf(c), server.Who(c), id, n)
	if err != nil {
		return err
	}
	return c.JSON(co)
}

func (s *Service) postMember(c *fiber.Ctx) error {
	id, err := server.ID(c, "id")
	if err != nil {
		return err
	}
	var body struct {
		ShopID     string `json:"shop_id"`
		AdmittedOn string `json:"admitted_on"`
	}
	if err := server.Bind(c, &body); err != nil {
		return err
	}
	m, err := s.Admit(ctxOf(c), server.Who(c), id, body.ShopID, body.AdmittedOn)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(m)
}

func memberIDs(c *fiber.Ctx) (string, string, error) {
	id, err := server.ID(c, "id")
	if err != nil {
		return "", "", err
	}
	shop, err := server.ID(c, "shop")
	return id, shop, err
}

func (s *Service) postMilestone(c *fiber.Ctx) error {
	id, shop, err := memberIDs(c)
	if err != nil {
		return err
	}
	var body struct {
		Kind string `json:"kind"`
		On   string `json:"on"`
		Note string `json:"note"`
	}
	if err := server.Bind(c, &body); err != nil {
		return err
	}
	m, err := s.AddMilestone(ctxOf(c), server.Who(c), id, shop, Milestone{Kind: body.Kind, On: body.On, Note: body.Note})
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(m)
}

func (s *Service) postGraduate(c *fiber.Ctx) error {
	id, shop, err := memberIDs(c)
	if err != nil {
		return err
	}
	var body struct {
		On string `json:"on"`
	}
	if err := server.Bind(c, &body); err != nil {
		return err
	}
	m, err := s.Graduate(ctxOf(c), server.Who(c), id, shop, body.On)
	if err != nil {
		return err
	}
	return c.JSON(m)
}

func (s *Service) getEnterprises(c *fiber.Ctx) error {
	list, err := s.Enterprises(ctxOf(c))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"enterprises": list, "target": fiber.Map{"min": EnterprisesMin, "max": EnterprisesMax}})
}

func (s *Service) postEnterprise(c *fiber.Ctx) error { return s.saveEnterprise(c, "") }

func (s *Service) putEnterprise(c *fiber.Ctx) error {
	id, err := server.ID(c, "id")
	if err != nil {
		return err
	}
	return s.saveEnterprise(c, id)
}

func (s *Service) saveEnterprise(c *fiber.Ctx, id string) error {
	var n EnterpriseInput
	if err := server.Bind(c, &n); err != nil {
		return err
	}
	e, err := s.SaveEnterprise(ctxOf(c), server.Who(c), id, n)
	if err != nil {
		return err
	}
	return c.Status(created(id)).JSON(e)
}

func created(id string) int {
	if id == "" {
		return fiber.StatusCreated
	}
	return fiber.StatusOK
}

func (s *Service) getBrands(c *fiber.Ctx) error {
	list, err := s.Brands(ctxOf(c))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"brands": list, "target": fiber.Map{"min": BrandsMin, "max": BrandsMax}})
}

func (s *Service) postBrand(c *fiber.Ctx) error { return s.saveBrand(c, "") }

func (s *Service) putBrand(c *fiber.Ctx) error {
	id, err := server.ID(c, "id")
	if err != nil {
		return err
	}
	return s.saveBrand(c, id)
}

func (s *Service) saveBrand(c *fiber.Ctx, id string) error {
	var n BrandInput
	if err := server.Bind(c, &n); err != nil {
		return err
	}
	b, err := s.SaveBrand(ctxOf(c), server.Who(c), id, n)
	if err != nil {
		return err
	}
	return c.Status(created(id)).JSON(b)
}

func (s *Service) getProducts(c *fiber.Ctx) error {
	list, err := s.Products(ctxOf(c))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"products": list})
}

func (s *Service) postProduct(c *fiber.Ctx) error { return s.saveProduct(c, "") }

func (s *Service) putProduct(c *fiber.Ctx) error {
	id, err := server.ID(c, "id")
	if err != nil {
		return err
	}
	return s.saveProduct(c, id)
}

func (s *Service) saveProduct(c *fiber.Ctx, id string) error {
	var n ProductInput
	if err := server.Bind(c, &n); err != nil {
		return err
	}
	p, err := s.SaveProduct(ctxOf(c), server.Who(c), id, n)
	if err != nil {
		return err
	}
	return c.Status(created(id)).JSON(p)
}
