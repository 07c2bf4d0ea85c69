package certificates

import (
	"context"

	"nongxun/enrollment"
)

// EnrollmentRoster is the Roster of the enrollment service.
type EnrollmentRoster struct {
	S *enrollment.Service
}

// People returns the known trainees among ids (enrollment reads a long
// list in one scan).
func (r EnrollmentRoster) People(ctx context.Context, ids []string) (map[string]Person, error) {
	ts, err := r.S.Trainees(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]Person, len(ts))
	for _, t := range ts {
		out[t.ID] = Person{ID: t.ID, UserID: t.UserID, Name: t.Name, TownshipID: t.TownshipID}
	}
	return out, nil
}

// PersonByUser returns the trainee of a trainee account.
func (r EnrollmentRoster) PersonByUser(ctx context.Context, userID string) (*Person, error) {
	t, err := r.S.TraineeByUser(ctx, userID)
	if err != nil {
		return nil, err
	}
	return &Person{ID: t.ID, UserID: t.UserID, Name: t.Name, TownshipID: t.TownshipID}, nil
}

// Enrolled lists the course's enrolled trainee ids.
func (r EnrollmentRoster) Enrolled(ctx context.Context, courseID string) ([]string, error) {
	return r.S.EnrolledTrainees(ctx, courseID)
}

// Present maps each trainee to the sessions of the course they attended.
func (r EnrollmentRoster) Present(ctx context.Context, courseID string) (map[string][]string, error) {
	return r.S.PresentSessions(ctx, courseID)
}
