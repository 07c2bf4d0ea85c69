package certificates

import (
	"context"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"nongxun/store"
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
		var stored []bson.M
		if err := s.counters.Find(ctx, bson.M{}, &stored); err != nil {
			return err
		}
		have := map[string]map[string]int64{}
		for _, d := range stored {
			id, _ := d["_id"].(string)
			if id != townshipCtr && !strings.HasPrefix(id, monthCtr("")) {
				continue // the serial sequences share the collection
			}
			m := map[string]int64{}
			for k, v := range d {
				if k != "_id" && store.Int64(v) != 0 {
					m[k] = store.Int64(v)
				}
			}
			have[id] = m
		}
		for id := range have {
			if _, ok := want[id]; !ok && len(have[id]) > 0 {
				want[id] = map[string]int64{}
			}
		}
		for id, w := range want {
			if sameCounts(w, have[id]) {
				continue
			}
			drifted = true
			doc := bson.M{"_id": id}
			for k, v := range w {
				doc[k] = v
			}
			if _, err := s.counters.ReplaceOne(ctx, bson.M{"_id": id}, doc, options.Replace().SetUpsert(true)); err != nil {
				return err
			}
		}
		return nil
	})
	return drifted, err
}

func sameCounts(a, b map[string]int64) bool {
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
