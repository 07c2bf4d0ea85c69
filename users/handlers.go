package users

import (
	"context"

	"github.com/gofiber/fiber/v2"
	"nongxun/server"
)

// ScopeChecker confirms that a township or station id names a real one.
type ScopeChecker interface {
	IsTownship(ctx context.Context, id string) bool
}

// Register adds the auth routes (public) and the user routes to api.
func (s *Service) Register(api fiber.Router, regions ScopeChecker) {
	authed := api
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

	authed.Get("/me", server.Require(server.Roles...), func(c *fiber.Ctx) error {
		u, err := s.Get(c.UserContext(), server.Who(c).UserID)
		if err != nil {
			return err
		}
		return c.JSON(u)
	})
	authed.Post("/me/password", server.Require(server.Roles...), func(c *fiber.Ctx) error {
		var in struct {
			OldPassword string `json:"old_password"`
			NewPassword string `json:"new_password"`
		}
		if err := server.Bind(c, &in); err != nil {
			return err
		}
		u, err := s.Get(c.UserContext(), server.Who(c).UserID)
		if err != nil {
			return err
		}
		if !CheckPassword(u.PasswordHash, in.OldPassword) {
			return server.Invalid("原密码不正确", "old_password", "不正确")
		}
		if err := s.SetPassword(c.UserContext(), u.ID, in.NewPassword); err != nil {
			return err
		}
		return c.JSON(fiber.Map{"status": "ok"})
	})
	authed.Post("/users", server.Require(server.RoleAdmin), func(c *fiber.Ctx) error {
		var in NewUser
		if err := server.Bind(c, &in); err != nil {
			return err
		}
		if err := in.Validate(); err != nil {
			return err
		}
		if in.Role == server.RoleOfficer && !regions.IsTownship(c.UserContext(), in.TownshipID) {
			return server.Invalid("所属乡镇不存在", "township_id", "不是乡镇")
		}
		u, err := s.Create(c.UserContext(), in)
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(u)
	})
	authed.Get("/users", server.Require(server.RoleAdmin, server.RoleAuditor), func(c *fiber.Ctx) error {
		role := c.Query("role")
		if role != "" && !server.ValidRole(role) {
			return server.Invalid("角色无效", "role", "角色无效")
		}
		list, err := s.List(c.UserContext(), role)
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"items": list})
	})
	authed.Post("/users/:id/disable", server.Require(server.RoleAdmin), func(c *fiber.Ctx) error {
		id, err := server.ID(c, "id")
		if err != nil {
			return err
		}
		var in struct {
			Disabled *bool `json:"disabled"`
		}
		if err := server.Bind(c, &in); err != nil {
			return err
		}
		d := true
		if in.Disabled != nil {
			d = *in.Disabled
		}
		if id == server.Who(c).UserID && d {
			return server.Conflict("不能停用自己的账号")
		}
		if err := s.SetDisabled(c.UserContext(), id, d); err != nil {
			return err
		}
		return c.JSON(fiber.Map{"id": id, "disabled": d})
	})
}
