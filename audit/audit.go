// Package audit keeps the append-only log of who changed what: station
// status, fund entries, revocations, user changes. Auditors read it;
// nobody edits it.
package audit

import (
	"context"
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"nongxun/server"
	"nongxun/store"
)

// Entry is one audited action.
type Entry struct {
	ID     string         `bson:"_id" json:"id"`
	At     time.Time      `bson:"at" json:"at"`
	UserID string         `bson:"user_id" json:"user_id"`
	Role   string         `bson:"role" json:"role"`
	Name   string         `bson:"name,omitempty" json:"name,omitempty"`
	Action string         `bson:"action" json:"action"`
	Target string         `bson:"target" json:"target"`
	Detail map[string]any `bson:"detail,omitempty" json:"detail,omitempty"`
}

// Log writes and reads the audit log.
type Log struct {
	c   *store.Collection
	log *slog.Logger
}

// New opens the audit log and declares its indexes.
func New(ctx context.Context, s *store.Store) (*Log, error) {
	l := &Log{c: s.C("audit"), log: s.Log()}
	if err := l.c.Index(ctx, bson.D{{Key: "at", Value: -1}}, false); err != nil {
		return nil, err
	}
	return l, l.c.Index(ctx, bson.D{{Key: "target", Value: 1}}, false)
}

// Record appends an entry for p doing action on target.
func (l *Log) Record(ctx context.Context, p *server.Principal, action, target string, detail map[string]any) error {
	e := Entry{ID: store.NewID(), At: time.Now().UTC(), Action: action, Target: target, Detail: detail}
	if p != nil {
		e.UserID, e.Role, e.Name = p.UserID, p.Role, p.Name
	} else {
		e.UserID, e.Role = "system", "system"
	}
	return l.c.InsertOne(ctx, e)
}

// Note records an entry for an action that has already happened: a failure
// to write it is logged (with the action and target), never dropped
// silently and never undoes the action. Feature code uses Note; Record is
// for the rare action that must not happen unaudited.
func (l *Log) Note(ctx context.Context, p *server.Principal, action, target string, detail map[string]any) {
	if l == nil {
		return
	}
	if err := l.Record(ctx, p, action, target, detail); err != nil {
		l.log.Error("audit entry not written", "action", action, "target", target, "err", err.Error())
	}
}

// List returns up to limit entries, newest first, older than before
// (zero: from now), optionally for one target or action.
func (l *Log) List(ctx context.Context, target, action string, before time.Time, limit int64) ([]Entry, error) {
	f := bson.M{}
	if target != "" {
		f["target"] = target
	}
	if action != "" {
		f["action"] = action
	}
	if !before.IsZero() {
		f["at"] = bson.M{"$lt": before}
	}
	out := []Entry{}
	err := l.c.Find(ctx, f, &out, options.Find().SetSort(bson.D{{Key: "at", Value: -1}}).SetLimit(limit))
	return out, err
}

// Register adds GET /audit for admin and auditor.
func (l *Log) Register(r fiber.Router) {
	r.Get("/audit", server.Require(server.RoleAdmin, server.RoleAuditor), func(c *fiber.Ctx) error {
		var before time.Time
		if b := c.Query("before"); b != "" {
			t, err := time.Parse(time.RFC3339Nano, b)
			if err != nil {
				return server.Invalid("before 应为 RFC 3339 时间", "before", "格式错误")
			}
			before = t
		}
		limit := int64(c.QueryInt("limit", 100))
		if limit < 1 || limit > 500 {
			return server.Invalid("limit 应在 1 到 500 之间", "limit", "超出范围")
		}
		items, err := l.List(c.UserContext(), c.Query("target"), c.Query("action"), before, limit)
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"items": items})
	})
}
