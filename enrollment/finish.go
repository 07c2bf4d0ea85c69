package enrollment

import (
	"context"
	"sort"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/events"
	"nongxun/store"
)

// finishEvery is how often the courses whose last session has ended are looked for.
const finishEvery = 10 * time.Minute

// CheckFinished publishes events.CourseFinished once per present trainee
// of every course whose last non-cancelled session has ended. Marking the
// course done (a conditional update: one node wins) and publishing are one
// unit of work, so the events are published exactly when the mark is set.
func (s *Service) CheckFinished(ctx context.Context) error {
	counts, err := s.enrolledCounts(ctx)
	if err != nil {
		return err
	}
	done, err := s.counters.Counter(ctx, finishedDoc)
	if err != nil {
		return err
	}
	marked := map[string]bool{}
	if m, ok := done["done"].(bson.M); ok {
		for k := range m {
			marked[k] = true
		}
	} else if d, ok := done["done"].(bson.D); ok {
		for _, e := range d {
			marked[e.Key] = true
		}
	}
	ids := make([]string, 0, len(counts))
	for cid := range counts {
		if !marked[cid] {
			ids = append(ids, cid)
		}
	}
	sort.Strings(ids)
	now := s.now()
	for _, cid := range ids {
		ct, err := s.courseTimes(ctx, cid)
		if err != nil {
			continue // a course deleted or unreadable: looked at again next time
		}
		if !ct.finished(now) {
			continue
		}
		if err := s.finish(ctx, cid, now); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) finish(ctx context.Context, courseID string, now time.Time) error {
	present, err := s.PresentSessions(ctx, courseID)
	if err != nil {
		return err
	}
	if _, err := s.counters.InsertIfAbsent(ctx, bson.M{"_id": finishedDoc}); err != nil {
		return err
	}
	f := "done." + courseID
	return s.st.Unit(ctx, "enrollment.course_finished", func(u *store.Unit) error {
		won := false
		if err := u.Do(ctx, "mark the course finished", func(ctx context.Context) error {
			var err error
			won, err = s.counters.UpdateIf(ctx, finishedDoc, store.Cond{f: nil}, bson.M{"$set": bson.M{f: now.UTC()}})
			return err
		}, func(ctx context.Context) error {
			if !won {
				return nil
			}
			_, err := s.counters.UpdateOne(ctx, bson.M{"_id": finishedDoc}, bson.M{"$unset": bson.M{f: ""}})
			return err
		}); err != nil || !won {
			return err
		}
		tids := make([]string, 0, len(present))
		for t := range present {
			tids = append(tids, t)
		}
		sort.Strings(tids)
		msgs := make([]store.Message, 0, len(tids))
		for _, t := range tids {
			msgs = append(msgs, store.Message{Key: courseID + "/" + t, Payload: events.Finished{CourseID: courseID, TraineeID: t, At: now.UTC()}})
		}
		return s.st.Events().Publish(ctx, events.CourseFinished, msgs...)
	})
}

// Start runs the periodic course-finished check as a background task of
// the store until it closes (the store's context, not ctx, bounds it).
func (s *Service) Start(_ context.Context) {
	s.st.Go("enrollment course-finished check", func(ctx context.Context) {
		t := time.NewTicker(finishEvery)
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
	})
}
