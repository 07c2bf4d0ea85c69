package enrollment

import (
	"context"
	"errors"
	"sort"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/courses"
	"nongxun/server"
	"nongxun/store"
)

// Enrollment is one trainee's place on a course; _id is courseID/traineeID.
type Enrollment struct {
	ID         string    `bson:"_id" json:"id"`
	CourseID   string    `bson:"course_id" json:"course_id"`
	TraineeID  string    `bson:"trainee_id" json:"trainee_id"`
	TownshipID string    `bson:"township_id" json:"township_id"`
	WalkIn     bool      `bson:"walk_in,omitempty" json:"walk_in,omitempty"`
	By         string    `bson:"by" json:"by"`
	At         time.Time `bson:"at" json:"at"`
}

func enrolmentID(courseID, traineeID string) string { return courseID + "/" + traineeID }

// courseList is the list of a course's trainees enrolled beforehand; walk-ins
// are on their session's list (sessionList), where their attendance is.
func courseList(courseID string) string { return "c/" + courseID }

// IsEnrolled reports whether a trainee is enrolled in a course (one _id read).
func (s *Service) IsEnrolled(ctx context.Context, courseID, traineeID string) (bool, error) {
	var e Enrollment
	err := s.enrollments.Get(ctx, enrolmentID(courseID, traineeID), &e)
	if store.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// UserEnrolled reports whether the trainee account userID is enrolled in a
// course (courses' Enrolled hook): three _id reads.
func (s *Service) UserEnrolled(ctx context.Context, userID, courseID string) (bool, error) {
	t, err := s.TraineeByUser(ctx, userID)
	if err != nil {
		if server.ToError(err).Code == server.CodeNotFound {
			return false, nil
		}
		return false, err
	}
	return s.IsEnrolled(ctx, courseID, t.ID)
}

// EnrolledTrainees returns the ids of a course's trainees: those enrolled
// beforehand (the course's list) and the walk-ins (its sessions' lists).
func (s *Service) EnrolledTrainees(ctx context.Context, courseID string) ([]string, error) {
	list, err := s.d.Courses.Sessions(ctx, courseID)
	if err != nil {
		return nil, err
	}
	ids := []string{courseList(courseID)}
	for _, x := range list {
		ids = append(ids, sessionList(x.ID))
	}
	lists, err := s.readLists(ctx, ids...)
	if err != nil {
		return nil, err
	}
	out := []string{}
	seen := map[string]bool{}
	for _, l := range ids {
		for _, m := range lists[l] {
			t, _, _ := strings.Cut(m, ":")
			if !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
	}
	return out, nil
}

// Enrollments lists a trainee's enrolments, newest first. A trainee's
// courses are found by reading courseID/traineeID for every course with
// an enrolment (a few hundred _id reads at most, in parallel), so no list
// per trainee needs to move with every walk-in.
func (s *Service) Enrollments(ctx context.Context, traineeID string) ([]Enrollment, error) {
	counts, err := s.enrolledCounts(ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(counts))
	for cid := range counts {
		ids = append(ids, enrolmentID(cid, traineeID))
	}
	got, err := getMany[Enrollment](ctx, s.enrollments, ids)
	if err != nil {
		return nil, err
	}
	out := make([]Enrollment, 0, len(got))
	for _, e := range got {
		e.At = e.At.UTC()
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].At.Equal(out[j].At) {
			return out[i].At.After(out[j].At)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// courseTimes sums up a course's schedule.
type courseTimes struct {
	sessions []courses.Session
	capacity int64      // smallest positive capacity of a non-cancelled session; 0: no limit
	first    *time.Time // first non-cancelled session's start
	last     *time.Time // last non-cancelled session's end
}

func (s *Service) courseTimes(ctx context.Context, courseID string) (*courseTimes, error) {
	list, err := s.d.Courses.Sessions(ctx, courseID)
	if err != nil {
		return nil, err
	}
	ct := &courseTimes{sessions: list}
	for i := range list {
		x := &list[i]
		if x.Cancelled {
			continue
		}
		if x.Capacity > 0 && (ct.capacity == 0 || int64(x.Capacity) < ct.capacity) {
			ct.capacity = int64(x.Capacity)
		}
		if ct.first == nil || x.StartsAt.Before(*ct.first) {
			t := x.StartsAt
			ct.first = &t
		}
		if ct.last == nil || x.EndsAt.After(*ct.last) {
			t := x.EndsAt
			ct.last = &t
		}
	}
	return ct, nil
}

func (ct *courseTimes) finished(now time.Time) bool { return ct.last != nil && !ct.last.After(now) }
func (ct *courseTimes) started(now time.Time) bool  { return ct.first != nil && !ct.first.After(now) }

// Enrolment refusals, in Chinese; the rule names let a page tell them apart.
var (
	errFull     = server.RuleBroken(server.CodeConflict, "course_full", "名额已满，不能报名")
	errFinished = server.RuleBroken(server.CodeConflict, "course_finished", "课程已结束，不能报名")
	errMerged   = server.Conflict("该学员档案已合并到另一份档案，请为保留的档案操作")
	errAlready  = errors.New("already enrolled")
)

// Enroll puts a trainee on a course: the place is taken on the course's
// counter by a conditional update (full → refused), and the enrolment,
// the counter and the course's list are one unit of work. It reports false
// when the trainee was already enrolled. A finished course is accepted
// here (the admin back-fills paper records); EnrollOpen refuses it.
func (s *Service) Enroll(ctx context.Context, courseID string, t *Trainee, by string) (bool, error) {
	return s.enroll(ctx, courseID, t, by, true)
}

// EnrollOpen is Enroll for a course still open: a finished one is refused.
func (s *Service) EnrollOpen(ctx context.Context, courseID string, t *Trainee, by string) (bool, error) {
	return s.enroll(ctx, courseID, t, by, false)
}

func (s *Service) enroll(ctx context.Context, courseID string, t *Trainee, by string, backfill bool) (bool, error) {
	if t.Merged() {
		return false, errMerged
	}
	if ok, err := s.IsEnrolled(ctx, courseID, t.ID); err != nil || ok {
		return false, err
	}
	ct, err := s.courseTimes(ctx, courseID)
	if err != nil {
		return false, err
	}
	if !backfill && ct.finished(s.now()) {
		return false, errFinished
	}
	e := Enrollment{ID: enrolmentID(courseID, t.ID), CourseID: courseID, TraineeID: t.ID, TownshipID: t.TownshipID, By: by, At: s.now().UTC()}
	err = s.st.Unit(ctx, "enrollment.enrol", func(u *store.Unit) error {
		if err := s.takePlace(ctx, u, courseID, ct.capacity); err != nil {
			return err
		}
		if err := u.Do(ctx, "enrolment", func(ctx context.Context) error {
			err := s.enrollments.InsertOne(ctx, e)
			if store.IsDup(err) {
				return errAlready
			}
			return err
		}, func(ctx context.Context) error {
			_, err := s.enrollments.DeleteOne(ctx, bson.M{"_id": e.ID})
			return err
		}); err != nil {
			return err
		}
		ch := newChanges()
		ch.add(courseList(courseID), t.ID)
		return s.logChanges(ctx, u, ch)
	})
	if err == errAlready {
		return false, nil
	}
	return err == nil, err
}

// takePlace counts one more enrolment of a course inside u; with a
// capacity, only while places are left (the conditional update is atomic
// on both engines: docs/design.md, "Conditional updates").
func (s *Service) takePlace(ctx context.Context, u *store.Unit, courseID string, capacity int64) error {
	if capacity <= 0 {
		return s.count(ctx, u, "course enrolment counter", enrolDeltas(courseID, 1))
	}
	f := "enrolled." + courseID
	return u.Do(ctx, "course place", func(ctx context.Context) error {
		ok, err := s.counters.UpdateIf(ctx, coursesCounter, store.Cond{"$or": bson.A{bson.M{f: bson.M{"$exists": false}}, bson.M{f: bson.M{"$lt": capacity}}}},
			bson.M{"$inc": bson.M{f: 1}})
		if err == nil && !ok {
			return errFull
		}
		return err
	}, func(ctx context.Context) error { return s.incCounters(ctx, enrolDeltas(courseID, -1)) })
}

// Unenroll takes a trainee off a course. A trainee recorded at any of its
// sessions stays (their attendance counts); a trainee cancelling their own
// place (self) may do so only before the course's first session starts.
func (s *Service) Unenroll(ctx context.Context, courseID, traineeID string, self bool) error {
	var e Enrollment
	if err := s.enrollments.Get(ctx, enrolmentID(courseID, traineeID), &e); err != nil {
		if store.IsNotFound(err) {
			return server.NotFound("未报名该课程")
		}
		return err
	}
	ct, err := s.courseTimes(ctx, courseID)
	if err != nil {
		return err
	}
	if self && ct.started(s.now()) {
		return server.RuleBroken(server.CodeConflict, "course_started", "课程已开始，不能自行取消报名；请联系培训讲师")
	}
	ids := make([]string, 0, len(ct.sessions))
	for _, x := range ct.sessions {
		ids = append(ids, attendanceID(x.ID, traineeID))
	}
	recs, err := getMany[Attendance](ctx, s.attendance, ids)
	if err != nil {
		return err
	}
	if len(recs) > 0 {
		return server.RuleBroken(server.CodeConflict, "has_attendance", "该学员已有签到记录，不能取消报名")
	}
	return s.st.Unit(ctx, "enrollment.unenrol", func(u *store.Unit) error {
		if err := u.Do(ctx, "enrolment", func(ctx context.Context) error {
			ok, err := s.enrollments.DeleteIf(ctx, e.ID, store.Cond{})
			if err == nil && !ok {
				return server.NotFound("未报名该课程")
			}
			return err
		}, func(ctx context.Context) error { return s.enrollments.InsertOne(ctx, e) }); err != nil {
			return err
		}
		if err := s.count(ctx, u, "course enrolment counter", enrolDeltas(courseID, -1)); err != nil {
			return err
		}
		ch := newChanges()
		ch.del(courseList(courseID), traineeID)
		return s.logChanges(ctx, u, ch)
	})
}

// CourseStatus is what a page shows about enrolling in one course.
type CourseStatus struct {
	CourseID      string     `json:"course_id"`
	Capacity      int64      `json:"capacity"` // 0: no limit
	Enrolled      int64      `json:"enrolled"`
	PlacesLeft    *int64     `json:"places_left"` // null: no limit
	FirstStartsAt *time.Time `json:"first_starts_at,omitempty"`
	LastEndsAt    *time.Time `json:"last_ends_at,omitempty"`
	Started       bool       `json:"started"`
	Finished      bool       `json:"finished"`
	Open          bool       `json:"open"`                    // enrolment possible now
	ClosedReason  string     `json:"closed_reason,omitempty"` // why not, in Chinese
	Mine          *bool      `json:"enrolled_me,omitempty"`   // for a trainee: enrolled
	CanCancel     bool       `json:"can_cancel"`              // for a trainee: may cancel now
}

// CourseStatuses answers for each course; t (may be nil) is the asking trainee.
func (s *Service) CourseStatuses(ctx context.Context, courseIDs []string, t *Trainee) ([]CourseStatus, error) {
	counts, err := s.enrolledCounts(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := make([]CourseStatus, 0, len(courseIDs))
	for _, cid := range courseIDs {
		ct, err := s.courseTimes(ctx, cid)
		if err != nil {
			return nil, err
		}
		st := CourseStatus{CourseID: cid, Capacity: ct.capacity, Enrolled: counts[cid], FirstStartsAt: ct.first, LastEndsAt: ct.last,
			Started: ct.started(now), Finished: ct.finished(now), Open: true}
		if ct.capacity > 0 {
			left := max(0, ct.capacity-st.Enrolled)
			st.PlacesLeft = &left
			if left == 0 {
				st.Open, st.ClosedReason = false, "名额已满"
			}
		}
		if st.Finished {
			st.Open, st.ClosedReason = false, "课程已结束"
		}
		if t != nil {
			mine, err := s.IsEnrolled(ctx, cid, t.ID)
			if err != nil {
				return nil, err
			}
			st.Mine = &mine
			st.CanCancel = mine && !st.Started
		}
		out = append(out, st)
	}
	return out, nil
}
