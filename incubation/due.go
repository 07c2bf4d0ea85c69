package incubation

import (
	"context"
	"sort"
	"strings"
	"sync"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"nongxun/store"
)

// The open follow-up tasks are also kept in a small due index: one
// document per assignee ("u/<user>") and one per township ("t/<township>"),
// each a map of task key → the task's summary. A user's due list is then
// one read by _id, never a query over every task (DESIGN.md, fact 2).
const (
	dueUserPrefix = "u/"
	dueTwpPrefix  = "t/"
	unassigned    = "_none"
)

// dueEntry is a task's summary in the due index.
type dueEntry struct {
	ID        string `bson:"id"`
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

type dueDoc struct {
	ID    string              `bson:"_id"`
	Tasks map[string]dueEntry `bson:"tasks"`
}

func entryOf(t *Task) dueEntry {
	return dueEntry{ID: t.ID, TraineeID: t.TraineeID, Name: t.TraineeName, Phone: t.Phone, Township: t.TownshipID,
		Days: t.Days, DueOn: t.DueOn, Assignee: t.AssigneeID, Attempts: t.Attempts, CourseID: t.CourseID}
}

func (d dueEntry) task() Task {
	return Task{ID: d.ID, TraineeID: d.TraineeID, TraineeName: d.Name, Phone: d.Phone, TownshipID: d.Township, Days: d.Days,
		DueOn: d.DueOn, AssigneeID: d.Assignee, Attempts: d.Attempts, CourseID: d.CourseID, Status: TaskOpen}
}

// dueKey is a task id as a map key ("/" and "." are not wanted there).
func dueKey(taskID string) string { return strings.ReplaceAll(taskID, "/", "_") }

func dueDocs(t *Task) []string {
	a := t.AssigneeID
	if !safeKey(a) {
		a = unassigned
	}
	return []string{dueUserPrefix + a, dueTwpPrefix + tk(t.TownshipID)}
}

// indexTask adds (or refreshes) an open task in the due index.
func (s *Service) indexTask(ctx context.Context, t *Task) error {
	key := "tasks." + dueKey(t.ID)
	for i, id := range dueDocs(t) {
		if _, err := s.due.UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$set": bson.M{key: entryOf(t)}}, options.UpdateOne().SetUpsert(true)); err != nil {
			if i > 0 {
				_ = s.unindexTask(context.WithoutCancel(ctx), t)
			}
			return err
		}
	}
	return nil
}

// unindexTask removes a task from the due index.
func (s *Service) unindexTask(ctx context.Context, t *Task) error {
	key := "tasks." + dueKey(t.ID)
	for _, id := range dueDocs(t) {
		if _, err := s.due.UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$unset": bson.M{key: ""}}); err != nil {
			return err
		}
	}
	return nil
}

// dueRead reads the open tasks of one due-index document.
func (s *Service) dueRead(ctx context.Context, id string) ([]Task, error) {
	var d dueDoc
	if err := s.due.FindOne(ctx, bson.M{"_id": id}, &d); err != nil {
		if store.IsNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	out := make([]Task, 0, len(d.Tasks))
	for _, e := range d.Tasks {
		out = append(out, e.task())
	}
	return out, nil
}

// openTasks reads the open tasks of an assignee, a township, or (both
// empty) every township, from the due index.
func (s *Service) openTasks(ctx context.Context, assignee, township string) ([]Task, error) {
	switch {
	case assignee != "":
		list, err := s.dueRead(ctx, dueUserPrefix+assignee)
		if err != nil || township == "" {
			return list, err
		}
		out := list[:0]
		for _, t := range list {
			if t.TownshipID == township {
				out = append(out, t)
			}
		}
		return out, nil
	case township != "":
		return s.dueRead(ctx, dueTwpPrefix+township)
	}
	ids := []string{dueTwpPrefix + "none"}
	if s.d.Regions != nil {
		for _, r := range s.d.Regions.Townships(ctx) {
			ids = append(ids, dueTwpPrefix+r.ID)
		}
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		all   []Task
		first error
	)
	for _, id := range ids {
		wg.Add(1)
		go func(id string) {
			defer wg.Done()
			list, err := s.dueRead(ctx, id)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && first == nil {
				first = err
			}
			all = append(all, list...)
		}(id)
	}
	wg.Wait()
	return all, first
}

func sortTasks(l []Task) {
	sort.Slice(l, func(i, j int) bool {
		if l[i].DueOn != l[j].DueOn {
			return l[i].DueOn < l[j].DueOn
		}
		return l[i].ID < l[j].ID
	})
}

// expectedDue rebuilds the due index from the task records.
func (s *Service) expectedDue(ctx context.Context) (map[string]map[string]dueEntry, error) {
	var open []Task
	if err := s.tasks.Find(ctx, bson.M{"status": TaskOpen}, &open); err != nil {
		return nil, err
	}
	out := map[string]map[string]dueEntry{}
	for i := range open {
		for _, id := range dueDocs(&open[i]) {
			if out[id] == nil {
				out[id] = map[string]dueEntry{}
			}
			out[id][dueKey(open[i].ID)] = entryOf(&open[i])
		}
	}
	return out, nil
}

// recountDue compares the due index with the tasks and, with fix, rewrites it.
func (s *Service) recountDue(ctx context.Context, fix bool) ([]string, error) {
	want, err := s.expectedDue(ctx)
	if err != nil {
		return nil, err
	}
	var have []dueDoc
	if err := s.due.Find(ctx, bson.M{}, &have); err != nil {
		return nil, err
	}
	var diffs []string
	seen := map[string]bool{}
	bad := map[string]bool{}
	for _, d := range have {
		seen[d.ID] = true
		w := want[d.ID]
		if len(w) != len(d.Tasks) {
			bad[d.ID] = true
		}
		for k, e := range d.Tasks {
			if we, ok := w[k]; !ok || we != e {
				bad[d.ID] = true
			}
		}
	}
	for id, w := range want {
		if !seen[id] && len(w) > 0 {
			bad[id] = true
		}
	}
	for id := range bad {
		diffs = append(diffs, "due index "+id+" differs from the open tasks")
		if fix {
			doc := dueDoc{ID: id, Tasks: want[id]}
			if doc.Tasks == nil {
				doc.Tasks = map[string]dueEntry{}
			}
			if _, err := s.due.ReplaceOne(ctx, bson.M{"_id": id}, doc, options.Replace().SetUpsert(true)); err != nil {
				return diffs, err
			}
		}
	}
	return diffs, nil
}
