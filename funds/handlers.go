package funds

import (
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"nongxun/server"
)

// readers may see the fund: the office and the auditor.
var readers = []string{server.RoleAdmin, server.RoleAuditor}

// Register adds the fund routes. Writes are admin only; the auditor reads.
// Entries have no PUT, PATCH or DELETE: those are refused with append_only.
func (s *Service) Register(r fiber.Router) {
	admin := server.Require(server.RoleAdmin)
	read := server.Require(readers...)

	r.Get("/funds/summary", read, func(c *fiber.Ctx) error {
		sum, err := s.Summary(c.UserContext())
		if err != nil {
			return err
		}
		return c.JSON(sum)
	})
	r.Get("/funds/reconcile", read, func(c *fiber.Ctx) error {
		drift, err := s.Reconcile(c.UserContext())
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"ok": len(drift) == 0, "drift": drift})
	})
	r.Get("/funds/gates", read, func(c *fiber.Ctx) error {
		g, err := s.GateStatuses(c.UserContext())
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"items": g})
	})
	r.Post("/funds/gates", admin, func(c *fiber.Ctx) error {
		var in struct{ Gate, At, Note string }
		if err := server.Bind(c, &in); err != nil {
			return err
		}
		g, err := s.RecordGate(c.UserContext(), server.Who(c), in.Gate, in.At, in.Note)
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(g)
	})
	r.Post("/funds/entries", admin, func(c *fiber.Ctx) error {
		var in NewEntry
		if err := server.Bind(c, &in); err != nil {
			return err
		}
		e, err := s.Record(c.UserContext(), server.Who(c), in)
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(e)
	})
	r.Get("/funds/entries", read, s.ledgerHandler)
	r.Get("/funds/ledger", read, s.ledgerHandler)
	r.Get("/funds/entries/:id", read, func(c *fiber.Ctx) error {
		id, err := server.ID(c, "id")
		if err != nil {
			return err
		}
		v, err := s.View(c.UserContext(), id)
		if err != nil {
			return err
		}
		return c.JSON(v)
	})
	appendOnly := func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderAllow, "GET")
		return server.RuleBroken(server.CodeNotFound, RuleAppendOnly, "资金分录只能追加，不能修改或删除；如需更正，请登记一笔冲销分录")
	}
	for _, p := range []string{"/funds/entries", "/funds/entries/:id"} {
		r.Put(p, server.Require(server.Roles...), appendOnly)
		r.Patch(p, server.Require(server.Roles...), appendOnly)
		r.Delete(p, server.Require(server.Roles...), appendOnly)
	}
	r.Post("/funds/entries/:id/evidence", admin, func(c *fiber.Ctx) error {
		id, err := server.ID(c, "id")
		if err != nil {
			return err
		}
		if _, err := s.Entry(c.UserContext(), id); err != nil {
			return err
		}
		var ev *Evidence
		_, err = server.StreamUpload(c, "file", func(u server.Upload) error {
			var err error
			ev, err = s.AddEvidence(c.UserContext(), server.Who(c), id, u)
			return err
		})
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(ev)
	})
	r.Get("/funds/evidence/:id", read, func(c *fiber.Ctx) error {
		id, err := server.ID(c, "id")
		if err != nil {
			return err
		}
		ev, err := s.EvidenceFile(c.UserContext(), id)
		if err != nil {
			return err
		}
		b, err := s.d.Store.Blobs.Open(c.UserContext(), ev.BlobID)
		if err != nil {
			return server.BlobError(err, 0)
		}
		return server.SendBlob(c, b, ev.BlobID, ev.ContentType, ev.Name, c.Query("download") == "")
	})
	r.Post("/funds/subsidies", admin, func(c *fiber.Ctx) error {
		var in struct {
			StationID string `json:"station_id"`
			Approver  string `json:"approver"`
			At        string `json:"at"`
		}
		if err := server.Bind(c, &in); err != nil {
			return err
		}
		e, err := s.PaySubsidy(c.UserContext(), server.Who(c), in.StationID, in.Approver, in.At)
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(e)
	})
	r.Get("/funds/subsidies", read, func(c *fiber.Ctx) error {
		list := []Subsidy{}
		if s.d.Subsidies != nil {
			l, err := s.d.Subsidies(c.UserContext())
			if err != nil {
				return err
			}
			list = append(list, l...)
		}
		return c.JSON(fiber.Map{"items": list})
	})
}

// ledgerHandler serves GET /funds/ledger (and /funds/entries): filters
// kind, category, tranche, station_id, from, to (dates); pages by before
// (a seq) and limit (1-200, default 50).
func (s *Service) ledgerHandler(c *fiber.Ctx) error {
	q := LedgerQuery{Kind: c.Query("kind"), Category: c.Query("category"), StationID: c.Query("station_id"), Limit: 50}
	f := server.Fields{}
	f.Add(q.Kind != "" && q.Kind != KindAllocation && q.Kind != KindPayment && q.Kind != KindReversal, "kind", "应为预算安排、付款或冲销")
	f.Add(q.Category != "" && CategoryNames[q.Category] == "", "category", categoryHint)
	num := func(name string, lo, hi int64) int64 {
		v := c.Query(name)
		if v == "" {
			return 0
		}
		n, err := strconv.ParseInt(v, 10, 64)
		f.Add(err != nil || n < lo || n > hi, name, "超出范围")
		return n
	}
	q.Tranche = int(num("tranche", 1, 4))
	q.Before = num("before", 1, 1<<62)
	if l := num("limit", 1, 200); l > 0 {
		q.Limit = l
	}
	day := func(name string) time.Time {
		v := c.Query(name)
		if v == "" {
			return time.Time{}
		}
		t, err := parseTime(v, s.now())
		f.Add(err != nil, name, "应为日期（如 2019-05-01）")
		return t
	}
	q.From = day("from")
	if q.To = day("to"); !q.To.IsZero() && len(c.Query("to")) == len("2006-01-02") {
		q.To = q.To.Add(24 * time.Hour) // a date "to" includes that day
	}
	if err := f.Err(); err != nil {
		return err
	}
	items, next, err := s.LedgerPage(c.UserContext(), q)
	if err != nil {
		return err
	}
	out := fiber.Map{"items": items}
	if next > 0 {
		out["next_before"] = next
	}
	return c.JSON(out)
}
