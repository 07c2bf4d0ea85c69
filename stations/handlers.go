package stations

import (
	"github.com/gofiber/fiber/v2"
	"nongxun/server"
)

// viewers may read stations: everyone but trainees (station users see only their own).
var viewers = []string{server.RoleAdmin, server.RoleOfficer, server.RoleTrainer, server.RoleAuditor, server.RoleStation}

// Register adds the station routes to the authenticated API.
func (s *Service) Register(api fiber.Router) {
	admin := server.Require(server.RoleAdmin)
	// Fixed paths first, so that ":id" does not swallow them.
	api.Get("/stations/coverage", server.Require(viewers...), s.getCoverage)
	api.Post("/stations/coverage/recount", admin, func(c *fiber.Ctx) error {
		cv, err := s.Recount(c.UserContext(), server.Who(c))
		if err != nil {
			return err
		}
		return c.JSON(cv)
	})
	api.Get("/stations/checklist", server.Require(viewers...), func(c *fiber.Ctx) error {
		items, err := s.Checklist(c.UserContext())
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"items": items})
	})
	api.Put("/stations/checklist", admin, func(c *fiber.Ctx) error {
		var in struct {
			Items []CheckItem `json:"items"`
		}
		if err := server.Bind(c, &in); err != nil {
			return err
		}
		items, err := s.SetChecklist(c.UserContext(), server.Who(c), in.Items)
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"items": items})
	})
	api.Get("/stations/subsidies", server.Require(server.RoleAdmin, server.RoleAuditor, server.RoleOfficer), func(c *fiber.Ctx) error {
		list, err := s.Subsidies(c.UserContext())
		if err != nil {
			return err
		}
		p := server.Who(c)
		out := []Subsidy{}
		var owed, paid int64
		for _, x := range list {
			if p.SeesTownship(x.TownshipID) {
				out = append(out, x)
				if x.Paid {
					paid += x.AmountFen
				} else {
					owed += x.AmountFen
				}
			}
		}
		return c.JSON(fiber.Map{"items": out, "owed_fen": owed, "paid_fen": paid})
	})
	api.Get("/stations/acceptances", server.Require(server.RoleAdmin, server.RoleAuditor, server.RoleOfficer), func(c *fiber.Ctx) error {
		list, err := s.AcceptanceRecords(c.UserContext())
		if err != nil {
			return err
		}
		p := server.Who(c)
		out := []Acceptance{}
		for _, x := range list {
			if p.SeesTownship(x.TownshipID) {
				out = append(out, x)
			}
		}
		return c.JSON(fiber.Map{"items": out})
	})
	api.Get("/stations", server.Require(viewers...), func(c *fiber.Ctx) error {
		items := s.List(c.UserContext(), server.Who(c), ListFilter{Kind: c.Query("kind"), Status: c.Query("status"), TownshipID: c.Query("township_id")})
		return c.JSON(fiber.Map{"items": items})
	})
	api.Post("/stations", admin, func(c *fiber.Ctx) error {
		var in NewStation
		return bindDo(c, fiber.StatusCreated, &in, func() (any, error) { return s.Create(c.UserContext(), server.Who(c), in) })
	})
	api.Get("/stations/:id", server.Require(viewers...), func(c *fiber.Ctx) error {
		id, err := server.ID(c, "id")
		if err != nil {
			return err
		}
		x, err := s.visible(c.UserContext(), server.Who(c), id)
		if err != nil {
			return err
		}
		return c.JSON(x)
	})
	api.Patch("/stations/:id", server.Require(server.RoleAdmin, server.RoleStation), func(c *fiber.Ctx) error {
		id, err := server.ID(c, "id")
		if err != nil {
			return err
		}
		var in StationUpdate
		return bindDo(c, fiber.StatusOK, &in, func() (any, error) { return s.Update(c.UserContext(), server.Who(c), id, in) })
	})
	api.Post("/stations/:id/status", admin, func(c *fiber.Ctx) error {
		id, err := server.ID(c, "id")
		if err != nil {
			return err
		}
		var in StatusChange
		return bindDo(c, fiber.StatusOK, &in, func() (any, error) { return s.SetStatus(c.UserContext(), server.Who(c), id, in) })
	})
	api.Post("/stations/:id/acceptance", admin, func(c *fiber.Ctx) error {
		id, err := server.ID(c, "id")
		if err != nil {
			return err
		}
		var in InspectionInput
		return bindDo(c, fiber.StatusCreated, &in, func() (any, error) { return s.Inspect(c.UserContext(), server.Who(c), id, in) })
	})
	api.Post("/stations/:id/services", server.Require(server.RoleAdmin, server.RoleStation), func(c *fiber.Ctx) error {
		id, err := server.ID(c, "id")
		if err != nil {
			return err
		}
		var in NewServiceEntry
		if err := server.Bind(c, &in); err != nil {
			return err
		}
		e, already, err := s.LogService(c.UserContext(), server.Who(c), id, in)
		if err != nil {
			return err
		}
		if already {
			return c.JSON(fiber.Map{"entry": e, "already": true})
		}
		return c.Status(fiber.StatusCreated).JSON(fiber.Map{"entry": e})
	})
	api.Post("/stations/:id/photos", server.Require(server.RoleAdmin, server.RoleStation), func(c *fiber.Ctx) error {
		id, err := server.ID(c, "id")
		if err != nil {
			return err
		}
		if _, err := s.visible(c.UserContext(), server.Who(c), id); err != nil {
			return err
		}
		var ph *Photo
		_, err = server.StreamUpload(c, "file", func(u server.Upload) error {
			var err error
			ph, err = s.AddPhoto(c.UserContext(), server.Who(c), id, u)
			return err
		})
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(ph)
	})
	api.Get("/stations/:id/photos/:photo", server.Require(viewers...), func(c *fiber.Ctx) error {
		id, err := server.ID(c, "id")
		if err != nil {
			return err
		}
		pid, err := server.ID(c, "photo")
		if err != nil {
			return err
		}
		ph, err := s.PhotoFile(c.UserContext(), server.Who(c), id, pid)
		if err != nil {
			return err
		}
		b, err := s.d.Store.Blobs.Open(c.UserContext(), ph.BlobID)
		if err != nil {
			return server.BlobError(err, 0)
		}
		return server.SendBlob(c, b, ph.BlobID, ph.ContentType, ph.Name, true)
	})
	api.Get("/stations/:id/services", server.Require(viewers...), func(c *fiber.Ctx) error {
		id, err := server.ID(c, "id")
		if err != nil {
			return err
		}
		if _, err := s.visible(c.UserContext(), server.Who(c), id); err != nil {
			return err
		}
		limit := c.QueryInt("limit", recentServices)
		if limit < 1 || limit > recentServices {
			return server.Invalid("limit 应在 1 到 20 之间", "limit", "超出范围")
		}
		t, items, err := s.Services(c.UserContext(), id, limit)
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"totals": t, "items": items})
	})
}

func (s *Service) getCoverage(c *fiber.Ctx) error {
	p := server.Who(c)
	tid := c.Query("township_id")
	if t := p.Township(); t != "" {
		tid = t
	}
	if tid != "" && !s.d.Regions.IsTownship(c.UserContext(), tid) {
		return server.Invalid("乡镇不存在", "township_id", "乡镇不存在")
	}
	cv, err := s.Coverage(c.UserContext(), tid)
	if err != nil {
		return err
	}
	return c.JSON(cv)
}

// bindDo binds the JSON body into in, runs do and answers status with its result.
func bindDo[T any](c *fiber.Ctx, status int, in *T, do func() (any, error)) error {
	if err := server.Bind(c, in); err != nil {
		return err
	}
	out, err := do()
	if err != nil {
		return err
	}
	return c.Status(status).JSON(out)
}
