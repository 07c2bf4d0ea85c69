package courses

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/clock"
	"nongxun/server"
	"nongxun/store"
)

// A trainer cannot hold two sessions at once. Each trainer has one small
// document per day (Asia/Shanghai) listing the sessions they hold that
// day, with a version; a session of at most 12 hours touches one or two
// days, and two sessions that overlap share at least one of them. Claiming
// a day reads it by _id, checks the overlap in Go and writes it back only
// if its version is still the one read (UpdateIf), so two app nodes on
// MongoDB cannot both pass the check (docs/design.md, "Conditional
// updates"). The days are claimed in date order; a claim that fails gives
// back the days it took.

type daySlot struct {
	Session string    `bson:"session"`
	From    time.Time `bson:"from"`
	To      time.Time `bson:"to"`
}

type trainerDay struct {
	ID    string    `bson:"_id"` // trainerID/YYYY-MM-DD
	Ver   int64     `bson:"ver"`
	Slots []daySlot `bson:"slots"`
}

// claimRetries bounds the re-reads of a day that others keep changing.
const claimRetries = 30

// daysOf lists the days (YYYY-MM-DD, Asia/Shanghai) that [from, to) touches.
func daysOf(from, to time.Time) []string {
	last := clock.Day(to.Add(-time.Millisecond))
	var out []string
	for d := from; ; d = d.Add(24 * time.Hour) {
		day := clock.Day(d)
		out = append(out, day)
		if day >= last || len(out) > 3 {
			break
		}
	}
	if out[len(out)-1] != last {
		out = append(out, last)
	}
	return out
}

func dayID(trainerID, day string) string { return trainerID + "/" + day }

// editDay rewrites one trainer day with fn (given the slots as read), by
// a versioned conditional update, retrying when someone else wrote it.
func (s *Service) editDay(ctx context.Context, id string, fn func(slots []daySlot) ([]daySlot, error)) error {
	for i := 0; i < claimRetries; i++ {
		var doc trainerDay
		err := s.days.Get(ctx, id, &doc)
		if err != nil && !store.IsNotFound(err) {
			return err
		}
		absent := err != nil
		slots, err := fn(doc.Slots)
		if err != nil {
			return err
		}
		if absent {
			if len(slots) == 0 {
				return nil
			}
			ok, err := s.days.InsertIfAbsent(ctx, trainerDay{ID: id, Ver: 1, Slots: slots})
			if err != nil || ok {
				return err
			}
			continue // made meanwhile by another writer: read it
		}
		if slots == nil {
			slots = []daySlot{}
		}
		ok, err := s.days.UpdateIf(ctx, id, store.Cond{"ver": doc.Ver}, bson.M{"$set": bson.M{"slots": slots}, "$inc": bson.M{"ver": int64(1)}})
		if err != nil || ok {
			return err
		}
	}
	return server.Conflict("该讲师的日程刚被修改，请重试")
}

// claim records that trainerID holds session id over [from, to) on every
// day it touches, refusing an overlap with another of their sessions. A
// session already recorded is moved to the new times. The days the
// session held before and no longer touches are given back by release.
func (s *Service) claim(ctx context.Context, trainerID, id string, from, to time.Time) error {
	var done []string
	for _, day := range daysOf(from, to) {
		dID := dayID(trainerID, day)
		var clash string
		err := s.editDay(ctx, dID, func(slots []daySlot) ([]daySlot, error) {
			out := make([]daySlot, 0, len(slots)+1)
			for _, sl := range slots {
				if sl.Session == id {
					continue
				}
				if sl.From.Before(to) && from.Before(sl.To) {
					clash = sl.Session
					return nil, errClash
				}
				out = append(out, sl)
			}
			return append(out, daySlot{Session: id, From: from.UTC(), To: to.UTC()}), nil
		})
		if err == errClash {
			err = s.overlapError(ctx, clash)
		}
		if err != nil {
			for _, d := range done {
				if rerr := s.releaseDay(ctx, d, id); rerr != nil {
					s.d.Log.Error("courses: giving back a trainer day", "day", d, "session_id", id, "err", rerr.Error())
				}
			}
			return err
		}
		done = append(done, dID)
	}
	return nil
}

var errClash = fmt.Errorf("overlap")

// release gives back the days of [from, to) that session id holds.
func (s *Service) release(ctx context.Context, trainerID, id string, from, to time.Time) error {
	for _, day := range daysOf(from, to) {
		if err := s.releaseDay(ctx, dayID(trainerID, day), id); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) releaseDay(ctx context.Context, dID, id string) error {
	return s.editDay(ctx, dID, func(slots []daySlot) ([]daySlot, error) {
		out := make([]daySlot, 0, len(slots))
		for _, sl := range slots {
			if sl.Session != id {
				out = append(out, sl)
			}
		}
		return out, nil
	})
}

// overlapError names the session a new one collides with.
func (s *Service) overlapError(ctx context.Context, otherID string) error {
	o, err := s.Session(ctx, otherID)
	if err != nil {
		e := server.Conflict("讲师在该时段已有班次（班次编号 " + otherID + "）")
		e.Fields = map[string]string{"session_id": otherID}
		return e
	}
	title := "未知课程"
	if c, err := s.Course(ctx, o.CourseID); err == nil {
		title = c.Title
	}
	e := server.Conflict(fmt.Sprintf("讲师在该时段已有班次：《%s》%s–%s，%s（班次编号 %s）",
		title, clock.Show(o.StartsAt), o.EndsAt.In(clock.Shanghai).Format("15:04"), o.Location, o.ID))
	e.Fields = map[string]string{"session_id": o.ID}
	return e
}
