package stations

import (
	"time"

	"github.com/gofiber/fiber/v2"
	"nongxun/server"
)

func (s *Service) registerParcels(api fiber.Router) {
	api.Get("/parcels/volumes", server.Require(server.RoleAdmin, server.RoleOfficer, server.RoleAuditor, server.RoleTrainer), func(c *fiber.Ctx) error {
		p := server.Who(c)
		tid := c.Query("township_id")
		if t := p.Township(); t != "" {
			tid = t
		}
		if tid != "" && !s.d.Regions.IsTownship(c.UserContext(), tid) {
			return server.Invalid("乡镇不存在", "township_id", "乡镇不存在")
		}
		from, to := c.Query("from"), c.Query("to")
		if from == "" && to == "" {
			v, err := s.ParcelVolumes(c.UserContext(), tid)
			if err != nil {
				return err
			}
			return c.JSON(v)
		}
		if to == "" {
			to = s.now().In(shanghai).Format("2006-01-02")
		}
		if from == "" {
			from = to
		}
		v, err := s.VolumesBetween(c.UserContext(), tid, from, to)
		if err != nil {
			return err
		}
		return c.JSON(v)
	})
	api.Post("/parcels/archive", server.Require(server.RoleAdmin), func(c *fiber.Ctx) error {
		var in struct {
			OlderThanDays int `json:"older_than_days"`
		}
		if err := server.Bind(c, &in); err != nil {
			return err
		}
		if in.OlderThanDays == 0 {
			in.OlderThanDays = 30
		}
		if in.OlderThanDays < 7 || in.OlderThanDays > 3650 {
			return server.Invalid("归档天数应在 7 到 3650 之间", "older_than_days", "超出范围")
		}
		n, err := s.ArchiveParcels(c.UserContext(), s.now().AddDate(0, 0, -in.OlderThanDays))
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"archived": n})
	})
	api.Post("/parcels/recount", server.Require(server.RoleAdmin), func(c *fiber.Ctx) error {
		var in struct {
			Fix *bool `json:"fix"`
		}
		if err := server.Bind(c, &in); err != nil {
			return err
		}
		res, err := s.RecountParcels(c.UserContext(), in.Fix == nil || *in.Fix)
		if err != nil {
			return err
		}
		if res.Fixed {
			_ = s.record(c.UserContext(), server.Who(c), "parcels.recount", "parcel_counters", map[string]any{"days": res.DriftedDays})
		}
		return c.JSON(res)
	})
	api.Post("/parcels", server.Require(server.RoleAdmin, server.RoleStation), func(c *fiber.Ctx) error {
		var in NewParcel
		return bindDo(c, fiber.StatusCreated, &in, func() (any, error) { return s.CreateParcel(c.UserContext(), server.Who(c), in) })
	})
	api.Get("/parcels/:waybill", server.Require(viewers...), func(c *fiber.Ctx) error {
		w, err := waybillParam(c)
		if err != nil {
			return err
		}
		pc, err := s.Parcel(c.UserContext(), server.Who(c), w)
		if err != nil {
			return err
		}
		return c.JSON(pc)
	})
	api.Post("/parcels/:waybill/scans", server.Require(server.RoleAdmin, server.RoleStation), func(c *fiber.Ctx) error {
		w, err := waybillParam(c)
		if err != nil {
			return err
		}
		var in NewScan
		return bindDo(c, fiber.StatusCreated, &in, func() (any, error) {
			if in.At == "" {
				in.At = s.now().UTC().Format(time.RFC3339)
			}
			return s.AddScan(c.UserContext(), server.Who(c), w, in)
		})
	})
}

func waybillParam(c *fiber.Ctx) (string, error) {
	w := c.Params("waybill")
	if !ValidWaybill(w) {
		return "", server.Invalid("运单号格式错误", "waybill", "应为 6-32 位字母、数字或短横线")
	}
	return w, nil
}
