package enrollment

import (
	"github.com/gofiber/fiber/v2"
	"nongxun/courses"
	"nongxun/server"
	"nongxun/store"
)

// course reads the :id course, refusing a trainee an unpublished one.
func (s *Service) course(c *fiber.Ctx) (*courses.Course, error) {
	id, err := server.ID(c, "id")
	if err != nil {
		return nil, err
	}
	co, err := s.d.Courses.Course(c.UserContext(), id)
	if err != nil {
		return nil, err
	}
	if server.Who(c).Is(server.RoleTrainee) && !co.Published {
		return nil, server.NotFound("课程不存在")
	}
	return co, nil
}

// EnrolRow is one line of a staff enrolment's report.
type EnrolRow struct {
	TraineeID string `json:"trainee_id"`
	Name      string `json:"name,omitempty"`
	Status    string `json:"status"` // enrolled, already, refused
	Label     string `json:"label"`  // 已报名 / 报名成功 / 未报名
	Reason    string `json:"reason,omitempty"`
}

// maxEnrolMany is the most trainees one staff enrolment takes.
const maxEnrolMany = 500

func (s *Service) hEnroll(c *fiber.Ctx) error {
	co, err := s.course(c)
	if err != nil {
		return err
	}
	var in struct {
		TraineeID  string   `json:"trainee_id"`
		TraineeIDs []string `json:"trainee_ids"`
	}
	if err := server.Bind(c, &in); err != nil {
		return err
	}
	p := server.Who(c)
	ctx := c.UserContext()
	if p.Is(server.RoleTrainee) {
		t, err := s.TraineeByUser(ctx, p.UserID)
		if err != nil {
			return err
		}
		if (in.TraineeID != "" && in.TraineeID != t.ID) || len(in.TraineeIDs) > 0 {
			return server.Forbidden("学员只能为自己报名")
		}
		return s.enrolOne(c, co, t)
	}
	if len(in.TraineeIDs) > 0 {
		return s.enrolMany(c, co, in.TraineeIDs)
	}
	if !store.ValidID(in.TraineeID) {
		return server.Invalid("请选择学员", "trainee_id", "应为 24 位十六进制编号")
	}
	t, err := s.Trainee(ctx, in.TraineeID)
	if err != nil {
		if server.ToError(err).Code == server.CodeNotFound {
			return server.Invalid("学员不存在", "trainee_id", "学员不存在")
		}
		return err
	}
	if !p.SeesTownship(t.TownshipID) {
		return server.Invalid("只能为本乡镇的学员报名", "trainee_id", "不在本乡镇")
	}
	return s.enrolOne(c, co, t)
}

// enrolFor enrols t as the caller may: only the admin into a finished
// course (back-filling paper records).
func (s *Service) enrolFor(c *fiber.Ctx, courseID string, t *Trainee) (bool, error) {
	p := server.Who(c)
	if p.Is(server.RoleAdmin) {
		return s.Enroll(c.UserContext(), courseID, t, p.UserID)
	}
	return s.EnrollOpen(c.UserContext(), courseID, t, p.UserID)
}

func (s *Service) enrolOne(c *fiber.Ctx, co *courses.Course, t *Trainee) error {
	created, err := s.enrolFor(c, co.ID, t)
	if err != nil {
		return err
	}
	status, msg := fiber.StatusOK, "已报名，无需重复报名"
	if created {
		status, msg = fiber.StatusCreated, "报名成功"
		s.audit(c.UserContext(), server.Who(c), "enrollment.create", enrolmentID(co.ID, t.ID), nil)
	}
	return c.Status(status).JSON(fiber.Map{"id": enrolmentID(co.ID, t.ID), "course_id": co.ID, "trainee_id": t.ID,
		"status": "enrolled", "already": !created, "message": msg})
}

// enrolMany enrols several trainees and reports each row.
func (s *Service) enrolMany(c *fiber.Ctx, co *courses.Course, ids []string) error {
	if len(ids) > maxEnrolMany {
		return server.Invalid("一次最多为 500 名学员报名", "trainee_ids", "应为 1-500 名学员")
	}
	ctx := c.UserContext()
	p := server.Who(c)
	rows := make([]EnrolRow, 0, len(ids))
	seen := map[string]bool{}
	n := 0
	for _, id := range ids {
		row := EnrolRow{TraineeID: id}
		switch {
		case seen[id]:
			continue
		case !store.ValidID(id):
			row.Status, row.Label, row.Reason = "refused", "未报名", "学员编号格式错误"
		default:
			seen[id] = true
			t, err := s.Trainee(ctx, id)
			if err != nil {
				if server.ToError(err).Code != server.CodeNotFound {
					return err
				}
				row.Status, row.Label, row.Reason = "refused", "未报名", "学员不存在"
				break
			}
			row.Name = t.Name
			if !p.SeesTownship(t.TownshipID) {
				row.Status, row.Label, row.Reason = "refused", "未报名", "不是本乡镇的学员"
				break
			}
			created, err := s.enrolFor(c, co.ID, t)
			switch {
			case err == nil && created:
				row.Status, row.Label = "enrolled", "报名成功"
				n++
			case err == nil:
				row.Status, row.Label = "already", "已报名"
			default:
				e := server.ToError(err)
				if e.Code == server.CodeInternal {
					return err
				}
				row.Status, row.Label, row.Reason = "refused", "未报名", e.Message
			}
		}
		rows = append(rows, row)
	}
	if n > 0 {
		s.audit(ctx, p, "enrollment.create_many", co.ID, map[string]any{"enrolled": n, "rows": len(rows)})
	}
	return c.JSON(fiber.Map{"course_id": co.ID, "enrolled": n, "rows": rows})
}

func (s *Service) hUnenroll(c *fiber.Ctx) error {
	co, err := s.course(c)
	if err != nil {
		return err
	}
	p := server.Who(c)
	ctx := c.UserContext()
	var t *Trainee
	self := p.Is(server.RoleTrainee)
	if self {
		if t, err = s.TraineeByUser(ctx, p.UserID); err != nil {
			return err
		}
		if tid := c.Params("trainee"); tid != "me" && tid != t.ID {
			return server.Forbidden("学员只能取消自己的报名")
		}
	} else {
		id, err := server.ID(c, "trainee")
		if err != nil {
			return err
		}
		if t, err = s.Trainee(ctx, id); err != nil {
			return err
		}
		if !p.SeesTownship(t.TownshipID) {
			return server.NotFound("学员不存在")
		}
	}
	if err := s.Unenroll(ctx, co.ID, t.ID, self); err != nil {
		return err
	}
	s.audit(ctx, p, "enrollment.delete", enrolmentID(co.ID, t.ID), nil)
	return c.JSON(fiber.Map{"course_id": co.ID, "trainee_id": t.ID, "status": "cancelled", "message": "已取消报名"})
}

func (s *Service) hListEnrollments(c *fiber.Ctx) error {
	co, err := s.course(c)
	if err != nil {
		return err
	}
	ids, err := s.EnrolledTrainees(c.UserContext(), co.ID)
	if err != nil {
		return err
	}
	ts, err := s.Trainees(c.UserContext(), ids)
	if err != nil {
		return err
	}
	p := server.Who(c)
	items := []Trainee{}
	for _, id := range ids {
		if t, ok := ts[id]; ok && p.SeesTownship(t.TownshipID) {
			items = append(items, t)
		}
	}
	return c.JSON(fiber.Map{"course_id": co.ID, "items": items})
}

// hEnrolmentStatus answers GET /enrollment-status?course_ids=a,b: places
// left and whether the caller (a trainee) is enrolled and may cancel.
func (s *Service) hEnrolmentStatus(c *fiber.Ctx) error {
	ids, err := splitIDs(c.Query("course_ids"), 100)
	if err != nil {
		return err
	}
	p := server.Who(c)
	ctx := c.UserContext()
	var t *Trainee
	if p.Is(server.RoleTrainee) {
		t, err = s.TraineeByUser(ctx, p.UserID)
		if err != nil && server.ToError(err).Code != server.CodeNotFound {
			return err
		}
		for _, id := range ids {
			co, err := s.d.Courses.Course(ctx, id)
			if err != nil || !co.Published {
				return server.NotFound("课程不存在")
			}
		}
	}
	list, err := s.CourseStatuses(ctx, ids, t)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": list})
}
