package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// undoTimeout bounds the undo of a failed unit: it runs even when the
// request that started the unit has ended (its client hung up).
const undoTimeout = 30 * time.Second

// Unit is one step that writes several documents (an enrolment, its
// counters and an attendance record, say). MongoDB's guarantees are per
// document, so a unit keeps its own undo list: each write that succeeded
// leaves an undo, and if a later write fails every undo runs in reverse.
// An undo that fails is logged and recorded in store_repairs, so the next
// start (embedded) or the next recount (MongoDB) repairs what it touched
// (docs/design.md, "Units of work").
type Unit struct {
	s    *Store
	name string
	undo []undoStep
}

type undoStep struct {
	what string
	fn   func(ctx context.Context) error
}

// Unit runs fn as one unit of work named name (for logs and repairs). When
// fn returns an error, the undos registered so far run in reverse order and
// the error is returned.
func (s *Store) Unit(ctx context.Context, name string, fn func(u *Unit) error) error {
	u := &Unit{s: s, name: name}
	err := fn(u)
	if err != nil {
		u.rollback(ctx, err)
	}
	return err
}

// Do runs one write; when it succeeds, undo (may be nil for a write that
// needs none) is kept to run should a later write of the unit fail.
func (u *Unit) Do(ctx context.Context, what string, do, undo func(ctx context.Context) error) error {
	if err := do(ctx); err != nil {
		return err
	}
	if undo != nil {
		u.undo = append(u.undo, undoStep{what: what, fn: undo})
	}
	return nil
}

// OnFail registers the undo of a write the caller already made (when the
// write's result decides what to undo).
func (u *Unit) OnFail(what string, undo func(ctx context.Context) error) {
	u.undo = append(u.undo, undoStep{what: what, fn: undo})
}

func (u *Unit) rollback(ctx context.Context, cause error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), undoTimeout)
	defer cancel()
	for i := len(u.undo) - 1; i >= 0; i-- {
		st := u.undo[i]
		if err := st.fn(ctx); err != nil {
			u.s.log.Error("undo failed: data left for repair", "unit", u.name, "step", st.what, "cause", cause.Error(), "err", err.Error())
			if rerr := u.s.MarkRepair(ctx, u.name, st.what, err); rerr != nil {
				u.s.log.Error("cannot record the repair", "unit", u.name, "step", st.what, "err", rerr.Error())
			}
		}
	}
}

// Repair is a record of an undo that failed: the counters of Unit may be off.
type Repair struct {
	ID   string    `bson:"_id" json:"id"`
	Unit string    `bson:"unit" json:"unit"`
	Step string    `bson:"step" json:"step"`
	Err  string    `bson:"err" json:"err"`
	At   time.Time `bson:"at" json:"at"`
}

const repairsColl = "store_repairs"

// MarkRepair records that unit's step could not be undone, so that the data
// it touched is repaired by the next start (embedded) or recount.
func (s *Store) MarkRepair(ctx context.Context, unit, step string, cause error) error {
	msg := ""
	if cause != nil {
		msg = cause.Error()
	}
	return s.C(repairsColl).InsertOne(ctx, Repair{ID: NewID(), Unit: unit, Step: step, Err: msg, At: time.Now().UTC()})
}

// PendingRepairs lists the recorded repairs, oldest first.
func (s *Store) PendingRepairs(ctx context.Context) ([]Repair, error) {
	out := []Repair{}
	err := s.C(repairsColl).Find(ctx, bson.M{}, &out, options.Find().SetSort(bson.D{{Key: "at", Value: 1}}).SetLimit(1000))
	return out, err
}

// ClearRepairs forgets the recorded repairs (after the repairs have run).
func (s *Store) ClearRepairs(ctx context.Context) error {
	_, err := s.C(repairsColl).DeleteMany(ctx, bson.M{})
	return err
}

// RepairFunc rebuilds a package's counters (or other derived documents)
// from its records, reporting whether anything had drifted. It must be
// safe to run while other writers write (MongoDB: compute from records,
// set with conditional updates), as recount commands run it too.
type RepairFunc func(ctx context.Context) (drifted bool, err error)

type repairEntry struct {
	name string
	fn   RepairFunc
}

// OnRepair registers a package's repair; RunRepairs runs them in order.
func (s *Store) OnRepair(name string, fn RepairFunc) {
	s.bg.mu.Lock()
	s.bg.repairs = append(s.bg.repairs, repairEntry{name, fn})
	s.bg.mu.Unlock()
}

// RunRepairs runs every registered repair when the data may have drifted:
// on the embedded engine after an unclean stop or a recorded failed undo.
// On MongoDB it only reports recorded repairs: other nodes write meanwhile,
// so recounts there are explicit commands (docs/design.md, "Repairs").
func (s *Store) RunRepairs(ctx context.Context) error {
	pending, err := s.PendingRepairs(ctx)
	if err != nil {
		return err
	}
	if !s.embedded {
		for _, r := range pending {
			s.log.Warn("a failed undo left data to repair: run the recount commands", "unit", r.Unit, "step", r.Step, "at", r.At)
		}
		return nil
	}
	if !s.unclean && len(pending) == 0 {
		return nil
	}
	_, err = s.RepairAll(ctx)
	return err
}

// RepairReport says what one registered repair found.
type RepairReport struct {
	Name    string `json:"name"`
	Drifted bool   `json:"drifted"`
	Error   string `json:"error,omitempty"`
}

// RepairAll runs every registered repair now, on either engine (the
// explicit command: `nongxun repair`, POST /admin/repair), then drops every
// cache and, when all succeeded, the recorded repairs. Each repair is safe
// while others write (RepairFunc).
func (s *Store) RepairAll(ctx context.Context) ([]RepairReport, error) {
	s.bg.mu.Lock()
	list := append([]repairEntry(nil), s.bg.repairs...)
	s.bg.mu.Unlock()
	var errs []error
	out := make([]RepairReport, 0, len(list))
	for _, r := range list {
		drifted, err := r.fn(ctx)
		rep := RepairReport{Name: r.name, Drifted: drifted}
		if drifted {
			s.log.Warn(r.name + " had drifted from its records; rebuilt it")
		}
		if err != nil {
			rep.Error = err.Error()
			errs = append(errs, fmt.Errorf("%s: %w", r.name, err))
		}
		out = append(out, rep)
	}
	s.InvalidateCaches()
	if len(errs) > 0 {
		return out, errors.Join(errs...)
	}
	return out, s.ClearRepairs(ctx)
}
