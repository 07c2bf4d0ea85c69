package courses

import (
	"context"

	"nongxun/clock"
)

// This file holds what the enrollment package reads of courses beyond
// Course, Session, Sessions and SessionsByTrainer.

// SessionsOn returns the sessions (cancelled included) that overlap the
// day "YYYY-MM-DD" in Asia/Shanghai, by StartsAt, from the months' lists (lists.go). Enrollment matches a
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
	var out []Session
	seen := map[string]bool{}
	for _, m := range []string{clock.Month(start.Add(-maxSessionLength)), clock.Month(start)} {
		if seen[m] {
			continue
		}
		seen[m] = true
		list, err := s.listed(ctx, monthList(m))
		if err != nil {
			return nil, err
		}
		for _, x := range list {
			if x.StartsAt.Before(end) && x.EndsAt.After(start) {
				out = append(out, x)
			}
		}
	}
	return out, nil
}
