package enrollment

import (
	"context"
	"sort"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"nongxun/clock"
	"nongxun/store"
)

// Drift is one counter field whose stored value differed from the records.
type Drift struct {
	Counter string `json:"counter"`
	Field   string `json:"field"`
	Was     int64  `json:"was"`
	Now     int64  `json:"now"`
}

// RecountResult reports a recount.
type RecountResult struct {
	Attendance int64   `json:"attendance"`
	Counted    int64   `json:"counted"`
	Trainees   int64   `json:"trainees"`
	Drift      []Drift `json:"drift"`
	DriftTotal int     `json:"drift_total"`
	// ListsDrift, KeysDrift and AttendeesDrift count the list documents,
	// trainee keys and attendee marks that differed from the records.
	ListsDrift     int  `json:"lists_drift"`
	KeysDrift      int  `json:"keys_drift"`
	AttendeesDrift int  `json:"attendees_drift"`
	Fixed          bool `json:"fixed"`
}

// drifted reports whether anything differed.
func (r *RecountResult) drifted() bool {
	return r.DriftTotal > 0 || r.ListsDrift > 0 || r.KeysDrift > 0 || r.AttendeesDrift > 0
}

// Repair is the store repair (st.OnRepair): the recount with fix.
func (s *Service) Repair(ctx context.Context) (bool, error) {
	res, err := s.Recount(ctx, true)
	if err != nil {
		return false, err
	}
	return res.drifted(), nil
}

// want is everything derived, as the records say it should be.
type want struct {
	counters  deltas
	lists     map[string][]string
	keys      map[string]string // key id → trainee id
	attendees map[string]bool
}

// Recount rebuilds every derived document — counters, lists (course and
// session lists, search buckets, photos), trainee keys, attendee marks —
// from the records (trainees, attendance, enrolments, photos) and
// reports what had drifted; with fix false it only reports. It is safe
// while others write: it computes from the records first and then sets
// each derived document by _id (a write landing between the two is
// counted again by the next recount). Caches are emptied afterwards.
func (s *Service) Recount(ctx context.Context, fix bool) (*RecountResult, error) {
	// Fold the journal first, so the lists read below are current.
	if _, err := s.Compact(ctx); err != nil {
		return nil, err
	}
	res := &RecountResult{Drift: []Drift{}}
	w, err := s.fromRecords(ctx, res)
	if err != nil {
		return nil, err
	}
	// What the compactor did not fold (another node holding its lease, or
	// entries written meanwhile) is part of what is stored.
	pending, err := s.pendingJournal(ctx, nil)
	if err != nil {
		return nil, err
	}
	if err := s.syncCounters(ctx, w.counters, pending, fix, res); err != nil {
		return nil, err
	}
	if err := s.syncLists(ctx, w.lists, pending, fix, res); err != nil {
		return nil, err
	}
	if err := s.syncKeys(ctx, w.keys, fix, res); err != nil {
		return nil, err
	}
	if err := s.syncAttendees(ctx, w.attendees, fix, res); err != nil {
		return nil, err
	}
	res.Fixed = fix
	if fix {
		s.st.InvalidateCaches()
	}
	return res, nil
}

// fromRecords computes what every derived document should hold.
func (s *Service) fromRecords(ctx context.Context, res *RecountResult) (*want, error) {
	w := &want{counters: deltas{}, lists: map[string][]string{}, keys: map[string]string{}, attendees: map[string]bool{}}
	addList := func(l, m string) { w.lists[l] = append(w.lists[l], m) }
	profiles := map[string]*Trainee{}
	cur, err := s.trainees.Cursor(ctx, bson.M{})
	if err != nil {
		return nil, err
	}
	for cur.Next(ctx) {
		var d traineeDoc
		if err := cur.Decode(&d); err != nil {
			cur.Close(ctx)
			return nil, err
		}
		fixTrainee(&d.Trainee)
		if d.Merged() {
			continue
		}
		t := d.Trainee
		profiles[t.ID] = &t
		w.counters.merge(registeredDeltas(&t, 1))
		w.keys[idKey(d.IDHash)] = t.ID
		if t.UserID != "" {
			w.keys[userKey(t.UserID)] = t.ID
		}
		for _, b := range searchBuckets(&t) {
			addList(b[0], b[1])
		}
	}
	err = cur.Err()
	cur.Close(ctx)
	if err != nil {
		return nil, err
	}
	days := map[string]string{} // session → start day, for records written before they carried it
	cur, err = s.attendance.Cursor(ctx, bson.M{})
	if err != nil {
		return nil, err
	}
	for cur.Next(ctx) {
		var a Attendance
		if err := cur.Decode(&a); err != nil {
			cur.Close(ctx)
			return nil, err
		}
		res.Attendance++
		addList(sessionList(a.SessionID), sessionMember(a.TraineeID, a.Status))
		if !counted(a.Status) {
			continue
		}
		res.Counted++
		if a.Day == "" {
			a.Day = s.dayOf(ctx, days, &a)
		}
		w.counters.merge(personTimeDeltas(&a, 1, true))
		w.attendees[a.TraineeID] = true
	}
	err = cur.Err()
	cur.Close(ctx)
	if err != nil {
		return nil, err
	}
	for tid := range w.attendees {
		if t := profiles[tid]; t != nil {
			w.counters.merge(distinctDeltas(t, 1))
		}
	}
	res.Trainees = int64(len(w.attendees))
	var es []Enrollment
	if err := s.enrollments.Find(ctx, bson.M{}, &es, options.Find().SetProjection(bson.M{"course_id": 1, "trainee_id": 1, "walk_in": 1})); err != nil {
		return nil, err
	}
	for _, e := range es {
		w.counters.merge(enrolDeltas(e.CourseID, 1))
		if !e.WalkIn {
			addList(courseList(e.CourseID), e.TraineeID)
		}
	}
	var ps []Photo
	if err := s.photos.Find(ctx, bson.M{}, &ps, options.Find().SetProjection(bson.M{"session_id": 1, "blob_id": 1})); err != nil {
		return nil, err
	}
	for _, p := range ps {
		addList(photoList(p.SessionID), p.BlobID)
	}
	return w, nil
}

// dayOf finds the start day of a record's session (cached in days for the recount).
func (s *Service) dayOf(ctx context.Context, days map[string]string, a *Attendance) string {
	if d, ok := days[a.SessionID]; ok {
		return d
	}
	d := clock.Day(a.At)
	if s.d.Courses != nil {
		if sess, err := s.d.Courses.Session(ctx, a.SessionID); err == nil {
			d = sessionDay(sess)
		}
	}
	days[a.SessionID] = d
	return d
}

// flatten turns a counter document into dotted field → value.
func flatten(doc bson.M) map[string]int64 {
	out := map[string]int64{}
	for k, v := range doc {
		if k == "_id" || k == "ap" || k == "ver" {
			continue
		}
		switch v.(type) {
		case bson.M, bson.D:
			for f, n := range store.Int64Map(v) {
				if n != 0 {
					out[k+"."+f] = n
				}
			}
		default:
			if n := store.Int64(v); n != 0 {
				out[k] = n
			}
		}
	}
	return out
}

// nest turns dotted field → value back into a document.
func nest(id string, f map[string]int64) bson.M {
	doc := bson.M{"_id": id}
	for k, v := range f {
		if v == 0 {
			continue
		}
		a, b, ok := strings.Cut(k, ".")
		if !ok {
			doc[k] = v
			continue
		}
		m, _ := doc[a].(bson.M)
		if m == nil {
			m = bson.M{}
			doc[a] = m
		}
		m[b] = v
	}
	return doc
}

// syncCounters compares the counter documents (with the journal's moves
// not yet applied) with want, field by field, and with fix rewrites each
// that differs; a rewritten deferred document counts every pending entry
// as applied, as the records it was computed from include them.
func (s *Service) syncCounters(ctx context.Context, want deltas, pending []journalEntry, fix bool, res *RecountResult) error {
	var docs []bson.M
	if err := s.counters.Find(ctx, bson.M{}, &docs); err != nil {
		return err
	}
	have := map[string]map[string]int64{}
	for _, d := range docs {
		if id, _ := d["_id"].(string); isCounter(id) {
			have[id] = flatten(d)
		}
	}
	entriesOf := map[string]bson.A{}
	for _, d := range docs {
		id, _ := d["_id"].(string)
		if !deferred(id) {
			continue
		}
		applied := map[string]bool{}
		if a, ok := d["ap"].(bson.A); ok {
			for _, x := range a {
				if e, ok := x.(string); ok {
					applied[e] = true
				}
			}
		}
		for _, e := range pending {
			for _, o := range e.Inc {
				if o.Doc != id {
					continue
				}
				entriesOf[id] = append(entriesOf[id], e.ID)
				if applied[e.ID] {
					continue
				}
				for _, x := range o.Inc {
					have[id][x.Field] += x.N
					if have[id][x.Field] == 0 {
						delete(have[id], x.Field)
					}
				}
			}
		}
	}
	for _, e := range pending { // deferred documents not made yet
		for _, o := range e.Inc {
			if _, ok := have[o.Doc]; ok {
				continue
			}
			h := map[string]int64{}
			for _, e2 := range pending {
				for _, o2 := range e2.Inc {
					if o2.Doc == o.Doc {
						entriesOf[o.Doc] = append(entriesOf[o.Doc], e2.ID)
						for _, x := range o2.Inc {
							h[x.Field] += x.N
						}
					}
				}
			}
			have[o.Doc] = h
		}
	}
	ids := map[string]bool{}
	for id := range have {
		ids[id] = true
	}
	for id, fs := range want {
		for _, v := range fs {
			if v != 0 {
				ids[id] = true
				break
			}
		}
	}
	order := make([]string, 0, len(ids))
	for id := range ids {
		order = append(order, id)
	}
	sort.Strings(order)
	var drift []Drift
	for _, id := range order {
		fields := map[string]bool{}
		for f := range have[id] {
			fields[f] = true
		}
		for f, v := range want[id] {
			if v != 0 {
				fields[f] = true
			}
		}
		fs := make([]string, 0, len(fields))
		for f := range fields {
			fs = append(fs, f)
		}
		sort.Strings(fs)
		changed := false
		for _, f := range fs {
			if have[id][f] != want[id][f] {
				drift = append(drift, Drift{Counter: id, Field: f, Was: have[id][f], Now: want[id][f]})
				changed = true
			}
		}
		if fix && changed {
			doc := nest(id, want[id])
			if deferred(id) {
				ap := entriesOf[id]
				if ap == nil {
					ap = bson.A{}
				}
				doc["ver"], doc["ap"] = verOf(docs, id)+1, ap
			}
			if _, err := s.counters.ReplaceOne(ctx, bson.M{"_id": id}, doc, options.Replace().SetUpsert(true)); err != nil {
				return err
			}
		}
	}
	res.DriftTotal = len(drift)
	if len(drift) > 500 {
		drift = drift[:500]
	}
	res.Drift = append(res.Drift, drift...)
	return nil
}

// verOf is the version of counter document id among docs.
func verOf(docs []bson.M, id string) int64 {
	for _, d := range docs {
		if d["_id"] == id {
			return store.Int64(d["ver"])
		}
	}
	return 0
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	set := make(map[string]bool, len(a))
	for _, x := range a {
		set[x] = true
	}
	for _, x := range b {
		if !set[x] {
			return false
		}
	}
	return true
}

// syncLists compares the list documents with want and with fix rewrites
// each that differs (an entry still in the journal is applied again on
// top, which changes nothing).
func (s *Service) syncLists(ctx context.Context, want map[string][]string, pending []journalEntry, fix bool, res *RecountResult) error {
	var docs []listDoc
	if err := s.lists.Find(ctx, bson.M{}, &docs); err != nil {
		return err
	}
	have := map[string][]string{}
	for _, d := range docs {
		have[d.ID] = d.M
	}
	for _, e := range pending {
		for _, o := range e.Ops {
			m := have[o.List]
			for _, x := range o.Del {
				m = without(m, x)
			}
			for _, x := range o.Add {
				if !contains(m, x) {
					m = append(m, x)
				}
			}
			have[o.List] = m
		}
	}
	var missing []any
	for id, m := range want {
		if sameSet(have[id], m) {
			continue
		}
		res.ListsDrift++
		if !fix {
			continue
		}
		if _, ok := have[id]; !ok {
			missing = append(missing, listDoc{ID: id, M: m})
			continue
		}
		if _, err := s.lists.ReplaceOne(ctx, bson.M{"_id": id}, listDoc{ID: id, M: m}, options.Replace().SetUpsert(true)); err != nil {
			return err
		}
	}
	if err := s.insertAbsent(ctx, s.lists, missing); err != nil {
		return err
	}
	for id, m := range have {
		if _, ok := want[id]; ok || len(m) == 0 {
			continue
		}
		res.ListsDrift++
		if fix {
			if _, err := s.lists.DeleteOne(ctx, bson.M{"_id": id}); err != nil {
				return err
			}
		}
	}
	return nil
}

// syncKeys makes trainee_keys hold exactly the keys of live records.
func (s *Service) syncKeys(ctx context.Context, want map[string]string, fix bool, res *RecountResult) error {
	var docs []traineeKey
	if err := s.keys.Find(ctx, bson.M{}, &docs); err != nil {
		return err
	}
	have := map[string]string{}
	for _, k := range docs {
		have[k.ID] = k.TraineeID
	}
	var missing []any
	for id, t := range want {
		if have[id] == t {
			continue
		}
		res.KeysDrift++
		if !fix {
			continue
		}
		if _, ok := have[id]; !ok {
			missing = append(missing, traineeKey{ID: id, TraineeID: t})
			continue
		}
		if _, err := s.keys.ReplaceOne(ctx, bson.M{"_id": id}, traineeKey{ID: id, TraineeID: t}, options.Replace().SetUpsert(true)); err != nil {
			return err
		}
	}
	if err := s.insertAbsent(ctx, s.keys, missing); err != nil {
		return err
	}
	for id := range have {
		if _, ok := want[id]; ok {
			continue
		}
		res.KeysDrift++
		if fix {
			if _, err := s.keys.DeleteOne(ctx, bson.M{"_id": id}); err != nil {
				return err
			}
		}
	}
	return nil
}

// syncAttendees makes attendees hold exactly the trainees with a counted record.
func (s *Service) syncAttendees(ctx context.Context, want map[string]bool, fix bool, res *RecountResult) error {
	var rows []struct {
		ID string `bson:"_id"`
	}
	if err := s.attendees.Find(ctx, bson.M{}, &rows); err != nil {
		return err
	}
	have := map[string]bool{}
	for _, r := range rows {
		have[r.ID] = true
		if !want[r.ID] {
			res.AttendeesDrift++
			if fix {
				if _, err := s.attendees.DeleteOne(ctx, bson.M{"_id": r.ID}); err != nil {
					return err
				}
			}
		}
	}
	var add []any
	for id := range want {
		if !have[id] {
			res.AttendeesDrift++
			add = append(add, bson.M{"_id": id, "at": s.now().UTC()})
		}
	}
	if fix {
		return s.insertAbsent(ctx, s.attendees, add)
	}
	return nil
}

// insertAbsent inserts documents found missing, a thousand at a time; one
// written meanwhile by someone else is left as it is.
func (s *Service) insertAbsent(ctx context.Context, c *store.Collection, docs []any) error {
	for len(docs) > 0 {
		n := min(len(docs), 1000)
		if _, err := c.InsertMany(ctx, docs[:n]); err != nil {
			if _, derr := store.DupIndexes(err); derr != nil {
				return err
			}
		}
		docs = docs[n:]
	}
	return nil
}

// layoutVersion is this package's data layout: 2 is counters by _id, lists
// and keys (1 was one counter collection per month and in-memory sets); 3
// adds the villages' roster lists (v/<village>, search.go).
const layoutVersion = 3

// migrate brings data of an older layout over once: a recount builds the
// counters, lists and keys from the records, the collections of the old
// layout are dropped, and the layout is recorded.
func (s *Service) migrate(ctx context.Context) error {
	var l struct {
		V int `bson:"v"`
	}
	err := s.counters.Get(ctx, layoutDoc, &l)
	if err == nil && l.V >= layoutVersion {
		return nil
	}
	if err != nil && !store.IsNotFound(err) {
		return err
	}
	old := false
	for _, c := range []*store.Collection{s.trainees, s.attendance, s.enrollments} {
		var any bson.M
		err := c.FindOne(ctx, bson.M{}, &any, options.FindOne().SetProjection(bson.M{"_id": 1}))
		if err == nil {
			old = true
			break
		}
		if !store.IsNotFound(err) {
			return err
		}
	}
	if old {
		start := time.Now()
		res, err := s.Recount(ctx, true)
		if err != nil {
			return err
		}
		names, err := s.st.Database().ListCollectionNames(ctx, bson.M{})
		if err != nil {
			return err
		}
		for _, n := range names {
			if n == "enrollment_session_counters" || n == "attendance_excused" || strings.HasPrefix(n, "enrollment_county_") {
				if err := s.st.Database().Collection(n).Drop(ctx); err != nil {
					return err
				}
			}
		}
		s.d.Log.Info("enrollment: data brought over to the _id layout", "attendance", res.Attendance, "counters_set", res.DriftTotal,
			"lists_set", res.ListsDrift, "keys_set", res.KeysDrift, "took", time.Since(start).String())
	}
	_, err = s.counters.ReplaceOne(ctx, bson.M{"_id": layoutDoc}, bson.M{"_id": layoutDoc, "v": layoutVersion}, options.Replace().SetUpsert(true))
	return err
}
