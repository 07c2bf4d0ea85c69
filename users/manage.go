package users

import (
	"context"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/server"
	"nongxun/store"
)

// Change is an edit of an account; nil fields stay as they are.
type Change struct {
	Name       *string `json:"name"`
	Username   *string `json:"username"`
	Phone      *string `json:"phone"`
	Role       *string `json:"role"`
	TownshipID *string `json:"township_id"`
	StationID  *string `json:"station_id"`
}

// apply returns u with the change made, validated; townships and stations
// must be checked to exist by the caller.
func (ch Change) apply(u User) (User, error) {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = strings.TrimSpace(*v)
		}
	}
	old := u
	set(&u.Name, ch.Name)
	set(&u.Username, ch.Username)
	set(&u.Phone, ch.Phone)
	set(&u.Role, ch.Role)
	set(&u.TownshipID, ch.TownshipID)
	set(&u.StationID, ch.StationID)
	if u.Role != server.RoleOfficer {
		u.TownshipID = ""
	}
	if u.Role != server.RoleStation {
		u.StationID = ""
	}
	f := server.Fields{}
	f.Add(u.Username == "" && u.Phone == "", "username", "用户名和手机号至少填一个")
	f.Add(u.Username != "" && !usernameRe.MatchString(u.Username), "username", "3-32 位字母、数字、下划线，以字母开头")
	f.Add(u.Phone != "" && !ValidPhone(u.Phone), "phone", "应为 11 位手机号")
	f.Add(!server.ValidRole(u.Role), "role", "角色无效")
	f.Add((old.Role == server.RoleTrainee) != (u.Role == server.RoleTrainee), "role", "学员账号与学员档案相连，不能改为其他角色，其他账号也不能改为学员")
	f.Add(!validName(u.Name), "name", "请填写姓名（50 字以内）")
	f.Add(u.Role == server.RoleOfficer && !store.ValidID(u.TownshipID), "township_id", "乡镇联络员须指定所属乡镇")
	f.Add(u.Role == server.RoleStation && !store.ValidID(u.StationID), "station_id", "服务站账号须指定服务站")
	return u, f.Err()
}

// Update edits an account. A change of what its tokens carry (role, name,
// township, station) raises its token version, so its sessions pick up the
// change at their next refresh. A username or phone already taken is a conflict.
func (s *Service) Update(ctx context.Context, id string, ch Change) (*User, error) {
	old, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	nu, err := ch.apply(*old)
	if err != nil {
		return nil, err
	}
	oldKeys, newKeys := map[string]bool{}, map[string]bool{}
	for _, k := range old.loginKeys() {
		oldKeys[k] = true
	}
	for _, k := range nu.loginKeys() {
		newKeys[k] = true
	}
	upd := bson.M{"$set": bson.M{"name": nu.Name, "username": nu.Username, "phone": nu.Phone, "role": nu.Role,
		"township_id": nu.TownshipID, "station_id": nu.StationID, "updated_at": s.now().UTC()}}
	if nu.Principal() != old.Principal() {
		upd["$inc"] = bson.M{"token_version": 1}
	}
	var out User
	err = s.st.Unit(ctx, "user.update", func(u *store.Unit) error {
		for k := range newKeys {
			if !oldKeys[k] {
				if err := s.claimKey(ctx, u, k, id); err != nil {
					return err
				}
			}
		}
		// Only if nobody changed the account since it was read.
		ok, err := s.users.UpdateIfGet(ctx, id, store.Cond{"username": condStr(old.Username), "phone": condStr(old.Phone),
			"role": old.Role, "token_version": old.TokenVersion}, upd, &out)
		if err != nil {
			return err
		}
		if !ok {
			return server.Conflict("账号刚被他人修改，请刷新后重试")
		}
		return nil
	})
	s.changed(id)
	if err != nil {
		return nil, err
	}
	for k := range oldKeys {
		if !newKeys[k] {
			if err := s.releaseKey(ctx, k, id); err != nil {
				// ByLogin checks the account still has the login, so a
				// stale key only keeps the old name from being reused.
				s.st.Log().Warn("old login key not released", "key", k, "err", err.Error())
			}
		}
	}
	return &out, nil
}

// condStr matches a string field as stored: "" is an absent field (omitempty).
func condStr(v string) any {
	if v == "" {
		return bson.M{"$in": bson.A{nil, ""}}
	}
	return v
}

// SetPassword replaces a user's password (it must be strong enough), clears
// a reset's must-change mark and ends every session of the account: its
// token version goes up, so its access and refresh tokens are refused.
func (s *Service) SetPassword(ctx context.Context, id, pw string) error {
	_, err := s.setPassword(ctx, id, pw)
	return err
}

func (s *Service) setPassword(ctx context.Context, id, pw string) (*User, error) {
	u, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if why := server.WeakPassword(pw, u.Username, u.Phone, u.Name); why != "" {
		return nil, server.Invalid(why, "new_password", why, "password", why)
	}
	var out User
	ok, err := s.users.UpdateIfGet(ctx, id, store.Cond{}, bson.M{
		"$set":   bson.M{"password_hash": HashPassword(pw), "must_change_password": false, "updated_at": s.now().UTC()},
		"$unset": bson.M{"login": ""},
		"$inc":   bson.M{"token_version": 1, "session_version": 1}}, &out)
	s.changed(id)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, server.NotFound("用户不存在")
	}
	return &out, nil
}

// ResetPassword gives an account a temporary password (returned, to show
// once): the old one stops working at once, every session ends, and the
// account must set a new password before it may do anything else.
func (s *Service) ResetPassword(ctx context.Context, id string) (string, error) {
	temp := TempPassword()
	ok, err := s.users.UpdateIf(ctx, id, store.Cond{}, bson.M{
		"$set":   bson.M{"password_hash": HashPassword(temp), "must_change_password": true, "updated_at": s.now().UTC()},
		"$unset": bson.M{"login": ""},
		"$inc":   bson.M{"token_version": 1, "session_version": 1}})
	s.changed(id)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", server.NotFound("用户不存在")
	}
	return temp, nil
}

// TempPassword makes a temporary password that is easy to read aloud and
// type (12 characters of 2-9 and A-Z without I and O, in three groups) and
// strong enough for WeakPassword.
func TempPassword() string {
	for {
		t := server.RandomToken(8)[:12]
		pw := t[:4] + "-" + t[4:8] + "-" + t[8:]
		if server.WeakPassword(pw) == "" {
			return pw
		}
	}
}

// SetDisabled disables or re-enables an account. Disabling raises its token
// and session versions: every access and refresh token it holds is refused from now on.
func (s *Service) SetDisabled(ctx context.Context, id string, disabled bool) error {
	upd := bson.M{"$set": bson.M{"disabled": disabled, "updated_at": s.now().UTC()}}
	if disabled {
		upd["$inc"] = bson.M{"token_version": 1, "session_version": 1}
	}
	ok, err := s.users.UpdateIf(ctx, id, store.Cond{}, upd)
	s.changed(id)
	if err != nil {
		return err
	}
	if !ok {
		return server.NotFound("用户不存在")
	}
	return nil
}
