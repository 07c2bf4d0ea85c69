package logistics

import (
	"context"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/clock"
	"nongxun/stations"
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
// sets the rebuilt ones, each by _id. It reads every parcel without
// holding anything, so other nodes keep writing meanwhile; a write caught
// between its parcel and its counter (milliseconds) can be miscounted by
// this run and is corrected by the next (docs/design.md, "Repairs"). It is
// a maintenance command, not a request path.
func (s *Service) RecountParcels(ctx context.Context, fix bool) (*ParcelRecount, error) {
	out := &ParcelRecount{DriftedDays: []string{}}
	want := map[string]map[string]int64{}
	add := func(day, field string, n int64) {
		id := "pd:" + day
		if want[id] == nil {
			want[id] = map[string]int64{}
		}
		want[id][field] += n
	}
	kinds := map[string]string{} // station kinds of parcels registered before kinds were kept
	for _, c := range []*store.Collection{s.hot, s.archive} {
		cur, err := c.Cursor(ctx, bson.M{})
		if err != nil {
			return nil, err
		}
		for cur.Next(ctx) {
			var pc Parcel
			if err := cur.Decode(&pc); err != nil {
				cur.Close(ctx)
				return nil, err
			}
			out.Parcels++
			if pc.DestKind == "" {
				if _, ok := kinds[pc.DestinationID]; !ok {
					kinds[pc.DestinationID] = s.kindOf(ctx, "", pc.DestinationID)
				}
				pc.DestKind = kinds[pc.DestinationID]
			}
			countParcel(&pc, add)
		}
		err = cur.Err()
		cur.Close(ctx)
		if err != nil {
			return nil, err
		}
	}
	ids, err := s.counters.SyncCounters(ctx, func(id string) bool { return strings.HasPrefix(id, "pd:") }, want, fix)
	for _, id := range ids {
		out.DriftedDays = append(out.DriftedDays, strings.TrimPrefix(id, "pd:"))
	}
	if err != nil {
		return nil, err
	}
	out.Fixed = fix && len(out.DriftedDays) > 0
	if out.Fixed {
		s.st.InvalidateCaches()
	}
	return out, nil
}

// RepairCounters rebuilds the day counters from the parcels and reports
// whether any had drifted.
func (s *Service) RepairCounters(ctx context.Context) (bool, error) {
	r, err := s.RecountParcels(ctx, true)
	if err != nil {
		return false, err
	}
	return r.Fixed, nil
}

// RepairInBackground is the package's start-up repair (registered in
// main). The recount reads every parcel — measured at about 1 ms a parcel
// on the embedded engine, minutes for a county's year — so it runs in the
// background while the server serves, which it may: it is safe while
// others write. A recount that fails or is cut off by the stop is recorded
// as a repair, so the next start runs it again.
func (s *Service) RepairInBackground(context.Context) (bool, error) {
	s.st.Go("parcel counters repair", func(ctx context.Context) {
		t0 := time.Now()
		r, err := s.RecountParcels(ctx, true)
		if err != nil {
			s.d.Log.Error("logistics: the parcel counters repair did not finish; it runs again at the next start", "err", err.Error())
			mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if merr := s.st.MarkRepair(mctx, "parcel day counters", "recount", err); merr != nil {
				s.d.Log.Error("logistics: cannot record the repair; run nongxun recount-parcels", "err", merr.Error())
			}
			return
		}
		s.d.Log.Info("logistics: parcel counters checked", "parcels", r.Parcels, "drifted_days", len(r.DriftedDays), "took", time.Since(t0).String())
	})
	return false, nil
}

// countParcel adds what CreateParcel and AddScan count for one parcel.
func countParcel(pc *Parcel, add func(day, field string, n int64)) {
	tk := tkey(pc.TownshipID)
	day := clock.Day(pc.CreatedAt)
	add(day, pc.Direction, 1)
	add(day, "t."+tk+"."+pc.Direction, 1)
	last := -1
	for _, sc := range pc.Scans {
		hop := indexOf(pc.Route, sc.NodeID)
		if hop != last {
			add(clock.Day(sc.At), "n."+sc.NodeID+"."+pc.Direction, 1)
		}
		last = hop
		if sc.Kind == ScanDelivered && pc.StartedAt != nil && pc.DestKind == stations.KindVillage {
			ms := sc.At.Sub(*pc.StartedAt).Milliseconds()
			d := clock.Day(sc.At)
			add(d, "c2v_ms", ms)
			add(d, "c2v_n", 1)
			add(d, "t."+tk+".c2v_ms", ms)
			add(d, "t."+tk+".c2v_n", 1)
		}
	}
}
