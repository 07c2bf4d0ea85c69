package incubation

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"nongxun/clock"
	"nongxun/store"
)

// The due lists are laid out for _id reads (docs/design.md, "The `_id`
// path index"): the open tasks are also listed in small index documents
// of the followup_due collection, one per list, month of scheduling and
// part:
//
//	u/<assignee>/<YYYY-MM>/<n>  {e: {<entry key>: "<packed task>"}}
//	t/<township>/<YYYY-MM>/<n>  the same, for the township's list
//	u/<assignee>, t/<township>  {parts: ["<YYYY-MM>/<n>", …], n: {"<YYYY-MM>_<n>": entries written}}
//
// A trainee's three tasks are scheduled together, so scheduling writes two
// parts, each once, and the two heads. A part takes at most partSize
// entries (the head counts what was written to it, and the next
// scheduling of that month opens part n+1), so every document stays small
// however many certificates a trainer's course gets at once. Each task
// records its two parts (Task.DueLists), so closing it touches only them.
// A list reads its head, then its parts in parallel. A closed task leaves
// its parts; an emptied part stays listed (a cheap read) until a recount.
// Tasks of the township's officers (no trainer known) are listed under
// u/pool-<township>.
const (
	duePerUser = "u/"
	duePerTwp  = "t/"
	poolPrefix = "pool-"
	unassigned = "none"
	fieldSep   = "\x1f"
	partSize   = 100
)

// dueDoc is one month document of a list.
type dueDoc struct {
	ID string            `bson:"_id"`
	E  map[string]string `bson:"e"`
}

// dueHead lists the parts of one list and how many entries each was given.
type dueHead struct {
	ID    string           `bson:"_id"`
	Parts []string         `bson:"parts"`
	N     map[string]int64 `bson:"n"`
}

// listKey is the assignee list a task is in: its assignee's, or the pool
// of its township's officers when no trainer was known.
func listKey(t *Task) string {
	if t.AssigneeID != "" && safeKey(t.AssigneeID) {
		return duePerUser + t.AssigneeID
	}
	return duePerUser + poolPrefix + tk(t.TownshipID)
}

func twpKey(township string) string { return duePerTwp + tk(township) }

// schedMonth is the month a task was scheduled in: the month part of its documents' ids.
func schedMonth(t *Task) string { return clock.Month(t.CreatedAt) }

// lists are the two index documents a task is listed in: those recorded on
// it, else (a task written before parts) part 0 of its month.
func lists(t *Task) []string {
	if len(t.DueLists) == 2 {
		return t.DueLists
	}
	m := schedMonth(t)
	return []string{listKey(t) + "/" + m + "/0", twpKey(t.TownshipID) + "/" + m + "/0"}
}

// splitDoc splits an index document id into its head and its part ("YYYY-MM/n").
func splitDoc(id string) (head, part string) {
	i := strings.LastIndexByte(id, '/')
	j := strings.LastIndexByte(id[:i], '/')
	return id[:j], id[j+1:]
}

func countKey(part string) string { return strings.ReplaceAll(part, "/", "_") }

// place chooses the parts for tasks about to be scheduled together (one
// trainee's: one assignee, township and month) and records them on the tasks.
func (s *Service) place(ctx context.Context, list []Task) error {
	return s.placeMany(ctx, list, len(list))
}

// placeMany chooses the parts for tasks scheduled in one go, in groups of
// group tasks that stay together (a trainee's; each group has one
// assignee, township and month): for each of a group's two lists the
// month's last part, or a new one once it has partSize entries. It reads
// each list's head once, records the parts on the tasks and counts what
// it placed as it goes, so a batch of many trainees fills parts in turn.
func (s *Service) placeMany(ctx context.Context, list []Task, group int) error {
	if len(list) == 0 || group <= 0 {
		return nil
	}
	type slot struct {
		key, month string
		n          int
		fill       int64
	}
	slots := map[string]*slot{}
	var keys []string
	for i := 0; i < len(list); i += group {
		t := &list[i]
		m := schedMonth(t)
		for _, k := range []string{listKey(t), twpKey(t.TownshipID)} {
			if slots[k+"/"+m] == nil {
				slots[k+"/"+m] = &slot{key: k, month: m, n: -1}
				keys = append(keys, k+"/"+m)
			}
		}
	}
	heads := make([]dueHead, len(keys))
	fns := make([]func() error, len(keys))
	for i, k := range keys {
		fns[i] = func() error {
			if err := s.due.Get(ctx, slots[k].key, &heads[i]); err != nil && !store.IsNotFound(err) {
				return err
			}
			return nil
		}
	}
	if err := par(fns); err != nil {
		return err
	}
	for i, k := range keys {
		sl, h := slots[k], heads[i]
		for _, p := range h.Parts {
			if pm, c, ok := strings.Cut(p, "/"); ok && pm == sl.month {
				if x, err := strconv.Atoi(c); err == nil && x > sl.n {
					sl.n = x
				}
			}
		}
		if sl.n < 0 {
			sl.n = 0
		}
		sl.fill = h.N[countKey(sl.month+"/"+strconv.Itoa(sl.n))]
	}
	for i := 0; i < len(list); i += group {
		end := min(i+group, len(list))
		t := &list[i]
		m := schedMonth(t)
		var docs [2]string
		for j, k := range []string{listKey(t), twpKey(t.TownshipID)} {
			sl := slots[k+"/"+m]
			if sl.fill > 0 && sl.fill+int64(end-i) > partSize {
				sl.n++
				sl.fill = 0
			}
			sl.fill += int64(end - i)
			docs[j] = k + "/" + m + "/" + strconv.Itoa(sl.n)
		}
		for x := i; x < end; x++ {
			list[x].DueLists = []string{docs[0], docs[1]}
		}
	}
	return nil
}

// entryKey is a task's field in its month documents.
func entryKey(id string) string { return strings.ReplaceAll(id, "/", "_") }

// pack writes what a due list shows of a task as one string (one value per
// task keeps the documents cheap to read on the embedded engine).
func pack(t *Task) string {
	clean := func(s string) string { return strings.ReplaceAll(s, fieldSep, " ") }
	return strings.Join([]string{t.ID, t.TraineeID, clean(t.TraineeName), clean(t.Phone), t.TownshipID, strconv.Itoa(t.Days), t.DueOn,
		t.AssigneeID, strconv.Itoa(t.Attempts), t.CourseID, t.CreatedAt.UTC().Format(time.RFC3339Nano)}, fieldSep)
}

func unpack(s string) (Task, bool) {
	f := strings.Split(s, fieldSep)
	if len(f) != 11 {
		return Task{}, false
	}
	days, _ := strconv.Atoi(f[5])
	att, _ := strconv.Atoi(f[8])
	t := Task{ID: f[0], TraineeID: f[1], TraineeName: f[2], Phone: f[3], TownshipID: f[4], Days: days, DueOn: f[6],
		AssigneeID: f[7], Attempts: att, CourseID: f[9], Status: TaskOpen}
	if at, err := time.Parse(time.RFC3339Nano, f[10]); err == nil {
		t.CreatedAt = at.UTC()
	}
	return t, true
}

// dueEntries groups tasks' entries by the index documents they go to.
func dueEntries(list []Task) map[string]map[string]string {
	out := map[string]map[string]string{}
	for i := range list {
		t := &list[i]
		for _, id := range lists(t) {
			if out[id] == nil {
				out[id] = map[string]string{}
			}
			out[id][entryKey(t.ID)] = pack(t)
		}
	}
	return out
}

// indexTasks lists open tasks (or refreshes their entries): with count,
// the heads learn of the parts and how many entries they were given.
func (s *Service) indexTasks(ctx context.Context, u *store.Unit, list []Task, count bool) error {
	if count {
		return s.indexMany(ctx, u, list, nil)
	}
	return s.indexMany(ctx, u, nil, list)
}

// indexMany lists tasks in their parts: fresh ones (new tasks, counted in
// their heads) and again ones (tasks already there, whose entries are
// refreshed). It is one bulk write of one update per part document and
// one of one update per head, whatever the number of tasks. Each update
// is idempotent ($set of entries, $addToSet of parts), and u takes the
// fresh entries back should a later write of the unit fail (a refreshed
// entry was there before and stays; a head's count only decides when a
// part is full, so it is not taken back; a head that lists a part too
// many costs a read, never a wrong list).
func (s *Service) indexMany(ctx context.Context, u *store.Unit, fresh, again []Task) error {
	docs := dueEntries(append(append([]Task(nil), fresh...), again...))
	if len(docs) == 0 {
		return nil
	}
	newEntries := dueEntries(fresh)
	counted := map[string]int64{}
	for id, n := range dueCounts(fresh) {
		counted[id] = n
	}
	ids := make([]string, 0, len(docs))
	for id := range docs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	model := func(id string, undo bool) mongo.WriteModel {
		f := bson.M{}
		if undo {
			for k := range newEntries[id] {
				f["e."+k] = ""
			}
			if len(f) == 0 {
				return nil
			}
			return mongo.NewUpdateOneModel().SetFilter(bson.M{"_id": id}).SetUpdate(bson.M{"$unset": f})
		}
		for k, v := range docs[id] {
			f["e."+k] = v
		}
		return mongo.NewUpdateOneModel().SetFilter(bson.M{"_id": id}).SetUpdate(bson.M{"$set": f}).SetUpsert(true)
	}
	if err := s.bulkUndo(ctx, u, s.due, "due index", ids, func(id string) mongo.WriteModel { return model(id, false) },
		func(id string) mongo.WriteModel { return model(id, true) }); err != nil {
		return err
	}
	heads := map[string]map[string]int64{}
	for _, id := range ids {
		head, part := splitDoc(id)
		if heads[head] == nil {
			heads[head] = map[string]int64{}
		}
		heads[head][part] += counted[id]
	}
	hids := make([]string, 0, len(heads))
	for h := range heads {
		hids = append(hids, h)
	}
	sort.Strings(hids)
	models := make([]mongo.WriteModel, 0, len(hids))
	for _, h := range hids {
		add, inc := bson.A{}, bson.M{}
		for p, n := range heads[h] {
			add = append(add, p)
			if n != 0 {
				inc["n."+countKey(p)] = n
			}
		}
		upd := bson.M{"$addToSet": bson.M{"parts": bson.M{"$each": add}}}
		if len(inc) > 0 {
			upd["$inc"] = inc
		}
		models = append(models, mongo.NewUpdateOneModel().SetFilter(bson.M{"_id": h}).SetUpdate(upd).SetUpsert(true))
	}
	_, err := s.due.BulkWrite(ctx, models, options.BulkWrite().SetOrdered(true))
	return err
}

// dueCounts is how many entries tasks add to each part document.
func dueCounts(list []Task) map[string]int64 {
	out := map[string]int64{}
	for i := range list {
		for _, id := range lists(&list[i]) {
			out[id]++
		}
	}
	return out
}

func contains(l []string, x string) bool {
	for _, y := range l {
		if y == x {
			return true
		}
	}
	return false
}

// unindexTask takes a closed task off its lists.
func (s *Service) unindexTask(ctx context.Context, u *store.Unit, t *Task) error {
	before := pack(t)
	for _, id := range lists(t) {
		err := u.Do(ctx, "due index "+id, func(ctx context.Context) error {
			_, err := s.due.UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$unset": bson.M{"e." + entryKey(t.ID): ""}})
			return err
		}, func(ctx context.Context) error {
			_, err := s.due.UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$set": bson.M{"e." + entryKey(t.ID): before}}, options.UpdateOne().SetUpsert(true))
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// openTasks reads the open tasks of the lists keys (assignee or township
// lists), every month of each.
func (s *Service) openTasks(ctx context.Context, keys []string) ([]Task, error) {
	heads := make([]dueHead, len(keys))
	fns := make([]func() error, len(keys))
	for i, k := range keys {
		fns[i] = func() error {
			if err := s.due.Get(ctx, k, &heads[i]); err != nil && !store.IsNotFound(err) {
				return err
			}
			return nil
		}
	}
	if err := par(fns); err != nil {
		return nil, err
	}
	var ids []string
	for i, h := range heads {
		for _, p := range h.Parts {
			ids = append(ids, keys[i]+"/"+p)
		}
	}
	docs := make([]dueDoc, len(ids))
	fns = make([]func() error, len(ids))
	for i, id := range ids {
		fns[i] = func() error {
			if err := s.due.Get(ctx, id, &docs[i]); err != nil && !store.IsNotFound(err) {
				return err
			}
			return nil
		}
	}
	if err := par(fns); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []Task
	for _, d := range docs {
		for _, v := range d.E {
			t, ok := unpack(v)
			if ok && !seen[t.ID] {
				seen[t.ID] = true
				out = append(out, t)
			}
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
// mends each document that differs by _id: missing entries and months are
// added, entries of tasks no longer open are removed. It is safe while
// others write: an entry is removed only after its task, read again by
// _id, is found closed, and a head only ever gains months (an emptied
// month costs a read, never a wrong list).
func (s *Service) recountDue(ctx context.Context, fix bool) ([]string, error) {
	var open []Task
	if err := s.tasks.Find(ctx, bson.M{"status": TaskOpen}, &open); err != nil {
		return nil, err
	}
	if err := s.placeUnplaced(ctx, open, fix); err != nil {
		return nil, err
	}
	want := dueEntries(open)
	heads := map[string][]string{}
	for id := range want {
		head, part := splitDoc(id)
		heads[head] = append(heads[head], part)
	}
	var stored []bson.M
	if err := s.due.Find(ctx, bson.M{}, &stored); err != nil {
		return nil, err
	}
	haveDocs, haveHeads := map[string]map[string]string{}, map[string][]string{}
	for _, raw := range stored {
		id, _ := raw["_id"].(string)
		b, err := bson.Marshal(raw)
		if err != nil {
			return nil, err
		}
		if _, ok := raw["parts"]; ok {
			var h dueHead
			if err := bson.Unmarshal(b, &h); err != nil {
				return nil, err
			}
			haveHeads[id] = h.Parts
			continue
		}
		var d dueDoc
		if err := bson.Unmarshal(b, &d); err != nil {
			return nil, err
		}
		haveDocs[id] = d.E
	}
	var diffs []string
	ids := map[string]bool{}
	for id := range want {
		ids[id] = true
	}
	for id := range haveDocs {
		ids[id] = true
	}
	for id := range ids {
		w, h := want[id], haveDocs[id]
		set, unset := bson.M{}, bson.M{}
		for k, v := range w {
			if h[k] != v {
				set["e."+k] = v
			}
		}
		for k, v := range h {
			if _, ok := w[k]; ok {
				continue
			}
			t, ok := unpack(v)
			if ok {
				var cur Task
				err := s.tasks.Get(ctx, t.ID, &cur)
				if err == nil && cur.Status == TaskOpen {
					continue // opened after the records were read
				}
				if err != nil && !store.IsNotFound(err) {
					return diffs, err
				}
			}
			unset["e."+k] = ""
		}
		if len(set)+len(unset) == 0 {
			continue
		}
		diffs = append(diffs, "due list "+id+" differs from the open tasks")
		if !fix {
			continue
		}
		upd := bson.M{}
		if len(set) > 0 {
			upd["$set"] = set
		}
		if len(unset) > 0 {
			upd["$unset"] = unset
		}
		if _, err := s.due.UpdateOne(ctx, bson.M{"_id": id}, upd, options.UpdateOne().SetUpsert(len(set) > 0)); err != nil {
			return diffs, err
		}
	}
	for id, w := range heads {
		var miss []string
		for _, m := range w {
			if !contains(haveHeads[id], m) {
				miss = append(miss, m)
			}
		}
		if len(miss) == 0 {
			continue
		}
		diffs = append(diffs, "due list "+id+" misses parts "+strings.Join(miss, ","))
		if fix {
			add := bson.A{}
			for _, p := range miss {
				add = append(add, p)
			}
			if _, err := s.due.UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$addToSet": bson.M{"parts": bson.M{"$each": add}}}, options.UpdateOne().SetUpsert(true)); err != nil {
				return diffs, err
			}
		}
	}
	sort.Strings(diffs)
	return diffs, nil
}

// placeUnplaced gives the open tasks that have no parts yet (written by an
// older version, or loaded in bulk) parts of at most partSize entries, per
// list and month in _id order (a trainee's tasks stay together), and with
// fix records them on the tasks (conditionally on having none, so a task
// placed meanwhile keeps its own).
func (s *Service) placeUnplaced(ctx context.Context, open []Task, fix bool) error {
	type group struct{ key, month string }
	fill := map[group]int{}
	parts := map[string][2]string{}
	sort.Slice(open, func(i, j int) bool { return open[i].ID < open[j].ID })
	for i := range open {
		t := &open[i]
		if len(t.DueLists) == 2 {
			continue
		}
		m := schedMonth(t)
		var docs [2]string
		for k, key := range []string{listKey(t), twpKey(t.TownshipID)} {
			g := group{key, m}
			docs[k] = key + "/" + m + "/" + strconv.Itoa(fill[g]/partSize)
			fill[g]++
		}
		t.DueLists = []string{docs[0], docs[1]}
		parts[t.ID] = docs
	}
	if !fix {
		return nil
	}
	for id, docs := range parts {
		if _, err := s.tasks.UpdateIf(ctx, id, store.Cond{"due_lists": nil}, bson.M{"$set": bson.M{"due_lists": []string{docs[0], docs[1]}}}); err != nil {
			return err
		}
	}
	return nil
}
