package reports

import (
	"bytes"
	"fmt"
	"net/url"
	"strconv"

	"github.com/gofiber/fiber/v2"
	"nongxun/server"
	"nongxun/sheets"
	"nongxun/store"
)

var (
	office  = []string{server.RoleAdmin, server.RoleOfficer, server.RoleAuditor}
	writers = []string{server.RoleAdmin, server.RoleOfficer}
	county  = []string{server.RoleAdmin, server.RoleAuditor}
)

// Register mounts the reports API on api (/api/v1, behind Authenticate).
func (s *Service) Register(api fiber.Router) {
	api.Get("/setup", server.Require(server.RoleAdmin), s.handleSetup)
	r := api.Group("/reports")
	r.Get("/monthly", server.Require(office...), s.handleMonthly)
	r.Get("/dashboard", server.Require(office...), s.handleDashboard)
	r.Get("/charts/:name", server.Require(office...), s.handleChart)
	r.Get("/settings", server.Require(office...), s.handleGetSettings)
	r.Put("/settings", server.Require(server.RoleAdmin), s.handlePutSettings)
	r.Get("/written", server.Require(office...), s.handleListWritten)
	r.Put("/written/:month", server.Require(writers...), s.handleSubmit)
	r.Post("/written/:month/attachments", server.Require(writers...), s.handleAttach)
	r.Get("/written/:month/:township", server.Require(office...), s.handleGetWritten)
	r.Get("/written/:month/:township/attachments/:n", server.Require(office...), s.handleGetAttachment)
	r.Get("/self-evaluation", server.Require(county...), s.handleSelfEval)
	r.Get("/exports/signin/:id", server.Require(server.RoleAdmin, server.RoleOfficer, server.RoleAuditor, server.RoleTrainer), s.handleSignIn)
	r.Get("/exports/:kind", server.Require(office...), s.handleExport)
}

// scope decides which township a reader sees: an officer always their
// own (asking for another is forbidden), others the county or the one asked.
func (s *Service) scope(c *fiber.Ctx) (string, error) {
	p := server.Who(c)
	asked := c.Query("township_id")
	if p.Role == server.RoleOfficer {
		if asked != "" && asked != p.TownshipID {
			return "", server.Forbidden("只能查看本乡镇的数据")
		}
		if p.TownshipID == "" {
			return "", server.Forbidden("您的账号未关联乡镇")
		}
		return p.TownshipID, nil
	}
	if asked == "" {
		return "", nil
	}
	if !store.ValidID(asked) || !s.d.Regions.IsTownship(c.UserContext(), asked) {
		return "", server.Invalid("乡镇不存在", "township_id", "应为乡镇编号")
	}
	return asked, nil
}

func attachmentName(c *fiber.Ctx, name string) {
	c.Set("Content-Disposition", "attachment; filename*=UTF-8''"+url.PathEscape(name))
}

func (s *Service) handleMonthly(c *fiber.Ctx) error {
	format := c.Query("format", "json")
	if format != "json" && format != "csv" && format != "xlsx" {
		return server.Invalid("格式只能是 json、csv 或 xlsx", "format", "应为 json、csv 或 xlsx")
	}
	month := c.Query("month")
	if _, err := s.checkMonth(month); err != nil {
		return err
	}
	tid, err := s.scope(c)
	if err != nil {
		return err
	}
	m, err := s.Monthly(c.UserContext(), month, tid)
	if err != nil {
		return err
	}
	base := "每月一报-" + month
	if tid != "" {
		base += "-" + s.townshipName(c.UserContext(), tid)
	}
	switch format {
	case "csv":
		var buf bytes.Buffer
		cols, rows, tot := monthlyTable(m)
		if err := sheets.WriteCSV(&buf, cols, rows, tot); err != nil {
			return err
		}
		attachmentName(c, base+".csv")
		c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
		return c.Send(buf.Bytes())
	case "xlsx":
		st, err := s.Settings(c.UserContext())
		if err != nil {
			return err
		}
		b, err := xlsxBytes(monthlySheets(m, st.Programme))
		if err != nil {
			return err
		}
		attachmentName(c, base+".xlsx")
		c.Set(fiber.HeaderContentType, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
		return c.Send(b)
	}
	return c.JSON(m)
}

func (s *Service) handleDashboard(c *fiber.Ctx) error {
	tid, err := s.scope(c)
	if err != nil {
		return err
	}
	d, err := s.Dashboard(c.UserContext(), tid)
	if err != nil {
		return err
	}
	c.Set("Cache-Control", "private, no-cache")
	return c.JSON(d)
}

func (s *Service) handleChart(c *fiber.Ctx) error {
	name := c.Params("name")
	if _, ok := ChartTitle[name]; !ok {
		return server.NotFound("没有这个图表")
	}
	tid, err := s.scope(c)
	if err != nil {
		return err
	}
	w, _ := strconv.Atoi(c.Query("w"))
	d, err := s.chartData(c.UserContext(), tid, name)
	if err != nil {
		return err
	}
	svg, err := s.Chart(d, name, w)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "image/svg+xml")
	c.Set("Cache-Control", "private, max-age=5")
	return c.Send(svg)
}

func (s *Service) handleGetSettings(c *fiber.Ctx) error {
	st, err := s.Settings(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(st)
}

func (s *Service) handlePutSettings(c *fiber.Ctx) error {
	var in SettingsInput
	if err := server.Bind(c, &in); err != nil {
		return err
	}
	st, err := s.SaveSettings(c.UserContext(), server.Who(c), in)
	if err != nil {
		return err
	}
	return c.JSON(st)
}

func (s *Service) handleListWritten(c *fiber.Ctx) error {
	tid, err := s.scope(c)
	if err != nil {
		return err
	}
	month := c.Query("month")
	if month == "" {
		month = lastDueMonth(s.now())
	}
	l, err := s.ListWritten(c.UserContext(), month, tid)
	if err != nil {
		return err
	}
	return c.JSON(l)
}

func (s *Service) handleSubmit(c *fiber.Ctx) error {
	var in SubmitInput
	if err := server.Bind(c, &in); err != nil {
		return err
	}
	w, created, err := s.Submit(c.UserContext(), server.Who(c), c.Params("month"), in)
	if err != nil {
		return err
	}
	if created {
		c.Status(fiber.StatusCreated)
	}
	return c.JSON(w)
}

func (s *Service) handleAttach(c *fiber.Ctx) error {
	month := c.Params("month")
	if _, err := s.checkMonth(month); err != nil {
		return err
	}
	p := server.Who(c)
	// an officer's township is known before the body is read; an admin's comes as a query parameter.
	tid, err := s.reportTownship(c.UserContext(), p, c.Query("township_id"))
	if err != nil {
		return err
	}
	var att *Attachment
	_, err = server.StreamUpload(c, "file", func(up server.Upload) error {
		var err error
		att, err = s.Attach(c.UserContext(), p, month, tid, up)
		return err
	})
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(att)
}

// writtenParams reads and checks :month and :township for a reader.
func (s *Service) writtenParams(c *fiber.Ctx) (string, string, error) {
	month := c.Params("month")
	if _, err := s.checkMonth(month); err != nil {
		return "", "", err
	}
	tid, err := server.ID(c, "township")
	if err != nil {
		return "", "", err
	}
	if !server.Who(c).SeesTownship(tid) {
		return "", "", server.Forbidden("只能查看本乡镇的月报")
	}
	return month, tid, nil
}

func (s *Service) handleGetWritten(c *fiber.Ctx) error {
	month, tid, err := s.writtenParams(c)
	if err != nil {
		return err
	}
	w, err := s.WrittenReport(c.UserContext(), month, tid)
	if err != nil {
		return err
	}
	return c.JSON(w)
}

func (s *Service) handleGetAttachment(c *fiber.Ctx) error {
	month, tid, err := s.writtenParams(c)
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(c.Params("n"))
	if err != nil || n < 1 {
		return server.Invalid("附件编号错误", "n", "应为正整数")
	}
	w, err := s.WrittenReport(c.UserContext(), month, tid)
	if err != nil {
		return err
	}
	for _, a := range w.Attachments {
		if a.N == n {
			b, err := s.st.Blobs.Open(c.UserContext(), a.BlobID)
			if err != nil {
				return server.BlobError(err, 0)
			}
			return server.SendBlob(c, b, a.BlobID, a.ContentType, a.Name, false)
		}
	}
	return server.NotFound(fmt.Sprintf("没有第 %d 个附件", n))
}
