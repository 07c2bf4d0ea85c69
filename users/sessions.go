package users

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/server"
	"nongxun/store"
)

// refreshToken is one refresh token. Its family is every token rotated
// from one login; Version is the account's session version at issue.
type refreshToken struct {
	ID        string     `bson:"_id"` // SHA-256 of the token; the token itself is never stored
	UserID    string     `bson:"user_id"`
	Family    string     `bson:"family"`
	Version   int64      `bson:"version"`
	ExpiresAt time.Time  `bson:"expires_at"`
	UsedAt    *time.Time `bson:"used_at"`
	Revoked   bool       `bson:"revoked"`
}

// family is the revocation mark of a refresh token family (logout, reuse).
type family struct {
	ID      string    `bson:"_id"`
	Revoked bool      `bson:"revoked"`
	At      time.Time `bson:"at"`
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
	// MustChangePassword: the password was reset; the holder may only set a new one.
	MustChangePassword bool `json:"must_change_password,omitempty"`
}

func (s *Service) issue(ctx context.Context, u *User, fam string) (*Session, error) {
	access, err := s.tokens.Issue(u.Principal())
	if err != nil {
		return nil, err
	}
	rt := server.RandomToken(32)
	if fam == "" {
		fam = store.NewID()
	}
	doc := refreshToken{ID: hashToken(rt), UserID: u.ID, Family: fam, Version: u.SessionVersion, ExpiresAt: s.now().Add(RefreshTTL).UTC()}
	if err := s.refresh.InsertOne(ctx, doc); err != nil {
		return nil, err
	}
	return &Session{AccessToken: access, RefreshToken: rt, ExpiresIn: int(server.AccessTTL.Seconds()), TokenType: "Bearer",
		User: u.Principal(), MustChangePassword: u.MustChangePassword}, nil
}

// Login checks a login/password pair. Attempts are reserved before the
// password is hashed: per login name and per address in this process
// (throttle), and per account in the database (reserveAttempt), so a
// burst gets no more checks than the limit on any number of nodes.
func (s *Service) Login(ctx context.Context, login, pw, ip string) (*Session, error) {
	done, err := s.throttle.reserve(login, ip)
	if err != nil {
		return nil, err
	}
	outcome := neutral
	defer func() { done(outcome) }()
	u, err := s.ByLogin(ctx, login)
	if err != nil && server.ToError(err).Code != server.CodeNotFound {
		return nil, err
	}
	hash := dummyHash
	if err == nil {
		if ok, err := s.reserveAttempt(ctx, u); err != nil {
			return nil, err
		} else if !ok {
			outcome = failed
			return nil, server.RateLimited("该账号登录失败次数过多，请一分钟后再试")
		}
		hash = u.PasswordHash
	} else {
		u = nil
	}
	if !CheckPassword(hash, pw) || u == nil {
		outcome = failed
		return nil, server.Unauthorized("用户名或密码错误")
	}
	outcome = succeeded
	if u.Disabled {
		return nil, server.Unauthorized("账号已停用，请联系管理员")
	}
	if _, err := s.users.UpdateIf(ctx, u.ID, store.Cond{}, bson.M{"$unset": bson.M{"login": ""}}); err != nil {
		return nil, err
	}
	return s.issue(ctx, u, "")
}

// Refresh rotates a refresh token. A token used a second time means it was
// stolen or replayed: its whole family is revoked and the caller must log
// in. A token of an older session version of its account is refused.
func (s *Service) Refresh(ctx context.Context, token string) (*Session, error) {
	id := hashToken(token)
	now := s.now().UTC()
	gone := server.Unauthorized("登录凭证已失效，请重新登录")
	var rt refreshToken
	// Mark used only if unused: one conditional update on either engine.
	ok, err := s.refresh.UpdateIfGet(ctx, id, store.Cond{"used_at": nil, "revoked": false}, bson.M{"$set": bson.M{"used_at": now}}, &rt)
	if err != nil {
		return nil, err
	}
	if !ok {
		var old refreshToken
		if err := s.refresh.Get(ctx, id, &old); err == nil {
			if err := s.revokeFamily(ctx, old.Family); err != nil {
				return nil, err
			}
		} else if !store.IsNotFound(err) {
			return nil, err
		}
		return nil, gone
	}
	if now.After(rt.ExpiresAt) {
		return nil, server.Unauthorized("登录已过期，请重新登录")
	}
	var f family
	if err := s.families.Get(ctx, rt.Family, &f); err == nil && f.Revoked {
		return nil, gone
	} else if err != nil && !store.IsNotFound(err) {
		return nil, err
	}
	u, err := s.Get(ctx, rt.UserID)
	if err != nil || u.Disabled || u.SessionVersion != rt.Version {
		return nil, gone
	}
	return s.issue(ctx, u, rt.Family)
}

func (s *Service) revokeFamily(ctx context.Context, fam string) error {
	_, err := s.families.UpdateOne(ctx, bson.M{"_id": fam}, bson.M{"$set": bson.M{"revoked": true, "at": s.now().UTC()}},
		optsUpsert)
	return err
}

// Logout revokes the refresh token's family.
func (s *Service) Logout(ctx context.Context, token string) error {
	var rt refreshToken
	if err := s.refresh.Get(ctx, hashToken(token), &rt); err != nil {
		if store.IsNotFound(err) {
			return nil
		}
		return err
	}
	return s.revokeFamily(ctx, rt.Family)
}

// EnsureAdmin creates user admin when no admin exists: with password when
// given, else with a generated one that it returns (to print once).
func (s *Service) EnsureAdmin(ctx context.Context, password string) (generated string, err error) {
	n, err := s.users.Count(ctx, bson.M{"role": server.RoleAdmin})
	if err != nil || n > 0 {
		return "", err
	}
	if password == "" {
		password = TempPassword()
		generated = password
	}
	_, err = s.Create(ctx, NewUser{Username: "admin", Password: password, Role: server.RoleAdmin, Name: "系统管理员"})
	return generated, err
}
