package courses

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"nongxun/server"
	"nongxun/store"
)

// maxSessionLength bounds one session; a longer training is several sessions.
const maxSessionLength = 24 * time.Hour

// SessionInput is the body of POST /courses/:id/sessions.
type SessionInput struct {
	StartsAt  *string   `json:"starts_at"`
	EndsAt    *string   `json:"ends_at"`
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

// build checks the fields that need no lookup and makes the session.
func (in *SessionInput) build(courseID string) (*Session, server.Fields) {
	f := server.Fields{}
	x := &Session{ID: store.NewID(), CourseID: courseID}
	x.StartsAt = parseTime(f, "starts_at", in.StartsAt)
	x.EndsAt = parseTime(f, "ends_at", in.EndsAt)
	if !x.StartsAt.IsZero() && !x.EndsAt.IsZero() {
		f.Add(!x.EndsAt.After(x.StartsAt), "ends_at", "结束时间应晚于开始时间")
		f.Add(x.EndsAt.Sub(x.StartsAt) > maxSessionLength, "ends_at", "一个班次不超过 24 小时")
	}
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

// CreateSession schedules a session of a course. A trainer schedules
// only themself; an officer only in their township; only admin may
// record a session that has already started (flagged back-filled).
func (s *Service) CreateSession(ctx context.Context, p *server.Principal, courseID string, in SessionInput) (*Session, error) {
	c, err := s.Course(ctx, courseID)
	if err != nil {
		return nil, err
	}
	x, f := in.build(c.ID)
	if p.Is(server.RoleTrainer) {
		if x.TrainerID != "" && x.TrainerID != p.UserID {
			return nil, server.Forbidden("讲师只能为自己安排班次")
		}
		x.TrainerID = p.UserID
	}
	f.Add(x.TrainerID == "" && f["trainer_id"] == "", "trainer_id", "必填")
	now := s.now().UTC()
	if !x.StartsAt.IsZero() && x.StartsAt.Before(now) {
		if p.Is(server.RoleAdmin) {
			x.Backfilled = true
		} else {
			f.Add(true, "starts_at", "开始时间已过；补录已举办的培训请联系管理员")
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
		u, err := s.d.Users.Get(ctx, x.TrainerID)
		switch {
		case err != nil && server.ToError(err).Code == server.CodeNotFound:
			f.Add(true, "trainer_id", "讲师不存在")
		case err != nil:
			return nil, err
		case u.Role != server.RoleTrainer || u.Disabled:
			f.Add(true, "trainer_id", "该用户不是讲师")
		}
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	if !p.SeesTownship(x.TownshipID) || p.Township() != "" && x.TownshipID == "" {
		return nil, server.Forbidden("只能在本乡镇安排班次")
	}
	x.CreatedBy, x.CreatedAt = p.UserID, now
	err = s.st.Lane(ctx, func(ctx context.Context) error {
		ver, err := s.trainerVersion(ctx, x.TrainerID)
		if err != nil {
			return err
		}
		if err := s.checkOverlap(ctx, x); err != nil {
			return err
		}
		if err := s.bumpTrainer(ctx, x.TrainerID, ver); err != nil {
			return err
		}
		if err := s.sessions.InsertOne(ctx, x); err != nil {
			return err
		}
		if err := s.countHeld(ctx, x, 1); err != nil {
			_, _ = s.sessions.DeleteOne(ctx, bson.M{"_id": x.ID})
			return err
		}
		s.cachePut(x)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if x.Backfilled && s.d.Audit != nil {
		_ = s.d.Audit.Record(ctx, p, "session.backfill", "session:"+x.ID, map[string]any{"course_id": x.CourseID, "starts_at": x.StartsAt})
	}
	return x, nil
}

// checkOverlap refuses a session whose trainer already holds another,
// not cancelled, that overlaps it; the message names that session.
func (s *Service) checkOverlap(ctx context.Context, x *Session) error {
	mine, err := s.SessionsByTrainer(ctx, x.TrainerID)
	if err != nil {
		return err
	}
	for _, o := range mine {
		if o.Cancelled || o.ID == x.ID || !o.StartsAt.Before(x.EndsAt) || !x.StartsAt.Before(o.EndsAt) {
			continue
		}
		title := o.CourseID
		if c, err := s.Course(ctx, o.CourseID); err == nil {
			title = c.Title
		}
		e := server.Conflict(fmt.Sprintf("讲师在该时段已有班次：《%s》%s–%s，%s（班次编号 %s）",
			title, o.StartsAt.In(shanghai).Format("2006-01-02 15:04"), o.EndsAt.In(shanghai).Format("15:04"), o.Location, o.ID))
		e.Fields = map[string]string{"session_id": o.ID}
		return e
	}
	return nil
}

// trainerLock is a per-trainer version document: scheduling a trainer
// bumps it with a conditional update, so two app nodes on MongoDB cannot
// both pass the overlap check for one trainer at once.
type trainerLock struct {
	ID  string `bson:"_id"`
	Ver int64  `bson:"ver"`
}

func (s *Service) trainerVersion(ctx context.Context, trainerID string) (int64, error) {
	var l trainerLock
	err := s.locks.FindOne(ctx, bson.M{"_id": trainerID}, &l)
	if store.IsNotFound(err) {
		return 0, nil
	}
	return l.Ver, err
}

func (s *Service) bumpTrainer(ctx context.Context, trainerID string, ver int64) error {
	res, err := s.locks.UpdateOne(ctx, bson.M{"_id": trainerID, "ver": ver}, bson.M{"$inc": bson.M{"ver": int64(1)}}, options.UpdateOne().SetUpsert(true))
	if store.IsDup(err) || err == nil && res.MatchedCount == 0 && res.UpsertedCount == 0 {
		return server.Conflict("该讲师的日程刚被修改，请重试")
	}
	return err
}

// CancelSession cancels a session with a reason; its records stay.
func (s *Service) CancelSession(ctx context.Context, p *server.Principal, id, reason string) (*Session, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" || utf8.RuneCountInString(reason) > 500 {
		return nil, server.Invalid("请填写取消原因（不超过 500 字）", "reason", "必填，不超过 500 字")
	}
	var out *Session
	err := s.st.Lane(ctx, func(ctx context.Context) error {
		x, err := s.Session(ctx, id)
		if err != nil {
			return err
		}
		if !s.mayManageSession(p, x) {
			return server.Forbidden("只有该班次的讲师、本乡镇联络员或管理员可以取消")
		}
		if x.Cancelled {
			return server.Conflict("该班次已取消")
		}
		now := s.now().UTC()
		res, err := s.sessions.UpdateOne(ctx, bson.M{"_id": id, "cancelled": false},
			bson.M{"$set": bson.M{"cancelled": true, "cancel_reason": reason, "cancelled_at": now, "cancelled_by": p.UserID}})
		if err != nil {
			return err
		}
		if res.MatchedCount == 0 {
			return server.Conflict("该班次已取消")
		}
		if err := s.countHeld(ctx, x, -1); err != nil {
			_, _ = s.sessions.UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$set": bson.M{"cancelled": false}, "$unset": bson.M{"cancel_reason": "", "cancelled_at": "", "cancelled_by": ""}})
			return err
		}
		x.Cancelled, x.CancelReason, x.CancelledAt = true, reason, &now
		s.cachePut(x)
		out = x
		return nil
	})
	if err != nil {
		return nil, err
	}
	if s.d.Audit != nil {
		_ = s.d.Audit.Record(ctx, p, "session.cancel", "session:"+id, map[string]any{"reason": reason, "course_id": out.CourseID})
	}
	return out, nil
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
		if len(ids) > 0 {
			in := map[string]bool{}
			for _, id := range ids {
				in[id] = true
			}
			ss, err := s.findSessions(ctx, bson.M{"course_id": bson.M{"$in": ids}}, func(x *Session) bool { return in[x.CourseID] })
			if err != nil {
				return nil, err
			}
			all = ss
		}
	}
	out := []Session{}
	for _, x := range all {
		if from.IsZero() || x.EndsAt.After(from) {
			out = append(out, x)
		}
	}
	return out, nil
}
