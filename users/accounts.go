package users

import (
	"context"
	"regexp"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"nongxun/server"
	"nongxun/store"
)

// loginKey is the user_logins _id of a login name: a natural key, so two
// accounts can never share a username or phone on either engine.
type loginKey struct {
	ID     string `bson:"_id"`
	UserID string `bson:"user_id"`
}

func usernameKey(u string) string { return "username:" + u }
func phoneKey(p string) string    { return "phone:" + p }

// backfilled marks a database whose every account has its login keys.
const backfilled = "backfilled:v1"

func (u *User) loginKeys() []string {
	var out []string
	if u.Username != "" {
		out = append(out, usernameKey(u.Username))
	}
	if u.Phone != "" {
		out = append(out, phoneKey(u.Phone))
	}
	return out
}

var taken = map[string]string{"username": "用户名已被使用", "phone": "手机号已被注册"}

// claimKey inserts a login key for id inside unit u (undone when the unit fails).
func (s *Service) claimKey(ctx context.Context, u *store.Unit, key, id string) error {
	return u.Do(ctx, "claim "+key, func(ctx context.Context) error {
		ok, err := s.logins.InsertIfAbsent(ctx, loginKey{ID: key, UserID: id})
		if err != nil {
			return err
		}
		if !ok {
			return server.Conflict(taken[strings.SplitN(key, ":", 2)[0]])
		}
		return nil
	}, func(ctx context.Context) error { return s.releaseKey(ctx, key, id) })
}

func (s *Service) releaseKey(ctx context.Context, key, id string) error {
	_, err := s.logins.DeleteIf(ctx, key, store.Cond{"user_id": id})
	return err
}

// backfillLogins gives the accounts of a database made before user_logins
// their keys, once (a marker records it).
func (s *Service) backfillLogins(ctx context.Context) error {
	var m loginKey
	if err := s.logins.Get(ctx, backfilled, &m); err == nil {
		return nil
	} else if !store.IsNotFound(err) {
		return err
	}
	var all []User
	if err := s.users.Find(ctx, bson.M{}, &all, options.Find().SetProjection(bson.M{"username": 1, "phone": 1})); err != nil {
		return err
	}
	var docs []any
	for _, u := range all {
		for _, k := range u.loginKeys() {
			docs = append(docs, loginKey{ID: k, UserID: u.ID})
		}
	}
	if _, err := s.logins.InsertMany(ctx, docs); err != nil && !store.IsDup(err) {
		return err
	}
	_, err := s.logins.InsertIfAbsent(ctx, loginKey{ID: backfilled})
	return err
}

// Create adds an account. A username or phone already taken is a conflict.
func (s *Service) Create(ctx context.Context, n NewUser) (*User, error) {
	if err := n.Validate(); err != nil {
		return nil, err
	}
	now := s.now().UTC()
	u := &User{ID: store.NewID(), Username: n.Username, Phone: n.Phone, Name: n.Name, Role: n.Role,
		PasswordHash: HashPassword(n.Password), CreatedAt: now, TokenVersion: 1, SessionVersion: 1}
	if n.Role == server.RoleOfficer {
		u.TownshipID = n.TownshipID
	}
	if n.Role == server.RoleStation {
		u.StationID = n.StationID
	}
	err := s.st.Unit(ctx, "user.create", func(unit *store.Unit) error {
		for _, k := range u.loginKeys() {
			if err := s.claimKey(ctx, unit, k, u.ID); err != nil {
				return err
			}
		}
		return unit.Do(ctx, "insert user", func(ctx context.Context) error { return s.users.InsertOne(ctx, u) }, nil)
	})
	s.changed(u.ID)
	if err != nil {
		return nil, err
	}
	return u, nil
}

// Get reads one user.
func (s *Service) Get(ctx context.Context, id string) (*User, error) {
	var u User
	if err := s.users.Get(ctx, id, &u); err != nil {
		if store.IsNotFound(err) {
			return nil, server.NotFound("用户不存在")
		}
		return nil, err
	}
	return &u, nil
}

// ByLogin finds a user by username or phone: two reads by _id.
func (s *Service) ByLogin(ctx context.Context, login string) (*User, error) {
	key := usernameKey(login)
	if ValidPhone(login) {
		key = phoneKey(login)
	}
	var k loginKey
	err := s.logins.Get(ctx, key, &k)
	if store.IsNotFound(err) {
		// A restore of a backup made before user_logins existed leaves it
		// without keys: backfill once, then look again.
		var m loginKey
		if merr := s.logins.Get(ctx, backfilled, &m); store.IsNotFound(merr) {
			if err := s.backfillLogins(ctx); err != nil {
				return nil, err
			}
			err = s.logins.Get(ctx, key, &k)
		}
	}
	if store.IsNotFound(err) {
		return nil, server.NotFound("用户不存在")
	}
	if err != nil {
		return nil, err
	}
	u, err := s.Get(ctx, k.UserID)
	if err != nil {
		return nil, err
	}
	if u.Username != login && u.Phone != login { // a key left behind by an edit
		return nil, server.NotFound("用户不存在")
	}
	return u, nil
}

// Filter selects accounts for List.
type Filter struct {
	Role     string
	Township string // officers' township
	Station  string
	Disabled *bool
	Search   string // part of the name, username or phone
	Offset   int
	Limit    int // 1-200; 0 is 1,000 (the old List)
}

// List returns users, optionally of one role, at most 1,000, oldest first.
func (s *Service) List(ctx context.Context, role string) ([]User, error) {
	list, _, err := s.Find(ctx, Filter{Role: role})
	return list, err
}

// Find returns the accounts that match f, oldest first, and whether more follow.
func (s *Service) Find(ctx context.Context, f Filter) ([]User, bool, error) {
	q := bson.M{}
	if f.Role != "" {
		q["role"] = f.Role
	}
	if f.Township != "" {
		q["township_id"] = f.Township
	}
	if f.Station != "" {
		q["station_id"] = f.Station
	}
	if f.Disabled != nil {
		if *f.Disabled {
			q["disabled"] = true
		} else {
			q["disabled"] = bson.M{"$ne": true}
		}
	}
	if s := strings.TrimSpace(f.Search); s != "" {
		re := bson.M{"$regex": regexp.QuoteMeta(s), "$options": "i"}
		q["$or"] = bson.A{bson.M{"name": re}, bson.M{"username": re}, bson.M{"phone": re}}
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	out := []User{}
	err := s.users.Find(ctx, q, &out, options.Find().SetSort(bson.D{{Key: "created_at", Value: 1}, {Key: "_id", Value: 1}}).
		SetSkip(int64(f.Offset)).SetLimit(int64(limit+1)))
	more := len(out) > limit
	if more {
		out = out[:limit]
	}
	return out, more, err
}
