package incubation

import (
	"context"
	"sort"
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"nongxun/store"
)

// The open follow-up tasks are also kept in a due index: one small
// collection per assignee ("followup_due_u_<user>") and one per township
// ("followup_due_t_<township>"), one document per open task. On the
// embedded engine every read costs the bytes of the whole collection it
// reads (DESIGN.md, fact 2), so a user's due list reads only their own
// tasks, never all of them.
const (
	dueCollPrefix = "followup_due_"
	dueUserPrefix = "u_"
	dueTwpPrefix  = "t_"
	unassigned    = "none"
)

// dueEntry is a task's summary in the due index.
type dueEntry struct {
	ID        string `bson:"_id"`
	TraineeID string `bson:"tr"`
	Name      string `bson:"n"`
	Phone     string `bson:"p,omitempty"`
	Township  string `bson:"tw"`
	Days      int    `bson:"d"`
	DueOn     string `bson:"due"`
	Assignee  string `bson:"a,omitempty"`
	Attempts  int    `bson:"at,omitempty"`
	CourseID  string `bson:"c,omitempty"`
}

func entryOf(t *Task) dueEntry {
	return dueEntry{ID: t.ID, TraineeID: t.TraineeID, Name: t.TraineeName, Phone: t.Phone, Township: t.TownshipID,
		Days: t.Days, DueOn: t.DueOn, Assignee: t.AssigneeID, Attempts: t.Attempts, CourseID: t.CourseID}
}

func (d dueEntry) task() Task {
	return Task{ID: d.ID, TraineeID: d.TraineeID, TraineeName: d.Name, Phone: d.Phone, TownshipID: d.Township, Days: d.Days,
		DueOn: d.DueOn, AssigneeID: d.Assignee, Attempts: d.Attempts, CourseID: d.CourseID, Status: TaskOpen}
}

func (s *Service) dueColl(name string) *store.Collection { return s.st.C(dueCollPrefix + name) }

// dueNames are the due-index collections a task is listed in: its
// assignee's and its township's, for the month it falls due, so a due
// list never reads the tasks due in later months.
func dueNames(t *Task) []string {
	a := t.AssigneeID
	if !safeKey(a) {
		a = unassigned
	}
	m := "_" + monthPart(t.DueOn)
	return []string{dueUserPrefix + a + m, dueTwpPrefix + tk(t.TownshipID) + m}
}

// dueMonths lists the due-index collections under prefix (e.g. "u_<user>_")
// for months up to until, from the collection names (no document is read;
// unfiltered, as the embedded engine filters names slowly).
func (s *Service) dueMonths(ctx context.Context, prefix, until string) ([]string, error) {
	names, err := s.dueCollections(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range names {
		n, ok := strings.CutPrefix(n, dueCollPrefix+prefix)
		if !ok {
			continue
		}
		if month := n[strings.LastIndexByte(n, '_')+1:]; month <= until {
			out = append(out, prefix+n)
		}
	}
	return out, nil
}

// dueCollections lists the database's collection names, from memory when
// fresh: on the embedded engine this process makes every collection, so the
// list it keeps is complete; with MongoDB (other app nodes) it is re-read
// every 30 seconds.
func (s *Service) dueCollections(ctx context.Context) ([]string, error) {
	s.dueMu.Lock()
	defer s.dueMu.Unlock()
	if s.dueKnown == nil || (!s.st.Embedded() && time.Since(s.dueLoaded) > 30*time.Second) {
		names, err := s.st.Database().ListCollectionNames(ctx, bson.M{})
		if err != nil {
			return nil, err
		}
		s.dueKnown, s.dueLoaded = map[string]bool{}, time.Now()
		for _, n := range names {
			if strings.HasPrefix(n, dueCollPrefix) {
				s.dueKnown[n] = true
			}
		}
	}
	out := make([]string, 0, len(s.dueKnown))
	for n := range s.dueKnown {
		out = append(out, n)
	}
	return out, nil
}

// dueCreated notes a due-index collection the service has written to.
func (s *Service) dueCreated(name string) {
	s.dueMu.Lock()
	defer s.dueMu.Unlock()
	if s.dueKnown != nil {
		s.dueKnown[dueCollPrefix+name] = true
	}
}

// indexTask adds (or refreshes) an open task in the due index.
func (s *Service) indexTask(ctx context.Context, t *Task) error {
	e := entryOf(t)
	for i, n := range dueNames(t) {
		s.dueCreated(n)
		if _, err := s.dueColl(n).ReplaceOne(ctx, bson.M{"_id": t.ID}, e, options.Replace().SetUpsert(true)); err != nil {
			if i > 0 {
				_ = s.unindexTask(context.WithoutCancel(ctx), t)
			}
			return err
		}
		s.dueCacheSet(n, t.ID, &e)
	}
	return nil
}

// unindexTask removes a task from the due index.
func (s *Service) unindexTask(ctx context.Context, t *Task) error {
	for _, n := range dueNames(t) {
		if _, err := s.dueColl(n).DeleteOne(ctx, bson.M{"_id": t.ID}); err != nil {
			return err
		}
		s.dueCacheSet(n, t.ID, nil)
	}
	return nil
}

// dueRead reads the open tasks of one due-index collection. On the
// embedded engine this process is the only writer, so a collection once
// read is kept in memory and updated write-through by indexTask and
// unindexTask (which run in the write lane); the first read loads it
// inside the lane so no write slips between the load and the cache.
func (s *Service) dueRead(ctx context.Context, name string) ([]Task, error) {
	if !s.st.Embedded() {
		list, err := s.dueLoad(ctx, name)
		return tasksOf(list), err
	}
	if list, ok := s.dueCacheGet(name); ok {
		return tasksOf(list), nil
	}
	var out []dueEntry
	err := s.st.Lane(ctx, func(ctx context.Context) error {
		if list, ok := s.dueCacheGet(name); ok {
			out = list
			return nil
		}
		list, err := s.dueLoad(ctx, name)
		if err != nil {
			return err
		}
		m := make(map[string]dueEntry, len(list))
		for _, e := range list {
			m[e.ID] = e
		}
		s.dueMu.Lock()
		s.dueCache[name] = m
		s.dueMu.Unlock()
		out = list
		return nil
	})
	return tasksOf(out), err
}

func (s *Service) dueLoad(ctx context.Context, name string) ([]dueEntry, error) {
	var list []dueEntry
	err := s.dueColl(name).Find(ctx, bson.M{}, &list)
	return list, err
}

func tasksOf(list []dueEntry) []Task {
	out := make([]Task, 0, len(list))
	for _, e := range list {
		out = append(out, e.task())
	}
	return out
}

func (s *Service) dueCacheGet(name string) ([]dueEntry, bool) {
	s.dueMu.Lock()
	defer s.dueMu.Unlock()
	m, ok := s.dueCache[name]
	if !ok {
		return nil, false
	}
	out := make([]dueEntry, 0, len(m))
	for _, e := range m {
		out = append(out, e)
	}
	return out, true
}

// dueCacheSet updates a loaded collection's copy (e nil: the task left it);
// a collection not loaded yet is read from the database when first needed.
func (s *Service) dueCacheSet(name, id string, e *dueEntry) {
	s.dueMu.Lock()
	defer s.dueMu.Unlock()
	m, ok := s.dueCache[name]
	if !ok {
		return
	}
	if e == nil {
		delete(m, id)
	} else {
		m[id] = *e
	}
}

// openTasks reads the open tasks due up to month until of an assignee, a
// township, or (both empty) every township, from the due index.
func (s *Service) openTasks(ctx context.Context, assignee, township, until string) ([]Task, error) {
	prefix := dueTwpPrefix
	switch {
	case assignee != "":
		prefix = dueUserPrefix + assignee + "_"
	case township != "":
		prefix = dueTwpPrefix + township + "_"
	}
	names, err := s.dueMonths(ctx, prefix, until)
	if err != nil {
		return nil, err
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		all   []Task
		first error
	)
	for _, n := range names {
		wg.Add(1)
		go func(n string) {
			defer wg.Done()
			list, err := s.dueRead(ctx, n)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && first == nil {
				first = err
			}
			all = append(all, list...)
		}(n)
	}
	wg.Wait()
	if first != nil || township == "" || assignee == "" {
		return all, first
	}
	out := all[:0]
	for _, t := range all {
		if t.TownshipID == township {
			out = append(out, t)
		}
	}
	return out, nil
}

func sortTasks(l []Task) {
	sort.Slice(l, func(i, j int) bool {
		if l[i].DueOn != l[j].DueOn {
			return l[i].DueOn < l[j].DueOn
		}
		return l[i].ID < l[j].ID
	})
}

// recountDue compares the due index with the open tasks and, with fix,
// rewrites the collections that differ.
func (s *Service) recountDue(ctx context.Context, fix bool) ([]string, error) {
	var open []Task
	if err := s.tasks.Find(ctx, bson.M{"status": TaskOpen}, &open); err != nil {
		return nil, err
	}
	want := map[string]map[string]dueEntry{}
	for i := range open {
		for _, n := range dueNames(&open[i]) {
			if want[n] == nil {
				want[n] = map[string]dueEntry{}
			}
			want[n][open[i].ID] = entryOf(&open[i])
		}
	}
	names, err := s.st.Database().ListCollectionNames(ctx, bson.M{"name": bson.M{"$regex": "^" + dueCollPrefix}})
	if err != nil {
		return nil, err
	}
	all := map[string]bool{}
	for _, n := range names {
		all[strings.TrimPrefix(n, dueCollPrefix)] = true
	}
	for n := range want {
		all[n] = true
	}
	var diffs []string
	for n := range all {
		var have []dueEntry
		if err := s.dueColl(n).Find(ctx, bson.M{}, &have); err != nil {
			return diffs, err
		}
		w := want[n]
		same := len(have) == len(w)
		for _, e := range have {
			if we, ok := w[e.ID]; !ok || we != e {
				same = false
			}
		}
		if same {
			continue
		}
		diffs = append(diffs, "due index "+n+" differs from the open tasks")
		if !fix {
			continue
		}
		s.dueCreated(n)
		s.dueMu.Lock()
		delete(s.dueCache, n) // reloaded from the rewritten collection when next read
		s.dueMu.Unlock()
		if _, err := s.dueColl(n).DeleteMany(ctx, bson.M{}); err != nil {
			return diffs, err
		}
		docs := make([]any, 0, len(w))
		for _, e := range w {
			docs = append(docs, e)
		}
		for len(docs) > 0 {
			k := min(len(docs), 1000)
			if _, err := s.dueColl(n).InsertMany(ctx, docs[:k]); err != nil {
				return diffs, err
			}
			docs = docs[k:]
		}
	}
	return diffs, nil
}
