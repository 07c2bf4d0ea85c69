package courses

import (
	"context"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
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
			want[id]["by_township."+t]++
		}
		ids, err := s.counters.SyncCounters(ctx, func(id string) bool { return strings.HasPrefix(id, heldCounterID("")) }, want, true)
		drifted = len(ids) > 0
		return err
	})
	return drifted, err
}
