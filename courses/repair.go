package courses

import (
	"context"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"nongxun/clock"
)

// RepairCounters rebuilds the sessions_held counters from the sessions
// when they disagree (a crash between a session write and its count, or a
// failed undo), and reports whether anything had drifted. It is safe while
// others write: it computes from the records, then sets each drifted
// counter by _id (docs/design.md, "Repairs"); main registers it with
// st.OnRepair, and it empties the store's caches afterwards.
func (s *Service) RepairCounters(ctx context.Context) (bool, error) {
	var list []struct {
		TownshipID string    `bson:"township_id"`
		StartsAt   time.Time `bson:"starts_at"`
		Cancelled  bool      `bson:"cancelled"`
	}
	if err := s.sessions.Find(ctx, bson.M{}, &list, options.Find().SetProjection(bson.M{"township_id": 1, "starts_at": 1, "cancelled": 1})); err != nil {
		return false, err
	}
	want := map[string]map[string]int64{}
	for _, x := range list {
		if x.Cancelled {
			continue
		}
		id, t := heldCounterID(clock.Month(x.StartsAt)), x.TownshipID
		if t == "" {
			t = countyKey
		}
		if want[id] == nil {
			want[id] = map[string]int64{}
		}
		want[id]["by_township."+t]++
	}
	ids, err := s.counters.SyncCounters(ctx, func(id string) bool { return strings.HasPrefix(id, heldCounterID("")) }, want, true)
	if len(ids) > 0 {
		s.st.InvalidateCaches()
	}
	return len(ids) > 0, err
}
