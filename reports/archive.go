package reports

import (
	"bufio"
	"bytes"
	"github.com/go-pdf/fpdf"
	"nongxun/clock"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"nongxun/server"
	"nongxun/sheets"
)

// ExportKinds are the archive exports: trainee roster (masked), certificate
// register and fund ledger.
var ExportKinds = map[string]string{"roster": "学员花名册", "certificates": "证书登记册", "ledger": "资金台账"}

var rosterColumns = []sheets.Col{{Label: "姓名"}, {Label: "性别"}, {Label: "身份证号（脱敏）"}, {Label: "手机（脱敏）"},
	{Label: "乡镇"}, {Label: "村"}, {Label: "重点群体"}, {Label: "登记时间", Kind: sheets.DateTime}}

var certColumns = []sheets.Col{{Label: "证书编号"}, {Label: "姓名"}, {Label: "课程"}, {Label: "乡镇"},
	{Label: "发证时间", Kind: sheets.DateTime}, {Label: "状态"}, {Label: "撤销原因"}}

var genderLabel = map[string]string{"male": "男", "female": "女", "m": "男", "f": "女", "男": "男", "女": "女"}

func maskPhone(p string) string { return MaskPhone(p) }

// exportTable fetches one archive table; officers get their township's roster only.
func (s *Service) exportTable(c *fiber.Ctx, kind string) ([]sheets.Col, [][]any, []any, error) {
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
		st, err := s.Settings(c.UserContext())
		if err != nil {
			return err
		}
		title := strings.TrimSpace(st.Programme + " " + label + "（导出于 " + s.now().Format("2006-01-02 15:04") + "）")
		if err := sheets.WriteXLSX(&buf, sheets.SheetRows{Sheet: sheets.Sheet{Name: label, Title: title, Columns: cols}, Rows: rows, Totals: totals}); err != nil {
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
		if err := sheets.WriteCSV(w, cols, rows, totals); err != nil {
			s.log.Warn("reports: export stream", "kind", kind, "err", err.Error())
		}
		_ = w.Flush()
	})
	return nil
}

// handleSignIn serves a session's printable sign-in sheet. It goes through
// the same scope check as the session's own records (an officer of another
// township: 404), and a trainer gets only the sessions of courses they
// teach. Names and ID numbers are masked; each check-in shows its date and
// time; a QR code opens the session's attendance page for staff.
func (s *Service) handleSignIn(c *fiber.Ctx) error {
	id, err := server.ID(c, "id")
	if err != nil {
		return err
	}
	if s.d.SessionFor == nil || s.d.SignIn == nil {
		return server.NotFound("签到数据尚未接入")
	}
	ctx, p := c.UserContext(), server.Who(c)
	sess, err := s.d.SessionFor(ctx, p, id)
	if err != nil {
		return err
	}
	if p.Role == server.RoleTrainer && sess.TrainerID != p.UserID {
		teaches := false
		if s.d.Teaches != nil {
			if teaches, err = s.d.Teaches(ctx, p.UserID, sess.CourseID); err != nil {
				return err
			}
		}
		if !teaches {
			return server.NotFound("班次不存在")
		}
	}
	rows, photos, err := s.d.SignIn(ctx, id)
	if err != nil {
		return err
	}
	b, err := s.SignInPDF(sess, rows, len(photos))
	if err != nil {
		return err
	}
	attachmentName(c, "签到表-"+sess.StartsAt.In(clock.Shanghai).Format("20060102")+"-"+id+".pdf")
	c.Set(fiber.HeaderContentType, "application/pdf")
	return c.Send(b)
}

// SignInPDF draws the sign-in sheet of a session: A4 portrait, the
// session's details and a QR code to its attendance page, then one row per
// person (masked name and ID number, masked phone, status, check-in date
// and time, method, a column to sign), the header repeated on each page.
func (s *Service) SignInPDF(sess *SessionInfo, rows []SignInRow, photos int) ([]byte, error) {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetAutoPageBreak(false, 0)
	pdf.SetMargins(10, 10, 10)
	pdf.SetTitle("培训签到表 "+sess.Course, true)
	pdf.SetCreator("nongxun", true)
	tw, err := s.pdfText(pdf)
	if err != nil {
		return nil, err
	}
	pdf.AliasNbPages("{nb}")
	pdf.SetFooterFunc(func() {
		tw.SetSize(8)
		foot := "第 " + strconv.Itoa(pdf.PageNo()) + " 页，共 {nb} 页"
		tw.Text((210-tw.Width(foot))/2, 290, foot)
	})
	pdf.AddPage()
	tw.SetSize(16)
	title := "培训签到表"
	tw.Text((210-tw.Width(title))/2, 18, title)
	link := strings.TrimRight(s.d.Config.PublicURL, "/") + "/#/session-checkin/" + sess.ID
	if err := tw.QR(link, 172, 10, 28); err != nil {
		return nil, err
	}
	tw.SetSize(7)
	tw.Text(172, 41, "扫码打开签到页（工作人员）")
	tw.SetSize(10)
	y := 28.0
	info := []string{"课程：" + sess.Course, "时间：" + clock.Show(sess.StartsAt), "地点：" + sess.Location, "讲师：" + sess.Trainer,
		"到课人数：" + strconv.Itoa(countPresent(rows)) + "　签到表照片：" + strconv.Itoa(photos) + " 张"}
	for _, l := range info {
		tw.Text(10, y, fitText(tw, l, 158))
		y += 6
	}
	y += 2
	widths := []float64{10, 24, 40, 26, 14, 30, 14, 32}
	head := []string{"序号", "姓名", "身份证号", "手机", "状态", "签到时间", "方式", "本人签名"}
	const rh = 8.0
	drawHead := func() {
		pdf.SetFillColor(227, 236, 230)
		pdf.SetDrawColor(90, 90, 90)
		x := 10.0
		tw.SetSize(9)
		for i, h := range head {
			pdf.Rect(x, y, widths[i], rh, "FD")
			tw.Text(x+(widths[i]-tw.Width(h))/2, y+5.5, h)
			x += widths[i]
		}
		y += rh
	}
	drawHead()
	for i, r := range rows {
		if y+rh > 282 {
			pdf.AddPage()
			y = 12
			drawHead()
		}
		at := ""
		if !r.At.IsZero() {
			at = clock.Show(r.At)
		}
		cells := []string{strconv.Itoa(i + 1), MaskName(r.Name), MaskID(r.IDMasked), MaskPhone(r.Phone), statusText(r.Status), at, methodText(r.Method), ""}
		x := 10.0
		tw.SetSize(9)
		for k, v := range cells {
			pdf.Rect(x, y, widths[k], rh, "D")
			tw.Text(x+1.2, y+5.5, fitText(tw, v, widths[k]-2.4))
			x += widths[k]
		}
		y += rh
	}
	if len(rows) == 0 {
		tw.SetSize(10)
		tw.Text(10, y+7, "本班次尚无签到记录。")
	}
	if err := pdf.Error(); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// fitText cuts s, rune by rune, to fit width (mm) at the current size, with "…".
func fitText(tw PDFText, s string, width float64) string {
	if tw.Width(s) <= width {
		return s
	}
	r := []rune(s)
	for len(r) > 0 && tw.Width(string(r)+"…") > width {
		r = r[:len(r)-1]
	}
	return string(r) + "…"
}

// pdfText is the certificates' text drawing (their font, every character).
func (s *Service) pdfText(pdf *fpdf.Fpdf) (PDFText, error) {
	if s.d.PDFText == nil {
		return nil, server.NotFound("证书字体尚未接入，无法生成签到表")
	}
	return s.d.PDFText(pdf)
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
	case "excused":
		return "请假"
	case "absent":
		return "缺席"
	}
	return "其他"
}

func methodText(m string) string {
	switch m {
	case "qr", "code", "checkin":
		return "扫码"
	case "digits":
		return "输入数字"
	case "offline":
		return "离线扫码"
	case "rollcall":
		return "点名"
	case "mark":
		return "讲师登记"
	case "backfill":
		return "补录"
	case "sheet":
		return "纸质签到表"
	}
	return "其他"
}
