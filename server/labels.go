package server

import "github.com/gofiber/fiber/v2"

// RoleNames are the Chinese names of the roles, as people see them.
var RoleNames = map[string]string{
	RoleAdmin:   "管理员",
	RoleOfficer: "乡镇联络员",
	RoleTrainer: "培训讲师",
	RoleTrainee: "学员",
	RoleStation: "服务站",
	RoleAuditor: "审计",
}

// Labels are the Chinese labels of the codes people see, by kind (role,
// group, platform…) and code. main assembles them from the maps the
// feature packages export; the web shell loads them once after login and
// shows codes through NX.label(kind, code).
type Labels map[string]map[string]string

// Register serves the labels at GET /labels to every signed-in role. They
// change only with a release, so the answer may be cached an hour.
func (l Labels) Register(api fiber.Router) {
	api.Get("/labels", Require(Roles...), func(c *fiber.Ctx) error {
		c.Set("Cache-Control", "private, max-age=3600")
		return c.JSON(l)
	})
}
