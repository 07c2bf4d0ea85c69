package enrollment

import (
	"context"
	"math"
	"sort"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/clock"
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
	MethodMerge    = "merge"
)

// Attendance is one trainee at one session; _id is sessionID/traineeID.
// The trainee's township, village and groups are copied in when recorded,
// with the session's month and start day, so counters can be rebuilt from
// these records alone.
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
	Day        string     `bson:"day,omitempty" json:"day,omitempty"` // the session's start day (its counter document)
	WalkIn     bool       `bson:"walk_in,omitempty" json:"walk_in,omitempty"`
	By         string     `bson:"by,omitempty" json:"by,omitempty"`
	Note       string     `bson:"note,omitempty" json:"note,omitempty"`
	MarkedBy   string     `bson:"marked_by,omitempty" json:"marked_by,omitempty"`
	MarkedAt   *time.Time `bson:"marked_at,omitempty" json:"marked_at,omitempty"`
	// SheetPhoto is the blob id of the sign-in photo of the paper sheet a
	// record was typed in from (method "sheet"; sheetimport.go).
	SheetPhoto string `bson:"sheet_photo,omitempty" json:"sheet_photo,omitempty"`
}

func attendanceID(sessionID, traineeID string) string { return sessionID + "/" + traineeID }

// sessionList is the list of who was recorded at a session, members
// "traineeID:status".
func sessionList(sessionID string) string { return "s/" + sessionID }

func sessionMember(traineeID, status string) string { return traineeID + ":" + status }

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

// errDigits is the one message for typed digits that match no session
// held now: it names what to do, once.
var errDigits = server.Invalid("签到码不正确或已过期，请输入讲师屏幕上现在显示的 6 位数字", "code", "请重新输入")

// Checkin records a trainee's check-in. offline marks an upload made
// after being offline (judged by the code's window). A repeated client_id
// returns the first answer (created reports a new record).
func (s *Service) Checkin(ctx context.Context, t *Trainee, in CheckinIn, offline bool) (Result, bool, error) {
	if !validClientID(in.ClientID) {
		return Result{}, false, server.Invalid("缺少或无效的 client_id", "client_id", "应为 1-64 位字母数字")
	}
	if t.Merged() {
		return Result{}, false, errMerged
	}
	akey := t.ID + "/" + in.ClientID
	if offline {
		// An offline upload is often sent again whole: look its answers up
		// first (a live check-in's copy is settled in the commit).
		if a, ok, err := s.findAnswer(ctx, akey); err != nil {
			return Result{}, false, err
		} else if ok {
			return a.result()
		}
	}
	res, created, answered, err := s.checkin(ctx, t, in, offline, akey)
	if (err != nil && !isRefusal(err)) || answered {
		return res, created, err // a fault (the phone may retry with the same client_id), or answered in the commit
	}
	// A refusal decided before the commit is kept as this client_id's answer.
	if a, first, serr := s.keepAnswer(ctx, answer{ID: akey, TraineeID: t.ID, Err: server.ToError(err), At: s.now().UTC()}); serr != nil {
		s.d.Log.Error("save check-in answer", "err", serr.Error())
	} else if !first {
		return a.result()
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
	if s.codeFails.Exceeded(t.ID) {
		return Result{}, false, false, server.RateLimited("签到码错误次数过多，请 5 分钟后再试")
	}
	p, err := parseCode(in.Code)
	if err != nil {
		s.codeFails.Hit(t.ID)
		return Result{}, false, false, err
	}
	sid := strings.TrimSpace(in.SessionID)
	if p.window >= 0 && sid == "" {
		sid = p.sessionID
	}
	if sid == "" {
		// Typed digits without a session: the session held now whose
		// current digits these are, enrolled or not (API.md, "Accounts").
		found, err := s.sessionForDigits(ctx, p, offline, in.ScannedAt)
		if err != nil {
			return Result{}, false, false, err
		}
		if found == "" {
			s.codeFails.Hit(t.ID)
			return Result{}, false, false, errDigits
		}
		sid = found
	}
	if !store.ValidID(sid) {
		return Result{}, false, false, server.Invalid("班次编号格式错误", "session_id", "应为 24 位十六进制编号")
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
	if !offline && now.Before(sess.StartsAt.Add(-slack)) {
		return Result{}, false, false, server.Invalid("培训还没有开始，开始前 15 分钟起可签到", "session_id", "未开始")
	}
	if !offline && now.After(sess.EndsAt.Add(slack)) {
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
	r, err := s.submit(ctx, sess, t, a, true, akey)
	if err != nil {
		return Result{}, false, true, err
	}
	return Result{Status: r.status, Already: !r.created, WalkIn: r.walkIn}, r.created, true, nil
}

// sessionForDigits finds the session held now (offline: when the phone
// scanned) whose code the typed digits are, among all sessions of that
// day; "" when none.
func (s *Service) sessionForDigits(ctx context.Context, p parsed, offline bool, scannedAt *time.Time) (string, error) {
	at := s.now()
	if offline && scannedAt != nil && !scannedAt.After(at) {
		at = *scannedAt
	}
	list, err := s.d.Courses.SessionsOn(ctx, clock.Day(at))
	if err != nil {
		return "", err
	}
	for i := range list {
		x := &list[i]
		if x.Cancelled || at.Before(x.StartsAt.Add(-slack)) || at.After(x.EndsAt.Add(slack)) {
			continue
		}
		if _, err := s.verify(x, p, offline, scannedAt); err == nil {
			return x.ID, nil
		}
	}
	return "", nil
}

func (s *Service) newAttendance(sess *courses.Session, t *Trainee, status, method string) *Attendance {
	return &Attendance{ID: attendanceID(sess.ID, t.ID), SessionID: sess.ID, CourseID: sess.CourseID, TraineeID: t.ID,
		Status: status, Method: method, At: s.now().UTC(), TownshipID: t.TownshipID, VillageID: t.RegionID,
		Groups: append([]string{}, t.Groups...), Month: clock.Month(sess.StartsAt), Day: sessionDay(sess)}
}

// RollCall records the trainer's ticks for trainees without a phone
// (enrolling those not enrolled, with no capacity check: the trainer sees
// the room); it returns how many were newly recorded.
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
		t, ok := ts[id]
		f.Add(!ok, "trainee_ids", "学员不存在："+id)
		f.Add(ok && t.Merged(), "trainee_ids", "学员档案已合并："+t.Name)
	}
	if err := f.Err(); err != nil {
		return 0, err
	}
	pending := make([]*pendingAtt, 0, len(traineeIDs))
	for _, id := range traineeIDs {
		t := ts[id]
		a := s.newAttendance(sess, &t, StatusPresent, MethodRollCall)
		a.By = by
		p, err := s.queue(ctx, sess, &t, a, false, "")
		if err != nil {
			return 0, err
		}
		pending = append(pending, p)
	}
	n := 0
	for _, p := range pending {
		r, err := p.wait(ctx)
		if err != nil {
			return n, err
		}
		if r.created || r.upgraded {
			n++
		}
	}
	return n, nil
}

// Mark sets a trainee's status at a session (present, late or excused),
// creating the record (and a walk-in enrolment) when there is none.
func (s *Service) Mark(ctx context.Context, sess *courses.Session, traineeID, status, note, by string) (*Attendance, error) {
	if status != StatusPresent && status != StatusLate && status != StatusExcused {
		return nil, server.Invalid("状态应为 present、late 或 excused", "status", "状态无效")
	}
	t, err := s.Trainee(ctx, traineeID)
	if err != nil {
		return nil, err
	}
	if t.Merged() {
		return nil, errMerged
	}
	for try := 0; try < 3; try++ {
		var old Attendance
		err := s.attendance.Get(ctx, attendanceID(sess.ID, t.ID), &old)
		if err == nil {
			if err := s.setStatus(ctx, &old, status, by); err != nil {
				if err == errChanged {
					continue
				}
				return nil, err
			}
			return &old, nil
		}
		if !store.IsNotFound(err) {
			return nil, err
		}
		a := s.newAttendance(sess, t, status, MethodMark)
		a.By, a.Note = by, note
		r, err := s.submit(ctx, sess, t, a, false, "")
		if err != nil {
			return nil, err
		}
		if r.created {
			return a, nil
		}
		// Recorded meanwhile by another path: set its status.
	}
	return nil, errChanged
}

var errChanged = server.Conflict("签到记录刚被修改，请刷新后重试")

// setStatus changes a record's status by a conditional update (it must
// still be as read) and, when it crosses between counted and not, moves
// the counters, the session's list and the distinct-trainee count, as one
// unit of work. a is updated in place.
func (s *Service) setStatus(ctx context.Context, a *Attendance, status, by string) error {
	if a.Status == status {
		return nil
	}
	was := a.Status
	now := s.now().UTC()
	err := s.st.Unit(ctx, "enrollment.mark", func(u *store.Unit) error {
		if err := u.Do(ctx, "status", func(ctx context.Context) error {
			ok, err := s.attendance.UpdateIf(ctx, a.ID, store.Cond{"status": was}, bson.M{"$set": bson.M{"status": status, "marked_by": by, "marked_at": now}})
			if err == nil && !ok {
				return errChanged
			}
			return err
		}, func(ctx context.Context) error {
			_, err := s.attendance.UpdateIf(ctx, a.ID, store.Cond{"status": status}, bson.M{"$set": bson.M{"status": was}})
			return err
		}); err != nil {
			return err
		}
		ch := newChanges()
		ch.del(sessionList(a.SessionID), sessionMember(a.TraineeID, was))
		ch.add(sessionList(a.SessionID), sessionMember(a.TraineeID, status))
		if err := s.logChanges(ctx, u, ch); err != nil {
			return err
		}
		if counted(was) == counted(status) {
			return nil
		}
		n := int64(1)
		if !counted(status) {
			n = -1
		}
		if err := s.ensureDay(ctx, a); err != nil {
			return err
		}
		if err := s.count(ctx, u, "person-time counters", personTimeDeltas(a, n, true)); err != nil {
			return err
		}
		return s.moveDistinct(ctx, u, a.TraineeID, a.ID, n)
	})
	if err != nil {
		return err
	}
	a.Status, a.MarkedBy, a.MarkedAt = status, by, &now
	return nil
}

// ensureDay fills in the session day of a record written before records carried it.
func (s *Service) ensureDay(ctx context.Context, a *Attendance) error {
	if a.Day != "" {
		return nil
	}
	sess, err := s.session(ctx, a.SessionID)
	if err != nil {
		return err
	}
	a.Day = sessionDay(sess)
	return nil
}

// moveDistinct keeps the distinct-trainee count when one of a trainee's
// records becomes counted (n = 1: the first makes them one who attended)
// or uncounted (n = -1: when no other counted record is left).
func (s *Service) moveDistinct(ctx context.Context, u *store.Unit, traineeID, exceptID string, n int64) error {
	t, err := s.Trainee(ctx, traineeID)
	if err != nil {
		return err
	}
	if n > 0 {
		first := false
		if err := u.Do(ctx, "attendee", func(ctx context.Context) error {
			var err error
			first, err = s.attendees.InsertIfAbsent(ctx, bson.M{"_id": traineeID, "at": s.now().UTC()})
			return err
		}, func(ctx context.Context) error {
			if !first {
				return nil
			}
			_, err := s.attendees.DeleteOne(ctx, bson.M{"_id": traineeID})
			return err
		}); err != nil || !first {
			return err
		}
		return s.count(ctx, u, "distinct-trainee counters", distinctDeltas(t, 1))
	}
	recs, err := s.TraineeAttendance(ctx, traineeID)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if r.ID != exceptID && counted(r.Status) {
			return nil
		}
	}
	removed := false
	if err := u.Do(ctx, "attendee", func(ctx context.Context) error {
		ok, err := s.attendees.DeleteIf(ctx, traineeID, store.Cond{})
		removed = ok
		return err
	}, func(ctx context.Context) error {
		if !removed {
			return nil
		}
		_, err := s.attendees.InsertIfAbsent(ctx, bson.M{"_id": traineeID, "at": s.now().UTC()})
		return err
	}); err != nil || !removed {
		return err
	}
	return s.count(ctx, u, "distinct-trainee counters", distinctDeltas(t, -1))
}

// sessionStatuses reads who was recorded at each session and how.
func (s *Service) sessionStatuses(ctx context.Context, sessionIDs ...string) (map[string]map[string]string, error) {
	ids := make([]string, len(sessionIDs))
	for i, sid := range sessionIDs {
		ids[i] = sessionList(sid)
	}
	lists, err := s.readLists(ctx, ids...)
	if err != nil {
		return nil, err
	}
	out := make(map[string]map[string]string, len(sessionIDs))
	for _, sid := range sessionIDs {
		m := map[string]string{}
		for _, x := range lists[sessionList(sid)] {
			if t, st, ok := strings.Cut(x, ":"); ok {
				m[t] = st
			}
		}
		out[sid] = m
	}
	return out, nil
}

// SessionAttendance returns a session's records (for the sign-in sheet PDF), by time.
func (s *Service) SessionAttendance(ctx context.Context, sessionID string) ([]Attendance, error) {
	st, err := s.sessionStatuses(ctx, sessionID)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(st[sessionID]))
	for t := range st[sessionID] {
		ids = append(ids, attendanceID(sessionID, t))
	}
	return s.recordsByTime(ctx, ids, false)
}

// TraineeAttendance returns one trainee's records, newest first: the
// sessions of the courses they are enrolled in, each read by _id (every
// record has an enrolment: a walk-in is enrolled when recorded).
func (s *Service) TraineeAttendance(ctx context.Context, traineeID string) ([]Attendance, error) {
	es, err := s.Enrollments(ctx, traineeID)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, e := range es {
		list, err := s.d.Courses.Sessions(ctx, e.CourseID)
		if err != nil {
			return nil, err
		}
		for _, x := range list {
			ids = append(ids, attendanceID(x.ID, traineeID))
		}
	}
	out, err := s.recordsByTime(ctx, ids, true)
	if err != nil {
		return nil, err
	}
	if len(out) > 500 {
		out = out[:500]
	}
	return out, nil
}

// PresentSessions maps each trainee of a course to the sessions they were
// present at (present or late), from the sessions' lists.
func (s *Service) PresentSessions(ctx context.Context, courseID string) (map[string][]string, error) {
	list, err := s.d.Courses.Sessions(ctx, courseID)
	if err != nil {
		return nil, err
	}
	sids := make([]string, len(list))
	for i, x := range list {
		sids[i] = x.ID
	}
	st, err := s.sessionStatuses(ctx, sids...)
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, sid := range sids {
		for t, status := range st[sid] {
			if counted(status) {
				out[t] = append(out[t], sid)
			}
		}
	}
	return out, nil
}

// recordsByTime reads the attendance records ids (by _id; missing ones are
// left out), oldest first or newest first.
func (s *Service) recordsByTime(ctx context.Context, ids []string, newestFirst bool) ([]Attendance, error) {
	recs, err := getMany[Attendance](ctx, s.attendance, ids)
	if err != nil {
		return nil, err
	}
	out := make([]Attendance, 0, len(recs))
	for _, a := range recs {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].At.Equal(out[j].At) {
			return out[i].At.Before(out[j].At) != newestFirst
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}
