// Package incubation follows trainees after training and tracks what they
// make of it: follow-up tasks and records, online shops and their monthly
// sales, incubation cohorts and milestones, leading enterprises, local
// brands, the county's product list, and the conversion funnel
// trained → certified → followed up → shop opened → selling → incubated.
//
// Every figure a dashboard shows comes from counter documents kept as the
// records are written (natural-key marker documents make each trainee count
// once per step); RecountFunnel recomputes them from the records.
package incubation

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/audit"
	"nongxun/regions"
	"nongxun/server"
	"nongxun/store"
)

// Trainee is what incubation needs to know of a trainee.
type Trainee struct {
	ID         string
	UserID     string
	Name       string
	Phone      string
	RegionID   string // village
	TownshipID string
	Groups     []string
}

// Trained is the "trained" step of the funnel: distinct trainees with at
// least one attendance, as the enrollment package counts them.
type Trained struct {
	Total      int64
	ByTownship map[string]int64
	ByGroup    map[string]int64
}

// Trainees is what incubation calls of the enrollment package.
type Trainees interface {
	// Trainee returns one trainee; server.NotFound when absent.
	Trainee(ctx context.Context, id string) (*Trainee, error)
	// TraineeByUser returns the trainee record of a trainee account.
	TraineeByUser(ctx context.Context, userID string) (*Trainee, error)
	// Trained reads the trained counters for the county ("") or a township.
	Trained(ctx context.Context, townshipID string) (*Trained, error)
}

// Assignees finds who follows a trainee up.
type Assignees interface {
	// CourseTrainer is the user id of the trainer of a course's last session, "" when unknown.
	CourseTrainer(ctx context.Context, courseID string) string
	// TownshipOfficer is the user id of an officer of the township, "" when none.
	TownshipOfficer(ctx context.Context, townshipID string) string
}

// Config holds the package's settings.
type Config struct {
	// FollowupDays are the offsets after a course ends at which follow-ups fall due.
	FollowupDays []int
	// AssignTo is "trainer" (the course's trainer, else the township officer) or "officer".
	AssignTo string
	// DueSoonDays: a user's list shows open tasks due within this many days.
	DueSoonDays int
}

// DefaultConfig is +30/+90/+180 days, assigned to the trainer.
func DefaultConfig() Config {
	return Config{FollowupDays: []int{30, 90, 180}, AssignTo: "trainer", DueSoonDays: 7}
}

// Deps are what the service is built from.
type Deps struct {
	Store     *store.Store
	Regions   *regions.Service
	Audit     *audit.Log
	Log       *slog.Logger
	Trainees  Trainees
	Assignees Assignees // may be nil: tasks then go unassigned (the office sees them)
	Config    Config
	// Now is the clock; time.Now when nil (tests move it).
	Now func() time.Time
}

// Service owns the incubation collections.
type Service struct {
	d   Deps
	st  *store.Store
	cfg Config

	tasks       *store.Collection // follow-up tasks, _id trainee/days
	followups   *store.Collection // follow-up records
	shops       *store.Collection
	shopURLs    *store.Collection // _id = normalised URL: one shop per URL
	salesHist   *store.Collection // replaced reports
	funnel      *store.Collection // funnel counters: the county's and one per township
	counters    *store.Collection // monthly, revenue and totals counters
	cohorts     *store.Collection
	members     *store.Collection // cohort membership, _id cohort/shop
	funnelMu    sync.Mutex
	funnelCache map[string]bson.M // embedded: funnel counter documents read since their last write
	dueMu       sync.Mutex
	dueKnown    map[string]bool                // due-index collection names (due.go)
	dueCache    map[string]map[string]dueEntry // embedded: due-index collections read so far
	dueLoaded   time.Time
	enterprises *store.Collection
	brands      *store.Collection
	products    *store.Collection
}

// New opens the service, declares its indexes and seeds the product list.
func New(ctx context.Context, d Deps) (*Service, error) {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	cfg := d.Config
	def := DefaultConfig()
	if len(cfg.FollowupDays) == 0 {
		cfg.FollowupDays = def.FollowupDays
	}
	if cfg.AssignTo == "" {
		cfg.AssignTo = def.AssignTo
	}
	if cfg.DueSoonDays <= 0 {
		cfg.DueSoonDays = def.DueSoonDays
	}
	st := d.Store
	s := &Service{d: d, st: st, cfg: cfg, dueCache: map[string]map[string]dueEntry{}, funnelCache: map[string]bson.M{},
		tasks: st.C("followup_tasks"), followups: st.C("followups"),
		shops: st.C("shops"), shopURLs: st.C("shop_urls"),
		salesHist: st.C("sales_history"),
		funnel:    st.C("funnel_counters"), counters: st.C("incubation_counters"),
		cohorts: st.C("cohorts"), members: st.C("cohort_members"),
		enterprises: st.C("enterprises"), brands: st.C("brands"), products: st.C("products"),
	}
	idx := []struct {
		c    *store.Collection
		keys bson.D
	}{
		{s.tasks, bson.D{{Key: "assignee_id", Value: 1}, {Key: "status", Value: 1}, {Key: "due_on", Value: 1}}},
		{s.tasks, bson.D{{Key: "township_id", Value: 1}, {Key: "status", Value: 1}, {Key: "due_on", Value: 1}}},
		{s.tasks, bson.D{{Key: "trainee_id", Value: 1}}},
		{s.followups, bson.D{{Key: "trainee_id", Value: 1}}},
		{s.shops, bson.D{{Key: "trainee_id", Value: 1}}},
		{s.shops, bson.D{{Key: "township_id", Value: 1}}},
		{s.salesHist, bson.D{{Key: "shop_id", Value: 1}, {Key: "month", Value: 1}}},
		{s.members, bson.D{{Key: "cohort_id", Value: 1}}},
		{s.members, bson.D{{Key: "shop_id", Value: 1}}},
	}
	for _, x := range idx {
		if err := x.c.Index(ctx, x.keys, false); err != nil {
			return nil, err
		}
	}
	if err := s.seedProducts(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Service) now() time.Time { return s.d.Now().UTC() }

// shanghai is China Standard Time (no daylight saving).
var shanghai = time.FixedZone("CST", 8*3600)

// monthOf is the "YYYY-MM" of t in Asia/Shanghai.
func monthOf(t time.Time) string { return t.In(shanghai).Format("2006-01") }

// dayOf is the "YYYY-MM-DD" of t in Asia/Shanghai.
func dayOf(t time.Time) string { return t.In(shanghai).Format("2006-01-02") }

// addMonths shifts a "YYYY-MM" month by n.
func addMonths(month string, n int) string {
	t, err := time.Parse("2006-01", month)
	if err != nil {
		return month
	}
	return t.AddDate(0, n, 0).Format("2006-01")
}

// audit records an action when an audit log is wired.
func (s *Service) audit(ctx context.Context, p *server.Principal, action, target string, detail map[string]any) {
	if s.d.Audit == nil {
		return
	}
	if err := s.d.Audit.Record(ctx, p, action, target, detail); err != nil {
		s.d.Log.Warn("audit record failed", "action", action, "err", err.Error())
	}
}

// undo collects the steps that take back a multi-step write which failed
// midway, so nothing is left half written.
type undo []func(ctx context.Context)

func (u *undo) add(f func(ctx context.Context)) { *u = append(*u, f) }

// fail runs the undo steps, latest first, and returns err.
func (u undo) fail(ctx context.Context, err error) error {
	bg := context.WithoutCancel(ctx)
	for i := len(u) - 1; i >= 0; i-- {
		u[i](bg)
	}
	return err
}
