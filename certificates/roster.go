package certificates

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"nongxun/enrollment"
	"nongxun/store"
)

// manyPeople is where People stops asking enrollment for trainees by id:
// Trainees sends $in lists of 1,000 ids, and the embedded engine decodes the
// whole trainee collection once per list (DESIGN.md, fact 2), so 10,000 ids
// cost ten full scans (over a minute on a loaded 2-core machine).
const manyPeople = 1000

// EnrollmentRoster is the Roster of the enrollment service. Trainees, when
// set, is enrollment's trainee collection, read (never written) in one scan
// for a large roster; this is a stopgap until enrollment offers a bulk read
// that scans once, and the only place certificates reads another package's data.
type EnrollmentRoster struct {
	S        *enrollment.Service
	Trainees *store.Collection
}

// People returns the known trainees among ids.
func (r EnrollmentRoster) People(ctx context.Context, ids []string) (map[string]Person, error) {
	out := make(map[string]Person, len(ids))
	add := func(t enrollment.Trainee) {
		out[t.ID] = Person{ID: t.ID, UserID: t.UserID, Name: t.Name, TownshipID: t.TownshipID}
	}
	rest := ids
	if len(ids) > manyPeople && r.Trainees != nil {
		want := make(map[string]bool, len(ids))
		for _, id := range ids {
			want[id] = true
		}
		cur, err := r.Trainees.Cursor(ctx, bson.M{}, options.Find().SetProjection(bson.M{"_id": 1, "user_id": 1, "name": 1, "township_id": 1}))
		if err != nil {
			return nil, err
		}
		defer cur.Close(ctx)
		for cur.Next(ctx) {
			var t enrollment.Trainee
			if err := cur.Decode(&t); err != nil {
				return nil, err
			}
			if want[t.ID] {
				add(t)
			}
		}
		if err := cur.Err(); err != nil {
			return nil, err
		}
		rest = nil
		for _, id := range ids {
			if _, ok := out[id]; !ok {
				rest = append(rest, id)
			}
		}
	}
	if len(rest) > 0 {
		ts, err := r.S.Trainees(ctx, rest)
		if err != nil {
			return nil, err
		}
		for _, t := range ts {
			add(t)
		}
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
