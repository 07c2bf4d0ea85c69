package reports

import (
	"bytes"
	"context"
	"fmt"
	"nongxun/clock"

	"github.com/gofiber/fiber/v2"
	"nongxun/server"
	"nongxun/sheets"
)

// Evidence is the records behind the self-evaluation's figures.
type Evidence struct {
	Sessions     []SessionRow
	Certificates []CertRow
	Acceptance   []AcceptanceRow
	Ledger       []LedgerRow
	Missing      []string
}

// evidence gathers every record list that exists.
func (s *Service) evidence(ctx context.Context) (*Evidence, error) {
	e := &Evidence{}
	var err error
	if s.d.Sessions != nil {
		if e.Sessions, err = s.d.Sessions(ctx); err != nil {
			return nil, err
		}
		if s.d.SessionEvidence != nil {
			months := make([]string, 0, len(e.Sessions))
			for _, r := range e.Sessions {
				months = append(months, clock.Month(r.StartsAt))
			}
			present, photos, err := s.d.SessionEvidence(ctx, months)
			if err != nil {
				return nil, err
			}
			for i := range e.Sessions {
				e.Sessions[i].Present, e.Sessions[i].SheetPhotos = present[e.Sessions[i].ID], photos[e.Sessions[i].ID]
			}
		}
	} else {
		e.Missing = append(e.Missing, "培训场次")
	}
	if s.d.CertRegister != nil {
		if e.Certificates, err = s.d.CertRegister(ctx); err != nil {
			return nil, err
		}
	}
	if s.d.Acceptance != nil {
		if e.Acceptance, err = s.d.Acceptance(ctx); err != nil {
			return nil, err
		}
	} else {
		e.Missing = append(e.Missing, "站点验收记录")
	}
	if s.d.Ledger != nil {
		if e.Ledger, err = s.d.Ledger(ctx); err != nil {
			return nil, err
		}
	} else {
		e.Missing = append(e.Missing, "资金台账")
	}
	return e, nil
}

// evidenceText says, per KPI evidence kind, how many records back it.
func evidenceText(k KPI, e *Evidence) string {
	held, photos := 0, 0
	for _, r := range e.Sessions {
		if !r.Cancelled {
			held++
			if r.SheetPhotos > 0 {
				photos++
			}
		}
	}
	switch k.Evidence {
	case "签到记录、签到表照片":
		return fmt.Sprintf("培训 %d 场，其中 %d 场有签到表照片", held, photos)
	case "站点验收记录":
		return fmt.Sprintf("站点验收记录 %d 条", len(e.Acceptance))
	case "站点验收记录、资金台账":
		return fmt.Sprintf("站点验收记录 %d 条，资金台账 %d 条", len(e.Acceptance), len(e.Ledger))
	case "资金台账", "资金台账、验收节点":
		return fmt.Sprintf("资金台账 %d 条", len(e.Ledger))
	}
	return k.Evidence
}

func (s *Service) handleSelfEval(c *fiber.Ctx) error {
	format := c.Query("format", "xlsx")
	if format != "xlsx" && format != "pdf" {
		return server.Invalid("格式只能是 xlsx 或 pdf", "format", "应为 xlsx 或 pdf")
	}
	ctx := c.UserContext()
	d, err := s.computeDashboard(ctx, "", nil)
	if err != nil {
		return err
	}
	ev, err := s.evidence(ctx)
	if err != nil {
		return err
	}
	name := "绩效自评-" + s.now().Format("20060102")
	var buf bytes.Buffer
	if format == "pdf" {
		if err := s.selfEvalPDF(&buf, d, ev); err != nil {
			return err
		}
		attachmentName(c, name+".pdf")
		c.Set(fiber.HeaderContentType, "application/pdf")
		return c.Send(buf.Bytes())
	}
	if err := sheets.WriteXLSX(&buf, s.selfEvalSheets(d, ev)...); err != nil {
		return err
	}
	attachmentName(c, name+".xlsx")
	c.Set(fiber.HeaderContentType, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	return c.Send(buf.Bytes())
}

func (s *Service) selfEvalSheets(d *Dashboard, ev *Evidence) []sheets.SheetRows {
	gen := d.GeneratedAt.Format("2006-01-02 15:04")
	title := func(what string) string {
		return fmt.Sprintf("%s 绩效自评 · %s（截止日期 %s，生成于 %s）", d.Settings.Programme, what, d.Settings.EndDate, gen)
	}
	kpi := table("目标完成情况", title("目标完成情况"),
		sheets.Col{Label: "指标"}, sheets.Col{Label: "目标"}, sheets.Col{Label: "实际"}, sheets.Col{Label: "状态"}, sheets.Col{Label: "说明"}, sheets.Col{Label: "佐证材料"})
	for _, k := range d.KPIs {
		kpi.Rows = append(kpi.Rows, []any{k.Label, k.Goal, k.Text, StatusLabel[k.Status], k.Note, evidenceText(k, ev)})
	}
	sess := table("培训场次", title("培训场次与签到表"),
		sheets.Col{Label: "课程"}, sheets.Col{Label: "时间", Kind: sheets.DateTime}, sheets.Col{Label: "地点"}, sheets.Col{Label: "乡镇"},
		sheets.Col{Label: "到课人数", Kind: sheets.Number}, sheets.Col{Label: "签到表照片", Kind: sheets.Number}, sheets.Col{Label: "状态"})
	var present, photos int64
	for _, r := range ev.Sessions {
		st := "已举办"
		if r.Cancelled {
			st = "已取消"
		}
		sess.Rows = append(sess.Rows, []any{r.Course, r.StartsAt, r.Location, s.townshipName(context.Background(), r.TownshipID), r.Present, r.SheetPhotos, st})
		present += r.Present
		photos += r.SheetPhotos
	}
	sess.Totals = []any{"合计", nil, nil, nil, present, photos, nil}
	certs := table("证书登记册", title("证书登记册"), certColumns...)
	for _, r := range ev.Certificates {
		certs.Rows = append(certs.Rows, certLine(r))
	}
	if s.d.CertRegister == nil {
		// the register itself is the certificates package's export
		certs.Rows = append(certs.Rows, []any{fmt.Sprintf("共颁发 %d 本证书；逐本登记册见“证书登记册”导出（/api/v1/certificates/register）", d.Certificates)})
	}
	acc := table("站点验收", title("站点验收记录"),
		sheets.Col{Label: "站点"}, sheets.Col{Label: "类型"}, sheets.Col{Label: "乡镇"}, sheets.Col{Label: "来源"}, sheets.Col{Label: "验收时间", Kind: sheets.DateTime}, sheets.Col{Label: "备注"})
	for _, r := range ev.Acceptance {
		acc.Rows = append(acc.Rows, []any{r.Station, kindLabel[r.Kind], s.townshipName(context.Background(), r.TownshipID), originLabel[r.Origin], r.AcceptedAt, r.Note})
	}
	ledger := s.ledgerSheet(ev.Ledger, title("资金台账"))
	return []sheets.SheetRows{kpi, sess, certs, acc, ledger}
}

var kindLabel = map[string]string{"county_center": "县级公共服务中心", "warehouse": "县级仓储中心", "township": "乡镇服务站", "village": "村级服务点"}
var originLabel = map[string]string{"new": "新建", "integrated": "整合"}
var entryKindLabel = map[string]string{"allocation": "安排", "payment": "支付", "reversal": "冲销"}
var certStatusLabel = map[string]string{"valid": "有效", "revoked": "已撤销"}

func certLine(r CertRow) []any {
	return []any{r.Serial, r.Name, r.Course, r.Township, r.IssuedAt, certStatusLabel[r.Status], r.Revoked}
}

// table is an empty sheet of an export.
func table(name, title string, cols ...sheets.Col) sheets.SheetRows {
	return sheets.SheetRows{Sheet: sheets.Sheet{Name: name, Title: title, Columns: cols}}
}

func (s *Service) ledgerSheet(rows []LedgerRow, title string) sheets.SheetRows {
	sh := table("资金台账", title, ledgerColumns...)
	var total int64
	for _, r := range rows {
		sh.Rows = append(sh.Rows, ledgerLine(r))
		if r.Kind == "payment" {
			total += r.AmountFen
		} else if r.Kind == "reversal" {
			total -= r.AmountFen
		}
	}
	sh.Totals = []any{"支付合计", nil, nil, nil, nil, total, nil, nil, nil}
	return sh
}

var ledgerColumns = []sheets.Col{{Label: "时间", Kind: sheets.DateTime}, {Label: "类型"}, {Label: "类别"}, {Label: "用途"}, {Label: "事由"},
	{Label: "金额（元）", Kind: sheets.Money}, {Label: "收款方"}, {Label: "拨付批次"}, {Label: "冲销分录"}}

func ledgerLine(r LedgerRow) []any {
	tr := ""
	if r.Tranche > 0 {
		tr = fmt.Sprintf("第 %d 期", r.Tranche)
	}
	cat := CategoryLabel[r.Category]
	if cat == "" {
		cat = r.Category
	}
	return []any{r.At, entryKindLabel[r.Kind], cat, r.Use, r.Purpose, r.AmountFen, r.Payee, tr, r.Reverses}
}

func (s *Service) selfEvalPDF(buf *bytes.Buffer, d *Dashboard, ev *Evidence) error {
	pdf, err := s.newPDF("L")
	if err != nil {
		return err
	}
	pdf.AddPage()
	pdf.SetFont("cjk", "", 16)
	pdf.CellFormat(0, 10, d.Settings.Programme+" 绩效自评表", "", 1, "C", false, 0, "")
	pdf.SetFont("cjk", "", 10)
	pdf.CellFormat(0, 6, fmt.Sprintf("项目期限 %s 至 %s；生成于 %s；数据来自平台记录（签到、证书、站点验收、资金台账）", d.Settings.StartDate, d.Settings.EndDate, d.GeneratedAt.Format("2006-01-02 15:04")), "", 1, "C", false, 0, "")
	pdf.Ln(2)
	var rows [][]string
	for _, k := range d.KPIs {
		rows = append(rows, []string{k.Label, k.Goal, k.Text, StatusLabel[k.Status], k.Note, evidenceText(k, ev)})
	}
	pdfTable(pdf, []float64{60, 35, 50, 18, 60, 54}, []string{"指标", "目标", "实际", "状态", "说明", "佐证材料"}, rows)
	pdf.Ln(4)
	pdf.SetFont("cjk", "", 12)
	pdf.CellFormat(0, 8, "佐证材料清单", "", 1, "L", false, 0, "")
	pdf.SetFont("cjk", "", 10)
	held, photos := 0, 0
	for _, r := range ev.Sessions {
		if !r.Cancelled {
			held++
			if r.SheetPhotos > 0 {
				photos++
			}
		}
	}
	lines := []string{
		fmt.Sprintf("培训场次：%d 场已举办，%d 场附签到表照片（逐场签到表可由“归档导出”打印）", held, photos),
		fmt.Sprintf("证书登记册：%d 本", max(int64(len(ev.Certificates)), d.Certificates)),
		fmt.Sprintf("站点验收记录：%d 条", len(ev.Acceptance)),
		fmt.Sprintf("资金台账：%d 条", len(ev.Ledger)),
	}
	for _, m := range ev.Missing {
		lines = append(lines, m+"：数据尚未接入")
	}
	for _, l := range lines {
		pdf.MultiCell(0, 6, "· "+l, "", "L", false)
	}
	if err := pdf.Error(); err != nil {
		return err
	}
	return writePDF(pdf, buf)
}
