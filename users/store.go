package users

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"nongxun/server"
	"nongxun/store"
)

// RefreshTTL is how long a refresh token lives.
const RefreshTTL = 30 * 24 * time.Hour

// Service owns the users and refresh_tokens collections.
type Service struct {
	st      *store.Store
	users   *store.Collection
	refresh *store.Collection
	tokens  *server.Tokens
	failed  *server.Limiter // failed logins per login name and per IP
	now     func() time.Time
}

// New opens the users service and declares its indexes.
func New(ctx context.Context, st *store.Store, tokens *server.Tokens) (*Service, error) {
	s := &Service{st: st, users: st.C("users"), refresh: st.C("refresh_tokens"), tokens: tokens,
		failed: server.NewLimiter(10, time.Minute), now: time.Now}
	for _, k := range []string{"username", "phone"} {
		if err := s.users.Index(ctx, bson.D{{Key: k, Value: 1}}, true); err != nil {
			return nil, err
		}
	}
	if err := s.users.Index(ctx, bson.D{{Key: "role", Value: 1}}, false); err != nil {
		return nil, err
	}
	if err := s.refresh.Index(ctx, bson.D{{Key: "family", Value: 1}}, false); err != nil {
		return nil, err
	}
	return s, nil
}

// Create adds an account. A username or phone already taken is a conflict.
func (s *Service) Create(ctx context.Context, n NewUser) (*User, error) {
	if err := n.Validate(); err != nil {
		return nil, err
	}
	u := &User{ID: store.NewID(), Username: n.Username, Phone: n.Phone, Name: n.Name, Role: n.Role,
		PasswordHash: HashPassword(n.Password), CreatedAt: s.now().UTC()}
	if n.Role == server.RoleOfficer {
		u.TownshipID = n.TownshipID
	}
	if n.Role == server.RoleStation {
		u.StationID = n.StationID
	}
	// The unique indexes settle races on MongoDB; the lane makes the check
	// and insert one step on the embedded engine.
	err := s.st.Lane(ctx, func(ctx context.Context) error {
		for k, v := range map[string]string{"username": u.Username, "phone": u.Phone} {
			if v == "" {
				continue
			}
			if n, err := s.users.Count(ctx, bson.M{k: v}); err != nil {
				return err
			} else if n > 0 {
				return server.Conflict(map[string]string{"username": "用户名已被使用", "phone": "手机号已被注册"}[k])
			}
		}
		return s.users.InsertOne(ctx, u)
	})
	if store.IsDup(err) {
		return nil, server.Conflict("用户名或手机号已被使用")
	}
	if err != nil {
		return nil, err
	}
	return u, nil
}

// Get reads one user.
func (s *Service) Get(ctx context.Context, id string) (*User, error) {
	var u User
	if err := s.users.FindOne(ctx, bson.M{"_id": id}, &u); err != nil {
		if store.IsNotFound(err) {
			return nil, server.NotFound("用户不存在")
		}
		return nil, err
	}
	return &u, nil
}

// ByLogin finds a user by username or phone.
func (s *Service) ByLogin(ctx context.Context, login string) (*User, error) {
	var u User
	f := bson.M{"username": login}
	if ValidPhone(login) {
		f = bson.M{"phone": login}
	}
	if err := s.users.FindOne(ctx, f, &u); err != nil {
		if store.IsNotFound(err) {
			return nil, server.NotFound("用户不存在")
		}
		return nil, err
	}
	return &u, nil
}

// List returns users, optionally of one role, at most 1,000.
func (s *Service) List(ctx context.Context, role string) ([]User, error) {
	f := bson.M{}
	if role != "" {
		f["role"] = role
	}
	out := []User{}
	return out, s.users.Find(ctx, f, &out, options.Find().SetSort(bson.D{{Key: "created_at", Value: 1}}).SetLimit(1000))
}

// SetPassword replaces a user's password and ends their sessions.
func (s *Service) SetPassword(ctx context.Context, id, pw string) error {
	if len(pw) < 8 || len(pw) > 128 {
		return server.Invalid("密码至少 8 位", "password", "密码至少 8 位")
	}
	res, err := s.users.UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$set": bson.M{"password_hash": HashPassword(pw)}})
	if err != nil {
		return err
	}
	if res.MatchedCount == 0 {
		return server.NotFound("用户不存在")
	}
	return s.revoke(ctx, bson.M{"user_id": id})
}

// revoke revokes every refresh token matching filter.
func (s *Service) revoke(ctx context.Context, filter bson.M) error {
	_, err := s.refresh.UpdateMany(ctx, filter, bson.M{"$set": bson.M{"revoked": true}})
	return err
}

// SetDisabled disables or re-enables an account; disabling ends its sessions.
func (s *Service) SetDisabled(ctx context.Context, id string, disabled bool) error {
	res, err := s.users.UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$set": bson.M{"disabled": disabled}})
	if err != nil {
		return err
	}
	if res.MatchedCount == 0 {
		return server.NotFound("用户不存在")
	}
	if disabled {
		return s.revoke(ctx, bson.M{"user_id": id})
	}
	return nil
}

type refreshToken struct {
	ID        string     `bson:"_id"` // SHA-256 of the token; the token itself is never stored
	UserID    string     `bson:"user_id"`
	Family    string     `bson:"family"`
	ExpiresAt time.Time  `bson:"expires_at"`
	UsedAt    *time.Time `bson:"used_at"`
	Revoked   bool       `bson:"revoked"`
}

func hashToken(t string) string {
	h := sha256.Sum256([]byte(t))
	return hex.EncodeToString(h[:])
}

// Session is what login and refresh hand back.
type Session struct {
	AccessToken  string           `json:"access_token"`
	RefreshToken string           `json:"refresh_token"`
	ExpiresIn    int              `json:"expires_in"`
	TokenType    string           `json:"token_type"`
	User         server.Principal `json:"user"`
}

func (s *Service) issue(ctx context.Context, u *User, family string) (*Session, error) {
	access, err := s.tokens.Issue(u.Principal())
	if err != nil {
		return nil, err
	}
	rt := server.RandomToken(32)
	if family == "" {
		family = store.NewID()
	}
	doc := refreshToken{ID: hashToken(rt), UserID: u.ID, Family: family, ExpiresAt: s.now().Add(RefreshTTL).UTC()}
	if err := s.refresh.InsertOne(ctx, doc); err != nil {
		return nil, err
	}
	return &Session{AccessToken: access, RefreshToken: rt, ExpiresIn: int(server.AccessTTL.Seconds()), TokenType: "Bearer", User: u.Principal()}, nil
}

// Login checks a login/password pair, rate limited per login and per IP.
func (s *Service) Login(ctx context.Context, login, pw, ip string) (*Session, error) {
	keys := []string{"l:" + login, "ip:" + ip}
	for _, k := range keys {
		if s.failed.Exceeded(k) {
			return nil, server.RateLimited("登录失败次数过多，请一分钟后再试")
		}
	}
	u, err := s.ByLogin(ctx, login)
	if err != nil && server.ToError(err).Code != server.CodeNotFound {
		return nil, err
	}
	hash := dummyHash
	if u != nil {
		hash = u.PasswordHash
	}
	if !CheckPassword(hash, pw) || u == nil || u.Disabled {
		for _, k := range keys {
			s.failed.Hit(k)
		}
		return nil, server.Unauthorized("用户名或密码错误")
	}
	s.failed.Reset(keys[0])
	return s.issue(ctx, u, "")
}

// Refresh rotates a refresh token. A token used a second time means it was
// stolen or replayed: its whole family is revoked and the caller must log in.
func (s *Service) Refresh(ctx context.Context, token string) (*Session, error) {
	id := hashToken(token)
	now := s.now().UTC()
	var rt refreshToken
	// Mark used only if unused: atomic on MongoDB, serialised by the lane when embedded.
	err := s.refresh.FindOneAndUpdate(ctx, bson.M{"_id": id, "used_at": nil, "revoked": false},
		bson.M{"$set": bson.M{"used_at": now}}, &rt)
	if store.IsNotFound(err) {
		var old refreshToken
		if s.refresh.FindOne(ctx, bson.M{"_id": id}, &old) == nil {
			_ = s.revoke(ctx, bson.M{"family": old.Family})
		}
		return nil, server.Unauthorized("登录凭证已失效，请重新登录")
	}
	if err != nil {
		return nil, err
	}
	if now.After(rt.ExpiresAt) {
		return nil, server.Unauthorized("登录已过期，请重新登录")
	}
	u, err := s.Get(ctx, rt.UserID)
	if err != nil || u.Disabled {
		return nil, server.Unauthorized("登录凭证已失效，请重新登录")
	}
	return s.issue(ctx, u, rt.Family)
}

// Logout revokes the refresh token's family.
func (s *Service) Logout(ctx context.Context, token string) error {
	var rt refreshToken
	if err := s.refresh.FindOne(ctx, bson.M{"_id": hashToken(token)}, &rt); err != nil {
		if store.IsNotFound(err) {
			return nil
		}
		return err
	}
	return s.revoke(ctx, bson.M{"family": rt.Family})
}

// EnsureAdmin creates user admin when no admin exists: with password when
// given, else with a generated one that it returns (to print once).
func (s *Service) EnsureAdmin(ctx context.Context, password string) (generated string, err error) {
	n, err := s.users.Count(ctx, bson.M{"role": server.RoleAdmin})
	if err != nil || n > 0 {
		return "", err
	}
	if password == "" {
		password = server.RandomToken(10)
		generated = password
	}
	_, err = s.Create(ctx, NewUser{Username: "admin", Password: password, Role: server.RoleAdmin, Name: "系统管理员"})
	return generated, err
}
