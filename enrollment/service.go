// Package enrollment holds trainees, enrolments, attendance, the rotating
// check-in codes (also scanned offline and typed as 6 digits), roll call,
// sign-in sheet photos and the person-time counters read by GET
// /api/v1/progress.
//
// Every hot read is an `_id` lookup (docs/design.md, "The `_id` path
// index"): an enrolment is `courseID/traineeID`, an attendance record
// `sessionID/traineeID`, a check-in answer `traineeID/clientID`; figures
// are counter documents; "all X of Y" are list documents kept through a
// journal (journal.go). Nothing is cached in memory.
package enrollment

import (
	"context"
	"log/slog"
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
	// SessionsOn lists the sessions overlapping a day "YYYY-MM-DD"
	// (Asia/Shanghai), cancelled included: the typed check-in code is
	// matched against the sessions held now.
	SessionsOn(ctx context.Context, day string) ([]courses.Session, error)
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

// Collection names (fixed, the same on both engines).
const (
	traineesColl    = "trainees"
	keysColl        = "trainee_keys"
	enrollmentsColl = "enrollments"
	attendanceColl  = "attendance"
	attendeesColl   = "attendees"
	answersColl     = "checkin_answers"
	photosColl      = "signin_photos"
	countersColl    = "enrollment_counters"
	listsColl       = "enrollment_lists"
	journalColl     = "enrollment_journal"
)

// Service owns the collections above.
type Service struct {
	st          *store.Store
	d           Deps
	trainees    *store.Collection
	keys        *store.Collection // natural keys of trainees: u/<user id>, id/<id hash> → trainee id
	enrollments *store.Collection
	attendance  *store.Collection
	attendees   *store.Collection // _id = trainee id: trainees with a counted attendance (distinct count)
	answers     *store.Collection // first answer to each (trainee, client_id)
	photos      *store.Collection
	counters    *store.Collection
	lists       *store.Collection
	journal     *store.Collection
	crypt       *idCrypt
	now         func() time.Time
	node        string // this process, for the journal compactor's lease

	commit     *committer
	compactor  *compactor
	byUser     *store.Cache[string, Trainee] // the trainee of a login account: read by every check-in
	codeFails  *server.Limiter               // wrong codes per trainee
	joinLimit  *server.Limiter               // self-registrations per IP
	joinPerSes *server.Limiter               // self-registrations per session
}

// New opens the service: it creates its collections and indexes, brings
// data of the previous layout over once (recount.go), and starts the
// check-in commit loop and the journal compactor as background tasks of
// the store.
func New(ctx context.Context, d Deps) (*Service, error) {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	crypt, err := newIDCrypt(d.Config.DataKey)
	if err != nil {
		return nil, err
	}
	st := d.Store
	s := &Service{st: st, d: d, crypt: crypt, now: time.Now, node: store.NewID(),
		trainees:    st.C(traineesColl),
		keys:        st.C(keysColl),
		enrollments: st.C(enrollmentsColl),
		attendance:  st.C(attendanceColl),
		attendees:   st.C(attendeesColl),
		answers:     st.C(answersColl),
		photos:      st.C(photosColl),
		counters:    st.C(countersColl),
		lists:       st.C(listsColl),
		journal:     st.C(journalColl),
		codeFails:   server.NewLimiter(20, 5*time.Minute),
		joinLimit:   server.NewLimiter(20, 10*time.Minute),
		joinPerSes:  server.NewLimiter(300, time.Hour),
	}
	if err := st.Ensure(ctx, traineesColl, keysColl, enrollmentsColl, attendanceColl, attendeesColl, answersColl,
		photosColl, countersColl, listsColl, journalColl); err != nil {
		return nil, err
	}
	// Secondary indexes: MongoDB uses them for exports and recounts; the
	// request paths read by _id. The unique id_hash index is enforced on
	// both engines (a second registration of one ID number fails E11000).
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
		{s.attendance, bson.D{{Key: "trainee_id", Value: 1}}, false},
		{s.journal, bson.D{{Key: "ops.l", Value: 1}}, false},
	}
	for _, x := range idx {
		if err := x.c.Index(ctx, x.keys, x.unique); err != nil {
			return nil, err
		}
	}
	st.BlobRef(photosColl, "blob_id")
	if _, err := s.counters.InsertIfAbsent(ctx, bson.M{"_id": coursesCounter}); err != nil {
		return nil, err
	}
	s.commit, s.compactor = newCommitter(), newCompactor()
	// Measured: two _id reads per check-in for its trainee cost more than
	// the rest of a check-in's reads together; written through below.
	s.byUser = store.NewCache[string, Trainee](st, "enrollment trainee by account", 100000)
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	st.Go("enrollment check-in commit", s.commitLoop)
	st.Go("enrollment journal compactor", s.compactLoop)
	return s, nil
}

// SetClock replaces the service's clock (tests and benchmarks).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// audit records an action that has happened (a failure is logged by Note).
func (s *Service) audit(ctx context.Context, p *server.Principal, action, target string, detail map[string]any) {
	s.d.Audit.Note(ctx, p, action, target, detail)
}

// session reads a session from the courses package (no copy is kept here).
func (s *Service) session(ctx context.Context, id string) (*courses.Session, error) {
	return s.d.Courses.Session(ctx, id)
}
