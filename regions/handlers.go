package regions

import (
	"bytes"
	"net/url"

	"github.com/gofiber/fiber/v2"
	"nongxun/server"
	"nongxun/sheets"
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
		t, err := ReadUpload(c, sheets.Regions, sheets.Options{MaxBytes: maxImportBytes})
		if err != nil {
			return err
		}
		preview := c.QueryBool("preview")
		res, err := s.ImportTable(c.UserContext(), t, preview)
		if err != nil {
			return err
		}
		if !preview {
			s.Audit.Note(c.UserContext(), server.Who(c), "region.import", "regions", map[string]any{"created": res.Created, "kept": res.Kept, "refused": len(res.Refused)})
		}
		return c.JSON(res)
	})
	// The refused rows of a region list, as an XLSX in the upload's layout
	// with a 原因 column (docs/api.md, "Imports"). Nothing is written.
	r.Post("/regions/import/refused", server.Require(server.RoleAdmin), func(c *fiber.Ctx) error {
		t, err := ReadUpload(c, sheets.Regions, sheets.Options{MaxBytes: maxImportBytes, KeepRaw: true})
		if err != nil {
			return err
		}
		res, err := s.ImportTable(c.UserContext(), t, true)
		if err != nil {
			return err
		}
		why := map[int]string{}
		for i, r := range res.Rows {
			if r.Status == RowRefused {
				why[i] = r.Reason
			}
		}
		return SendRefused(c, t, "区划表：未通过的行（改正后可直接重新导入）", "区划未通过的行.xlsx", func(i int) string { return why[i] })
	})
}

// maxImportBytes bounds an uploaded region list.
const maxImportBytes = 16 << 20

// SendRefused answers the rows of t that reason (by index into t.Rows)
// refuses as an XLSX attachment named name (sheets.WriteRefused).
func SendRefused(c *fiber.Ctx, t *sheets.Table, title, name string, reason func(i int) string) error {
	var buf bytes.Buffer
	if _, err := sheets.WriteRefused(&buf, t, title, reason); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	c.Set(fiber.HeaderContentDisposition, "attachment; filename*=UTF-8''"+url.PathEscape(name))
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Send(buf.Bytes())
}
