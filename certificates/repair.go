package certificates

import (
	"context"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// RepairCounters rebuilds the certificate counters from the certificates
// when they disagree: a crash between storing certificates and counting them
// leaves the counters behind. It holds the write lane and reports whether
// anything had drifted. main runs it at start-up, before serving.
func (s *Service) RepairCounters(ctx context.Context) (bool, error) {
	drifted := false
	err := s.st.Lane(ctx, func(ctx context.Context) error {
		var certs []struct {
			TownshipID string    `bson:"township_id"`
			Status     string    `bson:"status"`
			IssuedAt   time.Time `bson:"issued_at"`
		}
		if err := s.certs.Find(ctx, bson.M{}, &certs, options.Find().SetProjection(bson.M{"township_id": 1, "status": 1, "issued_at": 1})); err != nil {
			return err
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
			add(monthCtr(c.IssuedAt.In(shanghai).Format("2006-01")), c.TownshipID)
		}
		ids, err := s.counters.SyncCounters(ctx, func(id string) bool {
			return id == townshipCtr || strings.HasPrefix(id, monthCtr("")) // not the serial sequences beside them
		}, want, true)
		drifted = len(ids) > 0
		return err
	})
	return drifted, err
}
