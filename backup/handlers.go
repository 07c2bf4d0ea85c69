package backup

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/gofiber/fiber/v2"
	"nongxun/audit"
	"nongxun/clock"
	"nongxun/server"
	"nongxun/store"
)

// Service serves backups, restores and the blob sweep to admins.
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

// Register adds GET /admin/backup, POST /admin/restore,
// POST /admin/blobs/sweep and POST /admin/repair (admin only).
func (s *Service) Register(api fiber.Router) {
	api.Get("/admin/backup", server.Require(server.RoleAdmin), s.backup)
	api.Post("/admin/restore", server.Require(server.RoleAdmin), s.restore)
	api.Post("/admin/blobs/sweep", server.Require(server.RoleAdmin), func(c *fiber.Ctx) error {
		rep, err := s.st.SweepBlobs(c.UserContext(), store.SweepGrace)
		if errors.Is(err, store.ErrNoBlobRefs) {
			return server.Conflict("没有任何功能登记了文件引用，为免误删，不清理文件")
		}
		if err != nil {
			return err
		}
		s.audit.Note(c.UserContext(), server.Who(c), "blobs.sweep", "blobs", map[string]any{"removed": len(rep.Removed), "bytes": rep.Bytes})
		return c.JSON(rep)
	})
	// Every package's repair, now: how counters and lists are rebuilt from
	// the records on MongoDB, where start-up does not (docs/design.md, "Repairs").
	api.Post("/admin/repair", server.Require(server.RoleAdmin), func(c *fiber.Ctx) error {
		reps, err := s.st.RepairAll(c.UserContext())
		drifted := 0
		for _, r := range reps {
			if r.Drifted {
				drifted++
			}
		}
		s.audit.Note(c.UserContext(), server.Who(c), "data.repair", "counters", map[string]any{"repairs": len(reps), "drifted": drifted, "failed": err != nil})
		if err != nil {
			return c.Status(fiber.StatusInternalServerError).JSON(fiber.Map{"error": fiber.Map{"code": "internal", "message": "有的重算没有完成，请查看服务日志后再试"}, "repairs": reps})
		}
		return c.JSON(fiber.Map{"repairs": reps, "drifted": drifted})
	})
}

func (s *Service) backup(c *fiber.Ctx) error {
	// Dump to a local file (writers wait only for the copy of the
	// documents), then send it at the client's pace.
	if err := os.MkdirAll(s.tmpDir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(s.tmpDir, "backup-*.tar.gz")
	if err != nil {
		return err
	}
	_ = os.Remove(f.Name()) // unlinked: the open file lives until sent
	m, err := Dump(c.UserContext(), s.st, f, s.tmpDir)
	if err != nil {
		f.Close()
		return err
	}
	size, err := f.Seek(0, io.SeekCurrent)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return err
	}
	s.audit.Note(c.UserContext(), server.Who(c), "backup.dump", "database", map[string]any{"collections": len(m.Collections), "blobs": m.Blobs, "bytes": size})
	c.Set("Content-Type", "application/gzip")
	c.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="nongxun-%s.tar.gz"`, time.Now().In(clock.Shanghai).Format("20060102-150405")))
	return c.SendStream(f, int(size))
}

func (s *Service) restore(c *fiber.Ctx) error {
	if c.Query("confirm") != "replace-everything" {
		return server.Invalid("恢复会替换全部数据：请带上 confirm=replace-everything", "confirm", "需要确认")
	}
	var m *Manifest
	_, err := server.StreamUpload(c, "file", func(u server.Upload) error {
		var err error
		m, err = Restore(c.UserContext(), s.st, io.LimitReader(u.Body, s.maxSize))
		return err
	})
	var ref *Refusal
	switch {
	case errors.As(err, &ref):
		s.st.Log().Warn("restore refused", "request_id", server.RequestID(c), "reason", ref.Error())
		return server.Invalid("备份文件无法恢复："+ref.Message+"。现有数据没有改变。", "file", ref.Message)
	case err != nil && server.ToError(err).Code != server.CodeInternal:
		return err // a refusal of the upload itself (no file, too large)
	case err != nil:
		s.st.Log().Error("restore failed", "request_id", server.RequestID(c), "err", err.Error())
		return &server.Error{Code: server.CodeInternal, Message: "恢复失败，现有数据没有改变；详情已记入服务器日志"}
	}
	s.audit.Note(c.UserContext(), server.Who(c), "backup.restore", "database", map[string]any{"collections": len(m.Collections), "blobs": m.Blobs, "made_at": m.CreatedAt})
	return c.JSON(m)
}
