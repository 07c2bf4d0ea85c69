package enrollment

import (
	"context"
	"strings"

	"github.com/gofiber/fiber/v2"
	"nongxun/server"
	"nongxun/store"
)

// Register adds the trainee, enrolment, check-in, roll-call, photo and
// progress routes to api (/api/v1).
func (s *Service) Register(api fiber.Router) {
	staff := server.Require(server.RoleAdmin, server.RoleOfficer, server.RoleTrainer)
	readers := server.Require(server.Readers...)
	trainee := server.Require(server.RoleTrainee)
	admin := server.Require(server.RoleAdmin)
	sessionStaff := server.Require(server.RoleAdmin, server.RoleTrainer)

	api.Post("/trainees", staff, s.hCreateTrainee)
	api.Get("/trainees", readers, s.hListTrainees)
	api.Post("/trainees/import", staff, s.hImport)
	api.Post("/trainees/import/refused", staff, s.hImportRefused)
	api.Post("/trainees/merge", server.Require(server.RoleAdmin, server.RoleOfficer), s.hMerge)
	api.Get("/trainees/:id", readers, s.hGetTrainee)
	api.Patch("/trainees/:id", staff, s.hUpdateTrainee)
	api.Get("/trainees/:id/id-number", admin, s.hRevealID)
	api.Put("/trainees/:id/id-number", admin, s.hCorrectID)
	api.Post("/trainees/:id/account", staff, s.hCreateAccount)
	api.Get("/trainees/:id/attendance", readers, s.hTraineeAttendance)
	api.Get("/trainees/:id/enrollments", readers, s.hTraineeEnrollments)

	everyoneButStation := server.Require(server.RoleAdmin, server.RoleOfficer, server.RoleTrainer, server.RoleTrainee, server.RoleAuditor)
	api.Post("/courses/:id/enrollments", server.Require(server.RoleAdmin, server.RoleOfficer, server.RoleTrainer, server.RoleTrainee), s.hEnroll)
	api.Get("/courses/:id/enrollments", readers, s.hListEnrollments)
	api.Delete("/courses/:id/enrollments/:trainee", server.Require(server.RoleAdmin, server.RoleOfficer, server.RoleTrainer, server.RoleTrainee), s.hUnenroll)
	api.Get("/enrollment-status", everyoneButStation, s.hEnrolmentStatus)

	api.Get("/sessions/:id/checkin-code", sessionStaff, s.hCode)
	api.Get("/sessions/:id/checkin-qr.png", sessionStaff, s.hQR)
	api.Post("/sessions/:id/rollcall", sessionStaff, s.hRollCall)
	api.Post("/sessions/:id/marks", sessionStaff, s.hMark)
	api.Post("/sessions/:id/attendance/import", sessionStaff, s.hImportSheet) // sheetimport.go
	api.Get("/sessions/:id/attendance", readers, s.hSessionAttendance)
	api.Post("/sessions/:id/signin-photos", sessionStaff, s.hAddPhoto)
	api.Get("/sessions/:id/signin-photos", readers, s.hListPhotos)
	api.Get("/sessions/:id/signin-photos/:blob", readers, s.hGetPhoto)

	api.Post("/checkins", trainee, s.hCheckin)
	api.Post("/checkins/batch", trainee, s.hBatch)

	api.Get("/progress", readers, s.hProgress)
	api.Post("/progress/recount", admin, s.hRecount)

	s.RegisterPublic(api)

	api.Get("/my/trainee", trainee, s.hMyTrainee)
	api.Get("/my/enrollments", trainee, s.hMyEnrollments)
	api.Get("/my/schedule", trainee, s.hMySessions)
	api.Get("/my/attendance", trainee, s.hMyAttendance)
}

// seeTrainee refuses an officer a trainee outside their township.
func seeTrainee(c *fiber.Ctx, t *Trainee) error {
	if !server.Who(c).SeesTownship(t.TownshipID) {
		return server.NotFound("学员不存在")
	}
	return nil
}

func (s *Service) traineeParam(c *fiber.Ctx) (*Trainee, error) {
	id, err := server.ID(c, "id")
	if err != nil {
		return nil, err
	}
	t, err := s.Trainee(c.UserContext(), id)
	if err != nil {
		return nil, err
	}
	return t, seeTrainee(c, t)
}

// correctable reads the :id trainee for a correction by the caller.
func (s *Service) correctable(c *fiber.Ctx) (*traineeDoc, error) {
	id, err := server.ID(c, "id")
	if err != nil {
		return nil, err
	}
	d, err := s.traineeDocOf(c.UserContext(), id)
	if err != nil {
		return nil, err
	}
	p := server.Who(c)
	if !p.SeesTownship(d.TownshipID) {
		return nil, server.NotFound("学员不存在")
	}
	ok, err := s.MayCorrect(c.UserContext(), p, d)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, server.Forbidden("讲师只能修改自己登记的学员或在自己班次签到过的学员")
	}
	return d, nil
}

func (s *Service) hCreateTrainee(c *fiber.Ctx) error {
	var in NewTrainee
	if err := server.Bind(c, &in); err != nil {
		return err
	}
	p := server.Who(c)
	if tw := p.Township(); tw != "" && s.d.Regions.IsVillage(c.UserContext(), in.RegionID) && s.d.Regions.TownshipOf(c.UserContext(), in.RegionID) != tw {
		return server.Invalid("只能登记本乡镇的学员", "region_id", "不在本乡镇")
	}
	r, err := s.AddTrainee(c.UserContext(), in, true, "staff", p.UserID)
	if err != nil {
		return err
	}
	s.audit(c.UserContext(), p, "trainee.create", r.ID, map[string]any{"id_number": r.IDMasked})
	return c.Status(fiber.StatusCreated).JSON(r)
}

func (s *Service) hListTrainees(c *fiber.Ctx) error {
	p := server.Who(c)
	q, err := SearchQuery(c.Query("q"))
	if err != nil {
		return err
	}
	f := ListFilter{TownshipID: c.Query("township_id"), RegionID: c.Query("region_id"), Group: c.Query("group"),
		Limit: int64(c.QueryInt("limit", 100)), Skip: int64(c.QueryInt("skip", 0))}
	if tw := p.Township(); tw != "" {
		f.TownshipID = tw
	}
	for _, v := range []string{f.TownshipID, f.RegionID} {
		if v != "" && !store.ValidID(v) {
			return server.Invalid("编号格式错误", "township_id", "应为 24 位十六进制编号")
		}
	}
	if f.Group != "" && GroupNames[f.Group] == "" {
		return server.Invalid("未知的人群类别", "group", "未知的人群类别")
	}
	if f.Skip < 0 {
		return server.Invalid("查询参数无效", "skip", "不能小于 0")
	}
	var list []Trainee
	if q != "" {
		if list, err = s.Search(c.UserContext(), q, f.TownshipID, int(f.Limit)); err != nil {
			return err
		}
		keep := list[:0]
		for _, t := range list {
			if (f.RegionID == "" || t.RegionID == f.RegionID) && (f.Group == "" || t.HasGroup(f.Group)) {
				keep = append(keep, t)
			}
		}
		list = keep
	} else if list, err = s.List(c.UserContext(), f); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": list})
}

func (s *Service) hGetTrainee(c *fiber.Ctx) error {
	t, err := s.traineeParam(c)
	if err != nil {
		return err
	}
	return c.JSON(t)
}

func (s *Service) hUpdateTrainee(c *fiber.Ctx) error {
	d, err := s.correctable(c)
	if err != nil {
		return err
	}
	var in TraineePatch
	if err := server.Bind(c, &in); err != nil {
		return err
	}
	t, err := s.UpdateTrainee(c.UserContext(), d.ID, in, server.Who(c))
	if err != nil {
		return err
	}
	return c.JSON(t)
}

func (s *Service) hCorrectID(c *fiber.Ctx) error {
	d, err := s.correctable(c)
	if err != nil {
		return err
	}
	var in struct {
		IDNumber string `json:"id_number"`
	}
	if err := server.Bind(c, &in); err != nil {
		return err
	}
	t, err := s.CorrectIDNumber(c.UserContext(), d.ID, in.IDNumber, server.Who(c))
	if err != nil {
		return err
	}
	return c.JSON(t)
}

func (s *Service) hMerge(c *fiber.Ctx) error {
	var in struct {
		Keep string `json:"keep"`
		Drop string `json:"drop"`
	}
	if err := server.Bind(c, &in); err != nil {
		return err
	}
	f := server.Fields{}
	f.Add(!store.ValidID(in.Keep), "keep", "请选择保留的档案")
	f.Add(!store.ValidID(in.Drop), "drop", "请选择合并掉的档案")
	if err := f.Err(); err != nil {
		return err
	}
	p := server.Who(c)
	for _, id := range []string{in.Keep, in.Drop} {
		t, err := s.Trainee(c.UserContext(), id)
		if err != nil {
			return err
		}
		if !p.SeesTownship(t.TownshipID) {
			return server.Forbidden("只能合并本乡镇的学员档案")
		}
	}
	res, err := s.Merge(c.UserContext(), in.Keep, in.Drop, p)
	if err != nil {
		return err
	}
	return c.JSON(res)
}

func (s *Service) hRevealID(c *fiber.Ctx) error {
	t, err := s.traineeParam(c)
	if err != nil {
		return err
	}
	n, err := s.RevealID(c.UserContext(), t.ID)
	if err != nil {
		return err
	}
	s.audit(c.UserContext(), server.Who(c), "trainee.reveal_id", t.ID, nil)
	return c.JSON(fiber.Map{"id": t.ID, "id_number": n})
}

func (s *Service) hCreateAccount(c *fiber.Ctx) error {
	t, err := s.traineeParam(c)
	if err != nil {
		return err
	}
	var in struct {
		Password string `json:"password"`
	}
	if err := server.Bind(c, &in); err != nil {
		return err
	}
	if in.Password != "" && (len(in.Password) < 8 || len(in.Password) > 128) {
		return server.Invalid("密码至少 8 位", "password", "密码至少 8 位")
	}
	gen, err := s.CreateAccount(c.UserContext(), t.ID, in.Password)
	if err != nil {
		return err
	}
	s.audit(c.UserContext(), server.Who(c), "trainee.account", t.ID, nil)
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"id": t.ID, "login": t.Phone, "initial_password": gen})
}

func (s *Service) hTraineeAttendance(c *fiber.Ctx) error {
	t, err := s.traineeParam(c)
	return traineeItems(c, t, err, s.TraineeAttendance)
}

func (s *Service) hTraineeEnrollments(c *fiber.Ctx) error {
	t, err := s.traineeParam(c)
	return traineeItems(c, t, err, s.Enrollments)
}

// splitIDs reads a comma-separated id list of at most max.
func splitIDs(v string, max int) ([]string, error) {
	var out []string
	for _, x := range strings.Split(v, ",") {
		x = strings.TrimSpace(x)
		if x == "" {
			continue
		}
		if !store.ValidID(x) {
			return nil, server.Invalid("编号格式错误", "course_ids", "应为 24 位十六进制编号，以逗号分隔")
		}
		out = append(out, x)
	}
	if len(out) == 0 || len(out) > max {
		return nil, server.Invalid("请给出 1 到 100 门课程", "course_ids", "应为 1-100 个编号")
	}
	return out, nil
}

// traineeItems answers {"items": list(trainee)} for the trainee a route
// resolved (t, err: the resolution's result).
func traineeItems[T any](c *fiber.Ctx, t *Trainee, err error, list func(ctx context.Context, id string) ([]T, error)) error {
	if err != nil {
		return err
	}
	items, err := list(c.UserContext(), t.ID)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": items})
}
