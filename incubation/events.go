package incubation

import (
	"context"
	"fmt"
	"time"

	"nongxun/events"
	"nongxun/store"
)

// The handlers below are subscribed in main to the events other features
// publish (docs/design.md, "Events"). Delivery is at least once, so each
// is idempotent: counting goes through natural-key markers, tasks have
// natural ids, index writes are $set/$addToSet. An error means "retry
// later"; nothing is left half written (each step is a unit of work).

// OnCertificateIssued counts the trainee as certified (once, however often
// the event is delivered) and schedules their follow-ups.
func (s *Service) OnCertificateIssued(ctx context.Context, e store.Event) error {
	var c events.Certificate
	if err := e.Decode(&c); err != nil {
		return fmt.Errorf("incubation: certificate event %s: %w", e.Key, err)
	}
	return s.certified(ctx, c.TraineeID, c.CourseID, c.IssuedAt)
}

func (s *Service) certified(ctx context.Context, traineeID, courseID string, at time.Time) error {
	if s.d.Trainees == nil {
		return fmt.Errorf("incubation: no trainee source")
	}
	t, err := s.d.Trainees.Trainee(ctx, traineeID)
	if err != nil {
		return fmt.Errorf("incubation: certified trainee %s: %w", traineeID, err)
	}
	if err := s.st.Unit(ctx, "funnel.certified", func(u *store.Unit) error {
		_, err := s.count(ctx, u, StepCertified, whoOf(t))
		return err
	}); err != nil {
		return err
	}
	if at.IsZero() {
		at = s.now()
	}
	_, err = s.scheduleFor(ctx, t, courseID, "certificate", at.UTC())
	return err
}

// OnCertificateRevoked takes the trainee off the "certified" step when the
// revoked certificate was their last valid one. Their follow-up tasks
// stay: they were trained all the same.
func (s *Service) OnCertificateRevoked(ctx context.Context, e store.Event) error {
	var c events.Certificate
	if err := e.Decode(&c); err != nil {
		return fmt.Errorf("incubation: certificate event %s: %w", e.Key, err)
	}
	return s.revoked(ctx, c.TraineeID, c.OthersValid)
}

func (s *Service) revoked(ctx context.Context, traineeID string, othersValid int64) error {
	if othersValid > 0 {
		return nil
	}
	return s.st.Unit(ctx, "funnel.revoked", func(u *store.Unit) error {
		return s.uncount(ctx, u, StepCertified, traineeID)
	})
}

// OnCourseFinished schedules follow-ups for a trainee present when the
// last session of a course was held.
func (s *Service) OnCourseFinished(ctx context.Context, e store.Event) error {
	var f events.Finished
	if err := e.Decode(&f); err != nil {
		return fmt.Errorf("incubation: course event %s: %w", e.Key, err)
	}
	at := f.At
	if at.IsZero() {
		at = s.now()
	}
	_, err := s.Schedule(ctx, f.TraineeID, f.CourseID, "course_finished", at)
	return err
}
