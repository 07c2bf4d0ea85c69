package backup

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/gofiber/fiber/v2"
	"nongxun/audit"
	"nongxun/server"
	"nongxun/store"
)

// Service serves backups to admins.
type Service struct {
	st      *store.Store
	tmpDir  string
	audit   *audit.Log
	maxSize int64
}

// New makes the service; dumps are spooled under tmpDir before sending.
func New(st *store.Store, tmpDir string, a *audit.Log) *Service {
	return &Service{st: st, tmpDir: tmpDir, audit: a, maxSize: 64 << 30}
}

// Register adds GET /admin/backup and POST /admin/restore (admin only).
func (s *Service) Register(api fiber.Router) {
	api.Get("/admin/backup", server.Require(server.RoleAdmin), func(c *fiber.Ctx) error {
		// Dump to a local file under the lane (fast), then send it at the
		// client's pace without holding up writers.
		if err := os.MkdirAll(s.tmpDir, 0o700); err != nil {
			return err
		}
		f, err := os.CreateTemp(s.tmpDir, "backup-*.tar.gz")
		if err != nil {
			return err
		}
		_ = os.Remove(f.Name()) // unlinked: the open file lives until sent
		m, err := Dump(c.UserContext(), s.st, f)
		if err != nil {
			f.Close()
			return err
		}
		size, err := f.Seek(0, io.SeekCurrent)
		if err != nil {
			f.Close()
			return err
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			f.Close()
			return err
		}
		_ = s.audit.Record(c.UserContext(), server.Who(c), "backup.dump", "database", map[string]any{"collections": len(m.Collections), "blobs": m.Blobs, "bytes": size})
		c.Set("Content-Type", "application/gzip")
		c.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="nongxun-%s.tar.gz"`, time.Now().UTC().Format("20060102-150405")))
		return c.SendStream(f, int(size))
	})
	api.Post("/admin/restore", server.Require(server.RoleAdmin), func(c *fiber.Ctx) error {
		if c.Query("confirm") != "replace-everything" {
			return server.Invalid("恢复会替换全部数据：请带上 confirm=replace-everything", "confirm", "需要确认")
		}
		var m *Manifest
		_, err := server.StreamUpload(c, "file", func(u server.Upload) error {
			var err error
			m, err = Restore(c.UserContext(), s.st, io.LimitReader(u.Body, s.maxSize))
			if err != nil {
				return server.Invalid("备份文件无法恢复："+err.Error(), "file", "备份文件损坏或格式不对")
			}
			return nil
		})
		if err != nil {
			return err
		}
		_ = s.audit.Record(c.UserContext(), server.Who(c), "backup.restore", "database", map[string]any{"collections": len(m.Collections), "blobs": m.Blobs, "made_at": m.CreatedAt})
		return c.JSON(m)
	})
}
