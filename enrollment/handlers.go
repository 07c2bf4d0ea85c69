package enrollment

import (
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/skip2/go-qrcode"
	"nongxun/courses"
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

	api.Post("/trainees", staff, s.hCreateTrainee)
	api.Get("/trainees", readers, s.hListTrainees)
	api.Post("/trainees/import", staff, s.hImport)
	api.Get("/trainees/:id", readers, s.hGetTrainee)
	api.Get("/trainees/:id/id-number", admin, s.hRevealID)
	api.Post("/trainees/:id/account", staff, s.hCreateAccount)
	api.Get("/trainees/:id/attendance", readers, s.hTraineeAttendance)

	api.Post("/courses/:id/enrollments", server.Require(server.RoleAdmin, server.RoleOfficer, server.RoleTrainer, server.RoleTrainee), s.hEnroll)
	api.Get("/courses/:id/enrollments", readers, s.hListEnrollments)

	api.Get("/sessions/:id/checkin-code", server.Require(server.RoleAdmin, server.RoleTrainer), s.hCode)
	api.Get("/sessions/:id/checkin-qr.png", server.Require(server.RoleAdmin, server.RoleTrainer), s.hQR)
	api.Post("/sessions/:id/rollcall", server.Require(server.RoleAdmin, server.RoleTrainer), s.hRollCall)
	api.Post("/sessions/:id/marks", server.Require(server.RoleAdmin, server.RoleTrainer), s.hMark)
	api.Get("/sessions/:id/attendance", readers, s.hSessionAttendance)
	api.Post("/sessions/:id/signin-photos", server.Require(server.RoleAdmin, server.RoleTrainer), s.hAddPhoto)
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
	f := ListFilter{TownshipID: c.Query("township_id"), RegionID: c.Query("region_id"), Group: c.Query("group"),
		Query: strings.TrimSpace(c.Query("q")), Limit: int64(c.QueryInt("limit", 100)), Skip: int64(c.QueryInt("skip", 0))}
	if tw := p.Township(); tw != "" {
		f.TownshipID = tw
	}
	for _, v := range []string{f.TownshipID, f.RegionID} {
		if v != "" && !store.ValidID(v) {
			return server.Invalid("编号格式错误", "township_id", "应为 24 位十六进制编号")
		}
	}
	if f.Skip < 0 || len([]rune(f.Query)) > 30 {
		return server.Invalid("查询参数无效")
	}
	list, err := s.List(c.UserContext(), f)
	if err != nil {
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
	if err != nil {
		return err
	}
	list, err := s.TraineeAttendance(c.UserContext(), t.ID)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": list})
}

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

func (s *Service) hEnroll(c *fiber.Ctx) error {
	co, err := s.course(c)
	if err != nil {
		return err
	}
	var in struct {
		TraineeID string `json:"trainee_id"`
	}
	if err := server.Bind(c, &in); err != nil {
		return err
	}
	p := server.Who(c)
	ctx := c.UserContext()
	var t *Trainee
	if p.Is(server.RoleTrainee) {
		if t, err = s.TraineeByUser(ctx, p.UserID); err != nil {
			return err
		}
		if in.TraineeID != "" && in.TraineeID != t.ID {
			return server.Forbidden("学员只能为自己报名")
		}
	} else {
		if !store.ValidID(in.TraineeID) {
			return server.Invalid("请选择学员", "trainee_id", "应为 24 位十六进制编号")
		}
		if t, err = s.Trainee(ctx, in.TraineeID); err != nil {
			if server.ToError(err).Code == server.CodeNotFound {
				return server.Invalid("学员不存在", "trainee_id", "学员不存在")
			}
			return err
		}
		if !p.SeesTownship(t.TownshipID) {
			return server.Invalid("只能为本乡镇的学员报名", "trainee_id", "不在本乡镇")
		}
	}
	created, err := s.Enroll(ctx, co.ID, t, p.UserID)
	if err != nil {
		return err
	}
	status := fiber.StatusOK
	if created {
		status = fiber.StatusCreated
	}
	return c.Status(status).JSON(fiber.Map{"id": co.ID + "/" + t.ID, "course_id": co.ID, "trainee_id": t.ID, "status": "enrolled", "already": !created})
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
	TraineeID string `json:"trainee_id"`
	Name      string `json:"name"`
	IDMasked  string `json:"id_number"`
	Status    string `json:"status"` // present, late, excused or absent
	Method    string `json:"method,omitempty"`
	WalkIn    bool   `json:"walk_in,omitempty"`
}

func (s *Service) hSessionAttendance(c *fiber.Ctx) error {
	sess, err := s.sessionParam(c, false)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	recs, err := s.SessionAttendance(ctx, sess.ID)
	if err != nil {
		return err
	}
	ids, err := s.EnrolledTrainees(ctx, sess.CourseID)
	if err != nil {
		return err
	}
	byT := map[string]Attendance{}
	for _, a := range recs {
		byT[a.TraineeID] = a
		ids = append(ids, a.TraineeID)
	}
	ts, err := s.Trainees(ctx, ids)
	if err != nil {
		return err
	}
	rows := []rosterRow{}
	done := map[string]bool{}
	for _, id := range ids {
		if done[id] {
			continue
		}
		done[id] = true
		t := ts[id]
		r := rosterRow{TraineeID: id, Name: t.Name, IDMasked: t.IDMasked, Status: "absent"}
		if a, ok := byT[id]; ok {
			r.Status, r.Method, r.WalkIn = a.Status, a.Method, a.WalkIn
		}
		rows = append(rows, r)
	}
	n, err := s.sessionCount(ctx, sess)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"session_id": sess.ID, "course_id": sess.CourseID, "capacity": sess.Capacity, "present": n, "roster": rows})
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
	s.audit(c.UserContext(), server.Who(c), "progress.recount", "counters", map[string]any{"drift": res.DriftTotal, "fixed": res.Fixed})
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
	if err != nil {
		return err
	}
	list, err := s.Enrollments(c.UserContext(), t.ID)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": list})
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
	recs, err := s.TraineeAttendance(ctx, t.ID)
	if err != nil {
		return err
	}
	st := map[string]string{}
	for _, a := range recs {
		st[a.SessionID] = a.Status
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
		for _, x := range list {
			a := st[x.ID]
			if a == "" {
				a = "absent"
			}
			out = append(out, row{Session: x, CourseTitle: co.Title, Attendance: a})
		}
	}
	return c.JSON(fiber.Map{"items": out})
}

func (s *Service) hMyAttendance(c *fiber.Ctx) error {
	t, err := s.me(c)
	if err != nil {
		return err
	}
	list, err := s.TraineeAttendance(c.UserContext(), t.ID)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": list})
}
