package enrollment

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/store"
)

// CheckFinished calls OnCourseFinished once per present trainee of every
// course whose last non-cancelled session has ended. A marker document per
// course (natural-key _id) makes it happen once.
func (s *Service) CheckFinished(ctx context.Context) error {
	if s.OnCourseFinished == nil {
		return nil
	}
	doc, err := s.scounters.Counter(ctx, coursesCounter)
	if err != nil {
		return err
	}
	now := s.now()
	for cid := range store.Int64Map(doc["person_times"]) {
		list, err := s.d.Courses.Sessions(ctx, cid)
		if err != nil {
			continue
		}
		var last time.Time
		for _, x := range list {
			if !x.Cancelled && x.EndsAt.After(last) {
				last = x.EndsAt
			}
		}
		if last.IsZero() || last.After(now) {
			continue
		}
		if err := s.finished.InsertOne(ctx, bson.M{"_id": cid, "at": now.UTC()}); err != nil {
			if store.IsDup(err) {
				continue
			}
			return err
		}
		present, err := s.PresentSessions(ctx, cid)
		if err != nil {
			return err
		}
		for tid := range present {
			s.OnCourseFinished(ctx, cid, tid)
		}
	}
	return nil
}

// Start runs the start-up drift check after an unclean stop (before the
// server takes requests):
// a crash between an attendance insert and its counter update leaves the
// counters behind, so when they disagree with the records they are rebuilt
// and the repair is logged. Then it runs the periodic course-finished
// check until ctx ends.
func (s *Service) Start(ctx context.Context) {
	// After a clean stop the counters match the records, and the check
	// would scan all attendance (seconds at a county's size).
	if s.d.Store.UncleanStart() {
		s.repairDrift(ctx)
	}
	go func() {
		t := time.NewTicker(10 * time.Minute)
		defer t.Stop()
		for {
			if err := s.CheckFinished(ctx); err != nil && ctx.Err() == nil {
				s.d.Log.Error("course finished check", "err", err.Error())
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// repairDrift compares the person-time counter with the attendance records
// and rebuilds every counter when they differ.
func (s *Service) repairDrift(ctx context.Context) {
	stored, records, err := s.DriftCheck(ctx)
	if err != nil {
		s.d.Log.Error("start-up drift check", "err", err.Error())
		return
	}
	if stored == records {
		return
	}
	res, err := s.Recount(ctx, true)
	if err != nil {
		s.d.Log.Error("person-time counters drifted and the repair failed; run nongxun recount", "counter", stored, "records", records, "err", err.Error())
		return
	}
	s.d.Log.Warn("person-time counters drifted from the attendance records (an unclean stop); rebuilt them", "counter", stored, "records", records, "fields_fixed", res.DriftTotal)
}

// Warm loads what the check-in path keeps in memory (the enrolments, on
// the embedded engine), so the first check-ins after a start do not wait.
func (s *Service) Warm(ctx context.Context) {
	if _, err := s.enrolledSet(ctx, "warm"); err != nil && ctx.Err() == nil {
		s.d.Log.Warn("warming the enrolment cache", "err", err.Error())
	}
}
