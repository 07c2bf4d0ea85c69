// Package incubation follows trainees after training and tracks what they
// make of it: follow-up tasks and records, online shops and their monthly
// sales, incubation cohorts and milestones, leading enterprises, local
// brands, the county's product list, and the conversion funnel
// trained → certified → followed up → shop opened → selling → incubated.
//
// Every figure a dashboard shows comes from small counter documents read
// by _id, kept as the records are written (natural-key marker documents
// make each trainee count once per step); RecountFunnel recomputes them
// from the records (docs/design.md, "The `_id` path index", "Repairs").
package incubation

import (
	"context"
	"log/slog"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/audit"
	"nongxun/clock"
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
}

// Config holds the package's settings.
type Config struct {
	// FollowupDays are the offsets after a course ends at which follow-ups fall due.
	FollowupDays []int
	// AssignTo is "trainer" (the course's trainer, else the township's
	// officers) or "officer" (always the township's officers).
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
	Assignees Assignees // may be nil: tasks then go to the township's officers
	Config    Config
	// Now is the clock; time.Now when nil (tests move it).
	Now func() time.Time
}

// Collection names: fixed, the same on both engines (backups restore across them).
const (
	collTasks       = "followup_tasks"
	collDue         = "followup_due"
	collFollowups   = "followups"
	collShops       = "shops"
	collShopURLs    = "shop_urls"
	collSalesHist   = "sales_history"
	collFunnel      = "funnel_counters"
	collCounters    = "incubation_counters"
	collCohorts     = "cohorts"
	collMembers     = "cohort_members"
	collEnterprises = "enterprises"
	collBrands      = "brands"
	collProducts    = "products"
	collNames       = "incubation_names"
	markPrefix      = "funnel_marks_"
)

// Service owns the incubation collections.
type Service struct {
	d   Deps
	st  *store.Store
	cfg Config

	tasks       *store.Collection // follow-up tasks, _id trainee/days
	due         *store.Collection // the due lists' index documents (due.go)
	followups   *store.Collection // follow-up records
	shops       *store.Collection
	shopURLs    *store.Collection // _id = normalised URL: one shop per URL
	salesHist   *store.Collection // replaced reports
	funnel      *store.Collection // funnel counters (funnel.go)
	counters    *store.Collection // monthly, revenue and totals counters
	cohorts     *store.Collection
	members     *store.Collection // cohort membership, _id cohort/shop
	enterprises *store.Collection
	brands      *store.Collection
	products    *store.Collection
	names       *store.Collection // _id kind/name: one record per name (registry.go)
}

// New opens the service, creates its collections, declares its indexes
// and seeds the product list.
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
	names := []string{collTasks, collDue, collFollowups, collShops, collShopURLs, collSalesHist, collFunnel, collCounters,
		collCohorts, collMembers, collEnterprises, collBrands, collProducts, collNames}
	for _, step := range allMarkSteps {
		names = append(names, markPrefix+step)
	}
	if err := st.Ensure(ctx, names...); err != nil {
		return nil, err
	}
	s := &Service{d: d, st: st, cfg: cfg,
		tasks: st.C(collTasks), due: st.C(collDue), followups: st.C(collFollowups),
		shops: st.C(collShops), shopURLs: st.C(collShopURLs), salesHist: st.C(collSalesHist),
		funnel: st.C(collFunnel), counters: st.C(collCounters),
		cohorts: st.C(collCohorts), members: st.C(collMembers),
		enterprises: st.C(collEnterprises), brands: st.C(collBrands), products: st.C(collProducts), names: st.C(collNames),
	}
	// Secondary indexes: MongoDB uses them for the lists and exports that
	// filter; the embedded engine reads by _id on every hot path.
	idx := []struct {
		c    *store.Collection
		keys bson.D
	}{
		{s.tasks, bson.D{{Key: "assignee_id", Value: 1}, {Key: "status", Value: 1}, {Key: "due_on", Value: 1}}},
		{s.tasks, bson.D{{Key: "township_id", Value: 1}, {Key: "status", Value: 1}, {Key: "due_on", Value: 1}}},
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
	if err := s.claimExistingNames(ctx); err != nil {
		return nil, err
	}
	if err := s.seedProducts(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Service) now() time.Time { return s.d.Now().UTC() }

// addMonths shifts a "YYYY-MM" month by n.
func addMonths(month string, n int) string {
	t, err := clock.ParseMonth(month)
	if err != nil {
		return month
	}
	return clock.Month(t.AddDate(0, n, 0))
}

// audit notes an action in the audit log (a failed write is logged, never dropped).
func (s *Service) audit(ctx context.Context, p *server.Principal, action, target string, detail map[string]any) {
	s.d.Audit.Note(ctx, p, action, target, detail)
}

// errNotMatched says a conditional write's document no longer holds what
// it held: an undo that finds this leaves the data for the recount.
type errNotMatched string

func (e errNotMatched) Error() string { return "incubation: " + string(e) + " changed meanwhile" }

// must turns a conditional write that matched nothing into an error (for undos).
func must(ok bool, err error, what string) error {
	if err == nil && !ok {
		return errNotMatched(what)
	}
	return err
}

// par runs fns at most 8 at a time and returns the first error. Reads of
// several small documents by _id go this way, so a page waits for the
// slowest read instead of their sum.
func par(fns []func() error) error {
	sem := make(chan struct{}, 8)
	errs := make(chan error, len(fns))
	for _, fn := range fns {
		sem <- struct{}{}
		go func(fn func() error) {
			defer func() { <-sem }()
			errs <- fn()
		}(fn)
	}
	var first error
	for range fns {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}
