package enrollment

import (
	"context"
	"sort"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"nongxun/server"
	"nongxun/store"
)

// Target is the programme's person-time goal.
const Target = 10000

const countyCounter = "county"

func twpCounter(t string) string     { return "twp:" + key(t) }
func courseCounter(c string) string  { return "course:" + c }
func sessionCounter(s string) string { return "session:" + s }

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
	t := twpCounter(a.TownshipID)
	for _, id := range []string{countyCounter, t} {
		main.add(id, "person_times", n)
		main.add(id, "by_month."+a.Month, n)
		for _, g := range a.Groups {
			main.add(id, "by_group."+g, n)
		}
		if first {
			main.add(id, "trainees", n)
			for _, g := range a.Groups {
				main.add(id, "trainees_by_group."+g, n)
			}
		}
	}
	main.add(countyCounter, "by_township."+key(a.TownshipID), n)
	main.add(t, "by_village."+key(a.VillageID), n)
	if first {
		main.add(countyCounter, "trainees_by_township."+key(a.TownshipID), n)
		main.add(t, "trainees_by_village."+key(a.VillageID), n)
	}
	sess.add(courseCounter(a.CourseID), "person_times", n)
	sess.add(sessionCounter(a.SessionID), "person_times", n)
	return main, sess
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

// Progress reads the person-time counters of the county ("") or of one
// township. It never counts attendance records.
func (s *Service) Progress(ctx context.Context, townshipID string) (*Progress, error) {
	id := countyCounter
	if townshipID != "" {
		id = twpCounter(townshipID)
	}
	doc, err := s.counters.Counter(ctx, id)
	if err != nil {
		return nil, err
	}
	p := &Progress{Target: Target, PersonTimes: store.Int64(doc["person_times"]), Trainees: store.Int64(doc["trainees"]),
		Registered: store.Int64(doc["registered"]), ByGroup: store.Int64Map(doc["by_group"]), ByMonth: store.Int64Map(doc["by_month"]),
		TraineesByGroup: store.Int64Map(doc["trainees_by_group"]), TownshipID: townshipID}
	if townshipID == "" {
		p.ByTownship = store.Int64Map(doc["by_township"])
	} else {
		p.ByTownship = map[string]int64{townshipID: p.PersonTimes}
		p.ByVillage = store.Int64Map(doc["by_village"])
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
	var docs []bson.M
	if err := s.counters.Find(ctx, bson.M{"_id": bson.M{"$regex": "^twp:"}}, &docs); err != nil {
		return nil, err
	}
	out := map[string]map[string]int64{}
	for _, d := range docs {
		id, _ := d["_id"].(string)
		t := strings.TrimPrefix(id, "twp:")
		if t == "none" {
			t = ""
		}
		out[t] = map[string]int64{
			MetricPersonTimes:        store.Int64Map(d["by_month"])[month],
			MetricNewTrainees:        store.Int64Map(d["new_by_month"])[month],
			MetricNewPovertyTrainees: store.Int64Map(d["new_poverty_by_month"])[month],
		}
	}
	return out, nil
}

// sessionCount reads a session's person-times counter.
func (s *Service) sessionCount(ctx context.Context, sessionID string) (int64, error) {
	doc, err := s.scounters.Counter(ctx, sessionCounter(sessionID))
	if err != nil {
		return 0, err
	}
	return store.Int64(doc["person_times"]), nil
}

// CourseCounts reads a course's enrolled and person-times counters.
func (s *Service) CourseCounts(ctx context.Context, courseID string) (enrolled, personTimes int64, err error) {
	doc, err := s.scounters.Counter(ctx, courseCounter(courseID))
	if err != nil {
		return 0, 0, err
	}
	return store.Int64(doc["enrolled"]), store.Int64(doc["person_times"]), nil
}
