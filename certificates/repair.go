package certificates

import (
	"context"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"nongxun/clock"
)

// RepairCounters rebuilds the certificate counters from the certificates
// when they disagree (a crash between storing certificates and counting
// them, or a failed undo), writes any missing code and index documents,
// and reports whether anything had drifted. It is safe while others write:
// it computes from the records, then sets each counter by _id and only
// adds missing index entries (docs/design.md, "Repairs"); main registers
// it with st.OnRepair. It empties the store's caches afterwards.
func (s *Service) RepairCounters(ctx context.Context) (bool, error) {
	var certs []struct {
		TownshipID string    `bson:"township_id"`
		Status     string    `bson:"status"`
		IssuedAt   time.Time `bson:"issued_at"`
	}
	if err := s.certs.Find(ctx, bson.M{}, &certs, options.Find().SetProjection(bson.M{"township_id": 1, "status": 1, "issued_at": 1})); err != nil {
		return false, err
	}
	want := map[string]map[string]int64{townshipCtr: {}}
	add := func(ctr, tid string) {
		if want[ctr] == nil {
			want[ctr] = map[string]int64{}
		}
		if tid != "" {
			want[ctr][tid]++
		}
		want[ctr][countyKey]++
	}
	for _, c := range certs {
		if c.Status != StatusRevoked {
			add(townshipCtr, c.TownshipID)
		}
		add(monthCtr(clock.Month(c.IssuedAt)), c.TownshipID)
	}
	ids, err := s.counters.SyncCounters(ctx, func(id string) bool {
		return id == townshipCtr || strings.HasPrefix(id, monthCtr("")) // not the serial sequences beside them
	}, want, true)
	if err != nil {
		return len(ids) > 0, err
	}
	n, err := s.reindex(ctx)
	drifted := len(ids) > 0 || n > 0
	if drifted {
		s.st.InvalidateCaches()
	}
	return drifted, err
}
