package courses

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/server"
	"nongxun/store"
)

// upgradeDaysID marks, in course_counters, that every session's trainer
// days were recorded (a restore of older data removes the mark with the
// data, so the upgrade runs again at the next start).
const upgradeDaysID = "upgrade/trainer-days-v1"

// upgrade brings data written before course ownership and trainer days
// up to date, once; both steps are idempotent.
//   - A course without makers gets as makers its creator and the trainers
//     of its sessions (they were allowed to act on it before), and no
//     assigned trainers.
//   - Every session not cancelled and not yet ended is recorded on its
//     trainer's days (older overlaps are logged and left as they are).
func (s *Service) upgrade(ctx context.Context) error {
	var old []Course
	if err := s.courses.Find(ctx, bson.M{"makers": bson.M{"$exists": false}}, &old); err != nil {
		return err
	}
	for _, c := range old {
		ss, err := s.Sessions(ctx, c.ID)
		if err != nil {
			return err
		}
		makers := []string{}
		if c.CreatedBy != "" {
			makers = append(makers, c.CreatedBy)
		}
		for _, x := range ss {
			if x.TrainerID != "" && !contains(makers, x.TrainerID) {
				makers = append(makers, x.TrainerID)
			}
		}
		if _, err := s.courses.UpdateIf(ctx, c.ID, store.Cond{"makers": bson.M{"$exists": false}},
			bson.M{"$set": bson.M{"makers": makers, "trainers": []string{}}}); err != nil {
			return err
		}
	}
	if len(old) > 0 {
		s.d.Log.Info("courses: recorded the makers of older courses", "courses", len(old))
	}

	var mark bson.M
	err := s.counters.Get(ctx, upgradeDaysID, &mark)
	if err == nil {
		return nil
	}
	if !store.IsNotFound(err) {
		return err
	}
	var live []Session
	if err := s.sessions.Find(ctx, bson.M{"cancelled": false, "ends_at": bson.M{"$gt": s.now().UTC()}}, &live); err != nil {
		return err
	}
	for _, x := range live {
		if x.TrainerID == "" {
			continue
		}
		err := s.claim(ctx, x.TrainerID, x.ID, x.StartsAt.UTC(), x.EndsAt.UTC())
		if e := server.ToError(err); err != nil && e.Code == server.CodeConflict {
			s.d.Log.Warn("courses: an older session overlaps another of its trainer", "session_id", x.ID, "err", e.Message)
			continue
		}
		if err != nil {
			return err
		}
	}
	_, err = s.counters.InsertIfAbsent(ctx, bson.M{"_id": upgradeDaysID, "at": time.Now().UTC(), "sessions": len(live)})
	return err
}
