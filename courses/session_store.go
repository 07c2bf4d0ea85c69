package courses

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/clock"
	"nongxun/server"
	"nongxun/store"
)

// maxSessionLength bounds one session; a longer training is several sessions.
const maxSessionLength = 12 * time.Hour

// SessionInput is the body of POST /courses/:id/sessions. With start_now
// the session starts at once (starts_at is not given): a trainer opening a
// session on the spot.
type SessionInput struct {
	StartsAt  *string   `json:"starts_at"`
	EndsAt    *string   `json:"ends_at"`
	StartNow  *bool     `json:"start_now"`
	Location  *string   `json:"location"`
	RegionID  *string   `json:"region_id"`
	StationID *string   `json:"station_id"`
	TrainerID *string   `json:"trainer_id"`
	Capacity  *int      `json:"capacity"`
	Geofence  *Geofence `json:"geofence"`
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return strings.TrimSpace(*p)
}

func parseTime(f server.Fields, field string, p *string) time.Time {
	if p == nil || strings.TrimSpace(*p) == "" {
		f.Add(true, field, "必填")
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(*p))
	f.Add(err != nil, field, "时间格式应为 RFC 3339，如 2019-05-01T09:00:00+08:00")
	return t.UTC()
}

// checkTimes checks a session's times against the input bounds
// (docs/design.md, "Time"): within clock.RecentYears of now, the end after
// the start, at most 12 hours.
func checkTimes(f server.Fields, from, to, now time.Time) {
	if !from.IsZero() && !clock.Recent(from, now) {
		f.Add(true, "starts_at", fmt.Sprintf("开始时间应在今天前后 %d 年之内", clock.RecentYears))
	}
	if !to.IsZero() && !clock.Recent(to, now) {
		f.Add(true, "ends_at", fmt.Sprintf("结束时间应在今天前后 %d 年之内", clock.RecentYears))
	}
	if !from.IsZero() && !to.IsZero() {
		f.Add(!to.After(from), "ends_at", "结束时间应晚于开始时间")
		f.Add(to.Sub(from) > maxSessionLength, "ends_at", "一个班次不超过 12 小时；更长的培训请分成几个班次")
	}
}

// build checks the fields that need no lookup and makes the session.
func (in *SessionInput) build(courseID string, now time.Time) (*Session, server.Fields) {
	f := server.Fields{}
	x := &Session{ID: store.NewID(), CourseID: courseID}
	if in.StartNow != nil && *in.StartNow {
		f.Add(in.StartsAt != nil && strings.TrimSpace(*in.StartsAt) != "", "starts_at", "“现在开始”时不填开始时间")
		x.StartsAt = now.Truncate(time.Second)
	} else {
		x.StartsAt = parseTime(f, "starts_at", in.StartsAt)
	}
	x.EndsAt = parseTime(f, "ends_at", in.EndsAt)
	checkTimes(f, x.StartsAt, x.EndsAt, now)
	x.Location = str(in.Location)
	f.Add(x.Location == "", "location", "必填")
	f.Add(utf8.RuneCountInString(x.Location) > 200, "location", "不超过 200 字")
	x.RegionID = str(in.RegionID)
	f.Add(x.RegionID == "", "region_id", "必填")
	f.Add(x.RegionID != "" && !store.ValidID(x.RegionID), "region_id", "编号格式错误")
	x.StationID = str(in.StationID)
	f.Add(x.StationID != "" && !store.ValidID(x.StationID), "station_id", "编号格式错误")
	x.TrainerID = str(in.TrainerID)
	f.Add(x.TrainerID != "" && !store.ValidID(x.TrainerID), "trainer_id", "编号格式错误")
	if in.Capacity == nil {
		f.Add(true, "capacity", "必填（0 表示不限）")
	} else {
		x.Capacity = *in.Capacity
		f.Add(x.Capacity < 0, "capacity", "不能小于 0")
		f.Add(x.Capacity > 100000, "capacity", "过大")
	}
	if g := in.Geofence; g != nil {
		bad := math.IsNaN(g.Lat) || math.IsNaN(g.Lng) || g.Lat < -90 || g.Lat > 90 || g.Lng < -180 || g.Lng > 180 || (g.Lat == 0 && g.Lng == 0)
		f.Add(bad, "geofence", "经纬度无效")
		f.Add(g.RadiusM < 10 || g.RadiusM > 50000, "geofence", "半径应在 10 到 50000 米之间")
		x.Geofence = &Geofence{Lat: g.Lat, Lng: g.Lng, RadiusM: g.RadiusM}
	}
	return x, f
}

// CreateSession schedules a session of a course. Only the course's makers
// and assigned trainers (for themselves), an officer (in their township,
// for an assigned trainer) and the admin (any trainer, who is then
// assigned) may; only the admin may record a session that has already
// started (flagged back-filled). The trainer's days are claimed, the
// session stored and counted as one unit of work.
func (s *Service) CreateSession(ctx context.Context, p *server.Principal, courseID string, in SessionInput) (*Session, error) {
	c, err := s.Course(ctx, courseID)
	if err != nil {
		return nil, err
	}
	switch {
	case p.Is(server.RoleAdmin), p.Is(server.RoleOfficer):
	case p.Is(server.RoleTrainer) && c.Teaches(p.UserID):
	default:
		return nil, server.Forbidden("只有课程的创建者、指派的讲师、本乡镇联络员或管理员可以为该课程安排班次")
	}
	now := s.now().UTC()
	x, f := in.build(c.ID, now)
	if p.Is(server.RoleTrainer) {
		if x.TrainerID != "" && x.TrainerID != p.UserID {
			return nil, server.Forbidden("讲师只能为自己安排班次")
		}
		x.TrainerID = p.UserID
	}
	f.Add(x.TrainerID == "" && f["trainer_id"] == "", "trainer_id", "必填")
	if !x.StartsAt.IsZero() && x.StartsAt.Before(now.Add(-time.Second)) {
		if p.Is(server.RoleAdmin) {
			x.Backfilled = true
		} else {
			f.Add(true, "starts_at", "开始时间已过；要马上开课请用“现在开始”，补录已举办的培训请联系管理员")
		}
	}
	if x.RegionID != "" && f["region_id"] == "" {
		r, ok := s.d.Regions.Get(ctx, x.RegionID)
		if !ok {
			f.Add(true, "region_id", "未知地区")
		} else {
			x.TownshipID = s.d.Regions.TownshipOf(ctx, r.ID)
		}
	}
	if x.TrainerID != "" && f["trainer_id"] == "" && !(p.Is(server.RoleTrainer) && x.TrainerID == p.UserID) {
		if err := s.checkTrainer(ctx, f, x.TrainerID); err != nil {
			return nil, err
		}
		if f["trainer_id"] == "" && !p.Is(server.RoleAdmin) && !c.Teaches(x.TrainerID) {
			f.Add(true, "trainer_id", "该讲师未被指派到本课程；请课程创建者或管理员先指派")
		}
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	if !p.SeesTownship(x.TownshipID) || p.Township() != "" && x.TownshipID == "" {
		return nil, server.Forbidden("只能在本乡镇安排班次")
	}
	x.CreatedBy, x.CreatedAt = p.UserID, now
	err = s.st.Unit(ctx, "courses.session", func(u *store.Unit) error {
		if err := u.Do(ctx, "trainer days", func(ctx context.Context) error {
			return s.claim(ctx, x.TrainerID, x.ID, x.StartsAt, x.EndsAt)
		}, func(ctx context.Context) error {
			return s.release(ctx, x.TrainerID, x.ID, x.StartsAt, x.EndsAt)
		}); err != nil {
			return err
		}
		if err := u.Do(ctx, "session", func(ctx context.Context) error { return s.sessions.InsertOne(ctx, x) },
			func(ctx context.Context) error { _, err := s.sessions.DeleteOne(ctx, bson.M{"_id": x.ID}); return err }); err != nil {
			return err
		}
		if err := u.Do(ctx, "sessions held", func(ctx context.Context) error { return s.countHeld(ctx, x, 1) },
			func(ctx context.Context) error { return s.countHeld(ctx, x, -1) }); err != nil {
			return err
		}
		return s.listSteps(ctx, u, x.ID, nil)
	})
	if err != nil {
		return nil, err
	}
	if p.Is(server.RoleAdmin) && !c.Teaches(x.TrainerID) {
		// The admin picked a trainer for the course: they are assigned to it.
		if _, err := s.courses.UpdateOne(ctx, bson.M{"_id": c.ID}, bson.M{"$addToSet": bson.M{"trainers": x.TrainerID}}); err != nil {
			s.d.Log.Error("courses: assigning the session's trainer to the course", "course_id", c.ID, "err", err.Error())
		} else {
			s.d.Audit.Note(ctx, p, "course.trainers", "course:"+c.ID, map[string]any{"added": x.TrainerID, "by_session": x.ID})
		}
	}
	if x.Backfilled {
		s.d.Audit.Note(ctx, p, "session.backfill", "session:"+x.ID, map[string]any{"course_id": x.CourseID, "starts_at": x.StartsAt})
	}
	return x, nil
}

// checkTrainer adds a field error unless id is an active trainer account.
func (s *Service) checkTrainer(ctx context.Context, f server.Fields, id string) error {
	u, err := s.d.Users.Get(ctx, id)
	switch {
	case err != nil && server.ToError(err).Code == server.CodeNotFound:
		f.Add(true, "trainer_id", "讲师不存在")
	case err != nil:
		return err
	case u.Role != server.RoleTrainer || u.Disabled:
		f.Add(true, "trainer_id", "该用户不是讲师")
	}
	return nil
}

// CancelSession cancels a session with a reason; its records stay. The
// session, its count and its trainer's days change as one unit.
func (s *Service) CancelSession(ctx context.Context, p *server.Principal, id, reason string) (*Session, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" || utf8.RuneCountInString(reason) > 500 {
		return nil, server.Invalid("请填写取消原因（不超过 500 字）", "reason", "必填，不超过 500 字")
	}
	x, err := s.Session(ctx, id)
	if err != nil {
		return nil, err
	}
	if !s.mayManageSession(p, x) {
		return nil, server.Forbidden("只有该班次的讲师、本乡镇联络员或管理员可以取消")
	}
	if x.Cancelled {
		return nil, server.Conflict("该班次已取消")
	}
	now := s.now().UTC()
	before := *x
	err = s.st.Unit(ctx, "courses.cancel", func(u *store.Unit) error {
		var ok bool
		if err := u.Do(ctx, "session", func(ctx context.Context) (err error) {
			ok, err = s.sessions.UpdateIf(ctx, id, store.Cond{"cancelled": false},
				bson.M{"$set": bson.M{"cancelled": true, "cancel_reason": reason, "cancelled_at": now, "cancelled_by": p.UserID}})
			if err == nil && !ok {
				err = server.Conflict("该班次已取消")
			}
			return err
		}, func(ctx context.Context) error {
			_, err := s.sessions.UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$set": bson.M{"cancelled": false}, "$unset": bson.M{"cancel_reason": "", "cancelled_at": "", "cancelled_by": ""}})
			return err
		}); err != nil {
			return err
		}
		if err := u.Do(ctx, "sessions held", func(ctx context.Context) error { return s.countHeld(ctx, x, -1) },
			func(ctx context.Context) error { return s.countHeld(ctx, x, 1) }); err != nil {
			return err
		}
		if err := u.Do(ctx, "trainer days", func(ctx context.Context) error {
			return s.release(ctx, x.TrainerID, x.ID, x.StartsAt, x.EndsAt)
		}, nil); err != nil {
			return err
		}
		return s.listSteps(ctx, u, id, &before)
	})
	if err != nil {
		return nil, err
	}
	x.Cancelled, x.CancelReason, x.CancelledAt = true, reason, &now
	s.d.Audit.Note(ctx, p, "session.cancel", "session:"+id, map[string]any{"reason": reason, "course_id": x.CourseID})
	return x, nil
}

// StartNow starts a planned session at once ("现在开始"): its start moves
// to now; its end stays, unless that would make it longer than 12 hours,
// when it keeps its planned length. Only the trainer holding it, the
// township's officer or the admin may; a session already started or
// cancelled is a conflict.
func (s *Service) StartNow(ctx context.Context, p *server.Principal, id string) (*Session, error) {
	x, err := s.Session(ctx, id)
	if err != nil {
		return nil, err
	}
	if !s.mayManageSession(p, x) {
		return nil, server.Forbidden("只有该班次的讲师、本乡镇联络员或管理员可以开始班次")
	}
	now := s.now().UTC().Truncate(time.Second)
	switch {
	case x.Cancelled:
		return nil, server.Conflict("该班次已取消")
	case !x.StartsAt.After(now):
		return nil, server.Conflict("该班次已经开始")
	}
	from, to := now, x.EndsAt
	if to.Sub(from) > maxSessionLength {
		to = from.Add(x.EndsAt.Sub(x.StartsAt))
	}
	old := *x
	err = s.st.Unit(ctx, "courses.start", func(u *store.Unit) error {
		if err := u.Do(ctx, "trainer days", func(ctx context.Context) error {
			if err := s.claim(ctx, x.TrainerID, x.ID, from, to); err != nil {
				return err
			}
			// Give back the planned days the new times no longer touch.
			keep := map[string]bool{}
			for _, d := range daysOf(from, to) {
				keep[d] = true
			}
			for _, d := range daysOf(old.StartsAt, old.EndsAt) {
				if !keep[d] {
					if err := s.releaseDay(ctx, dayID(x.TrainerID, d), x.ID); err != nil {
						return err
					}
				}
			}
			return nil
		}, func(ctx context.Context) error {
			if err := s.release(ctx, x.TrainerID, x.ID, from, to); err != nil {
				return err
			}
			return s.claim(ctx, x.TrainerID, x.ID, old.StartsAt, old.EndsAt)
		}); err != nil {
			return err
		}
		if err := u.Do(ctx, "session", func(ctx context.Context) error {
			ok, err := s.sessions.UpdateIf(ctx, id, store.Cond{"cancelled": false, "starts_at": old.StartsAt},
				bson.M{"$set": bson.M{"starts_at": from, "ends_at": to, "started_early": true}})
			if err == nil && !ok {
				err = server.Conflict("该班次刚被修改，请刷新后重试")
			}
			return err
		}, func(ctx context.Context) error {
			_, err := s.sessions.UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$set": bson.M{"starts_at": old.StartsAt, "ends_at": old.EndsAt, "started_early": old.StartedEarly}})
			return err
		}); err != nil {
			return err
		}
		if clock.Month(old.StartsAt) != clock.Month(from) {
			moved := *x
			moved.StartsAt = from
			if err := u.Do(ctx, "sessions held, planned month", func(ctx context.Context) error { return s.countHeld(ctx, &old, -1) },
				func(ctx context.Context) error { return s.countHeld(ctx, &old, 1) }); err != nil {
				return err
			}
			if err := u.Do(ctx, "sessions held, month held", func(ctx context.Context) error { return s.countHeld(ctx, &moved, 1) },
				func(ctx context.Context) error { return s.countHeld(ctx, &moved, -1) }); err != nil {
				return err
			}
		}
		return s.listSteps(ctx, u, id, &old)
	})
	if err != nil {
		return nil, err
	}
	x.StartsAt, x.EndsAt, x.StartedEarly = from, to, true
	s.d.Audit.Note(ctx, p, "session.start", "session:"+id, map[string]any{"planned": old.StartsAt, "started": from, "course_id": x.CourseID})
	return x, nil
}

func (s *Service) mayManageSession(p *server.Principal, x *Session) bool {
	switch p.Role {
	case server.RoleAdmin:
		return true
	case server.RoleTrainer:
		return x.TrainerID == p.UserID
	case server.RoleOfficer:
		return x.TownshipID != "" && p.Township() == x.TownshipID
	}
	return false
}

// seesSession reports whether p may read a session (officers: their township only).
func seesSession(p *server.Principal, x *Session) bool {
	return p.Township() == "" || p.Township() == x.TownshipID
}

// MySessions are a trainer's sessions, or the sessions of the courses a
// trainee is enrolled in (published courses only), from a time on.
func (s *Service) MySessions(ctx context.Context, p *server.Principal, from time.Time) ([]Session, error) {
	var all []Session
	switch {
	case p.Is(server.RoleTrainer):
		ss, err := s.SessionsByTrainer(ctx, p.UserID)
		if err != nil {
			return nil, err
		}
		all = ss
	case p.Is(server.RoleTrainee) && s.Enrolled != nil:
		cs, err := s.Courses(ctx, p, CourseFilter{})
		if err != nil {
			return nil, err
		}
		ids := []string{}
		for _, c := range cs {
			ok, err := s.enrolled(ctx, p.UserID, c.ID)
			if err != nil {
				return nil, err
			}
			if ok {
				ids = append(ids, c.ID)
			}
		}
		for _, id := range ids {
			ss, err := s.Sessions(ctx, id)
			if err != nil {
				return nil, err
			}
			all = append(all, ss...)
		}
		sort.Slice(all, func(i, j int) bool { return all[i].StartsAt.Before(all[j].StartsAt) })
	}
	out := []Session{}
	for _, x := range all {
		if from.IsZero() || x.EndsAt.After(from) {
			out = append(out, x)
		}
	}
	return out, nil
}
