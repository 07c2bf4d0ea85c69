package enrollment

import (
	"github.com/gofiber/fiber/v2"
	"github.com/skip2/go-qrcode"
	"nongxun/courses"
	"nongxun/server"
	"nongxun/store"
)

// sessionParam reads the :id session; own requires the caller to be its
// trainer (or admin).
func (s *Service) sessionParam(c *fiber.Ctx, own bool) (*courses.Session, error) {
	id, err := server.ID(c, "id")
	if err != nil {
		return nil, err
	}
	sess, err := s.d.Courses.Session(c.UserContext(), id)
	if err != nil {
		return nil, err
	}
	p := server.Who(c)
	if own && !p.Is(server.RoleAdmin) && sess.TrainerID != p.UserID {
		return nil, server.Forbidden("只有本班次的培训讲师可以操作")
	}
	if !p.SeesTownship(sess.TownshipID) {
		return nil, server.NotFound("班次不存在")
	}
	return sess, nil
}

func (s *Service) hCode(c *fiber.Ctx) error {
	sess, err := s.sessionParam(c, true)
	if err != nil {
		return err
	}
	code, err := s.Code(sess)
	if err != nil {
		return err
	}
	c.Set("Cache-Control", "no-store")
	return c.JSON(code)
}

func (s *Service) hQR(c *fiber.Ctx) error {
	sess, err := s.sessionParam(c, true)
	if err != nil {
		return err
	}
	code := c.Query("code")
	p, err := parseCode(code)
	if err != nil || p.window < 0 || p.sessionID != sess.ID || s.Payload(sess.ID, p.window) != code {
		return server.Invalid("签到码无效", "code", "签到码无效")
	}
	png, err := qrcode.Encode(code, qrcode.Medium, 512)
	if err != nil {
		return err
	}
	c.Set("Cache-Control", "private, max-age=60")
	return c.Type("png").Send(png)
}

func (s *Service) hCheckin(c *fiber.Ctx) error {
	var in CheckinIn
	if err := server.Bind(c, &in); err != nil {
		return err
	}
	t, err := s.TraineeByUser(c.UserContext(), server.Who(c).UserID)
	if err != nil {
		return err
	}
	res, created, err := s.Checkin(c.UserContext(), t, in, false)
	if err != nil {
		return err
	}
	status := fiber.StatusOK
	if created {
		status = fiber.StatusCreated
	}
	return c.Status(status).JSON(res)
}

// maxBatch is the most check-ins one batch upload may carry.
const maxBatch = 100

func (s *Service) hBatch(c *fiber.Ctx) error {
	var in struct {
		Checkins []CheckinIn `json:"checkins"`
	}
	if err := server.Bind(c, &in); err != nil {
		return err
	}
	if len(in.Checkins) == 0 || len(in.Checkins) > maxBatch {
		return server.Invalid("一次最多上传 100 条签到", "checkins", "应为 1-100 条")
	}
	t, err := s.TraineeByUser(c.UserContext(), server.Who(c).UserID)
	if err != nil {
		return err
	}
	type item struct {
		ClientID string        `json:"client_id"`
		Status   string        `json:"status,omitempty"`
		Already  bool          `json:"already,omitempty"`
		Error    *server.Error `json:"error,omitempty"`
	}
	out := make([]item, 0, len(in.Checkins))
	for _, x := range in.Checkins {
		res, _, err := s.Checkin(c.UserContext(), t, x, true)
		it := item{ClientID: x.ClientID}
		if err != nil {
			e := server.ToError(err)
			if e.Code == server.CodeInternal {
				e = &server.Error{Code: server.CodeInternal, Message: "暂时无法处理，请稍后重试"}
				s.d.Log.Error("batch check-in", "err", err.Error())
			}
			it.Error = e
		} else {
			it.Status, it.Already = res.Status, res.Already
		}
		out = append(out, it)
	}
	return c.JSON(fiber.Map{"results": out})
}

func (s *Service) hRollCall(c *fiber.Ctx) error {
	sess, err := s.sessionParam(c, true)
	if err != nil {
		return err
	}
	var in struct {
		TraineeIDs []string `json:"trainee_ids"`
	}
	if err := server.Bind(c, &in); err != nil {
		return err
	}
	if len(in.TraineeIDs) == 0 || len(in.TraineeIDs) > 500 {
		return server.Invalid("请勾选到场的学员", "trainee_ids", "应为 1-500 名学员")
	}
	for _, id := range in.TraineeIDs {
		if !store.ValidID(id) {
			return server.Invalid("学员编号格式错误", "trainee_ids", "应为 24 位十六进制编号")
		}
	}
	n, err := s.RollCall(c.UserContext(), sess, in.TraineeIDs, server.Who(c).UserID)
	if err != nil {
		return err
	}
	s.audit(c.UserContext(), server.Who(c), "attendance.rollcall", sess.ID, map[string]any{"trainees": len(in.TraineeIDs), "recorded": n})
	return c.JSON(fiber.Map{"recorded": n})
}

func (s *Service) hMark(c *fiber.Ctx) error {
	sess, err := s.sessionParam(c, true)
	if err != nil {
		return err
	}
	var in struct {
		TraineeID string `json:"trainee_id"`
		Status    string `json:"status"`
		Note      string `json:"note"`
	}
	if err := server.Bind(c, &in); err != nil {
		return err
	}
	if !store.ValidID(in.TraineeID) {
		return server.Invalid("学员编号格式错误", "trainee_id", "应为 24 位十六进制编号")
	}
	if len([]rune(in.Note)) > 200 {
		return server.Invalid("备注过长", "note", "200 字以内")
	}
	if sess.Cancelled {
		return server.Invalid("该班次已取消", "session_id", "班次已取消")
	}
	a, err := s.Mark(c.UserContext(), sess, in.TraineeID, in.Status, in.Note, server.Who(c).UserID)
	if err != nil {
		return err
	}
	s.audit(c.UserContext(), server.Who(c), "attendance.mark", a.ID, map[string]any{"status": in.Status})
	return c.JSON(a)
}

// rosterRow is one line of a session's roll-call list.
type rosterRow struct {
	TraineeID string   `json:"trainee_id"`
	Name      string   `json:"name"`
	IDMasked  string   `json:"id_number"`
	Phone     string   `json:"phone,omitempty"`
	Groups    []string `json:"groups"`
	Status    string   `json:"status"` // present, late, excused or absent
	Method    string   `json:"method,omitempty"`
	WalkIn    bool     `json:"walk_in,omitempty"`
}

func (s *Service) hSessionAttendance(c *fiber.Ctx) error {
	sess, err := s.sessionParam(c, false)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	ids, err := s.EnrolledTrainees(ctx, sess.CourseID)
	if err != nil {
		return err
	}
	st, err := s.sessionStatuses(ctx, sess.ID)
	if err != nil {
		return err
	}
	var recIDs []string
	for t := range st[sess.ID] {
		recIDs = append(recIDs, attendanceID(sess.ID, t))
		ids = append(ids, t)
	}
	recs, err := getMany[Attendance](ctx, s.attendance, recIDs)
	if err != nil {
		return err
	}
	ts, err := s.Trainees(ctx, ids)
	if err != nil {
		return err
	}
	p := server.Who(c)
	rows := []rosterRow{}
	done := map[string]bool{}
	for _, id := range ids {
		t, ok := ts[id]
		if done[id] || !ok {
			continue
		}
		done[id] = true
		r := rosterRow{TraineeID: id, Name: t.Name, IDMasked: t.IDMasked, Groups: t.Groups, Status: "absent"}
		if p.Is(server.RoleAdmin, server.RoleOfficer, server.RoleTrainer) {
			r.Phone = t.Phone
		}
		if a, ok := recs[attendanceID(sess.ID, id)]; ok {
			r.Status, r.Method, r.WalkIn = a.Status, a.Method, a.WalkIn
		}
		rows = append(rows, r)
	}
	n, err := s.sessionCount(ctx, sess)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"session_id": sess.ID, "course_id": sess.CourseID, "township_id": sess.TownshipID,
		"capacity": sess.Capacity, "present": n, "roster": rows})
}

func (s *Service) hAddPhoto(c *fiber.Ctx) error {
	sess, err := s.sessionParam(c, true)
	if err != nil {
		return err
	}
	var ph *Photo
	_, err = server.StreamUpload(c, "file", func(u server.Upload) error {
		var err error
		ph, err = s.AddPhoto(c.UserContext(), sess.ID, u.Filename, u.Body, server.Who(c).UserID)
		return err
	})
	if err != nil {
		return err
	}
	s.audit(c.UserContext(), server.Who(c), "attendance.signin_photo", sess.ID, map[string]any{"blob_id": ph.BlobID})
	return c.Status(fiber.StatusCreated).JSON(ph)
}

func (s *Service) hListPhotos(c *fiber.Ctx) error {
	sess, err := s.sessionParam(c, false)
	if err != nil {
		return err
	}
	list, err := s.Photos(c.UserContext(), sess.ID)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": list})
}

func (s *Service) hGetPhoto(c *fiber.Ctx) error {
	sess, err := s.sessionParam(c, false)
	if err != nil {
		return err
	}
	ph, err := s.photo(c.UserContext(), sess.ID, c.Params("blob"))
	if err != nil {
		return err
	}
	b, err := s.st.Blobs.Open(c.UserContext(), ph.BlobID)
	if err != nil {
		return server.BlobError(err, maxPhoto)
	}
	return server.SendBlob(c, b, ph.BlobID, ph.ContentType, ph.Name, true)
}

func (s *Service) hProgress(c *fiber.Ctx) error {
	p := server.Who(c)
	tw := c.Query("township_id")
	if tw != "" && !store.ValidID(tw) {
		return server.Invalid("乡镇编号格式错误", "township_id", "应为 24 位十六进制编号")
	}
	if own := p.Township(); own != "" {
		tw = own
	}
	pr, err := s.Progress(c.UserContext(), tw)
	if err != nil {
		return err
	}
	return c.JSON(pr)
}

func (s *Service) hRecount(c *fiber.Ctx) error {
	var in struct {
		Fix *bool `json:"fix"`
	}
	if err := server.Bind(c, &in); err != nil {
		return err
	}
	fix := in.Fix == nil || *in.Fix
	res, err := s.Recount(c.UserContext(), fix)
	if err != nil {
		return err
	}
	s.audit(c.UserContext(), server.Who(c), "progress.recount", "counters", map[string]any{"drift": res.DriftTotal, "lists": res.ListsDrift, "fixed": res.Fixed})
	return c.JSON(res)
}

func (s *Service) me(c *fiber.Ctx) (*Trainee, error) {
	return s.TraineeByUser(c.UserContext(), server.Who(c).UserID)
}

func (s *Service) hMyTrainee(c *fiber.Ctx) error {
	t, err := s.me(c)
	if err != nil {
		return err
	}
	return c.JSON(t)
}

func (s *Service) hMyEnrollments(c *fiber.Ctx) error {
	t, err := s.me(c)
	return traineeItems(c, t, err, s.Enrollments)
}

func (s *Service) hMySessions(c *fiber.Ctx) error {
	t, err := s.me(c)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	es, err := s.Enrollments(ctx, t.ID)
	if err != nil {
		return err
	}
	type row struct {
		courses.Session
		CourseTitle string `json:"course_title"`
		Attendance  string `json:"attendance"`
	}
	out := []row{}
	for _, e := range es {
		co, err := s.d.Courses.Course(ctx, e.CourseID)
		if err != nil {
			continue
		}
		list, err := s.d.Courses.Sessions(ctx, e.CourseID)
		if err != nil {
			return err
		}
		ids := make([]string, len(list))
		for i, x := range list {
			ids[i] = attendanceID(x.ID, t.ID)
		}
		recs, err := getMany[Attendance](ctx, s.attendance, ids)
		if err != nil {
			return err
		}
		for _, x := range list {
			a := "absent"
			if r, ok := recs[attendanceID(x.ID, t.ID)]; ok {
				a = r.Status
			}
			out = append(out, row{Session: x, CourseTitle: co.Title, Attendance: a})
		}
	}
	return c.JSON(fiber.Map{"items": out})
}

func (s *Service) hMyAttendance(c *fiber.Ctx) error {
	t, err := s.me(c)
	return traineeItems(c, t, err, s.TraineeAttendance)
}
