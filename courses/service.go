package courses

import (
	"context"
	"log/slog"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/audit"
	"nongxun/clock"
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

// Service owns the courses, course_sessions, materials,
// course_categories, course_counters and course_trainer_days collections.
type Service struct {
	st         *store.Store
	d          Deps
	courses    *store.Collection
	sessions   *store.Collection
	materials  *store.Collection
	categories *store.Collection
	counters   *store.Collection
	days       *store.Collection
	lists      *store.Pack[Session] // the sessions of each course and trainer (lists.go)
	linkKey    []byte
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

// Collections of the package.
const (
	collCourses    = "courses"
	collSessions   = "course_sessions"
	collMaterials  = "materials"
	collCategories = "course_categories"
	collCounters   = "course_counters"
	collDays       = "course_trainer_days"
)

// New opens the service: it creates its collections and indexes, seeds the
// default categories and upgrades older data (course ownership, trainer
// days) once.
func New(ctx context.Context, d Deps) (*Service, error) {
	st := d.Store
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if err := st.Ensure(ctx, collCourses, collSessions, collMaterials, collCategories, collCounters, collDays, collLists); err != nil {
		return nil, err
	}
	s := &Service{st: st, d: d,
		courses:    st.C(collCourses),
		sessions:   st.C(collSessions),
		materials:  st.C(collMaterials),
		categories: st.C(collCategories),
		counters:   st.C(collCounters),
		days:       st.C(collDays),
		lists:      newLists(st),
		now:        time.Now,
	}
	st.BlobRef(collMaterials, "blob_id")
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
	if err := s.ensureLists(ctx); err != nil {
		return nil, err
	}
	if err := s.upgrade(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Course returns one course; server.NotFound when absent.
func (s *Service) Course(ctx context.Context, id string) (*Course, error) {
	var c Course
	if err := s.courses.Get(ctx, id, &c); err != nil {
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
	if c.Makers == nil {
		c.Makers = []string{}
	}
	if c.Trainers == nil {
		c.Trainers = []string{}
	}
	c.CreatedAt = c.CreatedAt.UTC()
	c.UpdatedAt = c.UpdatedAt.UTC()
}

// Session returns one session (read by _id); server.NotFound when absent.
func (s *Service) Session(ctx context.Context, id string) (*Session, error) {
	var x Session
	if err := s.sessions.Get(ctx, id, &x); err != nil {
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

// Sessions returns every session of a course, cancelled included, by
// StartsAt, from the course's list (lists.go).
func (s *Service) Sessions(ctx context.Context, courseID string) ([]Session, error) {
	return s.listed(ctx, courseList(courseID))
}

// SessionsByTrainer returns every session a trainer holds, cancelled included, by StartsAt.
func (s *Service) SessionsByTrainer(ctx context.Context, trainerID string) ([]Session, error) {
	return s.listed(ctx, trainerList(trainerID))
}

// Metric names MonthlyFigures reports.
const MetricSessionsHeld = "sessions_held"

// countyKey stands for "no township" in counter documents, whose field
// names cannot be empty.
const countyKey = "county"

func heldCounterID(month string) string { return "sessions_held/" + month }

// MonthlyFigures returns township id → metric → value for month "YYYY-MM",
// read from counters: sessions_held counts the sessions (not cancelled)
// starting in that month, under the session's township ("" for the county).
func (s *Service) MonthlyFigures(ctx context.Context, month string) (map[string]map[string]int64, error) {
	if _, err := clock.ParseMonth(month); err != nil {
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
	return s.counters.Inc(ctx, heldCounterID(clock.Month(x.StartsAt)), map[string]int64{"by_township." + t: delta})
}
