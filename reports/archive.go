package reports

import (
	"bufio"
	"bytes"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"nongxun/server"
)

// ExportKinds are the archive exports: trainee roster (masked), certificate
// register and fund ledger.
var ExportKinds = map[string]string{"roster": "学员花名册", "certificates": "证书登记册", "ledger": "资金台账"}

var rosterColumns = []Column{{Label: "姓名", Width: 10}, {Label: "性别"}, {Label: "身份证号（脱敏）", Width: 22}, {Label: "手机（脱敏）", Width: 16},
	{Label: "乡镇", Width: 14}, {Label: "村", Width: 16}, {Label: "重点群体", Width: 26}, {Label: "登记时间", Width: 18}}

var certColumns = []Column{{Label: "证书编号", Width: 20}, {Label: "姓名", Width: 10}, {Label: "课程", Width: 28}, {Label: "乡镇", Width: 14},
	{Label: "发证时间", Width: 18}, {Label: "状态"}, {Label: "撤销原因", Width: 20}}

var genderLabel = map[string]string{"male": "男", "female": "女", "m": "男", "f": "女", "男": "男", "女": "女"}

// maskPhone keeps a phone's first 3 and last 4 digits.
func maskPhone(p string) string {
	if len(p) == 11 && !strings.Contains(p, "*") {
		return p[:3] + "****" + p[7:]
	}
	return p
}

// exportTable fetches one archive table; officers get their township's roster only.
func (s *Service) exportTable(c *fiber.Ctx, kind string) ([]Column, [][]any, []any, error) {
	ctx := c.UserContext()
	p := server.Who(c)
	switch kind {
	case "roster":
		if s.d.Roster == nil {
			return nil, nil, nil, server.NotFound("学员数据尚未接入")
		}
		tid, err := s.scope(c)
		if err != nil {
			return nil, nil, nil, err
		}
		list, err := s.d.Roster(ctx, tid)
		if err != nil {
			return nil, nil, nil, err
		}
		rows := make([][]any, 0, len(list))
		for _, r := range list {
			if !p.SeesTownship(r.TownshipID) {
				continue
			}
			var gl []string
			for _, g := range r.Groups {
				if GroupLabel[g] != "" {
					gl = append(gl, GroupLabel[g])
				} else {
					gl = append(gl, g)
				}
			}
			rows = append(rows, []any{r.Name, genderLabel[r.Gender], r.IDMasked, maskPhone(r.Phone), s.townshipName(ctx, r.TownshipID), r.Village, strings.Join(gl, "、"), r.CreatedAt})
		}
		return rosterColumns, rows, nil, nil
	case "certificates":
		if !p.Is(county...) {
			return nil, nil, nil, server.Forbidden("证书登记册由县电商办导出")
		}
		if s.d.CertRegister == nil {
			return nil, nil, nil, server.NotFound("证书数据尚未接入")
		}
		list, err := s.d.CertRegister(ctx)
		if err != nil {
			return nil, nil, nil, err
		}
		rows := make([][]any, 0, len(list))
		for _, r := range list {
			rows = append(rows, certLine(r))
		}
		return certColumns, rows, nil, nil
	case "ledger":
		if !p.Is(county...) {
			return nil, nil, nil, server.Forbidden("资金台账由县电商办导出")
		}
		if s.d.Ledger == nil {
			return nil, nil, nil, server.NotFound("资金数据尚未接入")
		}
		list, err := s.d.Ledger(ctx)
		if err != nil {
			return nil, nil, nil, err
		}
		sh := s.ledgerSheet(list, "")
		return sh.Columns, sh.Rows, sh.Totals, nil
	}
	return nil, nil, nil, server.NotFound("没有这种导出")
}

func (s *Service) handleExport(c *fiber.Ctx) error {
	kind := c.Params("kind")
	label, ok := ExportKinds[kind]
	if !ok {
		return server.NotFound("没有这种导出")
	}
	format := c.Query("format", "csv")
	if format != "csv" && format != "xlsx" {
		return server.Invalid("格式只能是 csv 或 xlsx", "format", "应为 csv 或 xlsx")
	}
	cols, rows, totals, err := s.exportTable(c, kind)
	if err != nil {
		return err
	}
	name := label + "-" + s.now().Format("20060102")
	c.Set("X-Total-Rows", strconv.Itoa(len(rows)))
	if format == "xlsx" {
		var buf bytes.Buffer
		title := s.now().Format("2006-01-02 15:04") + " 导出 · " + label
		if err := WriteXLSX(&buf, []Sheet{{Name: label, Title: title, Columns: cols, Rows: rows, Totals: totals}}); err != nil {
			return err
		}
		attachmentName(c, name+".xlsx")
		c.Set(fiber.HeaderContentType, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
		return c.Send(buf.Bytes())
	}
	attachmentName(c, name+".csv")
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	// streamed: rows are written as the client reads them.
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		if err := WriteCSV(w, cols, rows, totals); err != nil {
			s.log.Warn("reports: export stream", "kind", kind, "err", err.Error())
		}
		_ = w.Flush()
	})
	return nil
}

func (s *Service) handleSignIn(c *fiber.Ctx) error {
	id, err := server.ID(c, "id")
	if err != nil {
		return err
	}
	if s.d.SignInSheet == nil {
		return server.NotFound("签到数据尚未接入")
	}
	sh, err := s.d.SignInSheet(c.UserContext(), id)
	if err != nil {
		return err
	}
	pdf, err := s.newPDF("P")
	if err != nil {
		return err
	}
	pdf.AddPage()
	pdf.SetFont("cjk", "", 16)
	pdf.CellFormat(0, 10, "培训签到表", "", 1, "C", false, 0, "")
	pdf.SetFont("cjk", "", 10)
	info := []string{"课程：" + sh.Course, "时间：" + sh.StartsAt.In(shanghai).Format("2006-01-02 15:04"), "地点：" + sh.Location, "讲师：" + sh.Trainer,
		"到课人数：" + strconv.Itoa(countPresent(sh.Rows)) + "　签到表照片：" + strconv.Itoa(len(sh.Photos)) + " 张"}
	for _, l := range info {
		pdf.CellFormat(0, 6, l, "", 1, "L", false, 0, "")
	}
	pdf.Ln(2)
	rows := make([][]string, 0, len(sh.Rows))
	for i, r := range sh.Rows {
		at := ""
		if !r.At.IsZero() {
			at = r.At.In(shanghai).Format("15:04")
		}
		rows = append(rows, []string{strconv.Itoa(i + 1), r.Name, r.IDMasked, maskPhone(r.Phone), statusText(r.Status), at, methodText(r.Method), ""})
	}
	pdfTable(pdf, []float64{10, 22, 42, 26, 16, 14, 20, 40}, []string{"序号", "姓名", "身份证号", "手机", "状态", "时间", "方式", "本人签名"}, rows)
	if err := pdf.Error(); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := writePDF(pdf, &buf); err != nil {
		return err
	}
	attachmentName(c, "签到表-"+id+".pdf")
	c.Set(fiber.HeaderContentType, "application/pdf")
	return c.Send(buf.Bytes())
}

func countPresent(rows []SignInRow) int {
	n := 0
	for _, r := range rows {
		if r.Status == "present" || r.Status == "late" || r.Status == "" {
			n++
		}
	}
	return n
}

func statusText(s string) string {
	switch s {
	case "present", "":
		return "到课"
	case "late":
		return "迟到"
	case "absent":
		return "缺席"
	}
	return s
}

func methodText(m string) string {
	switch m {
	case "qr", "code", "checkin":
		return "扫码"
	case "rollcall":
		return "点名"
	case "backfill":
		return "补录"
	}
	return m
}
