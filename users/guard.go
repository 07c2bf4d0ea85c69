package users

import (
	"context"

	"nongxun/server"
	"nongxun/store"
)

// admit is the token guard (server.Guard): on every authenticated request
// it reads the account by _id (an indexed read on both engines) and refuses
// the token of an account that is disabled or whose token version has
// moved on since the token was issued. A token for an id with no account
// is accepted only when it carries no version: every account made since
// token versions exist starts at 1, so only tokens signed for principals
// that are not accounts (tests) have none.
//
// The state is kept in a write-through cache (store.NewCache): the read
// costs ~0.4 ms on the embedded engine, ten times a small request
// (BenchmarkGuard). Every write of an account forgets its entry; on
// MongoDB an entry lives at most the store's cache TTL, so another node
// refuses a disabled account's tokens within that time (docs/internal-api.md).
func (s *Service) admit(ctx context.Context, p *server.Principal) (server.Standing, error) {
	u, err := s.states.Get(ctx, p.UserID, func(ctx context.Context) (accountState, error) {
		var u accountState
		err := s.users.Get(ctx, p.UserID, &u)
		if store.IsNotFound(err) {
			return accountState{Absent: true}, nil
		}
		return u, err
	})
	switch {
	case err != nil:
		return server.Good, err
	case u.Absent:
		if p.TokenVersion == 0 {
			return server.Good, nil
		}
		return server.Good, server.Unauthorized("账号不存在")
	case u.Disabled:
		return server.Good, server.Unauthorized("账号已停用，请联系管理员")
	case u.TokenVersion != p.TokenVersion:
		return server.Good, server.Unauthorized("登录状态已失效，请重新登录")
	case u.MustChangePassword:
		return server.MustChangePassword, nil
	}
	return server.Good, nil
}

// accountState is the part of a user document the guard reads.
type accountState struct {
	Absent             bool  `bson:"-"`
	Disabled           bool  `bson:"disabled"`
	TokenVersion       int64 `bson:"token_version"`
	MustChangePassword bool  `bson:"must_change_password"`
}

// changed forgets the cached state of account id after a write to it.
func (s *Service) changed(id string) { s.states.Forget(id) }
