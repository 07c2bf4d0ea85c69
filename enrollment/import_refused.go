package enrollment

import (
	"github.com/gofiber/fiber/v2"
	"nongxun/regions"
	"nongxun/server"
)

// hImportRefused answers the rows of an uploaded roster that the import
// refuses, as an XLSX in the upload's own layout with a 原因 column
// (docs/api.md, "Imports"). It writes nothing: the page sends the same
// file it previewed or imported, and rows refused then are refused now.
func (s *Service) hImportRefused(c *fiber.Ctx) error {
	t, err := s.readRoster(c, true)
	if err != nil {
		return err
	}
	res, err := s.ImportTable(c.UserContext(), t, server.Who(c), true)
	if err != nil {
		return err
	}
	return regions.SendRefused(c, t, "花名册：未通过的行（改正后可直接重新导入）", "花名册未通过的行.xlsx", func(i int) string {
		if res.Rows[i].Status == RowRefused {
			return res.Rows[i].Reason
		}
		return ""
	})
}
