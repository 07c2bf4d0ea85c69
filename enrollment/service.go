// Package enrollment holds trainees, enrolments, attendance, the rotating
// check-in codes (also scanned offline), roll call, sign-in sheet photos
// and the person-time counters read by GET /api/v1/progress.
package enrollment

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/audit"
	"nongxun/courses"
	"nongxun/regions"
	"nongxun/server"
	"nongxun/store"
	"nongxun/users"
)

// Courses is what enrollment reads of the courses package.
type Courses interface {
	Course(ctx context.Context, id string) (*courses.Course, error)
	Session(ctx context.Context, id string) (*courses.Session, error)
	Sessions(ctx context.Context, courseID string) ([]courses.Session, error)
	SessionsByTrainer(ctx context.Context, trainerID string) ([]courses.Session, error)
}

// Deps are what the enrollment service needs.
type Deps struct {
	Store   *store.Store
	Config  server.Config
	Regions *regions.Service
	Users   *users.Service
	Audit   *audit.Log
	Log     *slog.Logger
	Courses Courses
}

// Service owns the trainees, enrollments, attendance, attendees,
// checkin_answers, signin_photos, attendance_excused, courses_finished
// collections and the counters (enrollment_session_counters and one
// enrollment_county_YYYY_MM per month).
type Service struct {
	st          *store.Store
	d           Deps
	trainees    *store.Collection
	enrollments *store.Collection
	attendance  *store.Collection
	attendees   *store.Collection // one document per trainee ever counted present: distinct trainees
	answers     *store.Collection // first answer to each (trainee, client_id)
	photos      *store.Collection
	scounters   *store.Collection // per-course and per-session counters
	finished    *store.Collection // courses whose OnCourseFinished has run
	excused     *store.Collection // ids of excused attendance records
	crypt       *idCrypt
	now         func() time.Time

	// OnCourseFinished is called once per trainee present when the last
	// (non-cancelled) session of a course has been held. Set in main.go.
	OnCourseFinished func(ctx context.Context, courseID, traineeID string)

	cache      *traineeCache
	enrolMu    sync.RWMutex
	enrolled   map[string]map[string]bool // course → trainee ids, loaded on first use
	enrolAll   bool                       // enrolled holds every enrolment (embedded engine)
	enrolLoad  sync.Mutex
	sessMu     sync.Mutex
	sessCache  map[string]sessEntry
	answerMem  *answerMemo
	commit     committer
	memo       countyMemo
	codeFails  *server.Limiter // wrong codes per trainee
	joinLimit  *server.Limiter // self-registrations per IP
	joinPerSes *server.Limiter // self-registrations per session
}

// New opens the service and declares its indexes.
func New(ctx context.Context, d Deps) (*Service, error) {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	crypt, err := newIDCrypt(d.Config.DataKey)
	if err != nil {
		return nil, err
	}
	st := d.Store
	s := &Service{st: st, d: d, crypt: crypt, now: time.Now,
		trainees:    st.C("trainees"),
		enrollments: st.C("enrollments"),
		attendance:  st.C("attendance"),
		attendees:   st.C("attendees"),
		answers:     st.C("checkin_answers"),
		photos:      st.C("signin_photos"),
		scounters:   st.C("enrollment_session_counters"),
		finished:    st.C("courses_finished"),
		excused:     st.C("attendance_excused"),
		cache:       newTraineeCache(),
		enrolled:    map[string]map[string]bool{},
		sessCache:   map[string]sessEntry{},
		answerMem:   newAnswerMemo(),
		codeFails:   server.NewLimiter(20, 5*time.Minute),
		joinLimit:   server.NewLimiter(20, 10*time.Minute),
		joinPerSes:  server.NewLimiter(300, time.Hour),
	}
	idx := []struct {
		c      *store.Collection
		keys   bson.D
		unique bool
	}{
		{s.trainees, bson.D{{Key: "id_hash", Value: 1}}, true},
		{s.trainees, bson.D{{Key: "user_id", Value: 1}}, false},
		{s.trainees, bson.D{{Key: "township_id", Value: 1}, {Key: "created_at", Value: 1}}, false},
		{s.enrollments, bson.D{{Key: "course_id", Value: 1}}, false},
		{s.enrollments, bson.D{{Key: "trainee_id", Value: 1}}, false},
		{s.attendance, bson.D{{Key: "session_id", Value: 1}}, false},
		{s.attendance, bson.D{{Key: "course_id", Value: 1}}, false},
		{s.attendance, bson.D{{Key: "trainee_id", Value: 1}}, false},
		{s.photos, bson.D{{Key: "session_id", Value: 1}}, false},
	}
	for _, x := range idx {
		if err := x.c.Index(ctx, x.keys, x.unique); err != nil {
			return nil, err
		}
	}
	if st.Embedded() {
		// On the embedded engine this process is the only writer, so the
		// answers kept in memory are all there are: load them once.
		if err := s.answerMem.load(ctx, s.answers, s.now().Add(-answerKeep)); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// SetClock replaces the service's clock (tests and benchmarks).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// audit records an action; a failure to audit is logged, not returned,
// since the action itself has happened.
func (s *Service) audit(ctx context.Context, p *server.Principal, action, target string, detail map[string]any) {
	if s.d.Audit == nil {
		return
	}
	if err := s.d.Audit.Record(ctx, p, action, target, detail); err != nil {
		s.d.Log.Error("audit", "action", action, "err", err.Error())
	}
}

// sessEntry is a cached session: sessions are read on every check-in and
// change rarely, so a few seconds' staleness is accepted.
type sessEntry struct {
	s  *courses.Session
	at time.Time
}

const sessTTL = 10 * time.Second

// session reads a session through the short cache.
func (s *Service) session(ctx context.Context, id string) (*courses.Session, error) {
	s.sessMu.Lock()
	e, ok := s.sessCache[id]
	s.sessMu.Unlock()
	if ok && time.Since(e.at) < sessTTL {
		return e.s, nil
	}
	x, err := s.d.Courses.Session(ctx, id)
	if err != nil {
		return nil, err
	}
	s.sessMu.Lock()
	if len(s.sessCache) > 5000 {
		s.sessCache = map[string]sessEntry{}
	}
	s.sessCache[id] = sessEntry{s: x, at: time.Now()}
	s.sessMu.Unlock()
	return x, nil
}
