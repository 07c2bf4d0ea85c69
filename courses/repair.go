package courses

import (
	"context"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"nongxun/store"
)

// RepairCounters rebuilds the sessions_held counters from the sessions
// when they disagree (a crash between a session write and its count). It
// holds the write lane and reports whether anything had drifted; main runs
// it at start-up, before serving.
func (s *Service) RepairCounters(ctx context.Context) (bool, error) {
	drifted := false
	err := s.st.Lane(ctx, func(ctx context.Context) error {
		var list []struct {
			TownshipID string    `bson:"township_id"`
			StartsAt   time.Time `bson:"starts_at"`
			Cancelled  bool      `bson:"cancelled"`
		}
		if err := s.sessions.Find(ctx, bson.M{}, &list, options.Find().SetProjection(bson.M{"township_id": 1, "starts_at": 1, "cancelled": 1})); err != nil {
			return err
		}
		want := map[string]map[string]int64{}
		for _, x := range list {
			if x.Cancelled {
				continue
			}
			id, t := heldCounterID(monthOf(x.StartsAt)), x.TownshipID
			if t == "" {
				t = countyKey
			}
			if want[id] == nil {
				want[id] = map[string]int64{}
			}
			want[id][t]++
		}
		var stored []bson.M
		if err := s.counters.Find(ctx, bson.M{}, &stored); err != nil {
			return err
		}
		have := map[string]map[string]int64{}
		for _, d := range stored {
			id, _ := d["_id"].(string)
			if !strings.HasPrefix(id, heldCounterID("")) {
				continue
			}
			m := map[string]int64{}
			for k, v := range store.Int64Map(d["by_township"]) {
				if v != 0 {
					m[k] = v
				}
			}
			have[id] = m
			if want[id] == nil {
				want[id] = map[string]int64{}
			}
		}
		for id, w := range want {
			if equalCounts(w, have[id]) {
				continue
			}
			drifted = true
			by := bson.M{}
			for k, v := range w {
				by[k] = v
			}
			if _, err := s.counters.ReplaceOne(ctx, bson.M{"_id": id}, bson.M{"_id": id, "by_township": by}, options.Replace().SetUpsert(true)); err != nil {
				return err
			}
		}
		return nil
	})
	return drifted, err
}

func equalCounts(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
