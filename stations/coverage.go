package stations

import (
	"context"
	"errors"
	"math"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"nongxun/server"
	"nongxun/store"
)

// TargetRatio is the plan's coverage goal for villages and poverty villages.
const TargetRatio = 0.5

// Coverage is the GET /stations/coverage body.
type Coverage struct {
	VillagesTotal          int64   `json:"villages_total"`
	VillagesCovered        int64   `json:"villages_covered"`
	Ratio                  float64 `json:"ratio"`
	PovertyVillagesTotal   int64   `json:"poverty_villages_total"`
	PovertyVillagesCovered int64   `json:"poverty_villages_covered"`
	PovertyRatio           float64 `json:"poverty_ratio"`
	TownshipsTotal         int64   `json:"townships_total"`
	TownshipsCovered       int64   `json:"townships_covered"`
	TargetRatio            float64 `json:"target_ratio"`
	OperatingPoints        int64   `json:"operating_points"`
	TownshipID             string  `json:"township_id,omitempty"`
}

// coverCounter is a coverage counter document: "cov:all" or "cov:<township>".
type coverCounter struct {
	Villages        int64 `bson:"villages"`
	PovertyVillages int64 `bson:"poverty_villages"`
	Townships       int64 `bson:"townships"`
	Points          int64 `bson:"points"`
}

// coverKey is the marker of the place a station covers: its village for a
// village point, its township for a township station; "" for the rest.
func coverKey(x *Station) string {
	switch x.Kind {
	case KindVillage:
		return "v:" + x.RegionID
	case KindTownship:
		return "t:" + x.TownshipID
	}
	return ""
}

// cover counts a station that starts operating (on) or uncounts one that
// stops, inside unit u. The marker of its village (or township) holds the
// set of operating points there, so two points in one village cover it
// once; the counters move only when the set goes from empty to one or back.
// The marker's change is one atomic update by _id on both engines.
func (s *Service) cover(ctx context.Context, u *store.Unit, x *Station, on bool) error {
	key := coverKey(x)
	if key == "" {
		return nil
	}
	poverty := false
	if r, ok := s.d.Regions.Get(ctx, x.RegionID); ok && x.Kind == KindVillage {
		poverty = r.Poverty
	}
	add := bson.M{"$addToSet": bson.M{"points": x.ID}}
	pull := bson.M{"$pull": bson.M{"points": x.ID}}
	var before marker
	var err error
	if on {
		add["$setOnInsert"] = bson.M{"township_id": x.TownshipID, "poverty": poverty}
		err = s.markers.FindOneAndUpdate(ctx, bson.M{"_id": key}, add, &before,
			options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.Before))
	} else {
		err = s.markers.FindOneAndUpdate(ctx, bson.M{"_id": key}, pull, &before,
			options.FindOneAndUpdate().SetReturnDocument(options.Before))
	}
	existed := err == nil
	if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
		return err
	}
	if !on && !existed {
		return nil
	}
	had := existed && contains(before.Points, x.ID)
	if had == on { // nothing changed
		return nil
	}
	undo := pull
	if !on {
		undo = bson.M{"$addToSet": bson.M{"points": x.ID}}
	}
	u.OnFail("coverage marker", func(ctx context.Context) error {
		_, err := s.markers.UpdateOne(ctx, bson.M{"_id": key}, undo)
		return err
	})
	if existed {
		poverty = before.Poverty
	}
	n := 0
	if existed {
		n = len(before.Points)
	}
	sign, placeChanges := int64(1), n == 0
	if !on {
		sign, placeChanges = -1, n == 1
	}
	return s.incCover(ctx, u, x.TownshipID, coverDelta(x.Kind, placeChanges, poverty, sign))
}

func coverDelta(kind string, placeChanges, poverty bool, sign int64) map[string]int64 {
	d := map[string]int64{}
	if kind == KindVillage {
		d["points"] = sign
		if placeChanges {
			d["villages"] = sign
			if poverty {
				d["poverty_villages"] = sign
			}
		}
	} else if placeChanges {
		d["townships"] = sign
	}
	return d
}

// incCover moves the township's coverage counter and the county's, each
// with its undo in unit u.
func (s *Service) incCover(ctx context.Context, u *store.Unit, tid string, d map[string]int64) error {
	for _, id := range []string{"cov:" + tid, "cov:all"} {
		if err := s.incCounter(ctx, u, id, d); err != nil {
			return err
		}
	}
	return nil
}

// incCounter $incs counter id by d inside unit u, undone by -d.
func (s *Service) incCounter(ctx context.Context, u *store.Unit, id string, d map[string]int64) error {
	neg := map[string]int64{}
	for k, v := range d {
		neg[k] = -v
	}
	return u.Do(ctx, "counter "+id, func(ctx context.Context) error { return s.counters.Inc(ctx, id, d) },
		func(ctx context.Context) error { return s.counters.Inc(ctx, id, neg) })
}

// Coverage is the county's coverage ("" township) or one township's, read
// from the counters and the (cached) region tree.
func (s *Service) Coverage(ctx context.Context, townshipID string) (*Coverage, error) {
	key := "cov:all"
	c := &Coverage{TargetRatio: TargetRatio, TownshipID: townshipID}
	if townshipID != "" {
		if !s.d.Regions.IsTownship(ctx, townshipID) {
			return nil, server.NotFound("乡镇不存在")
		}
		key = "cov:" + townshipID
		c.TownshipsTotal = 1
	} else {
		c.TownshipsTotal = int64(len(s.d.Regions.Townships(ctx)))
	}
	for _, v := range s.d.Regions.Villages(ctx) {
		if townshipID == "" || v.ParentID == townshipID {
			c.VillagesTotal++
			if v.Poverty {
				c.PovertyVillagesTotal++
			}
		}
	}
	var cc coverCounter
	if err := s.counters.Get(ctx, key, &cc); err != nil && !store.IsNotFound(err) {
		return nil, err
	}
	c.VillagesCovered, c.PovertyVillagesCovered, c.TownshipsCovered, c.OperatingPoints = cc.Villages, cc.PovertyVillages, cc.Townships, cc.Points
	c.Ratio = ratio(c.VillagesCovered, c.VillagesTotal)
	c.PovertyRatio = ratio(c.PovertyVillagesCovered, c.PovertyVillagesTotal)
	return c, nil
}

func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return math.Round(float64(a)/float64(b)*10000) / 10000
}

// Recount rebuilds the coverage markers and counters, and the subsidy
// counter, from the stations (after a village's poverty flag changed, or a
// repair). It is safe while others write: it computes what each marker and
// counter should hold from the records, then sets each by _id; a status
// change landing meanwhile is at worst recounted by the next run.
func (s *Service) Recount(ctx context.Context, p *server.Principal) (*Coverage, error) {
	drifted, err := s.RepairCounters(ctx)
	if err != nil {
		return nil, err
	}
	s.note(ctx, p, "station.coverage_recount", "coverage", map[string]any{"drifted": drifted})
	return s.Coverage(ctx, "")
}

// RepairCounters is the stations' repair (registered in main): the
// coverage markers and counters and the subsidy counter rebuilt from the
// stations. It reports whether anything had drifted.
func (s *Service) RepairCounters(ctx context.Context) (bool, error) {
	all, err := s.loadAll(ctx)
	if err != nil {
		return false, err
	}
	listDrifted, err := s.repairList(ctx)
	if err != nil {
		return listDrifted, err
	}
	wantMarks := map[string]*marker{}
	want := map[string]map[string]int64{}
	add := func(id string, d map[string]int64) {
		if want[id] == nil {
			want[id] = map[string]int64{}
		}
		for k, v := range d {
			want[id][k] += v
		}
	}
	for i := range all {
		x := &all[i]
		if amt := subsidyOf(x.Kind, x.Origin); amt > 0 && x.AcceptedAt != nil {
			if x.SubsidyPaid {
				add(subsidyKey, map[string]int64{"paid_fen": amt, "paid_count": 1})
			} else {
				add(subsidyKey, map[string]int64{"owed_fen": amt, "owed_count": 1})
			}
		}
		key := coverKey(x)
		if key == "" || x.Status != StatusOperating {
			continue
		}
		m := wantMarks[key]
		if m == nil {
			poverty := false
			if r, ok := s.d.Regions.Get(ctx, x.RegionID); ok && x.Kind == KindVillage {
				poverty = r.Poverty
			}
			m = &marker{ID: key, Township: x.TownshipID, Poverty: poverty}
			wantMarks[key] = m
		}
		d := coverDelta(x.Kind, len(m.Points) == 0, m.Poverty, 1)
		m.Points = append(m.Points, x.ID)
		add("cov:"+x.TownshipID, d)
		add("cov:all", d)
	}
	var have []marker
	if err := s.markers.Find(ctx, bson.M{"_id": bson.M{"$regex": "^[vt]:"}}, &have); err != nil {
		return false, err
	}
	changed := false
	for _, m := range have {
		w, ok := wantMarks[m.ID]
		if !ok {
			if len(m.Points) > 0 {
				changed = true
				if _, err := s.markers.UpdateOne(ctx, bson.M{"_id": m.ID}, bson.M{"$set": bson.M{"points": []string{}}}); err != nil {
					return changed, err
				}
			}
			continue
		}
		if !sameSet(m.Points, w.Points) || m.Poverty != w.Poverty {
			changed = true
			if _, err := s.markers.ReplaceOne(ctx, bson.M{"_id": m.ID}, w); err != nil {
				return changed, err
			}
		}
		delete(wantMarks, m.ID)
	}
	for _, w := range wantMarks {
		changed = true
		if _, err := s.markers.ReplaceOne(ctx, bson.M{"_id": w.ID}, w, options.Replace().SetUpsert(true)); err != nil {
			return changed, err
		}
	}
	ids, err := s.counters.SyncCounters(ctx, func(id string) bool { return strings.HasPrefix(id, "cov:") || id == subsidyKey }, want, true)
	if len(ids) > 0 || listDrifted {
		changed = true
	}
	if err != nil {
		return changed, err
	}
	s.st.InvalidateCaches()
	return changed, nil
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !contains(b, x) {
			return false
		}
	}
	return true
}
