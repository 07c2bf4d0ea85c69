package users

import (
	"context"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/audit"
	"nongxun/server"
	"nongxun/store"
)

// RefreshTTL is how long a refresh token lives.
const RefreshTTL = 30 * 24 * time.Hour

// StationChecker confirms that a station id names a station (the stations
// service, through StationFunc).
type StationChecker interface {
	IsStation(ctx context.Context, id string) bool
}

// StationFunc adapts a function to StationChecker.
type StationFunc func(ctx context.Context, id string) bool

// IsStation calls f.
func (f StationFunc) IsStation(ctx context.Context, id string) bool { return f(ctx, id) }

// TraineeTownships tells which township the trainee record of a trainee
// account lies in (enrollment), so an officer may reset the passwords of
// their own township's trainees only.
type TraineeTownships interface {
	TraineeTownship(ctx context.Context, userID string) (string, error)
}

// Service owns the users, user_logins, refresh_tokens and
// refresh_families collections.
type Service struct {
	st       *store.Store
	users    *store.Collection
	logins   *store.Collection // _id "username:<name>" or "phone:<phone>" → user_id
	refresh  *store.Collection // _id SHA-256 of a refresh token
	families *store.Collection // _id a refresh token family: revoked or not
	tokens   *server.Tokens
	throttle *throttle
	states   *store.Cache[string, accountState] // what the token guard reads, by user id
	now      func() time.Time

	// Stations checks station accounts' station ids; with none set, no
	// station account can be created or given a station through the API.
	Stations StationChecker
	// Trainees places trainee accounts in townships for officers' resets;
	// with none set, officers can reset no one.
	Trainees TraineeTownships
	// Audit records account changes (nil: not recorded, as in tests).
	Audit *audit.Log
}

// New opens the users service, declares its collections and indexes, and
// installs its account check on tokens (every authenticated request passes it)
// unless they have one.
func New(ctx context.Context, st *store.Store, tokens *server.Tokens) (*Service, error) {
	s := &Service{st: st, users: st.C("users"), logins: st.C("user_logins"), refresh: st.C("refresh_tokens"),
		families: st.C("refresh_families"), tokens: tokens, throttle: newThrottle(), now: time.Now,
		states: store.NewCache[string, accountState](st, "user-states", 20000)}
	if err := st.Ensure(ctx, "users", "user_logins", "refresh_tokens", "refresh_families"); err != nil {
		return nil, err
	}
	// Usernames and phones are unique through user_logins: a unique index
	// on an optional field is wrong on MongoDB (one document only may lack
	// it), so the old ones are dropped (docs/design.md, engine fact 4).
	if err := dropUnique(ctx, s.users, "username", "phone"); err != nil {
		return nil, err
	}
	for _, k := range []string{"username", "phone", "role", "created_at"} {
		if err := s.users.Index(ctx, bson.D{{Key: k, Value: 1}}, false); err != nil {
			return nil, err
		}
	}
	if err := s.refresh.Index(ctx, bson.D{{Key: "expires_at", Value: 1}}, false); err != nil {
		return nil, err
	}
	if err := s.families.Index(ctx, bson.D{{Key: "at", Value: 1}}, false); err != nil {
		return nil, err
	}
	if err := s.backfillLogins(ctx); err != nil {
		return nil, err
	}
	// The first service made on tokens guards them: a second one on the
	// same store (tests) does not take over with a cache of its own.
	if !tokens.Guarded() {
		tokens.SetGuard(s.admit)
	}
	return s, nil
}

// dropUnique drops the unique single-field indexes on fields, if any.
func dropUnique(ctx context.Context, c *store.Collection, fields ...string) error {
	specs, err := c.Raw().Indexes().ListSpecifications(ctx)
	if err != nil {
		return err
	}
	for _, sp := range specs {
		if sp.Unique == nil || !*sp.Unique {
			continue
		}
		for _, f := range fields {
			if sp.Name == f+"_1" {
				if err := c.Raw().Indexes().DropOne(ctx, sp.Name); err != nil && !strings.Contains(err.Error(), "not found") {
					return err
				}
			}
		}
	}
	return nil
}

// SweepRefresh deletes refresh tokens past their expiry, and the
// revocation marks of families whose tokens have all expired (a daily task).
func (s *Service) SweepRefresh(ctx context.Context) (int64, error) {
	now := s.now().UTC()
	n, err := s.refresh.DeleteMany(ctx, bson.M{"expires_at": bson.M{"$lt": now}})
	if err != nil {
		return n, err
	}
	_, err = s.families.DeleteMany(ctx, bson.M{"at": bson.M{"$lt": now.Add(-RefreshTTL)}})
	return n, err
}

// RunSweeps runs SweepRefresh daily until ctx ends (start it with st.Go).
func (s *Service) RunSweeps(ctx context.Context) {
	t := time.NewTicker(24 * time.Hour)
	defer t.Stop()
	for {
		if n, err := s.SweepRefresh(ctx); err != nil && ctx.Err() == nil {
			s.st.Log().Warn("refresh token sweep failed", "err", err.Error())
		} else if n > 0 {
			s.st.Log().Info("expired refresh tokens deleted", "n", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Service) note(ctx context.Context, p *server.Principal, action, target string, detail map[string]any) {
	s.Audit.Note(context.WithoutCancel(ctx), p, action, target, detail)
}
