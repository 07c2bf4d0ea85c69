package enrollment

import (
	"context"
	"sort"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
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
	Fixed      bool    `json:"fixed"`
}

// Recount rebuilds every counter (and the distinct-trainee set) from the
// attendance, enrolment and trainee records, and reports each field that
// had drifted. With fix false it only reports. It holds the write lane.
func (s *Service) Recount(ctx context.Context, fix bool) (*RecountResult, error) {
	res := &RecountResult{Drift: []Drift{}}
	err := s.st.Lane(ctx, func(ctx context.Context) error {
		main, sess := deltas{}, deltas{}
		seen := map[string]bool{}
		cur, err := s.attendance.Cursor(ctx, bson.M{}, options.Find().SetSort(bson.D{{Key: "at", Value: 1}}))
		if err != nil {
			return err
		}
		excused := map[string]bool{}
		for cur.Next(ctx) {
			var a Attendance
			if err := cur.Decode(&a); err != nil {
				cur.Close(ctx)
				return err
			}
			res.Attendance++
			if a.Status == StatusExcused {
				excused[a.ID] = true
			}
			if !counted(a.Status) {
				continue
			}
			res.Counted++
			first := !seen[a.TraineeID]
			seen[a.TraineeID] = true
			m, x := attendanceDeltas(&a, first, 1)
			merge(main, m)
			merge(sess, x)
		}
		if err := cur.Err(); err != nil {
			return err
		}
		cur.Close(ctx)
		res.Trainees = int64(len(seen))
		var ts []Trainee
		if err := s.trainees.Find(ctx, bson.M{}, &ts, options.Find().SetProjection(bson.M{"township_id": 1, "groups": 1, "created_at": 1})); err != nil {
			return err
		}
		for _, t := range ts {
			t.CreatedAt = t.CreatedAt.UTC()
			merge(main, registeredDeltas(&t, 1))
		}
		var es []Enrollment
		if err := s.enrollments.Find(ctx, bson.M{}, &es, options.Find().SetProjection(bson.M{"course_id": 1})); err != nil {
			return err
		}
		for _, e := range es {
			sess.add(coursesCounter, "enrolled."+e.CourseID, 1)
		}
		s.memo.reset()
		months, err := s.countyMonths(ctx)
		if err != nil {
			return err
		}
		byMonth := map[string]deltas{}
		for _, m := range months {
			byMonth[m] = deltas{}
		}
		for id, f := range main {
			m := strings.TrimPrefix(id, countyCounter+":")
			if byMonth[m] == nil {
				byMonth[m] = deltas{}
			}
			byMonth[m][id] = f
		}
		var d1 []Drift
		for m, want := range byMonth {
			d, err := s.compare(ctx, s.monthColl(m), want, fix)
			if err != nil {
				return err
			}
			d1 = append(d1, d...)
		}
		sort.Slice(d1, func(i, j int) bool {
			if d1[i].Counter != d1[j].Counter {
				return d1[i].Counter < d1[j].Counter
			}
			return d1[i].Field < d1[j].Field
		})
		d2, err := s.compare(ctx, s.scounters, sess, fix)
		if err != nil {
			return err
		}
		res.Drift = append(d1, d2...)
		res.DriftTotal = len(res.Drift)
		if len(res.Drift) > 500 {
			res.Drift = res.Drift[:500]
		}
		if fix {
			if err := rebuildSet(ctx, s.attendees, seen, s.now()); err != nil {
				return err
			}
			if err := rebuildSet(ctx, s.excused, excused, s.now()); err != nil {
				return err
			}
			res.Fixed = true
		}
		return nil
	})
	return res, err
}

func merge(into, d deltas) {
	for id, fs := range d {
		for f, v := range fs {
			into.add(id, f, v)
		}
	}
}

// flatten turns a counter document into dotted field → value.
func flatten(doc bson.M) map[string]int64 {
	out := map[string]int64{}
	for k, v := range doc {
		if k == "_id" {
			continue
		}
		switch v.(type) {
		case bson.M, bson.D:
			for f, n := range store.Int64Map(v) {
				out[k+"."+f] = n
			}
		default:
			out[k] = store.Int64(v)
		}
	}
	return out
}

// nest turns dotted field → value back into a document.
func nest(id string, f map[string]int64) bson.M {
	doc := bson.M{"_id": id}
	for k, v := range f {
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

// compare diffs stored counters against the expected ones and, with fix,
// replaces every stored document by the expected one.
func (s *Service) compare(ctx context.Context, c *store.Collection, want deltas, fix bool) ([]Drift, error) {
	var docs []bson.M
	if err := c.Find(ctx, bson.M{}, &docs); err != nil {
		return nil, err
	}
	have := map[string]map[string]int64{}
	for _, d := range docs {
		id, _ := d["_id"].(string)
		have[id] = flatten(d)
	}
	ids := map[string]bool{}
	for id := range have {
		ids[id] = true
	}
	for id := range want {
		ids[id] = true
	}
	var out []Drift
	var order []string
	for id := range ids {
		order = append(order, id)
	}
	sort.Strings(order)
	for _, id := range order {
		fields := map[string]bool{}
		for f := range have[id] {
			fields[f] = true
		}
		for f := range want[id] {
			fields[f] = true
		}
		var fs []string
		for f := range fields {
			fs = append(fs, f)
		}
		sort.Strings(fs)
		changed := false
		for _, f := range fs {
			if have[id][f] != want[id][f] {
				out = append(out, Drift{Counter: id, Field: f, Was: have[id][f], Now: want[id][f]})
				changed = true
			}
		}
		if fix && changed {
			if len(want[id]) == 0 {
				if _, err := c.DeleteOne(ctx, bson.M{"_id": id}); err != nil {
					return nil, err
				}
				continue
			}
			if _, err := c.ReplaceOne(ctx, bson.M{"_id": id}, nest(id, want[id]), options.Replace().SetUpsert(true)); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// rebuildSet makes collection c hold exactly the ids of set.
func rebuildSet(ctx context.Context, c *store.Collection, set map[string]bool, now time.Time) error {
	var rows []struct {
		ID string `bson:"_id"`
	}
	if err := c.Find(ctx, bson.M{}, &rows); err != nil {
		return err
	}
	have := map[string]bool{}
	for _, r := range rows {
		have[r.ID] = true
		if !set[r.ID] {
			if _, err := c.DeleteOne(ctx, bson.M{"_id": r.ID}); err != nil {
				return err
			}
		}
	}
	var add []any
	for id := range set {
		if !have[id] {
			add = append(add, bson.M{"_id": id, "at": now.UTC()})
		}
	}
	if len(add) > 0 {
		if _, err := c.InsertMany(ctx, add); err != nil && !store.IsDup(err) {
			return err
		}
	}
	return nil
}

// DriftCheck compares the county's person-times counter with the number
// of counted attendance records (one count: run it at start-up, off the
// request path) and reports the difference.
func (s *Service) DriftCheck(ctx context.Context) (stored, records int64, err error) {
	p, err := s.Progress(ctx, "")
	if err != nil {
		return 0, 0, err
	}
	n, err := s.attendance.Count(ctx, bson.M{"status": bson.M{"$in": bson.A{StatusPresent, StatusLate}}})
	return p.PersonTimes, n, err
}
