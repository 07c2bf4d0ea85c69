package enrollment

import (
	"context"
	"sort"
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"nongxun/courses"
	"nongxun/server"
	"nongxun/store"
)

// Target is the programme's person-time goal.
const Target = 10000

// Counter layout. Every figure of the county and its townships lives in
// one document per month, "county:YYYY-MM", so that a batch of check-ins
// moves one small document (on the embedded engine each updated document
// costs a scan and a rewrite of the whole document); the figures are the
// sum over the months, kept in memory. Township break-downs use
// "township|key" field names.
// Per-course figures live in the "courses" document, per-session ones in
// one document per month of session start ("sessions:YYYY-MM").
const (
	countyCounter  = "county" // county:YYYY-MM, one per month (of session start, or of registration)
	coursesCounter = "courses"
)

func countyOf(month string) string { return countyCounter + ":" + month }

// countyPrefix starts the name of each month's county counter collection:
// one collection per month, because on the embedded engine an update
// scans (and decodes) every document of its collection.
const countyPrefix = "enrollment_county_"

// monthColl is the collection holding the county document of a month.
func (s *Service) monthColl(month string) *store.Collection {
	return s.st.C(countyPrefix + strings.ReplaceAll(month, "-", "_"))
}

// countyMonths lists the months that have a county counter collection.
func (s *Service) countyMonths(ctx context.Context) ([]string, error) {
	names, err := s.st.Database().ListCollectionNames(ctx, bson.M{})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range names {
		if m, ok := strings.CutPrefix(n, countyPrefix); ok {
			out = append(out, strings.ReplaceAll(m, "_", "-"))
		}
	}
	sort.Strings(out)
	return out, nil
}

func sessionsCounter(month string) string { return "sessions:" + month }

func tk(township, k string) string { return key(township) + "|" + k }

// counted reports whether an attendance status is a person-time.
func counted(status string) bool { return status == StatusPresent || status == StatusLate }

// deltas are counter increments by counter document id.
type deltas map[string]map[string]int64

func (d deltas) add(id, field string, n int64) {
	if d[id] == nil {
		d[id] = map[string]int64{}
	}
	d[id][field] += n
}

// attendanceDeltas are the counter moves of one counted attendance (n = 1)
// or its removal (n = -1); first says whether it is the trainee's first.
func attendanceDeltas(a *Attendance, first bool, n int64) (main, sess deltas) {
	main, sess = deltas{}, deltas{}
	c, t := countyOf(a.Month), a.TownshipID
	main.add(c, "person_times", n)
	main.add(c, "by_month."+a.Month, n)
	main.add(c, "by_township."+key(t), n)
	main.add(c, "by_village."+key(a.VillageID), n)
	main.add(c, "twp_month."+tk(t, a.Month), n)
	for _, g := range a.Groups {
		main.add(c, "by_group."+g, n)
		main.add(c, "twp_group."+tk(t, g), n)
	}
	if first {
		main.add(c, "trainees", n)
		main.add(c, "trainees_by_township."+key(t), n)
		main.add(c, "trainees_by_village."+key(a.VillageID), n)
		for _, g := range a.Groups {
			main.add(c, "trainees_by_group."+g, n)
			main.add(c, "twp_trainees_group."+tk(t, g), n)
		}
	}
	sess.add(coursesCounter, "person_times."+a.CourseID, n)
	sess.add(sessionsCounter(a.Month), a.SessionID, n)
	return main, sess
}

// registeredDeltas are the counter moves of one registered trainee.
func registeredDeltas(t *Trainee, n int64) deltas {
	d := deltas{}
	m := monthOf(t.CreatedAt)
	c := countyOf(m)
	d.add(c, "registered", n)
	d.add(c, "registered_by_township."+key(t.TownshipID), n)
	d.add(c, "twp_new_month."+tk(t.TownshipID, m), n)
	if t.HasGroup(GroupPoverty) {
		d.add(c, "twp_newpov_month."+tk(t.TownshipID, m), n)
	}
	return d
}

// incCounters moves the county counters (each month's in its own
// collection) and the in-memory copy.
func (s *Service) incCounters(ctx context.Context, d deltas) error {
	for id, m := range d {
		month := strings.TrimPrefix(id, countyCounter+":")
		if err := incAll(ctx, s.monthColl(month), deltas{id: m}); err != nil {
			s.memo.reset()
			return err
		}
		s.memo.apply(m)
	}
	return nil
}

// incAll applies deltas in one round trip per collection.
func incAll(ctx context.Context, c *store.Collection, d deltas) error {
	if len(d) == 0 {
		return nil
	}
	ids := make([]string, 0, len(d))
	for id := range d {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	models := make([]mongo.WriteModel, 0, len(d))
	for _, id := range ids {
		inc := bson.M{}
		for f, v := range d[id] {
			inc[f] = v
		}
		models = append(models, mongo.NewUpdateOneModel().SetFilter(bson.M{"_id": id}).SetUpdate(bson.M{"$inc": inc}).SetUpsert(true))
	}
	_, err := c.BulkWrite(ctx, models, options.BulkWrite().SetOrdered(true))
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

// prefixed picks the "township|key" fields of a counter map for one township.
func prefixed(m map[string]int64, township string) map[string]int64 {
	out := map[string]int64{}
	p := key(township) + "|"
	for k, v := range m {
		if strings.HasPrefix(k, p) {
			out[k[len(p):]] = v
		}
	}
	return out
}

// countyMemo keeps the county counter document in memory: on the
// embedded engine this process is its only writer, so every move made
// through incAll is applied to the copy too (write-through); on MongoDB
// the copy is reloaded after memoTTL.
type countyMemo struct {
	mu     sync.Mutex
	doc    map[string]map[string]int64 // top field → sub field ("" for a plain number) → value
	at     time.Time
	usable bool
}

const memoTTL = 2 * time.Second

func (m *countyMemo) reset() {
	m.mu.Lock()
	m.usable = false
	m.mu.Unlock()
}

// apply adds moved fields to the copy.
func (m *countyMemo) apply(d map[string]int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.usable {
		return
	}
	for f, v := range d {
		a, b, _ := strings.Cut(f, ".")
		if m.doc[a] == nil {
			m.doc[a] = map[string]int64{}
		}
		m.doc[a][b] += v
	}
}

// county returns the county counters (summed over the months) as top field → sub field → value.
func (s *Service) county(ctx context.Context) (map[string]map[string]int64, error) {
	m := &s.memo
	m.mu.Lock()
	if m.usable && (s.st.Embedded() || time.Since(m.at) < memoTTL) {
		out := m.doc
		m.mu.Unlock()
		return out, nil
	}
	m.mu.Unlock()
	// Read while holding the lane, so no move lands between the read and
	// the copy becoming usable.
	var doc map[string]map[string]int64
	err := s.st.Lane(ctx, func(ctx context.Context) error {
		months, err := s.countyMonths(ctx)
		if err != nil {
			return err
		}
		doc = map[string]map[string]int64{}
		for _, month := range months {
			raw, err := s.monthColl(month).Counter(ctx, countyOf(month))
			if err != nil {
				return err
			}
			for f, v := range flatten(raw) {
				a, b, _ := strings.Cut(f, ".")
				if doc[a] == nil {
					doc[a] = map[string]int64{}
				}
				doc[a][b] += v
			}
		}
		m.mu.Lock()
		m.doc, m.at, m.usable = doc, time.Now(), true
		m.mu.Unlock()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.county(ctx)
}

// countySnapshot is a copy of the county counters safe to read without the lock.
func (s *Service) countySnapshot(ctx context.Context) (map[string]map[string]int64, error) {
	if _, err := s.county(ctx); err != nil {
		return nil, err
	}
	s.memo.mu.Lock()
	defer s.memo.mu.Unlock()
	out := make(map[string]map[string]int64, len(s.memo.doc))
	for k, v := range s.memo.doc {
		out[k] = copyMap(v)
	}
	return out, nil
}

func orEmpty(m map[string]int64) map[string]int64 {
	if m == nil {
		return map[string]int64{}
	}
	return m
}

func copyMap(m map[string]int64) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Progress reads the person-time counters of the county ("") or of one
// township, from the county counter document (kept in memory). It never
// counts attendance.
func (s *Service) Progress(ctx context.Context, townshipID string) (*Progress, error) {
	doc, err := s.countySnapshot(ctx)
	if err != nil {
		return nil, err
	}
	p := &Progress{Target: Target, TownshipID: townshipID}
	if townshipID == "" {
		p.PersonTimes, p.Trainees, p.Registered = doc["person_times"][""], doc["trainees"][""], doc["registered"][""]
		p.ByTownship, p.ByGroup, p.ByMonth = orEmpty(doc["by_township"]), orEmpty(doc["by_group"]), orEmpty(doc["by_month"])
		p.TraineesByGroup = orEmpty(doc["trainees_by_group"])
	} else {
		p.PersonTimes = doc["by_township"][townshipID]
		p.Trainees = doc["trainees_by_township"][townshipID]
		p.Registered = doc["registered_by_township"][townshipID]
		p.ByTownship = map[string]int64{townshipID: p.PersonTimes}
		p.ByGroup = prefixed(doc["twp_group"], townshipID)
		p.ByMonth = prefixed(doc["twp_month"], townshipID)
		p.TraineesByGroup = prefixed(doc["twp_trainees_group"], townshipID)
		all := doc["by_village"]
		p.ByVillage = map[string]int64{}
		for _, v := range s.d.Regions.Villages(ctx) {
			if v.ParentID == townshipID {
				p.ByVillage[v.ID] = all[v.ID]
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

// MonthlyFigures returns township id → metric → value for month "YYYY-MM", read from counters.
func (s *Service) MonthlyFigures(ctx context.Context, month string) (map[string]map[string]int64, error) {
	if len(month) != 7 || month[4] != '-' || !allDigits(month[:4]+month[5:]) {
		return nil, server.Invalid("月份格式应为 YYYY-MM", "month", "格式错误")
	}
	doc, err := s.countySnapshot(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]int64{}
	fields := map[string]string{"twp_month": MetricPersonTimes, "twp_new_month": MetricNewTrainees, "twp_newpov_month": MetricNewPovertyTrainees}
	for f, metric := range fields {
		for k, v := range doc[f] {
			t, m, ok := strings.Cut(k, "|")
			if !ok || m != month {
				continue
			}
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
	doc, err := s.scounters.Counter(ctx, sessionsCounter(monthOf(sess.StartsAt)))
	if err != nil {
		return 0, err
	}
	return store.Int64(doc[sess.ID]), nil
}

// CourseCounts reads a course's enrolled and person-times counters.
func (s *Service) CourseCounts(ctx context.Context, courseID string) (enrolled, personTimes int64, err error) {
	doc, err := s.scounters.Counter(ctx, coursesCounter)
	if err != nil {
		return 0, 0, err
	}
	return store.Int64Map(doc["enrolled"])[courseID], store.Int64Map(doc["person_times"])[courseID], nil
}
