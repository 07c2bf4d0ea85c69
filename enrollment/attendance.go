package enrollment

import (
	"context"
	"math"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"nongxun/courses"
	"nongxun/server"
	"nongxun/store"
)

// Attendance statuses; present and late are person-times, excused is not.
const (
	StatusPresent = "present"
	StatusLate    = "late"
	StatusExcused = "excused"
)

// How an attendance was recorded.
const (
	MethodQR       = "qr"
	MethodDigits   = "digits"
	MethodOffline  = "offline"
	MethodRollCall = "rollcall"
	MethodMark     = "mark"
)

// Attendance is one trainee at one session; _id is sessionID/traineeID.
// The trainee's township, village and groups are copied in when recorded,
// so counters can be rebuilt from these records alone.
type Attendance struct {
	ID         string     `bson:"_id" json:"id"`
	SessionID  string     `bson:"session_id" json:"session_id"`
	CourseID   string     `bson:"course_id" json:"course_id"`
	TraineeID  string     `bson:"trainee_id" json:"trainee_id"`
	Status     string     `bson:"status" json:"status"`
	Method     string     `bson:"method" json:"method"`
	At         time.Time  `bson:"at" json:"at"`
	ScannedAt  *time.Time `bson:"scanned_at,omitempty" json:"scanned_at,omitempty"`
	Window     int64      `bson:"window,omitempty" json:"window,omitempty"`
	Lat        *float64   `bson:"lat,omitempty" json:"lat,omitempty"`
	Lng        *float64   `bson:"lng,omitempty" json:"lng,omitempty"`
	ClientID   string     `bson:"client_id,omitempty" json:"client_id,omitempty"`
	TownshipID string     `bson:"township_id" json:"township_id"`
	VillageID  string     `bson:"village_id" json:"village_id"`
	Groups     []string   `bson:"groups" json:"groups"`
	Month      string     `bson:"month" json:"month"`
	WalkIn     bool       `bson:"walk_in,omitempty" json:"walk_in,omitempty"`
	By         string     `bson:"by,omitempty" json:"by,omitempty"`
	Note       string     `bson:"note,omitempty" json:"note,omitempty"`
}

// CheckinIn is one check-in as a phone sends it.
type CheckinIn struct {
	SessionID string     `json:"session_id"`
	Code      string     `json:"code"`
	ClientID  string     `json:"client_id"`
	ScannedAt *time.Time `json:"scanned_at"`
	Lat       *float64   `json:"lat"`
	Lng       *float64   `json:"lng"`
	Accuracy  *float64   `json:"accuracy"`
}

// maxAccuracy caps the position error a phone may claim in its favour.
const maxAccuracy = 200.0

// haversine is the great-circle distance in metres.
func haversine(lat1, lng1, lat2, lng2 float64) float64 {
	const r = 6371000.0
	rad := math.Pi / 180
	dlat, dlng := (lat2-lat1)*rad, (lng2-lng1)*rad
	a := math.Sin(dlat/2)*math.Sin(dlat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dlng/2)*math.Sin(dlng/2)
	return 2 * r * math.Asin(math.Min(1, math.Sqrt(a)))
}

// inFence checks a reported position against the session's geofence,
// giving the phone the benefit of its reported accuracy (capped).
func inFence(g *courses.Geofence, in *CheckinIn) error {
	if g == nil {
		return nil
	}
	if in.Lat == nil || in.Lng == nil || math.IsNaN(*in.Lat) || math.IsNaN(*in.Lng) {
		return server.Invalid("本场培训需要位置信息，请允许获取位置后重试", "lat", "缺少位置")
	}
	acc := 0.0
	if in.Accuracy != nil && *in.Accuracy > 0 {
		acc = math.Min(*in.Accuracy, maxAccuracy)
	}
	if haversine(g.Lat, g.Lng, *in.Lat, *in.Lng)-acc > g.RadiusM {
		return server.Invalid("您不在培训地点附近，不能签到", "lat", "不在签到范围内")
	}
	return nil
}

// open refuses check-ins to a cancelled session.
func open(sess *courses.Session) error {
	if sess.Cancelled {
		return server.Invalid("该班次已取消，不能签到", "session_id", "班次已取消")
	}
	return nil
}

// Result is the answer to one check-in.
type Result struct {
	Status  string `json:"status"`
	Already bool   `json:"already,omitempty"`
	WalkIn  bool   `json:"walk_in,omitempty"`
}

func validClientID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' || r == ':') {
			return false
		}
	}
	return true
}

// Checkin records a trainee's check-in. offline marks an upload made
// after being offline (judged by the code's window). A repeated client_id
// returns the first answer (created reports a new record).
func (s *Service) Checkin(ctx context.Context, t *Trainee, in CheckinIn, offline bool) (Result, bool, error) {
	if !validClientID(in.ClientID) {
		return Result{}, false, server.Invalid("缺少或无效的 client_id", "client_id", "应为 1-64 位字母数字")
	}
	akey := t.ID + "/" + in.ClientID
	unlock := s.answerMem.lockKey(akey)
	defer unlock()
	if a, ok, err := s.answerMem.find(ctx, s.answers, s.st.Embedded(), akey); err != nil {
		return Result{}, false, err
	} else if ok {
		if a.Err != nil {
			return Result{}, false, a.Err
		}
		return Result{Status: a.Status, Already: true}, false, nil
	}
	res, created, answered, err := s.checkin(ctx, t, in, offline, akey)
	if (err != nil && !isRefusal(err)) || answered {
		return res, created, err // a fault (the phone may retry with the same client_id), or answered in the commit
	}
	a := answer{ID: akey, TraineeID: t.ID, Status: res.Status, At: s.now().UTC()}
	if err != nil {
		a.Err = server.ToError(err)
	}
	if serr := s.answerMem.save(ctx, s.answers, a); serr != nil {
		s.d.Log.Error("save check-in answer", "err", serr.Error())
	}
	return res, created, err
}

// isRefusal reports whether err is a refusal of the request itself (kept
// as the client_id's answer), not a fault.
func isRefusal(err error) bool {
	switch server.ToError(err).Code {
	case server.CodeInvalid, server.CodeConflict, server.CodeForbidden, server.CodeNotFound:
		return true
	}
	return false
}

func (s *Service) checkin(ctx context.Context, t *Trainee, in CheckinIn, offline bool, akey string) (Result, bool, bool, error) {
	p, err := parseCode(in.Code)
	if err != nil {
		s.codeFails.Hit(t.ID)
		return Result{}, false, false, err
	}
	sid := strings.TrimSpace(in.SessionID)
	if sid == "" {
		sid = p.sessionID
	}
	if sid == "" && p.window < 0 {
		// Typed digits without a session: try the trainee's sessions held now.
		if sid = s.sessionForDigits(ctx, t, p, offline, in.ScannedAt); sid == "" {
			s.codeFails.Hit(t.ID)
			return Result{}, false, false, server.Invalid("数字签到码不正确或已过期；未报名的课程请扫码或填写班次编号", "code", "签到码不正确或已过期")
		}
	}
	if !store.ValidID(sid) {
		return Result{}, false, false, server.Invalid("缺少班次编号", "session_id", "应为 24 位十六进制编号")
	}
	if s.codeFails.Exceeded(t.ID) {
		return Result{}, false, false, server.RateLimited("签到码错误次数过多，请 5 分钟后再试")
	}
	sess, err := s.session(ctx, sid)
	if err != nil {
		if server.ToError(err).Code == server.CodeNotFound {
			return Result{}, false, false, server.Invalid("班次不存在", "session_id", "班次不存在")
		}
		return Result{}, false, false, err
	}
	if err := open(sess); err != nil {
		return Result{}, false, false, err
	}
	w, err := s.verify(sess, p, offline, in.ScannedAt)
	if err != nil {
		if server.ToError(err).Code == server.CodeInvalid {
			s.codeFails.Hit(t.ID)
		}
		return Result{}, false, false, err
	}
	now := s.now()
	if !offline && (now.Before(sess.StartsAt.Add(-slack)) || now.After(sess.EndsAt.Add(slack))) {
		if now.Before(sess.StartsAt.Add(-slack)) {
			return Result{}, false, false, server.Invalid("培训还没有开始，开始前 15 分钟起可签到", "session_id", "未开始")
		}
		return Result{}, false, false, errExpired
	}
	if err := inFence(sess.Geofence, &in); err != nil {
		return Result{}, false, false, err
	}
	method := MethodQR
	if p.window < 0 {
		method = MethodDigits
	}
	if offline {
		method = MethodOffline
	}
	a := s.newAttendance(sess, t, StatusPresent, method)
	a.Window, a.ClientID, a.Lat, a.Lng = w, in.ClientID, in.Lat, in.Lng
	if in.ScannedAt != nil {
		x := in.ScannedAt.UTC()
		a.ScannedAt = &x
	}
	created, walkIn, err := s.record(ctx, sess, t, a, true, akey)
	if err != nil {
		return Result{}, false, true, err
	}
	return Result{Status: StatusPresent, Already: !created, WalkIn: walkIn}, created, true, nil
}

// sessionForDigits finds, among the sessions of the trainee's courses that
// are being held, the one whose code the digits are; "" when none.
func (s *Service) sessionForDigits(ctx context.Context, t *Trainee, p parsed, offline bool, scannedAt *time.Time) string {
	if _, err := s.enrolledSet(ctx, "warm"); err != nil {
		return ""
	}
	var cids []string
	s.enrolMu.RLock()
	for cid, set := range s.enrolled {
		if set[t.ID] {
			cids = append(cids, cid)
		}
	}
	s.enrolMu.RUnlock()
	now := s.now()
	for _, cid := range cids {
		list, err := s.d.Courses.Sessions(ctx, cid)
		if err != nil {
			continue
		}
		for i := range list {
			x := &list[i]
			if x.Cancelled || now.Before(x.StartsAt.Add(-slack)) || (!offline && now.After(x.EndsAt.Add(slack))) {
				continue
			}
			if _, err := s.verify(x, p, offline, scannedAt); err == nil {
				return x.ID
			}
		}
	}
	return ""
}

func (s *Service) newAttendance(sess *courses.Session, t *Trainee, status, method string) *Attendance {
	return &Attendance{ID: sess.ID + "/" + t.ID, SessionID: sess.ID, CourseID: sess.CourseID, TraineeID: t.ID,
		Status: status, Method: method, At: s.now().UTC(), TownshipID: t.TownshipID, VillageID: t.RegionID,
		Groups: append([]string{}, t.Groups...), Month: monthOf(sess.StartsAt)}
}

// upgradeExcused turns an excused record into a counted one (the trainee
// came after all). Call it inside the lane.
func (s *Service) upgradeExcused(ctx context.Context, a *Attendance) error {
	var old Attendance
	if err := s.attendance.FindOne(ctx, bson.M{"_id": a.ID}, &old); err != nil {
		return err
	}
	if counted(old.Status) {
		return nil
	}
	return s.setStatus(ctx, &old, a.Status, a.By)
}

// noteExcused keeps the attendance_excused collection: the ids of excused
// records, so that a repeated check-in needs no scan of attendance.
func (s *Service) noteExcused(ctx context.Context, id, status string) error {
	if status == StatusExcused {
		if err := s.excused.InsertOne(ctx, bson.M{"_id": id}); err != nil && !store.IsDup(err) {
			return err
		}
		return nil
	}
	_, err := s.excused.DeleteOne(ctx, bson.M{"_id": id})
	return err
}

// count moves every counter for one attendance (n = 1 counted, -1 uncounted),
// keeping the distinct-trainee counters through the attendees collection.
// Call it inside the lane.
func (s *Service) count(ctx context.Context, a *Attendance, n int64) error {
	first := false
	if n > 0 {
		err := s.attendees.InsertOne(ctx, bson.M{"_id": a.TraineeID, "township_id": a.TownshipID, "at": a.At})
		if err != nil && !store.IsDup(err) {
			return err
		}
		first = err == nil
	} else {
		var other Attendance
		err := s.attendance.FindOne(ctx, bson.M{"trainee_id": a.TraineeID, "_id": bson.M{"$ne": a.ID},
			"status": bson.M{"$in": bson.A{StatusPresent, StatusLate}}}, &other)
		if err != nil && !store.IsNotFound(err) {
			return err
		}
		if store.IsNotFound(err) {
			if _, err := s.attendees.DeleteOne(ctx, bson.M{"_id": a.TraineeID}); err != nil {
				return err
			}
			first = true
		}
	}
	main, sess := attendanceDeltas(a, first, n)
	if err := s.incCounters(ctx, main); err != nil {
		return err
	}
	return incAll(ctx, s.scounters, sess)
}

// setStatus changes a record's status and moves the counters when it
// crosses between counted and not. Call it inside the lane.
func (s *Service) setStatus(ctx context.Context, a *Attendance, status, by string) error {
	if a.Status == status {
		return nil
	}
	was := counted(a.Status)
	if _, err := s.attendance.UpdateOne(ctx, bson.M{"_id": a.ID}, bson.M{"$set": bson.M{"status": status, "marked_by": by, "marked_at": s.now().UTC()}}); err != nil {
		return err
	}
	if err := s.noteExcused(ctx, a.ID, status); err != nil {
		return err
	}
	a.Status = status
	switch {
	case was && !counted(status):
		return s.count(ctx, a, -1)
	case !was && counted(status):
		return s.count(ctx, a, 1)
	}
	return nil
}

// RollCall records the trainer's ticks for trainees without a phone; it
// returns how many were newly recorded.
func (s *Service) RollCall(ctx context.Context, sess *courses.Session, traineeIDs []string, by string) (int, error) {
	if sess.Cancelled {
		return 0, server.Invalid("该班次已取消", "session_id", "班次已取消")
	}
	if s.now().Before(sess.StartsAt.Add(-slack)) {
		return 0, server.Invalid("培训还没有开始，不能点名", "session_id", "未开始")
	}
	ts, err := s.Trainees(ctx, traineeIDs)
	if err != nil {
		return 0, err
	}
	f := server.Fields{}
	for _, id := range traineeIDs {
		f.Add(ts[id].ID == "", "trainee_ids", "学员不存在："+id)
	}
	if err := f.Err(); err != nil {
		return 0, err
	}
	n := 0
	for _, id := range traineeIDs {
		t := ts[id]
		a := s.newAttendance(sess, &t, StatusPresent, MethodRollCall)
		a.By = by
		created, _, err := s.record(ctx, sess, &t, a, false, "")
		if err != nil {
			return n, err
		}
		if created {
			n++
		}
	}
	return n, nil
}

// Mark sets a trainee's status at a session (present, late or excused),
// creating the record when there is none.
func (s *Service) Mark(ctx context.Context, sess *courses.Session, traineeID, status, note, by string) (*Attendance, error) {
	if status != StatusPresent && status != StatusLate && status != StatusExcused {
		return nil, server.Invalid("状态应为 present、late 或 excused", "status", "状态无效")
	}
	t, err := s.Trainee(ctx, traineeID)
	if err != nil {
		return nil, err
	}
	a := s.newAttendance(sess, t, status, MethodMark)
	a.By, a.Note = by, note
	if _, err := s.IsEnrolled(ctx, sess.CourseID, t.ID); err != nil {
		return nil, err
	}
	err = s.st.Lane(ctx, func(ctx context.Context) error {
		var old Attendance
		err := s.attendance.FindOne(ctx, bson.M{"_id": a.ID}, &old)
		if err == nil {
			a = &old
			return s.setStatus(ctx, &old, status, by)
		}
		if !store.IsNotFound(err) {
			return err
		}
		if _, err := s.insertEnrollment(ctx, sess.CourseID, t, by, true); err != nil {
			return err
		}
		if err := s.attendance.InsertOne(ctx, a); err != nil {
			return err
		}
		if err := s.noteExcused(ctx, a.ID, status); err != nil {
			return err
		}
		if counted(status) {
			return s.count(ctx, a, 1)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// SessionAttendance returns a session's records (for the sign-in sheet PDF), by time.
func (s *Service) SessionAttendance(ctx context.Context, sessionID string) ([]Attendance, error) {
	out := []Attendance{}
	err := s.attendance.Find(ctx, bson.M{"session_id": sessionID}, &out, options.Find().SetSort(bson.D{{Key: "at", Value: 1}}))
	return out, err
}

// TraineeAttendance returns one trainee's records, newest first.
func (s *Service) TraineeAttendance(ctx context.Context, traineeID string) ([]Attendance, error) {
	out := []Attendance{}
	err := s.attendance.Find(ctx, bson.M{"trainee_id": traineeID}, &out, options.Find().SetSort(bson.D{{Key: "at", Value: -1}}).SetLimit(500))
	return out, err
}

// PresentSessions maps each trainee of a course to the sessions they were
// present at (present or late).
func (s *Service) PresentSessions(ctx context.Context, courseID string) (map[string][]string, error) {
	var rows []Attendance
	if err := s.attendance.Find(ctx, bson.M{"course_id": courseID, "status": bson.M{"$in": bson.A{StatusPresent, StatusLate}}}, &rows,
		options.Find().SetProjection(bson.M{"trainee_id": 1, "session_id": 1, "status": 1})); err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, r := range rows {
		out[r.TraineeID] = append(out[r.TraineeID], r.SessionID)
	}
	return out, nil
}
