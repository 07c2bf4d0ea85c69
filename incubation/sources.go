package incubation

import (
	"context"
	"fmt"
	"sync"

	"nongxun/certificates"
	"nongxun/courses"
	"nongxun/enrollment"
	"nongxun/regions"
	"nongxun/users"
)

// CertificateIssued counts the trainee as certified (once, however often
// the hook is delivered) and schedules their follow-ups (certificates'
// OnIssued hook).
func (s *Service) CertificateIssued(ctx context.Context, c certificates.Certificate) {
	if s.d.Trainees == nil {
		return
	}
	t, err := s.d.Trainees.Trainee(ctx, c.TraineeID)
	if err != nil {
		s.d.Log.Error("certified trainee not found", "trainee_id", c.TraineeID, "certificate_id", c.ID, "err", err.Error())
		return
	}
	if _, err := s.count(ctx, StepCertified, whoOf(t)); err != nil {
		s.d.Log.Error("funnel count failed", "step", StepCertified, "trainee_id", t.ID, "err", err.Error())
	}
	at := c.IssuedAt
	if at.IsZero() {
		at = s.now()
	}
	if _, err := s.Schedule(ctx, t.ID, c.CourseID, "certificate", at); err != nil {
		s.d.Log.Error("scheduling follow-ups failed", "trainee_id", t.ID, "course_id", c.CourseID, "err", err.Error())
	}
}

// CertificateRevoked takes the trainee off the "certified" step when the
// revoked certificate was their last valid one (wired to certificates'
// OnRevoked). Their follow-up tasks stay: they were trained all the same.
func (s *Service) CertificateRevoked(ctx context.Context, c certificates.Certificate, othersValid int64) {
	if othersValid > 0 {
		return
	}
	if err := s.uncount(ctx, StepCertified, c.TraineeID); err != nil {
		s.d.Log.Error("funnel uncount failed", "step", StepCertified, "trainee_id", c.TraineeID, "err", err.Error())
	}
}

// enrollmentSource adapts the enrollment service to Trainees.
type enrollmentSource struct {
	e       *enrollment.Service
	regions *regions.Service

	mu    sync.Mutex
	key   string           // the county figures byTwp was read at
	byTwp map[string]int64 // trained by township
}

// FromEnrollment makes the Trainees source from the enrollment service.
func FromEnrollment(e *enrollment.Service, r *regions.Service) Trainees {
	return &enrollmentSource{e: e, regions: r}
}

func toTrainee(t *enrollment.Trainee) *Trainee {
	return &Trainee{ID: t.ID, UserID: t.UserID, Name: t.Name, Phone: t.Phone, RegionID: t.RegionID, TownshipID: t.TownshipID, Groups: t.Groups}
}

func (x *enrollmentSource) Trainee(ctx context.Context, id string) (*Trainee, error) {
	t, err := x.e.Trainee(ctx, id)
	if err != nil {
		return nil, err
	}
	return toTrainee(t), nil
}

func (x *enrollmentSource) TraineeByUser(ctx context.Context, userID string) (*Trainee, error) {
	t, err := x.e.TraineeByUser(ctx, userID)
	if err != nil {
		return nil, err
	}
	return toTrainee(t), nil
}

// Trained reads enrollment's distinct-trainee counters: the county's (or
// the township's), and for the county each township's (enrollment keeps
// its county counter document in memory, so these are map reads).
func (x *enrollmentSource) Trained(ctx context.Context, townshipID string) (*Trained, error) {
	p, err := x.e.Progress(ctx, townshipID)
	if err != nil {
		return nil, err
	}
	out := &Trained{Total: p.Trainees, ByGroup: p.TraineesByGroup, ByTownship: map[string]int64{}}
	if townshipID != "" {
		out.ByTownship[townshipID] = p.Trainees
		return out, nil
	}
	// A township's trained count moves only with a person-time in that
	// township (a trainee is counted where they attended), so while the
	// county's trainees and person-times by township are unchanged, the
	// per-township counts read last time still hold.
	key := fmt.Sprint(p.Trainees, p.PersonTimes, p.ByTownship) // fmt sorts map keys
	x.mu.Lock()
	defer x.mu.Unlock()
	if key != x.key {
		by := map[string]int64{}
		for _, t := range x.regions.Townships(ctx) {
			tp, err := x.e.Progress(ctx, t.ID)
			if err != nil {
				return nil, err
			}
			if tp.Trainees != 0 {
				by[t.ID] = tp.Trainees
			}
		}
		x.key, x.byTwp = key, by
	}
	for t, n := range x.byTwp {
		out.ByTownship[t] = n
	}
	return out, nil
}

// assignees finds the trainer of a course's last session and a township's officer.
type assignees struct {
	courses *courses.Service
	users   *users.Service
}

// AssigneesFrom makes the Assignees from the courses and users services.
func AssigneesFrom(c *courses.Service, u *users.Service) Assignees {
	return &assignees{courses: c, users: u}
}

func (a *assignees) CourseTrainer(ctx context.Context, courseID string) string {
	if a.courses == nil {
		return ""
	}
	list, err := a.courses.Sessions(ctx, courseID)
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

func (a *assignees) TownshipOfficer(ctx context.Context, townshipID string) string {
	if a.users == nil || townshipID == "" {
		return ""
	}
	list, err := a.users.List(ctx, "officer")
	if err != nil {
		return ""
	}
	for _, u := range list {
		if u.TownshipID == townshipID && !u.Disabled {
			return u.ID
		}
	}
	return ""
}
