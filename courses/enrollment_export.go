package courses

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/clock"
)

// This file holds what the enrollment package reads of courses beyond
// Course, Session, Sessions and SessionsByTrainer.

// SessionsOn returns the sessions (cancelled included) that overlap the
// day "YYYY-MM-DD" in Asia/Shanghai, by StartsAt. Enrollment matches a
// typed 6-digit check-in code against the sessions held now with it, for
// any trainee, enrolled or not (API.md, "Accounts"). A session lasts at
// most maxSessionLength, so one starting more than that before the day
// cannot overlap it.
func (s *Service) SessionsOn(ctx context.Context, day string) ([]Session, error) {
	start, err := clock.ParseDay(day)
	if err != nil {
		return nil, err
	}
	end := start.AddDate(0, 0, 1)
	f := bson.M{"starts_at": bson.M{"$gte": start.Add(-maxSessionLength), "$lt": end}, "ends_at": bson.M{"$gt": start}}
	return s.findSessions(ctx, f, func(x *Session) bool { return x.StartsAt.Before(end) && x.EndsAt.After(start) })
}
