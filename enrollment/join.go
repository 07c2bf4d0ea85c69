package enrollment

import (
	"context"
	"crypto/hmac"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"nongxun/courses"
	"nongxun/server"
	"nongxun/store"
)

// Self-registration through a session's QR code. A newcomer without an
// account scans the code on the trainer's screen, or types the 6 digits
// shown under it (a phone without a camera): GET /api/v1/join/:code
// (public) checks the code live and hands back a ticket valid for
// joinTTL, long enough to fill in the form; POST /api/v1/join (public)
// registers them with the ticket, checks them in, and logs them in.
// Abuse is bounded by: a ticket needs a live code (someone in the room),
// the geofence when the session has one, the ID-number checks and
// uniqueness, the session's capacity for walk-ins, and rate limits per IP
// (20 per 10 minutes) and per session (300 per hour).

const joinTTL = 20 * time.Minute

func (s *Service) ticket(sessionID string, w, exp int64) string {
	sig := s.sig(sessionID, w, "join|"+strconv.FormatInt(exp, 10)+"|")
	return sessionID + "." + strconv.FormatInt(w, 10) + "." + strconv.FormatInt(exp, 10) + "." + base64.RawURLEncoding.EncodeToString(sig[:12])
}

var errTicket = server.Invalid("登记链接无效或已过期，请重新扫描讲师屏幕上的二维码", "ticket", "无效或已过期")

// checkTicket returns the session id and window a ticket was issued for.
func (s *Service) checkTicket(t string) (string, int64, error) {
	p := strings.Split(t, ".")
	if len(p) != 4 || !store.ValidID(p[0]) {
		return "", 0, errTicket
	}
	w, err1 := strconv.ParseInt(p[1], 10, 64)
	exp, err2 := strconv.ParseInt(p[2], 10, 64)
	if err1 != nil || err2 != nil || !hmac.Equal([]byte(s.ticket(p[0], w, exp)), []byte(t)) || s.now().Unix() > exp {
		return "", 0, errTicket
	}
	return p[0], w, nil
}

// RegisterPublic adds the self-registration routes; their prefix
// /api/v1/join/ is in server.PublicAPI.
func (s *Service) RegisterPublic(api fiber.Router) {
	api.Get("/join/:code", s.hJoinInfo)
	api.Post("/join/register", s.hJoin)
}

// liveSession checks a QR payload or 6 typed digits live and returns the
// session and window.
func (s *Service) liveSession(ctx context.Context, code string) (*courses.Session, int64, error) {
	p, err := parseCode(code)
	if err != nil {
		return nil, 0, errBadCode
	}
	if p.window < 0 {
		sid, err := s.sessionForDigits(ctx, p, false, nil)
		if err != nil {
			return nil, 0, err
		}
		if sid == "" {
			return nil, 0, errDigits
		}
		p.sessionID = sid
	}
	sess, err := s.session(ctx, p.sessionID)
	if err != nil {
		if server.ToError(err).Code == server.CodeNotFound {
			return nil, 0, errBadCode
		}
		return nil, 0, err
	}
	if err := open(sess); err != nil {
		return nil, 0, err
	}
	w, err := s.verify(sess, p, false, nil)
	if err != nil {
		return nil, 0, err
	}
	now := s.now()
	if now.Before(sess.StartsAt.Add(-slack)) || now.After(sess.EndsAt.Add(slack)) {
		return nil, 0, server.Invalid("现在不在培训时间内", "code", "不在培训时间内")
	}
	return sess, w, nil
}

func (s *Service) hJoinInfo(c *fiber.Ctx) error {
	if s.joinLimit.Hit("info:" + c.IP()) {
		return server.RateLimited("请求过于频繁，请稍后再试")
	}
	ctx := c.UserContext()
	sess, w, err := s.liveSession(ctx, c.Params("code"))
	if err != nil {
		return err
	}
	title := ""
	if co, err := s.d.Courses.Course(ctx, sess.CourseID); err == nil {
		title = co.Title
	}
	type village struct {
		ID, Name, Township string
	}
	names := map[string]string{}
	for _, t := range s.d.Regions.Townships(ctx) {
		names[t.ID] = t.Name
	}
	vs := []fiber.Map{}
	for _, v := range s.d.Regions.Villages(ctx) {
		vs = append(vs, fiber.Map{"id": v.ID, "name": v.Name, "township": names[v.ParentID], "here": v.ParentID == sess.TownshipID})
	}
	exp := s.now().Add(joinTTL).Unix()
	return c.JSON(fiber.Map{"ticket": s.ticket(sess.ID, w, exp), "expires_at": time.Unix(exp, 0).UTC(), "session_id": sess.ID,
		"course_title": title, "starts_at": sess.StartsAt, "ends_at": sess.EndsAt, "location": sess.Location,
		"geofence": sess.Geofence != nil, "villages": vs})
}

func (s *Service) hJoin(c *fiber.Ctx) error {
	var in struct {
		NewTrainee
		Ticket   string   `json:"ticket"`
		ClientID string   `json:"client_id"`
		Lat      *float64 `json:"lat"`
		Lng      *float64 `json:"lng"`
		Accuracy *float64 `json:"accuracy"`
	}
	if err := server.Bind(c, &in); err != nil {
		return err
	}
	ctx := c.UserContext()
	sid, w, err := s.checkTicket(in.Ticket)
	if err != nil {
		return err
	}
	if s.joinLimit.Exceeded("ip:"+c.IP()) || s.joinPerSes.Exceeded(sid) {
		return server.RateLimited("登记过于频繁，请稍后再试或请讲师帮助登记")
	}
	sess, err := s.session(ctx, sid)
	if err != nil {
		return errTicket
	}
	if err := open(sess); err != nil {
		return err
	}
	if err := inFence(sess.Geofence, &CheckinIn{Lat: in.Lat, Lng: in.Lng, Accuracy: in.Accuracy}); err != nil {
		return err
	}
	if len(in.Password) < 8 {
		return server.Invalid("请设置至少 8 位的登录密码", "password", "密码至少 8 位")
	}
	if !validClientID(in.ClientID) {
		in.ClientID = "join-" + store.NewID()
	}
	s.joinLimit.Hit("ip:" + c.IP())
	s.joinPerSes.Hit(sid)
	t, err := s.joinTrainee(ctx, in.NewTrainee)
	if err != nil {
		return err
	}
	a := s.newAttendance(sess, t, StatusPresent, MethodQR)
	a.Window, a.ClientID, a.Lat, a.Lng, a.By = w, in.ClientID, in.Lat, in.Lng, "self"
	res := fiber.Map{"trainee": t}
	if r, err := s.submit(ctx, sess, t, a, true, t.ID+"/"+in.ClientID); err != nil {
		res["checkin_error"] = server.ToError(err)
	} else {
		res["checkin"] = Result{Status: StatusPresent, WalkIn: r.walkIn}
	}
	login, err := s.d.Users.Login(ctx, t.Phone, in.Password, c.IP())
	if err != nil {
		return err
	}
	res["session"] = login
	return c.Status(fiber.StatusCreated).JSON(res)
}

// joinTrainee registers a newcomer, or gives an imported trainee without
// an account (same ID number, name and phone) their account.
func (s *Service) joinTrainee(ctx context.Context, n NewTrainee) (*Trainee, error) {
	pw := n.Password
	r, err := s.AddTrainee(ctx, n, true, "self", "self")
	if err == nil {
		return &r.Trainee, nil
	}
	if err != errIDTaken {
		return nil, err
	}
	id, _ := ParseIDNumber(n.IDNumber, s.now())
	d, err := s.byIDNumber(ctx, id.Number)
	if err != nil {
		return nil, err
	}
	if d == nil || d.UserID != "" || strings.TrimSpace(n.Name) != d.Name || strings.TrimSpace(n.Phone) != d.Phone {
		return nil, server.Conflict("该身份证号已登记，请用手机号和密码登录；忘记密码请找培训讲师")
	}
	if _, err := s.CreateAccount(ctx, d.ID, pw); err != nil {
		return nil, err
	}
	return s.Trainee(ctx, d.ID)
}
