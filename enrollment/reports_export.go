package enrollment

import (
	"context"

	"nongxun/clock"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"nongxun/reports"
	"nongxun/server"
	"nongxun/store"
)

// This file is what the reports and incubation packages read of
// enrollment, in their own types, without a JSON round-trip and without a
// per-course or per-session loop on a request path. It is kept by the
// reports engineer; the enrollment engineer keeps it true when the
// counters or collections it reads change.

// TrainedCounts is the "trained" step of the conversion funnel: distinct
// trainees with at least one attendance.
type TrainedCounts struct {
	Total      int64
	ByTownship map[string]int64 // county only
	ByGroup    map[string]int64
}

// TrainedFigures reads the distinct-trainee counters of the county ("")
// or one township from the counter documents (one or two reads).
func (s *Service) TrainedFigures(ctx context.Context, townshipID string) (*TrainedCounts, error) {
	c, err := s.counterDoc(ctx, countyCounter)
	if err != nil {
		return nil, err
	}
	out := &TrainedCounts{ByTownship: map[string]int64{}}
	if townshipID != "" {
		tw, err := s.counterDoc(ctx, townshipCounter(townshipID))
		if err != nil {
			return nil, err
		}
		out.Total = c["trainees_by_township"][townshipID]
		out.ByTownship[townshipID] = out.Total
		out.ByGroup = orEmpty(tw["trainees_by_group"])
		return out, nil
	}
	out.Total = c["trainees"][""]
	out.ByGroup = orEmpty(c["trainees_by_group"])
	for t, n := range c["trainees_by_township"] {
		if t != key("") && n != 0 {
			out.ByTownship[t] = n
		}
	}
	return out, nil
}

// ReportProgress is the person-time progress in the reports' type.
func (s *Service) ReportProgress(ctx context.Context, townshipID string) (*reports.Progress, error) {
	p, err := s.Progress(ctx, townshipID)
	if err != nil {
		return nil, err
	}
	return &reports.Progress{Target: p.Target, PersonTimes: p.PersonTimes, Trainees: p.Trainees,
		ByTownship: p.ByTownship, ByGroup: p.ByGroup, ByMonth: p.ByMonth}, nil
}

// ReportRoster lists the trainees of a township ("" = all) for the
// archive roster, masked: names as 张**, ID numbers as stored (masked).
// An export: it pages through the trainees once.
func (s *Service) ReportRoster(ctx context.Context, townshipID string, village func(regionID string) string) ([]reports.TraineeRow, error) {
	var out []reports.TraineeRow
	const page = 500 // List's largest page
	for skip := int64(0); ; skip += page {
		list, err := s.List(ctx, ListFilter{TownshipID: townshipID, Limit: page, Skip: skip})
		if err != nil {
			return nil, err
		}
		for _, t := range list {
			out = append(out, reports.TraineeRow{Name: reports.MaskName(t.Name), Gender: t.Gender, IDMasked: t.IDMasked, Phone: t.Phone,
				TownshipID: t.TownshipID, Village: village(t.RegionID), Groups: t.Groups, CreatedAt: t.CreatedAt})
		}
		if len(list) < page {
			return out, nil
		}
	}
}

// SessionFor reads a session for p the way enrollment's session routes do
// (GET /sessions/:id/attendance and the rest, sessionParam): an officer of
// another township gets "not found". Routes of other packages that serve
// a record or a file derived from a session's records go through it. The
// course title and the trainer's name come along for the sign-in sheet.
func (s *Service) SessionFor(ctx context.Context, p *server.Principal, id string) (*reports.SessionInfo, error) {
	sess, err := s.d.Courses.Session(ctx, id)
	if err != nil {
		return nil, err
	}
	if !p.SeesTownship(sess.TownshipID) {
		return nil, server.NotFound("班次不存在")
	}
	out := &reports.SessionInfo{ID: sess.ID, CourseID: sess.CourseID, TownshipID: sess.TownshipID, TrainerID: sess.TrainerID,
		Location: sess.Location, StartsAt: sess.StartsAt, Cancelled: sess.Cancelled}
	if c, err := s.d.Courses.Course(ctx, sess.CourseID); err == nil {
		out.Course = c.Title
	}
	if s.d.Users != nil {
		out.Trainer = s.d.Users.DisplayName(ctx, sess.TrainerID)
	}
	return out, nil
}

// ReportSignIn is a session's sign-in sheet rows (names and ID numbers
// masked, the check-in date and time as the phone scanned it, else as
// recorded) and its sign-in photos.
func (s *Service) ReportSignIn(ctx context.Context, sessionID string) ([]reports.SignInRow, []string, error) {
	att, err := s.SessionAttendance(ctx, sessionID)
	if err != nil {
		return nil, nil, err
	}
	ids := make([]string, 0, len(att))
	for _, a := range att {
		ids = append(ids, a.TraineeID)
	}
	ts, err := s.Trainees(ctx, ids)
	if err != nil {
		return nil, nil, err
	}
	photos, err := s.SignInPhotos(ctx, sessionID)
	if err != nil {
		return nil, nil, err
	}
	rows := make([]reports.SignInRow, 0, len(att))
	for _, a := range att {
		t := ts[a.TraineeID]
		at := a.At
		if a.ScannedAt != nil && !a.ScannedAt.IsZero() {
			at = *a.ScannedAt
		}
		rows = append(rows, reports.SignInRow{Name: reports.MaskName(t.Name), IDMasked: reports.MaskID(t.IDMasked), Phone: t.Phone,
			Status: a.Status, At: at, Method: a.Method})
	}
	return rows, photos, nil
}

// SessionEvidence gives, for the sessions of months (YYYY-MM), how many
// were present at each (from the per-day session counters, one read a
// day) and how many sign-in sheet photos each has (one read of the
// photos): the self-evaluation's evidence, without a loop per session.
func (s *Service) SessionEvidence(ctx context.Context, months []string) (present, photos map[string]int64, err error) {
	present, photos = map[string]int64{}, map[string]int64{}
	seen := map[string]bool{}
	for _, m := range months {
		first, err := clock.ParseMonth(m)
		if err != nil || seen[m] {
			continue
		}
		seen[m] = true
		for d := first; d.Before(first.AddDate(0, 1, 0)); d = d.AddDate(0, 0, 1) {
			doc, err := s.counters.Counter(ctx, sessionsCounter(clock.Day(d)))
			if err != nil {
				return nil, nil, err
			}
			for k, v := range doc {
				if k != "_id" {
					present[k] += store.Int64(v)
				}
			}
		}
	}
	var list []Photo
	if err := s.photos.Find(ctx, bson.M{}, &list, options.Find().SetProjection(bson.M{"session_id": 1})); err != nil {
		return nil, nil, err
	}
	for _, p := range list {
		photos[p.SessionID]++
	}
	return present, photos, nil
}
