package stations

import (
	"context"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/store"
)

// ParcelRecount reports a rebuild of the parcel day counters.
type ParcelRecount struct {
	Parcels     int64    `json:"parcels"`
	DriftedDays []string `json:"drifted_days"`
	Fixed       bool     `json:"fixed"`
}

// RecountParcels rebuilds the parcel day counters ("pd:<day>") from the
// parcels, hot and archived — a crash between a parcel write and its count
// leaves them behind — and reports the days that had drifted; with fix it
// writes the rebuilt ones. It holds the write lane and reads every parcel,
// so it is a maintenance command, not a start-up step.
func (s *Service) RecountParcels(ctx context.Context, fix bool) (*ParcelRecount, error) {
	out := &ParcelRecount{DriftedDays: []string{}}
	err := s.st.Lane(ctx, func(ctx context.Context) error {
		want := map[string]map[string]int64{}
		add := func(day, field string, n int64) {
			id := "pd:" + day
			if want[id] == nil {
				want[id] = map[string]int64{}
			}
			want[id][field] += n
		}
		for _, c := range append(append([]*store.Collection{}, s.hot...), s.archived...) {
			cur, err := c.Cursor(ctx, bson.M{})
			if err != nil {
				return err
			}
			for cur.Next(ctx) {
				var pc Parcel
				if err := cur.Decode(&pc); err != nil {
					cur.Close(ctx)
					return err
				}
				out.Parcels++
				s.countParcel(ctx, &pc, add)
			}
			err = cur.Err()
			cur.Close(ctx)
			if err != nil {
				return err
			}
		}
		ids, err := s.counters.SyncCounters(ctx, func(id string) bool { return strings.HasPrefix(id, "pd:") }, want, fix)
		for _, id := range ids {
			out.DriftedDays = append(out.DriftedDays, strings.TrimPrefix(id, "pd:"))
		}
		if err != nil {
			return err
		}
		out.Fixed = fix && len(out.DriftedDays) > 0
		return nil
	})
	return out, err
}

// countParcel adds what CreateParcel and Scan count for one parcel.
func (s *Service) countParcel(ctx context.Context, pc *Parcel, add func(day, field string, n int64)) {
	tk := tkey(pc.TownshipID)
	day := dayOf(pc.CreatedAt)
	add(day, pc.Direction, 1)
	add(day, "t."+tk+"."+pc.Direction, 1)
	last := -1
	for _, sc := range pc.Scans {
		hop := indexOf(pc.Route, sc.NodeID)
		if hop != last {
			add(dayOf(sc.At), "n."+sc.NodeID+"."+pc.Direction, 1)
		}
		last = hop
		if sc.Kind == ScanDelivered && pc.StartedAt != nil {
			if d, ok := s.cached(ctx, pc.DestinationID); ok && d.Kind == KindVillage {
				ms := sc.At.Sub(*pc.StartedAt).Milliseconds()
				add(dayOf(sc.At), "c2v_ms", ms)
				add(dayOf(sc.At), "c2v_n", 1)
				add(dayOf(sc.At), "t."+tk+".c2v_ms", ms)
				add(dayOf(sc.At), "t."+tk+".c2v_n", 1)
			}
		}
	}
}
