package courses

import (
	"context"
	"sort"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/reports"
)

// This file is what the reports package reads of courses, in the reports'
// types. It is kept by the reports engineer; the courses engineer keeps it
// true when the collections it reads change.

// ReportSessions lists every session with its course's title, by start:
// the self-evaluation's evidence (an export: one read of the sessions and
// one of the courses, no loop per course). Present and photo counts are
// enrollment's (SessionEvidence).
func (s *Service) ReportSessions(ctx context.Context) ([]reports.SessionRow, error) {
	var sessions []Session
	if err := s.sessions.Find(ctx, bson.M{}, &sessions); err != nil {
		return nil, err
	}
	var list []Course
	if err := s.courses.Find(ctx, bson.M{}, &list); err != nil {
		return nil, err
	}
	title := make(map[string]string, len(list))
	for _, c := range list {
		title[c.ID] = c.Title
	}
	out := make([]reports.SessionRow, 0, len(sessions))
	for _, x := range sessions {
		out = append(out, reports.SessionRow{ID: x.ID, Course: title[x.CourseID], StartsAt: x.StartsAt.UTC(), Location: x.Location,
			TownshipID: x.TownshipID, Cancelled: x.Cancelled})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].StartsAt.Before(out[j].StartsAt) })
	return out, nil
}

// Teaches reports whether a trainer teaches a course: they made it or
// hold one of its sessions (as for materials, docs/api.md).
func (s *Service) Teaches(ctx context.Context, trainerID, courseID string) (bool, error) {
	c, err := s.Course(ctx, courseID)
	if err != nil {
		return false, err
	}
	if c.CreatedBy == trainerID {
		return true, nil
	}
	list, err := s.Sessions(ctx, courseID)
	if err != nil {
		return false, err
	}
	for _, x := range list {
		if x.TrainerID == trainerID {
			return true, nil
		}
	}
	return false, nil
}
