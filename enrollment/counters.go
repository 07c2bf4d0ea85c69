package enrollment

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"nongxun/clock"
	"nongxun/courses"
	"nongxun/server"
	"nongxun/store"
)

// Target is the programme's person-time goal.
const Target = 10000

// Counter documents of enrollment_counters, each read by _id and moved
// with $inc. Each is small, because the embedded engine reads and rewrites
// a whole document on every update (about 10 µs a field):
//
//	county              person_times, trainees, registered, by_township.<t>, by_group.<g>,
//	                    by_month.<m>, trainees_by_group.<g>, trainees_by_township.<t>,
//	                    registered_by_township.<t>          (GET /progress for the county)
//	township/<t>        by_group.<g>, by_month.<m>, trainees_by_group.<g>, by_village.<v>
//	month/<m>           pt.<t>, new.<t>, newpov.<t>         (MonthlyFigures)
//	sessions/<day>      <session id>: person-times           (by the session's start day; walk-in capacity)
//	courses             enrolled.<course id>                 (course capacity)
//
// Person-times are counted where and as the attendance record says
// (township, village, groups and month copied in when it was recorded).
// Distinct trainees and registrations are counted by the trainee's
// current record (township and groups), so correcting a record moves them.
const (
	countyCounter  = "county"
	coursesCounter = "courses"
	finishedDoc    = "finished" // done.<course id>: the course-finished events were published (not a counter)
	layoutDoc      = "layout"   // the data layout's version (not a counter)
)

func townshipCounter(t string) string { return "township/" + key(t) }

// deferred reports whether a counter document is moved through the
// journal (journal.go, "Deferred counters") rather than at once.
func deferred(id string) bool { return strings.HasPrefix(id, "township/") }

// split separates the deferred counter moves from those made at once.
func (d deltas) split() (now, later deltas) {
	now, later = deltas{}, deltas{}
	for id, fs := range d {
		t := now
		if deferred(id) {
			t = later
		}
		for f, v := range fs {
			t.add(id, f, v)
		}
	}
	return now, later
}
func monthCounter(m string) string { return "month/" + m }
func sessionsCounter(day string) string {
	return "sessions/" + day
}

// isCounter reports whether a document of enrollment_counters is a
// counter rebuilt by a recount.
func isCounter(id string) bool {
	return id == countyCounter || id == coursesCounter || strings.HasPrefix(id, "township/") ||
		strings.HasPrefix(id, "month/") || strings.HasPrefix(id, "sessions/")
}

// key makes a counter field name from an id that may be empty.
func key(id string) string {
	if id == "" {
		return "none"
	}
	return id
}

// counted reports whether an attendance status is a person-time.
func counted(status string) bool { return status == StatusPresent || status == StatusLate }

// deltas are counter increments: document id → field → n.
type deltas map[string]map[string]int64

func (d deltas) add(id, field string, n int64) {
	if n == 0 {
		return
	}
	if d[id] == nil {
		d[id] = map[string]int64{}
	}
	d[id][field] += n
}

func (d deltas) merge(o deltas) {
	for id, fs := range o {
		for f, v := range fs {
			d.add(id, f, v)
		}
	}
}

func (d deltas) neg() deltas {
	out := deltas{}
	for id, fs := range d {
		for f, v := range fs {
			out.add(id, f, -v)
		}
	}
	return out
}

// sessionDay is the day a session's person-times are counted under.
func sessionDay(sess *courses.Session) string { return clock.Day(sess.StartsAt) }

// personTimeDeltas are the moves of one attendance record becoming
// counted (n = 1) or uncounted (n = -1). The session's own count is left
// out when withSession is false (a walk-in's place was taken already).
func personTimeDeltas(a *Attendance, n int64, withSession bool) deltas {
	d := deltas{}
	t, m := a.TownshipID, a.Month
	d.add(countyCounter, "person_times", n)
	d.add(countyCounter, "by_month."+m, n)
	d.add(countyCounter, "by_township."+key(t), n)
	tw := townshipCounter(t)
	d.add(tw, "by_month."+m, n)
	d.add(tw, "by_village."+key(a.VillageID), n)
	for _, g := range a.Groups {
		d.add(countyCounter, "by_group."+g, n)
		d.add(tw, "by_group."+g, n)
	}
	d.add(monthCounter(m), "pt."+key(t), n)
	if withSession && a.Day != "" {
		d.add(sessionsCounter(a.Day), a.SessionID, n)
	}
	return d
}

// distinctDeltas are the moves of a trainee becoming (n = 1) or ceasing
// to be (n = -1) one who attended, by their current record.
func distinctDeltas(t *Trainee, n int64) deltas {
	d := deltas{}
	d.add(countyCounter, "trainees", n)
	d.add(countyCounter, "trainees_by_township."+key(t.TownshipID), n)
	tw := townshipCounter(t.TownshipID)
	for _, g := range t.Groups {
		d.add(countyCounter, "trainees_by_group."+g, n)
		d.add(tw, "trainees_by_group."+g, n)
	}
	return d
}

// registeredDeltas are the moves of one registered trainee (by the month
// of registration and their current township).
func registeredDeltas(t *Trainee, n int64) deltas {
	d := deltas{}
	m := clock.Month(t.CreatedAt)
	d.add(countyCounter, "registered", n)
	d.add(countyCounter, "registered_by_township."+key(t.TownshipID), n)
	d.add(monthCounter(m), "new."+key(t.TownshipID), n)
	if t.HasGroup(GroupPoverty) {
		d.add(monthCounter(m), "newpov."+key(t.TownshipID), n)
	}
	return d
}

// enrolDeltas move a course's enrolment count.
func enrolDeltas(courseID string, n int64) deltas {
	d := deltas{}
	d.add(coursesCounter, "enrolled."+courseID, n)
	return d
}

// models are the ordered upserts that apply d.
func (d deltas) models() ([]string, []mongo.WriteModel) {
	ids := make([]string, 0, len(d))
	for id := range d {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	models := make([]mongo.WriteModel, 0, len(ids))
	keep := ids[:0]
	for _, id := range ids {
		inc := bson.M{}
		for f, v := range d[id] {
			if v != 0 {
				inc[f] = v
			}
		}
		if len(inc) == 0 {
			continue
		}
		keep = append(keep, id)
		models = append(models, mongo.NewUpdateOneModel().SetFilter(bson.M{"_id": id}).SetUpdate(bson.M{"$inc": inc}).SetUpsert(true))
	}
	return keep, models
}

// incCounters applies d in one ordered bulk write.
func (s *Service) incCounters(ctx context.Context, d deltas) error {
	_, models := d.models()
	if len(models) == 0 {
		return nil
	}
	_, err := s.counters.BulkWrite(ctx, models, options.BulkWrite().SetOrdered(true))
	return err
}

// errPartialCounters is the undo of a counter update whose outcome is not
// known: it fails, so the unit records a repair (the recount rebuilds).
var errPartialCounters = errors.New("counter update failed part-way; the recount rebuilds the counters")

// count applies d inside unit u with an exact undo: on a failure part-way
// through, the counter documents already moved are moved back (or, when
// that cannot be known, a repair is recorded). Deferred documents move
// through a journal entry of their own.
func (s *Service) count(ctx context.Context, u *store.Unit, what string, d deltas) error {
	now, later := d.split()
	if len(later) > 0 {
		ch := newChanges()
		ch.inc(later)
		if err := s.logChanges(ctx, u, ch); err != nil {
			return err
		}
	}
	return s.countNow(ctx, u, what, now)
}

// countNow applies d (no deferred documents) inside u.
func (s *Service) countNow(ctx context.Context, u *store.Unit, what string, d deltas) error {
	ids, models := d.models()
	if len(models) == 0 {
		return nil
	}
	_, err := s.counters.BulkWrite(ctx, models, options.BulkWrite().SetOrdered(true))
	if err == nil {
		u.OnFail(what, func(ctx context.Context) error { return s.incCounters(ctx, d.neg()) })
		return nil
	}
	var bwe mongo.BulkWriteException
	if errors.As(err, &bwe) && len(bwe.WriteErrors) > 0 && bwe.WriteConcernError == nil {
		applied := deltas{}
		for _, id := range ids[:bwe.WriteErrors[0].Index] {
			applied[id] = d[id]
		}
		u.OnFail(what+" (the part applied)", func(ctx context.Context) error { return s.incCounters(ctx, applied.neg()) })
		return err
	}
	u.OnFail(what, func(ctx context.Context) error { return fmt.Errorf("%w: %v", errPartialCounters, err) })
	return err
}

// Progress is the GET /api/v1/progress body.
type Progress struct {
	Target          int64            `json:"target"`
	PersonTimes     int64            `json:"person_times"`
	Trainees        int64            `json:"trainees"`
	Registered      int64            `json:"registered"`
	ByTownship      map[string]int64 `json:"by_township"`
	ByGroup         map[string]int64 `json:"by_group"`
	ByMonth         map[string]int64 `json:"by_month"`
	ByVillage       map[string]int64 `json:"by_village,omitempty"`
	TraineesByGroup map[string]int64 `json:"trainees_by_group"`
	TownshipID      string           `json:"township_id,omitempty"`
}

// counterDoc reads a counter document as field → sub-field → value ("" for a plain number).
func (s *Service) counterDoc(ctx context.Context, id string) (map[string]map[string]int64, error) {
	var raw bson.M
	var err error
	if deferred(id) {
		raw, err = s.deferredCounter(ctx, id)
	} else {
		raw, err = s.counters.Counter(ctx, id)
	}
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]int64{}
	for k, v := range raw {
		if k == "_id" || k == "ap" || k == "ver" {
			continue
		}
		switch v.(type) {
		case bson.M, bson.D:
			out[k] = store.Int64Map(v)
		default:
			out[k] = map[string]int64{"": store.Int64(v)}
		}
	}
	return out, nil
}

func orEmpty(m map[string]int64) map[string]int64 {
	if m == nil {
		return map[string]int64{}
	}
	return m
}

// Progress reads the person-time figures of the county ("") or of one
// township from their counter documents (one or two _id reads); it never
// counts records.
func (s *Service) Progress(ctx context.Context, townshipID string) (*Progress, error) {
	c, err := s.counterDoc(ctx, countyCounter)
	if err != nil {
		return nil, err
	}
	p := &Progress{Target: Target, TownshipID: townshipID}
	if townshipID == "" {
		p.PersonTimes, p.Trainees, p.Registered = c["person_times"][""], c["trainees"][""], c["registered"][""]
		p.ByTownship, p.ByGroup, p.ByMonth = orEmpty(c["by_township"]), orEmpty(c["by_group"]), orEmpty(c["by_month"])
		p.TraineesByGroup = orEmpty(c["trainees_by_group"])
	} else {
		tw, err := s.counterDoc(ctx, townshipCounter(townshipID))
		if err != nil {
			return nil, err
		}
		p.PersonTimes = c["by_township"][townshipID]
		p.Trainees = c["trainees_by_township"][townshipID]
		p.Registered = c["registered_by_township"][townshipID]
		p.ByTownship = map[string]int64{townshipID: p.PersonTimes}
		p.ByGroup, p.ByMonth = orEmpty(tw["by_group"]), orEmpty(tw["by_month"])
		p.TraineesByGroup = orEmpty(tw["trainees_by_group"])
		p.ByVillage = map[string]int64{}
		for _, v := range s.d.Regions.Villages(ctx) {
			if v.ParentID == townshipID {
				p.ByVillage[v.ID] = tw["by_village"][v.ID]
			}
		}
	}
	for _, g := range Groups {
		if _, ok := p.ByGroup[g]; !ok {
			p.ByGroup[g] = 0
		}
	}
	return p, nil
}

// Metric names MonthlyFigures reports.
const (
	MetricPersonTimes        = "person_times"
	MetricNewTrainees        = "new_trainees"
	MetricNewPovertyTrainees = "new_poverty_trainees"
)

// MonthlyFigures returns township id → metric → value for month "YYYY-MM", read from its counter document.
func (s *Service) MonthlyFigures(ctx context.Context, month string) (map[string]map[string]int64, error) {
	if _, err := clock.ParseMonth(month); err != nil {
		return nil, server.Invalid("月份格式应为 YYYY-MM", "month", "格式错误")
	}
	doc, err := s.counterDoc(ctx, monthCounter(month))
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]int64{}
	for f, metric := range map[string]string{"pt": MetricPersonTimes, "new": MetricNewTrainees, "newpov": MetricNewPovertyTrainees} {
		for t, v := range doc[f] {
			if t == "none" {
				t = ""
			}
			if out[t] == nil {
				out[t] = map[string]int64{MetricPersonTimes: 0, MetricNewTrainees: 0, MetricNewPovertyTrainees: 0}
			}
			out[t][metric] = v
		}
	}
	return out, nil
}

// sessionCount reads a session's person-times counter.
func (s *Service) sessionCount(ctx context.Context, sess *courses.Session) (int64, error) {
	doc, err := s.counters.Counter(ctx, sessionsCounter(sessionDay(sess)))
	if err != nil {
		return 0, err
	}
	return store.Int64(doc[sess.ID]), nil
}

// SessionPresent is the person-times recorded at a session (a counter
// read; for pages that list many sessions).
func (s *Service) SessionPresent(ctx context.Context, sessionID string) (int64, error) {
	sess, err := s.session(ctx, sessionID)
	if err != nil {
		return 0, err
	}
	return s.sessionCount(ctx, sess)
}

// enrolledCounts reads every course's enrolment count.
func (s *Service) enrolledCounts(ctx context.Context) (map[string]int64, error) {
	doc, err := s.counters.Counter(ctx, coursesCounter)
	if err != nil {
		return nil, err
	}
	return store.Int64Map(doc["enrolled"]), nil
}

// CourseCounts reads a course's enrolment count and its person-times (the
// sum of its sessions' counters).
func (s *Service) CourseCounts(ctx context.Context, courseID string) (enrolled, personTimes int64, err error) {
	all, err := s.enrolledCounts(ctx)
	if err != nil {
		return 0, 0, err
	}
	list, err := s.d.Courses.Sessions(ctx, courseID)
	if err != nil {
		return 0, 0, err
	}
	byDay := map[string]bson.M{}
	for i := range list {
		day := sessionDay(&list[i])
		doc, ok := byDay[day]
		if !ok {
			if doc, err = s.counters.Counter(ctx, sessionsCounter(day)); err != nil {
				return 0, 0, err
			}
			byDay[day] = doc
		}
		personTimes += store.Int64(doc[list[i].ID])
	}
	return all[courseID], personTimes, nil
}
