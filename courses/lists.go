package courses

import (
	"context"
	"sort"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/clock"
	"nongxun/store"
)

// The sessions of a course and of a trainer are read on most pages and on
// every check-in, and a filtered find decodes every stored session on the
// embedded engine (docs/design.md, "Scans": 50–70 ms with 500 stored). So
// each list is kept as a pack (docs/design.md, "Packs"): "course/<id>" and
// "trainer/<id>" and "month/<YYYY-MM>" in course_session_lists, holding whole sessions, changed
// as the last step of every unit that writes a session and rebuilt from
// the sessions by the repair.
const (
	collLists = "course_session_lists"
	// maxListed bounds one list: a course or a trainer with this many
	// sessions is years of daily sessions.
	maxListed = 5000
	// upgradeListsID marks, in course_counters, that the lists were built
	// from the sessions (data from before the lists, or a restore of it).
	upgradeListsID = "upgrade/session-lists-v2"
)

func newLists(st *store.Store) *store.Pack[Session] {
	return store.NewPack[Session](st, collLists, maxListed, func(x Session) string { return x.ID })
}

func courseList(id string) string  { return "course/" + id }
func trainerList(id string) string { return "trainer/" + id }
func monthList(m string) string    { return "month/" + m }

// listed reads one list, sorted by StartsAt.
func (s *Service) listed(ctx context.Context, id string) ([]Session, error) {
	out, err := s.lists.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []Session{}
	}
	for i := range out {
		fixSession(&out[i])
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].StartsAt.Equal(out[j].StartsAt) {
			return out[i].StartsAt.Before(out[j].StartsAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// listSteps puts the stored form of session id into each list it belongs
// to (listsOf) and out of those it left, as the last steps of the unit u
// that wrote it; old is the session before the unit (nil for a new one),
// which each step's undo puts back.
func (s *Service) listSteps(ctx context.Context, u *store.Unit, id string, old *Session) error {
	var x Session
	if err := s.sessions.Get(ctx, id, &x); err != nil {
		return err
	}
	var before []string
	if old != nil {
		before = listsOf(*old)
	}
	now := listsOf(x)
	for _, l := range before {
		if contains(now, l) {
			continue
		}
		l := l
		if err := u.Do(ctx, "leave "+l, func(ctx context.Context) error { return s.lists.Remove(ctx, l, x.ID) },
			func(ctx context.Context) error { return s.lists.Put(ctx, l, *old) }); err != nil {
			return err
		}
	}
	for _, l := range now {
		l, held := l, contains(before, l)
		if err := u.Do(ctx, "list "+l, func(ctx context.Context) error { return s.lists.Put(ctx, l, x) },
			func(ctx context.Context) error {
				if !held {
					return s.lists.Remove(ctx, l, x.ID)
				}
				return s.lists.Put(ctx, l, *old)
			}); err != nil {
			return err
		}
	}
	return nil
}

// listsOf names the lists a session belongs to: its course's, its
// trainer's (if it has one) and its month's (by StartsAt in Asia/Shanghai).
func listsOf(x Session) []string {
	if x.ID == "" {
		return nil
	}
	out := []string{courseList(x.CourseID), monthList(clock.Month(x.StartsAt))}
	if x.TrainerID != "" {
		out = append(out, trainerList(x.TrainerID))
	}
	return out
}

// RepairLists rebuilds every list from the sessions and reports whether
// any differed. It is safe while others write: a list changed meanwhile is
// rebuilt from what the sessions then say on the next run.
func (s *Service) RepairLists(ctx context.Context) (bool, error) {
	var all []Session
	if err := s.sessions.Find(ctx, bson.M{}, &all); err != nil {
		return false, err
	}
	want := map[string][]Session{}
	for _, x := range all {
		for _, l := range listsOf(x) {
			want[l] = append(want[l], x)
		}
	}
	var stored []struct {
		ID string `bson:"_id"`
	}
	if err := s.lists.Collection().Find(ctx, bson.M{}, &stored); err != nil {
		return false, err
	}
	for _, d := range stored {
		if _, ok := want[d.ID]; !ok {
			want[d.ID] = nil
		}
	}
	drifted := false
	for id, list := range want {
		have, err := s.lists.Get(ctx, id)
		if err != nil {
			return drifted, err
		}
		if s.lists.Same(have, list) {
			continue
		}
		drifted = true
		if err := s.lists.Set(ctx, id, list); err != nil {
			return drifted, err
		}
	}
	if drifted {
		s.st.InvalidateCaches()
	}
	_, err := s.counters.InsertIfAbsent(ctx, bson.M{"_id": upgradeListsID})
	return drifted, err
}

// ensureLists builds the lists once for data from before them.
func (s *Service) ensureLists(ctx context.Context) error {
	var mark bson.M
	err := s.counters.Get(ctx, upgradeListsID, &mark)
	if err == nil || !store.IsNotFound(err) {
		return err
	}
	_, err = s.RepairLists(ctx)
	return err
}
