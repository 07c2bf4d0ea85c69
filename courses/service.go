package courses

import (
	"context"
	"log/slog"
	"sort"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/audit"
	"nongxun/regions"
	"nongxun/server"
	"nongxun/store"
	"nongxun/users"
)

// Deps are what the courses service needs.
type Deps struct {
	Store   *store.Store
	Config  server.Config
	Regions *regions.Service
	Users   *users.Service
	Audit   *audit.Log
	Log     *slog.Logger
}

// Service owns the courses, course_sessions, materials and
// course_categories collections and the session counters.
type Service struct {
	st         *store.Store
	d          Deps
	courses    *store.Collection
	sessions   *store.Collection
	materials  *store.Collection
	categories *store.Collection
	counters   *store.Collection
	locks      *store.Collection
	linkKey    []byte
	cache      *sessionCache // nil on MongoDB
	now        func() time.Time

	// Enrolled reports whether the user (a trainee account) is enrolled in
	// the course. main.go sets it from the enrollment service; while it is
	// nil, trainees reach only public materials and see no schedule.
	Enrolled func(ctx context.Context, userID, courseID string) (bool, error)
}

// enrolled asks the Enrolled hook; a user without a trainee record, or no
// hook yet, is not enrolled.
func (s *Service) enrolled(ctx context.Context, userID, courseID string) (bool, error) {
	if s.Enrolled == nil {
		return false, nil
	}
	ok, err := s.Enrolled(ctx, userID, courseID)
	if err != nil && (store.IsNotFound(err) || server.ToError(err).Code == server.CodeNotFound) {
		return false, nil
	}
	return ok, err
}

// New opens the service, declares its indexes and seeds the default categories.
func New(ctx context.Context, d Deps) (*Service, error) {
	st := d.Store
	if d.Log == nil {
		d.Log = slog.Default()
	}
	s := &Service{st: st, d: d,
		courses:    st.C("courses"),
		sessions:   st.C("course_sessions"),
		materials:  st.C("materials"),
		categories: st.C("course_categories"),
		counters:   st.C("course_counters"),
		locks:      st.C("course_trainer_locks"),
		now:        time.Now,
	}
	s.linkKey = deriveKey(d.Config.JWTSecret, "nongxun material link")
	idx := []struct {
		c    *store.Collection
		keys bson.D
	}{
		{s.courses, bson.D{{Key: "published", Value: 1}}},
		{s.sessions, bson.D{{Key: "course_id", Value: 1}, {Key: "starts_at", Value: 1}}},
		{s.sessions, bson.D{{Key: "trainer_id", Value: 1}, {Key: "starts_at", Value: 1}}},
		{s.sessions, bson.D{{Key: "township_id", Value: 1}}},
		{s.materials, bson.D{{Key: "course_id", Value: 1}}},
		{s.materials, bson.D{{Key: "blob_id", Value: 1}}},
	}
	for _, x := range idx {
		if err := x.c.Index(ctx, x.keys, false); err != nil {
			return nil, err
		}
	}
	if err := s.seedCategories(ctx); err != nil {
		return nil, err
	}
	if st.Embedded() {
		s.cache = &sessionCache{}
		if err := s.loadSessions(ctx); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Course returns one course; server.NotFound when absent.
func (s *Service) Course(ctx context.Context, id string) (*Course, error) {
	var c Course
	if err := s.courses.FindOne(ctx, bson.M{"_id": id}, &c); err != nil {
		if store.IsNotFound(err) {
			return nil, server.NotFound("课程不存在")
		}
		return nil, err
	}
	fixCourse(&c)
	return &c, nil
}

func fixCourse(c *Course) {
	if c.TargetGroups == nil {
		c.TargetGroups = []string{}
	}
	c.CreatedAt = c.CreatedAt.UTC()
	c.UpdatedAt = c.UpdatedAt.UTC()
}

// Session returns one session; server.NotFound when absent.
func (s *Service) Session(ctx context.Context, id string) (*Session, error) {
	if s.cache != nil {
		s.cache.mu.RLock()
		x, ok := s.cache.byID[id]
		s.cache.mu.RUnlock()
		if !ok {
			return nil, server.NotFound("班次不存在")
		}
		x = copySession(x)
		return &x, nil
	}
	var x Session
	if err := s.sessions.FindOne(ctx, bson.M{"_id": id}, &x); err != nil {
		if store.IsNotFound(err) {
			return nil, server.NotFound("班次不存在")
		}
		return nil, err
	}
	fixSession(&x)
	return &x, nil
}

func fixSession(x *Session) {
	x.StartsAt, x.EndsAt, x.CreatedAt = x.StartsAt.UTC(), x.EndsAt.UTC(), x.CreatedAt.UTC()
	if x.CancelledAt != nil {
		t := x.CancelledAt.UTC()
		x.CancelledAt = &t
	}
}

// Sessions returns every session of a course, cancelled included, by StartsAt.
func (s *Service) Sessions(ctx context.Context, courseID string) ([]Session, error) {
	return s.findSessions(ctx, bson.M{"course_id": courseID}, func(x *Session) bool { return x.CourseID == courseID })
}

// SessionsByTrainer returns every session a trainer holds, cancelled included, by StartsAt.
func (s *Service) SessionsByTrainer(ctx context.Context, trainerID string) ([]Session, error) {
	return s.findSessions(ctx, bson.M{"trainer_id": trainerID}, func(x *Session) bool { return x.TrainerID == trainerID })
}

// findSessions reads sessions from the cache with keep, or from the
// database with the equivalent filter f, sorted by StartsAt.
func (s *Service) findSessions(ctx context.Context, f bson.M, keep func(*Session) bool) ([]Session, error) {
	var out []Session
	if s.cache != nil {
		out = s.cached(keep)
	} else {
		out = []Session{}
		if err := s.sessions.Find(ctx, f, &out); err != nil {
			return nil, err
		}
		for i := range out {
			fixSession(&out[i])
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].StartsAt.Equal(out[j].StartsAt) {
			return out[i].StartsAt.Before(out[j].StartsAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// Metric names MonthlyFigures reports.
const MetricSessionsHeld = "sessions_held"

// countyKey stands for "no township" in counter documents, whose field
// names cannot be empty.
const countyKey = "county"

// shanghai is the zone months are counted in (China keeps no summer time).
var shanghai = time.FixedZone("CST", 8*3600)

// monthOf is the "YYYY-MM" a time falls in, in Asia/Shanghai.
func monthOf(t time.Time) string { return t.In(shanghai).Format("2006-01") }

func heldCounterID(month string) string { return "sessions_held/" + month }

// MonthlyFigures returns township id → metric → value for month "YYYY-MM",
// read from counters: sessions_held counts the sessions (not cancelled)
// starting in that month, under the session's township ("" for the county).
func (s *Service) MonthlyFigures(ctx context.Context, month string) (map[string]map[string]int64, error) {
	if _, err := time.Parse("2006-01", month); err != nil {
		return nil, server.Invalid("月份格式应为 YYYY-MM", "month", "格式错误")
	}
	doc, err := s.counters.Counter(ctx, heldCounterID(month))
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]int64{}
	for k, v := range store.Int64Map(doc["by_township"]) {
		if k == countyKey {
			k = ""
		}
		out[k] = map[string]int64{MetricSessionsHeld: v}
	}
	return out, nil
}

// countHeld moves the sessions_held counter of a session's month and township by delta.
func (s *Service) countHeld(ctx context.Context, x *Session, delta int64) error {
	t := x.TownshipID
	if t == "" {
		t = countyKey
	}
	return s.counters.Inc(ctx, heldCounterID(monthOf(x.StartsAt)), map[string]int64{"by_township." + t: delta})
}
