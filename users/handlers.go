package users

import (
	"context"
	"strconv"

	"github.com/gofiber/fiber/v2"
	"nongxun/server"
)

// ScopeChecker confirms that a township id names a township.
type ScopeChecker interface {
	IsTownship(ctx context.Context, id string) bool
}

// Register adds the auth routes (public) and the user routes to api.
func (s *Service) Register(api fiber.Router, regions ScopeChecker) {
	api.Post("/auth/login", func(c *fiber.Ctx) error {
		var in struct {
			Login    string `json:"login"`
			Password string `json:"password"`
		}
		if err := server.Bind(c, &in); err != nil {
			return err
		}
		if in.Login == "" || in.Password == "" {
			return server.Invalid("请输入用户名和密码", "login", "必填")
		}
		if len(in.Login) > 64 || len(in.Password) > server.MaxPassword {
			return server.Unauthorized("用户名或密码错误")
		}
		sess, err := s.Login(c.UserContext(), in.Login, in.Password, c.IP())
		if err != nil {
			return err
		}
		return c.JSON(sess)
	})
	api.Post("/auth/refresh", func(c *fiber.Ctx) error {
		var in struct {
			RefreshToken string `json:"refresh_token"`
		}
		if err := server.Bind(c, &in); err != nil {
			return err
		}
		if in.RefreshToken == "" {
			return server.Invalid("缺少 refresh_token", "refresh_token", "必填")
		}
		sess, err := s.Refresh(c.UserContext(), in.RefreshToken)
		if err != nil {
			return err
		}
		return c.JSON(sess)
	})
	api.Post("/auth/logout", func(c *fiber.Ctx) error {
		var in struct {
			RefreshToken string `json:"refresh_token"`
		}
		if err := server.Bind(c, &in); err != nil {
			return err
		}
		if err := s.Logout(c.UserContext(), in.RefreshToken); err != nil {
			return err
		}
		return c.JSON(fiber.Map{"status": "ok"})
	})

	api.Get("/me", server.Require(server.Roles...), func(c *fiber.Ctx) error {
		u, err := s.Get(c.UserContext(), server.Who(c).UserID)
		if err != nil {
			return err
		}
		return c.JSON(u)
	})
	// A password change ends every session of the account, and hands the
	// caller a fresh one so they carry on where they are.
	api.Post("/me/password", server.Require(server.Roles...), func(c *fiber.Ctx) error {
		var in struct {
			OldPassword string `json:"old_password"`
			NewPassword string `json:"new_password"`
		}
		if err := server.Bind(c, &in); err != nil {
			return err
		}
		p := server.Who(c)
		u, err := s.Get(c.UserContext(), p.UserID)
		if err != nil {
			return err
		}
		if !CheckPassword(u.PasswordHash, in.OldPassword) {
			return server.Invalid("原密码不正确", "old_password", "不正确")
		}
		if in.NewPassword == in.OldPassword {
			return server.Invalid("新密码不能与原密码相同", "new_password", "与原密码相同")
		}
		u, err = s.setPassword(c.UserContext(), u.ID, in.NewPassword)
		if err != nil {
			return err
		}
		s.note(c.UserContext(), p, "user.password_change", u.ID, nil)
		sess, err := s.issue(c.UserContext(), u, "")
		if err != nil {
			return err
		}
		return c.JSON(sess)
	})

	api.Post("/users", server.Require(server.RoleAdmin), func(c *fiber.Ctx) error {
		var in NewUser
		if err := server.Bind(c, &in); err != nil {
			return err
		}
		if err := in.Validate(); err != nil {
			return err
		}
		if err := s.checkScope(c.UserContext(), regions, in.Role, in.TownshipID, in.StationID); err != nil {
			return err
		}
		u, err := s.Create(c.UserContext(), in)
		if err != nil {
			return err
		}
		s.note(c.UserContext(), server.Who(c), "user.create", u.ID, map[string]any{"role": u.Role, "name": u.Name})
		return c.Status(fiber.StatusCreated).JSON(u)
	})
	api.Get("/users", server.Require(server.RoleAdmin, server.RoleAuditor, server.RoleOfficer), func(c *fiber.Ctx) error {
		f, err := filterOf(c)
		if err != nil {
			return err
		}
		p := server.Who(c)
		if p.Role == server.RoleOfficer {
			return s.officerList(c, p, f)
		}
		list, more, err := s.Find(c.UserContext(), f)
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"items": list, "more": more, "offset": f.Offset})
	})
	api.Get("/users/:id", server.Require(server.RoleAdmin, server.RoleAuditor, server.RoleOfficer), func(c *fiber.Ctx) error {
		u, err := s.visible(c, server.Who(c))
		if err != nil {
			return err
		}
		return c.JSON(u)
	})
	api.Patch("/users/:id", server.Require(server.RoleAdmin), func(c *fiber.Ctx) error {
		id, err := server.ID(c, "id")
		if err != nil {
			return err
		}
		var ch Change
		if err := server.Bind(c, &ch); err != nil {
			return err
		}
		p := server.Who(c)
		old, err := s.Get(c.UserContext(), id)
		if err != nil {
			return err
		}
		next, err := ch.apply(*old)
		if err != nil {
			return err
		}
		if id == p.UserID && next.Role != old.Role {
			return server.Conflict("不能修改自己的角色")
		}
		if next.Role != old.Role || next.TownshipID != old.TownshipID || next.StationID != old.StationID {
			if err := s.checkScope(c.UserContext(), regions, next.Role, next.TownshipID, next.StationID); err != nil {
				return err
			}
		}
		u, err := s.Update(c.UserContext(), id, ch)
		if err != nil {
			return err
		}
		s.note(c.UserContext(), p, "user.update", id, changed(old, u))
		return c.JSON(u)
	})
	api.Post("/users/:id/password-reset", server.Require(server.RoleAdmin, server.RoleOfficer), func(c *fiber.Ctx) error {
		p := server.Who(c)
		u, err := s.visible(c, p)
		if err != nil {
			return err
		}
		if u.ID == p.UserID {
			return server.Conflict("不能重置自己的密码，请用“修改密码”")
		}
		temp, err := s.ResetPassword(c.UserContext(), u.ID)
		if err != nil {
			return err
		}
		s.note(c.UserContext(), p, "user.password_reset", u.ID, map[string]any{"role": u.Role, "name": u.Name})
		return c.JSON(fiber.Map{"id": u.ID, "temporary_password": temp})
	})
	api.Post("/users/:id/disable", server.Require(server.RoleAdmin), func(c *fiber.Ctx) error {
		var in struct {
			Disabled *bool `json:"disabled"`
		}
		if err := server.Bind(c, &in); err != nil {
			return err
		}
		d := in.Disabled == nil || *in.Disabled
		return s.disableHandler(c, d)
	})
	api.Post("/users/:id/enable", server.Require(server.RoleAdmin), func(c *fiber.Ctx) error {
		return s.disableHandler(c, false)
	})
}

func (s *Service) disableHandler(c *fiber.Ctx, disabled bool) error {
	id, err := server.ID(c, "id")
	if err != nil {
		return err
	}
	p := server.Who(c)
	if id == p.UserID && disabled {
		return server.Conflict("不能停用自己的账号")
	}
	if err := s.SetDisabled(c.UserContext(), id, disabled); err != nil {
		return err
	}
	action := "user.enable"
	if disabled {
		action = "user.disable"
	}
	s.note(c.UserContext(), p, action, id, nil)
	return c.JSON(fiber.Map{"id": id, "disabled": disabled})
}

// checkScope confirms an officer's township and a station account's station exist.
func (s *Service) checkScope(ctx context.Context, regions ScopeChecker, role, township, station string) error {
	if role == server.RoleOfficer && !regions.IsTownship(ctx, township) {
		return server.Invalid("所属乡镇不存在", "township_id", "不是乡镇")
	}
	if role == server.RoleStation && (s.Stations == nil || !s.Stations.IsStation(ctx, station)) {
		return server.Invalid("服务站点不存在", "station_id", "服务站点不存在")
	}
	return nil
}

// visible is the account :id as p may see it: every account for admin and
// auditor; for an officer, trainee accounts of their township only.
func (s *Service) visible(c *fiber.Ctx, p *server.Principal) (*User, error) {
	id, err := server.ID(c, "id")
	if err != nil {
		return nil, err
	}
	u, err := s.Get(c.UserContext(), id)
	if err != nil {
		return nil, err
	}
	if p.Role == server.RoleOfficer {
		if ok, err := s.inTownship(c.UserContext(), u, p.TownshipID); err != nil {
			return nil, err
		} else if !ok {
			return nil, server.Forbidden("只能管理本乡镇学员的账号")
		}
	}
	return u, nil
}

// inTownship reports whether u is a trainee account whose trainee record
// lies in township.
func (s *Service) inTownship(ctx context.Context, u *User, township string) (bool, error) {
	if u.Role != server.RoleTrainee || s.Trainees == nil || township == "" {
		return false, nil
	}
	t, err := s.Trainees.TraineeTownship(ctx, u.ID)
	if err != nil {
		if server.ToError(err).Code == server.CodeNotFound {
			return false, nil
		}
		return false, err
	}
	return t == township, nil
}

// officerList lists the trainee accounts of the officer's township among
// those matching f (looked up 50 at a time).
func (s *Service) officerList(c *fiber.Ctx, p *server.Principal, f Filter) error {
	f.Role, f.Township, f.Station = server.RoleTrainee, "", ""
	want := f.Limit
	f.Limit = 50
	out := []User{}
	more := false
	for len(out) < want {
		list, m, err := s.Find(c.UserContext(), f)
		if err != nil {
			return err
		}
		for i := range list {
			if ok, err := s.inTownship(c.UserContext(), &list[i], p.TownshipID); err != nil {
				return err
			} else if ok {
				out = append(out, list[i])
			}
		}
		if !m || f.Offset > 2000 {
			break
		}
		f.Offset += len(list)
		more = true
	}
	if len(out) > want {
		out, more = out[:want], true
	}
	return c.JSON(fiber.Map{"items": out, "more": more && len(out) == want})
}

func filterOf(c *fiber.Ctx) (Filter, error) {
	f := Filter{Role: c.Query("role"), Township: c.Query("township_id"), Station: c.Query("station_id"), Search: c.Query("q")}
	fs := server.Fields{}
	fs.Add(f.Role != "" && !server.ValidRole(f.Role), "role", "角色无效")
	fs.Add(len([]rune(f.Search)) > 50, "q", "搜索词过长")
	switch c.Query("disabled") {
	case "":
	case "true", "1":
		t := true
		f.Disabled = &t
	case "false", "0":
		t := false
		f.Disabled = &t
	default:
		fs.Add(true, "disabled", "应为 true 或 false")
	}
	var err error
	if f.Offset, err = queryInt(c, "offset", 0); err != nil || f.Offset < 0 || f.Offset > 100000 {
		fs.Add(true, "offset", "应为 0 到 100000 的整数")
	}
	if f.Limit, err = queryInt(c, "limit", 50); err != nil || f.Limit < 1 || f.Limit > 200 {
		fs.Add(true, "limit", "应为 1 到 200 的整数")
	}
	return f, fs.Err()
}

func queryInt(c *fiber.Ctx, name string, def int) (int, error) {
	v := c.Query(name)
	if v == "" {
		return def, nil
	}
	return strconv.Atoi(v)
}

// changed lists the fields an edit changed, for the audit log.
func changed(old, u *User) map[string]any {
	d := map[string]any{}
	add := func(k, a, b string) {
		if a != b {
			d[k] = map[string]string{"from": a, "to": b}
		}
	}
	add("name", old.Name, u.Name)
	add("username", old.Username, u.Username)
	add("phone", old.Phone, u.Phone)
	add("role", old.Role, u.Role)
	add("township_id", old.TownshipID, u.TownshipID)
	add("station_id", old.StationID, u.StationID)
	return d
}
