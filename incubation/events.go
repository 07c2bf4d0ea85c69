package incubation

import (
	"context"
	"fmt"
	"time"

	"nongxun/events"
	"nongxun/server"
	"nongxun/store"
)

// The handlers below are subscribed in main to the events other features
// publish (docs/design.md, "Events"). Delivery is at least once, so each
// is idempotent: counting goes through natural-key markers, tasks have
// natural ids, index writes are $set/$addToSet. An error means "retry
// later"; nothing is left half written (each step is a unit of work).

// OnCertificateIssued counts the trainee as certified (once, however often
// the event is delivered) and schedules their follow-ups. An unknown
// trainee is an error (retried).
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
	return s.certifiedMany(ctx, []schedule{{t: t, courseID: courseID, source: "certificate", at: at}})
}

// OnCertificatesIssued is OnCertificateIssued for a batch of events (the
// bus's SubscribeBatch, up to 200 at once), written with a few bulk writes
// whatever their number: one insertMany of the funnel markers and one $inc
// per counter document, one insertMany of the tasks, one update per due
// list part and head (docs/design.md, "Events"). It is idempotent, so a
// batch retried after a partial failure counts and schedules each trainee
// once. Malformed events and certificates of trainees that no longer exist
// (merged or removed) are logged and skipped, so they do not hold back the
// batch; any other failure returns an error and the whole batch is retried.
func (s *Service) OnCertificatesIssued(ctx context.Context, es []store.Event) error {
	if s.d.Trainees == nil {
		return fmt.Errorf("incubation: no trainee source")
	}
	first := map[string]events.Certificate{} // per trainee: its earliest certificate of the batch
	var order []string
	for _, e := range es {
		var c events.Certificate
		if err := e.Decode(&c); err != nil || c.TraineeID == "" {
			s.d.Log.Error("incubation: a malformed certificate event is skipped", "event", e.ID, "err", fmt.Sprint(err))
			continue
		}
		old, ok := first[c.TraineeID]
		if !ok {
			order = append(order, c.TraineeID)
		}
		if !ok || (!c.IssuedAt.IsZero() && (old.IssuedAt.IsZero() || c.IssuedAt.Before(old.IssuedAt))) {
			first[c.TraineeID] = c
		}
	}
	found, err := s.traineesByID(ctx, order)
	if err != nil {
		return err
	}
	reqs := make([]schedule, 0, len(order))
	for _, id := range order {
		t, ok := found[id]
		if !ok {
			s.d.Log.Warn("incubation: a certificate of a trainee that no longer exists is skipped", "trainee_id", id, "certificate_id", first[id].ID)
			continue
		}
		c := first[id]
		reqs = append(reqs, schedule{t: t, courseID: c.CourseID, source: "certificate", at: c.IssuedAt})
	}
	return s.certifiedMany(ctx, reqs)
}

// certifiedMany counts trainees as certified and schedules their
// follow-ups (each trainee once in reqs).
func (s *Service) certifiedMany(ctx context.Context, reqs []schedule) error {
	if len(reqs) == 0 {
		return nil
	}
	ws := make([]who, len(reqs))
	for i, r := range reqs {
		ws[i] = whoOf(r.t)
		if r.at.IsZero() {
			reqs[i].at = s.now()
		}
		reqs[i].at = reqs[i].at.UTC()
	}
	if err := s.st.Unit(ctx, "funnel.certified", func(u *store.Unit) error {
		_, err := s.countMany(ctx, u, StepCertified, ws)
		return err
	}); err != nil {
		return err
	}
	_, err := s.scheduleMany(ctx, reqs)
	return err
}

// traineesByID looks trainees up, eight at a time; an unknown one is
// absent from the answer, any other failure an error.
func (s *Service) traineesByID(ctx context.Context, ids []string) (map[string]*Trainee, error) {
	list := make([]*Trainee, len(ids))
	fns := make([]func() error, len(ids))
	for i, id := range ids {
		fns[i] = func() error {
			t, err := s.d.Trainees.Trainee(ctx, id)
			if err != nil && (store.IsNotFound(err) || server.ToError(err).Code == server.CodeNotFound) {
				return nil
			}
			list[i] = t
			if err != nil {
				return fmt.Errorf("incubation: certified trainee %s: %w", id, err)
			}
			return nil
		}
	}
	if err := par(fns); err != nil {
		return nil, err
	}
	out := make(map[string]*Trainee, len(ids))
	for i, t := range list {
		if t != nil {
			out[ids[i]] = t
		}
	}
	return out, nil
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
