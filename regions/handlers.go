package regions

import (
	"io"

	"github.com/gofiber/fiber/v2"
	"nongxun/server"
)

// Register adds the region routes to the authenticated API.
func (s *Service) Register(r fiber.Router) {
	r.Get("/regions", server.Require(server.Roles...), func(c *fiber.Ctx) error {
		all := s.All(c.UserContext())
		if lv := c.Query("level"); lv != "" {
			out := []Region{}
			for _, x := range all {
				if x.Level == lv {
					out = append(out, x)
				}
			}
			all = out
		}
		if all == nil {
			all = []Region{}
		}
		return c.JSON(all)
	})
	r.Post("/regions", server.Require(server.RoleAdmin), func(c *fiber.Ctx) error {
		var in NewRegion
		if err := server.Bind(c, &in); err != nil {
			return err
		}
		reg, err := s.Create(c.UserContext(), in)
		if err != nil {
			return err
		}
		s.Audit.Note(c.UserContext(), server.Who(c), "region.create", reg.ID, map[string]any{"name": reg.Name, "level": reg.Level})
		return c.Status(fiber.StatusCreated).JSON(reg)
	})
	r.Patch("/regions/:id", server.Require(server.RoleAdmin), func(c *fiber.Ctx) error {
		id, err := server.ID(c, "id")
		if err != nil {
			return err
		}
		var in struct {
			Name    *string `json:"name"`
			Poverty *bool   `json:"poverty"`
		}
		if err := server.Bind(c, &in); err != nil {
			return err
		}
		reg, err := s.Update(c.UserContext(), id, in.Name, in.Poverty)
		if err != nil {
			return err
		}
		d := map[string]any{}
		if in.Name != nil {
			d["name"] = reg.Name
		}
		if in.Poverty != nil {
			d["poverty"] = reg.Poverty
		}
		s.Audit.Note(c.UserContext(), server.Who(c), "region.update", id, d)
		return c.JSON(reg)
	})
}

// RegisterAdmin adds the demo loader and the import upload (admin only).
func (s *Service) RegisterAdmin(r fiber.Router) {
	r.Post("/regions/demo", server.Require(server.RoleAdmin), func(c *fiber.Ctx) error {
		n, err := s.LoadDemo(c.UserContext())
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"created": n})
	})
	r.Post("/regions/import", server.Require(server.RoleAdmin), func(c *fiber.Ctx) error {
		var rows [][]string
		_, err := server.StreamUpload(c, "file", func(u server.Upload) error {
			var err error
			rows, err = ReadTable(io.LimitReader(u.Body, 16<<20), u.Filename)
			if err != nil {
				return server.Invalid("无法读取文件：请上传 CSV 或 XLSX 表格", "file", "应为 CSV 或 XLSX").Because(err)
			}
			return nil
		})
		if err != nil {
			return err
		}
		res, err := s.Import(c.UserContext(), rows)
		if err != nil {
			return err
		}
		s.Audit.Note(c.UserContext(), server.Who(c), "region.import", "regions", map[string]any{"created": res.Created, "kept": res.Kept, "refused": len(res.Refused)})
		return c.JSON(res)
	})
}
