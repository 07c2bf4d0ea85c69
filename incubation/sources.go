package incubation

import (
	"context"

	"nongxun/courses"
	"nongxun/enrollment"
)

// enrollmentSource adapts the enrollment service to Trainees.
type enrollmentSource struct{ e *enrollment.Service }

// FromEnrollment makes the Trainees source from the enrollment service.
func FromEnrollment(e *enrollment.Service) Trainees { return enrollmentSource{e: e} }

func toTrainee(t *enrollment.Trainee) *Trainee {
	return &Trainee{ID: t.ID, UserID: t.UserID, Name: t.Name, Phone: t.Phone, RegionID: t.RegionID, TownshipID: t.TownshipID, Groups: t.Groups}
}

func (x enrollmentSource) Trainee(ctx context.Context, id string) (*Trainee, error) {
	t, err := x.e.Trainee(ctx, id)
	if err != nil {
		return nil, err
	}
	return toTrainee(t), nil
}

func (x enrollmentSource) TraineeByUser(ctx context.Context, userID string) (*Trainee, error) {
	t, err := x.e.TraineeByUser(ctx, userID)
	if err != nil {
		return nil, err
	}
	return toTrainee(t), nil
}

// Trained reads enrollment's distinct-trainee counters: the county's (with
// each township's) or one township's, in one read of its counters.
func (x enrollmentSource) Trained(ctx context.Context, townshipID string) (*Trained, error) {
	f, err := x.e.TrainedFigures(ctx, townshipID)
	if err != nil {
		return nil, err
	}
	return &Trained{Total: f.Total, ByTownship: f.ByTownship, ByGroup: f.ByGroup}, nil
}

// courseTrainers finds the trainer of a course's last session.
type courseTrainers struct{ c *courses.Service }

// AssigneesFrom makes the Assignees from the courses service.
func AssigneesFrom(c *courses.Service) Assignees { return courseTrainers{c: c} }

func (a courseTrainers) CourseTrainer(ctx context.Context, courseID string) string {
	if a.c == nil {
		return ""
	}
	list, err := a.c.Sessions(ctx, courseID)
	if err != nil {
		return ""
	}
	for i := len(list) - 1; i >= 0; i-- {
		if !list[i].Cancelled && list[i].TrainerID != "" {
			return list[i].TrainerID
		}
	}
	return ""
}
