// Package audit keeps the append-only log of who changed what: station
// status, fund entries, revocations, user changes. Auditors read it;
// nobody edits it.
package audit

import (
	"context"
	"errors"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"nongxun/clock"
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
	if err := s.Ensure(ctx, "audit"); err != nil {
		return nil, err
	}
	for _, k := range []string{"at", "target", "user_id", "action"} {
		dir := 1
		if k == "at" {
			dir = -1
		}
		if err := l.c.Index(ctx, bson.D{{Key: k, Value: dir}}, false); err != nil {
			return nil, err
		}
	}
	return l, nil
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

// Query selects audit entries: each field set narrows the list.
type Query struct {
	Target string
	Action string // an action, or a prefix ending in "." ("user.")
	UserID string
	From   time.Time // at or after
	To     time.Time // before
	Before time.Time // before (the page cursor: the last entry's time)
	Limit  int64
}

// List returns up to limit entries, newest first, older than before
// (zero: from now), optionally for one target or action.
func (l *Log) List(ctx context.Context, target, action string, before time.Time, limit int64) ([]Entry, error) {
	return l.Find(ctx, Query{Target: target, Action: action, Before: before, Limit: limit})
}

// Find returns the entries q selects, newest first. It scans on the
// embedded engine (docs/design.md, "Scans"): it serves the auditor's page,
// not a hot path.
func (l *Log) Find(ctx context.Context, q Query) ([]Entry, error) {
	f := bson.M{}
	if q.Target != "" {
		f["target"] = q.Target
	}
	if strings.HasSuffix(q.Action, ".") {
		f["action"] = bson.M{"$regex": "^" + regexp.QuoteMeta(q.Action)}
	} else if q.Action != "" {
		f["action"] = q.Action
	}
	if q.UserID != "" {
		f["user_id"] = q.UserID
	}
	at := bson.M{}
	if !q.From.IsZero() {
		at["$gte"] = q.From
	}
	to := q.To
	if !q.Before.IsZero() && (to.IsZero() || q.Before.Before(to)) {
		to = q.Before
	}
	if !to.IsZero() {
		at["$lt"] = to
	}
	if len(at) > 0 {
		f["at"] = at
	}
	if q.Limit <= 0 {
		q.Limit = 100
	}
	out := []Entry{}
	err := l.c.Find(ctx, f, &out, options.Find().SetSort(bson.D{{Key: "at", Value: -1}, {Key: "_id", Value: -1}}).SetLimit(q.Limit))
	return out, err
}

// Register adds GET /audit for admin and auditor. Filters: action (or a
// prefix like "user."), target, user_id, from and to (dates YYYY-MM-DD,
// Asia/Shanghai, both included, or RFC 3339 times), before (the page cursor) and limit.
func (l *Log) Register(r fiber.Router) {
	r.Get("/audit", server.Require(server.RoleAdmin, server.RoleAuditor), func(c *fiber.Ctx) error {
		q := Query{Target: c.Query("target"), Action: c.Query("action"), UserID: c.Query("user_id")}
		fs := server.Fields{}
		var err error
		if b := c.Query("before"); b != "" {
			if q.Before, err = time.Parse(time.RFC3339Nano, b); err != nil {
				fs.Add(true, "before", "应为 RFC 3339 时间")
			}
		}
		if v := c.Query("from"); v != "" {
			if q.From, err = parseWhen(v, false); err != nil {
				fs.Add(true, "from", "应为日期，如 2019-05-01")
			}
		}
		if v := c.Query("to"); v != "" {
			if q.To, err = parseWhen(v, true); err != nil {
				fs.Add(true, "to", "应为日期，如 2019-05-31")
			}
		}
		fs.Add(!q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To), "to", "结束日期早于开始日期")
		fs.Add(len(q.Target) > 200 || len(q.Action) > 100, "target", "过长")
		fs.Add(q.UserID != "" && q.UserID != "system" && !store.ValidID(q.UserID), "user_id", "应为账号编号")
		q.Limit = int64(c.QueryInt("limit", 100))
		fs.Add(q.Limit < 1 || q.Limit > 500, "limit", "应在 1 到 500 之间")
		if err := fs.Err(); err != nil {
			return err
		}
		items, err := l.Find(c.UserContext(), q)
		if err != nil {
			return err
		}
		next := ""
		if int64(len(items)) == q.Limit {
			next = items[len(items)-1].At.Format(time.RFC3339Nano)
		}
		return c.JSON(fiber.Map{"items": items, "next_before": next})
	})
}

// parseWhen reads a date (the start of that day in Asia/Shanghai, or the
// start of the next day when end is set) or an RFC 3339 time, within
// clock's bounds.
func parseWhen(v string, end bool) (time.Time, error) {
	d, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		if d, err = clock.ParseDay(v); err != nil {
			return time.Time{}, err
		}
	} else {
		end = false
	}
	if !clock.InProgrammeRange(d) {
		return time.Time{}, errors.New("out of range")
	}
	if end {
		d = d.AddDate(0, 0, 1)
	}
	return d, nil
}
