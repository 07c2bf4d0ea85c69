package logistics

import (
	"time"

	"github.com/gofiber/fiber/v2"
	"nongxun/clock"
	"nongxun/server"
)

// viewers may read a parcel: everyone but trainees (station users only
// parcels routed through their station).
var viewers = []string{server.RoleAdmin, server.RoleOfficer, server.RoleTrainer, server.RoleAuditor, server.RoleStation}

// Register adds the parcel routes (/parcels/**) to the authenticated API.
func (s *Service) Register(api fiber.Router) {
	// Fixed paths first, so that ":waybill" does not swallow them.
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
			to = clock.Day(s.now())
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
		if n > 0 {
			s.note(c.UserContext(), server.Who(c), "parcels.archive", "parcels", map[string]any{"archived": n, "older_than_days": in.OlderThanDays})
		}
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
			s.note(c.UserContext(), server.Who(c), "parcels.recount", "parcel_counters", map[string]any{"days": res.DriftedDays})
		}
		return c.JSON(res)
	})
	api.Post("/parcels", server.Require(server.RoleAdmin, server.RoleStation), func(c *fiber.Ctx) error {
		var in NewParcel
		if err := server.Bind(c, &in); err != nil {
			return err
		}
		pc, err := s.CreateParcel(c.UserContext(), server.Who(c), in)
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(pc)
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
		if err := server.Bind(c, &in); err != nil {
			return err
		}
		if in.At == "" {
			in.At = s.now().UTC().Format(time.RFC3339)
		}
		pc, err := s.AddScan(c.UserContext(), server.Who(c), w, in)
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(pc)
	})
}

func waybillParam(c *fiber.Ctx) (string, error) {
	w := c.Params("waybill")
	if !ValidWaybill(w) {
		return "", server.Invalid("运单号格式错误", "waybill", "应为 6-32 位字母、数字或短横线")
	}
	return w, nil
}
