package certificates

import (
	"archive/zip"
	"bufio"
	"context"
	"fmt"
	"io"
	"nongxun/clock"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"nongxun/server"
	"nongxun/sheets"
	"nongxun/store"
)

// streamTimeout bounds a streamed download (it outlives the handler).
const streamTimeout = 30 * time.Minute

// zipCourse streams a ZIP of the course's certificate PDFs for printing,
// drawing (and caching) those never drawn. Nothing is buffered whole.
func (s *Service) zipCourse(c *fiber.Ctx) error {
	id, err := server.ID(c, "id")
	if err != nil {
		return err
	}
	course, err := s.d.Courses.Course(c.UserContext(), id)
	if err != nil {
		return err
	}
	certs, err := s.courseCerts(c, id) // the same scope as one certificate's PDF
	if err != nil {
		return err
	}
	if len(certs) == 0 {
		return server.NotFound("该课程尚未颁发证书")
	}
	for i, j := 0, len(certs)-1; i < j; i, j = i+1, j-1 {
		certs[i], certs[j] = certs[j], certs[i] // serial order for printing
	}
	c.Set(fiber.HeaderContentType, "application/zip")
	c.Set("Cache-Control", "no-store")
	attachment(c, "证书-"+course.Title+".zip")
	log := s.d.Log
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		ctx, cancel := context.WithTimeout(context.Background(), streamTimeout)
		defer cancel()
		zw := zip.NewWriter(w)
		for i := range certs {
			if err := s.zipOne(ctx, zw, &certs[i]); err != nil {
				log.Error("certificate zip", "course_id", id, "certificate_id", certs[i].ID, "err", err.Error())
				return // the client sees a truncated archive rather than a wrong one
			}
			if err := w.Flush(); err != nil {
				return // client gone
			}
		}
		if err := zw.Close(); err == nil {
			_ = w.Flush()
		}
	})
	return nil
}

func (s *Service) zipOne(ctx context.Context, zw *zip.Writer, cert *Certificate) error {
	b, _, err := s.PDF(ctx, cert)
	if err != nil {
		return err
	}
	defer b.Close()
	fw, err := zw.CreateHeader(&zip.FileHeader{Name: cert.Serial + "-" + cert.Name + ".pdf", Method: zip.Store, Modified: cert.IssuedAt})
	if err != nil {
		return err
	}
	_, err = io.Copy(fw, b)
	return err
}

// registerCols are the certificate register's columns (API.md): 出勤 is
// text ("1/1" would become a date in Excel), 学时 a number, the dates
// real dates; the course title wraps in its column, never cut.
var registerCols = []sheets.Col{
	{Label: "证书编号"}, {Label: "姓名"}, {Label: "课程"}, {Label: "学时", Kind: sheets.Number}, {Label: "乡镇"},
	{Label: "培训起", Kind: sheets.Date}, {Label: "培训止", Kind: sheets.Date}, {Label: "出勤"},
	{Label: "颁发日期", Kind: sheets.Date}, {Label: "状态"}, {Label: "撤销日期", Kind: sheets.Date}, {Label: "撤销原因"},
}

func (s *Service) registerRow(ctx context.Context, c *Certificate) []any {
	status := "有效"
	var revokedOn any
	if c.Status == StatusRevoked {
		status = "已撤销"
		if c.RevokedAt != nil {
			revokedOn = *c.RevokedAt
		}
	}
	township := ""
	if r, ok := s.d.Regions.Get(ctx, c.TownshipID); ok {
		township = r.Name
	}
	return []any{c.Serial, c.Name, c.CourseTitle, c.Hours, township, c.From, c.To,
		fmt.Sprintf("%d/%d", c.Attended, c.Held), c.IssuedAt, status, revokedOn, c.RevokedReason}
}

// register streams the certificate register as CSV (UTF-8 with BOM, for
// Excel) or XLSX: every certificate, or one course's, or one year's, by
// serial; each row only when the caller's scope sees it (a trainer must
// name a course they teach).
func (s *Service) register(c *fiber.Ctx) error {
	f := bson.M{}
	ctx := c.UserContext()
	sc, err := s.scopeOf(ctx, server.Who(c))
	if err != nil {
		return err
	}
	cid := c.Query("course_id")
	var period []string
	if cid != "" {
		if !store.ValidID(cid) {
			return server.Invalid("课程编号格式错误", "course_id", "应为 24 位十六进制编号")
		}
		f["course_id"] = cid
		if err := sc.course(ctx, cid); err != nil {
			return err
		}
		if course, err := s.d.Courses.Course(ctx, cid); err == nil {
			period = append(period, course.Title)
		}
	} else if sc.p.Is(server.RoleTrainer) {
		return server.Forbidden("讲师只能导出自己授课课程的证书登记册，请选择课程")
	}
	if y := c.Query("year"); y != "" {
		n, err := strconv.Atoi(y)
		if err != nil || n < 2000 || n > 2100 {
			return server.Invalid("年份格式错误", "year", "应为四位年份")
		}
		f["year"] = n
		period = append(period, fmt.Sprintf("%d 年", n))
	}
	if t := server.Who(c).Township(); t != "" {
		f["township_id"] = t
		if r, ok := s.d.Regions.Get(ctx, t); ok {
			period = append(period, r.Name)
		}
	}
	if len(period) == 0 {
		period = append(period, "截至 "+clock.Day(time.Now()))
	}
	st, err := s.settingsOf(ctx)
	if err != nil {
		return err
	}
	title := s.issuer(st) + " 电商培训证书登记册（" + strings.Join(period, "，") + "）"
	format := c.Query("format", "csv")
	if format != "csv" && format != "xlsx" {
		return server.Invalid("格式应为 csv 或 xlsx", "format", "csv 或 xlsx")
	}
	// An export: a filtered read of the collection is fine here (docs/design.md, "Scans").
	cur, err := s.certs.Cursor(ctx, f, options.Find().SetSort(bson.D{{Key: "serial", Value: 1}}))
	if err != nil {
		return err
	}
	name := "证书登记册-" + clock.Day(time.Now()) + "." + format
	attachment(c, name)
	c.Set("Cache-Control", "no-store")
	if format == "csv" {
		c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	} else {
		c.Set(fiber.HeaderContentType, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	}
	log := s.d.Log
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		ctx, cancel := context.WithTimeout(context.Background(), streamTimeout)
		defer cancel()
		defer cur.Close(ctx)
		next := func() ([]any, bool) {
			for cur.Next(ctx) {
				var cert Certificate
				if err := cur.Decode(&cert); err != nil {
					log.Error("certificate register", "err", err.Error())
					return nil, false
				}
				ok, err := sc.sees(ctx, &cert)
				if err != nil {
					log.Error("certificate register", "err", err.Error())
					return nil, false
				}
				if ok {
					return s.registerRow(ctx, &cert), true
				}
			}
			return nil, false
		}
		var err error
		if format == "csv" {
			err = writeCSV(w, next)
		} else {
			err = writeXLSX(w, title, next)
		}
		if err == nil {
			err = cur.Err()
		}
		if err != nil {
			log.Error("certificate register", "err", err.Error())
		}
		_ = w.Flush()
	})
	return nil
}

// writeCSV writes the register through the one CSV writer (BOM, formulas
// neutralised, digit strings and "1/5" kept as text).
func writeCSV(w io.Writer, next func() ([]any, bool)) error {
	cw, err := sheets.NewCSVWriter(w, registerCols)
	if err != nil {
		return err
	}
	for row, ok := next(); ok; row, ok = next() {
		if err := cw.Row(row...); err != nil {
			return err
		}
	}
	return cw.Flush()
}

// writeXLSX writes the register in the house style (sheets.Book), streamed.
func writeXLSX(w io.Writer, title string, next func() ([]any, bool)) error {
	b, err := sheets.NewBook()
	if err != nil {
		return err
	}
	defer b.Close()
	sw, err := b.Sheet(sheets.Sheet{Name: "证书登记册", Title: title, Columns: registerCols})
	if err != nil {
		return err
	}
	for row, ok := next(); ok; row, ok = next() {
		if err := sw.Row(row...); err != nil {
			return err
		}
	}
	_, err = b.WriteTo(w)
	return err
}
