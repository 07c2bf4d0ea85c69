package enrollment

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
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

// enrolledSet returns the cached set of a course's trainees, loading it on first use.
func (s *Service) enrolledSet(ctx context.Context, courseID string) (map[string]bool, error) {
	s.enrolMu.RLock()
	set, ok := s.enrolled[courseID]
	all := s.enrolAll
	s.enrolMu.RUnlock()
	if ok {
		return set, nil
	}
	// On the embedded engine a filtered find scans the whole collection
	// anyway, and this process is the only writer: load every enrolment
	// once. On MongoDB the course_id index makes a per-course load cheap.
	filter := bson.M{"course_id": courseID}
	if s.st.Embedded() {
		if all {
			s.enrolMu.Lock()
			defer s.enrolMu.Unlock()
			if s.enrolled[courseID] == nil {
				s.enrolled[courseID] = map[string]bool{}
			}
			return s.enrolled[courseID], nil
		}
		s.enrolLoad.Lock()
		defer s.enrolLoad.Unlock()
		s.enrolMu.RLock()
		all = s.enrolAll
		s.enrolMu.RUnlock()
		if all {
			return s.enrolledSet(ctx, courseID)
		}
		filter = bson.M{}
	}
	var rows []struct {
		CourseID  string `bson:"course_id"`
		TraineeID string `bson:"trainee_id"`
	}
	if err := s.enrollments.Find(ctx, filter, &rows, options.Find().SetProjection(bson.M{"course_id": 1, "trainee_id": 1})); err != nil {
		return nil, err
	}
	s.enrolMu.Lock()
	defer s.enrolMu.Unlock()
	for _, r := range rows {
		cur := s.enrolled[r.CourseID]
		if cur == nil {
			cur = map[string]bool{}
			s.enrolled[r.CourseID] = cur
		}
		cur[r.TraineeID] = true
	}
	if s.enrolled[courseID] == nil {
		s.enrolled[courseID] = map[string]bool{}
	}
	if s.st.Embedded() {
		s.enrolAll = true
	}
	return s.enrolled[courseID], nil
}

func (s *Service) markEnrolled(courseID, traineeID string) {
	s.enrolMu.Lock()
	if set := s.enrolled[courseID]; set != nil {
		set[traineeID] = true
	} else if s.enrolAll {
		s.enrolled[courseID] = map[string]bool{traineeID: true}
	}
	s.enrolMu.Unlock()
}

// IsEnrolled reports whether a trainee is enrolled in a course.
func (s *Service) IsEnrolled(ctx context.Context, courseID, traineeID string) (bool, error) {
	if _, err := s.enrolledSet(ctx, courseID); err != nil {
		return false, err
	}
	s.enrolMu.RLock()
	defer s.enrolMu.RUnlock()
	return s.enrolled[courseID][traineeID], nil
}

// UserEnrolled reports whether the trainee account userID is enrolled in a
// course (courses' Enrolled hook).
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

// EnrolledTrainees returns the ids of a course's trainees.
func (s *Service) EnrolledTrainees(ctx context.Context, courseID string) ([]string, error) {
	if _, err := s.enrolledSet(ctx, courseID); err != nil {
		return nil, err
	}
	s.enrolMu.RLock()
	defer s.enrolMu.RUnlock()
	out := make([]string, 0, len(s.enrolled[courseID]))
	for id := range s.enrolled[courseID] {
		out = append(out, id)
	}
	return out, nil
}

// courseCapacity is the smallest positive capacity among the course's
// sessions still to be held; 0 means no limit.
func (s *Service) courseCapacity(ctx context.Context, courseID string) (int64, error) {
	list, err := s.d.Courses.Sessions(ctx, courseID)
	if err != nil {
		return 0, err
	}
	var c int64
	for _, x := range list {
		if x.Cancelled || x.Capacity <= 0 {
			continue
		}
		if c == 0 || int64(x.Capacity) < c {
			c = int64(x.Capacity)
		}
	}
	return c, nil
}

var errFull = server.Conflict("名额已满")

// Enroll puts a trainee on a course; a full course is a conflict. It
// reports false when the trainee was already enrolled.
func (s *Service) Enroll(ctx context.Context, courseID string, t *Trainee, by string) (bool, error) {
	if ok, err := s.IsEnrolled(ctx, courseID, t.ID); err != nil || ok {
		return false, err
	}
	capacity, err := s.courseCapacity(ctx, courseID)
	if err != nil {
		return false, err
	}
	created := false
	err = s.st.Lane(ctx, func(ctx context.Context) error {
		if capacity > 0 {
			n, _, err := s.CourseCounts(ctx, courseID)
			if err != nil {
				return err
			}
			if n >= capacity {
				return errFull
			}
		}
		var err error
		created, err = s.insertEnrollment(ctx, courseID, t, by, false)
		return err
	})
	return created, err
}

// insertEnrollment inserts the enrolment and moves the course's counter;
// a duplicate means already enrolled. Call it inside the lane.
func (s *Service) insertEnrollment(ctx context.Context, courseID string, t *Trainee, by string, walkIn bool) (bool, error) {
	e := Enrollment{ID: courseID + "/" + t.ID, CourseID: courseID, TraineeID: t.ID, TownshipID: t.TownshipID, WalkIn: walkIn, By: by, At: s.now().UTC()}
	if err := s.enrollments.InsertOne(ctx, e); err != nil {
		if store.IsDup(err) {
			s.markEnrolled(courseID, t.ID)
			return false, nil
		}
		return false, err
	}
	if err := s.scounters.Inc(ctx, coursesCounter, map[string]int64{"enrolled." + courseID: 1}); err != nil {
		return true, err
	}
	s.markEnrolled(courseID, t.ID)
	return true, nil
}

// Enrollments lists a trainee's enrolments.
func (s *Service) Enrollments(ctx context.Context, traineeID string) ([]Enrollment, error) {
	out := []Enrollment{}
	err := s.enrollments.Find(ctx, bson.M{"trainee_id": traineeID}, &out, options.Find().SetSort(bson.D{{Key: "at", Value: -1}}))
	return out, err
}
