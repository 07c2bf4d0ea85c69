package stations

import (
	"context"
	"sort"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
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
		var stored []bson.M
		if err := s.counters.Find(ctx, bson.M{}, &stored); err != nil {
			return err
		}
		have := map[string]map[string]int64{}
		for _, d := range stored {
			id, _ := d["_id"].(string)
			if !strings.HasPrefix(id, "pd:") {
				continue
			}
			m := map[string]int64{}
			flatten("", d, m)
			have[id] = m
			if want[id] == nil {
				want[id] = map[string]int64{}
			}
		}
		for id, w := range want {
			if sameFields(w, have[id]) {
				continue
			}
			out.DriftedDays = append(out.DriftedDays, strings.TrimPrefix(id, "pd:"))
			if !fix {
				continue
			}
			doc := bson.M{}
			for k, v := range w {
				setPath(doc, k, v)
			}
			doc["_id"] = id
			if _, err := s.counters.ReplaceOne(ctx, bson.M{"_id": id}, doc, options.Replace().SetUpsert(true)); err != nil {
				return err
			}
		}
		out.Fixed = fix && len(out.DriftedDays) > 0
		return nil
	})
	sort.Strings(out.DriftedDays)
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

// flatten turns a nested counter document into dotted field → value, zeros left out.
func flatten(prefix string, v any, out map[string]int64) {
	switch m := v.(type) {
	case bson.M:
		for k, x := range m {
			if prefix == "" && k == "_id" {
				continue
			}
			flatten(join(prefix, k), x, out)
		}
	case bson.D:
		for _, e := range m {
			if prefix == "" && e.Key == "_id" {
				continue
			}
			flatten(join(prefix, e.Key), e.Value, out)
		}
	default:
		if n := store.Int64(v); n != 0 {
			out[prefix] = n
		}
	}
}

func join(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

// setPath sets a dotted field in a nested document.
func setPath(doc bson.M, path string, v int64) {
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		next, ok := doc[p].(bson.M)
		if !ok {
			next = bson.M{}
			doc[p] = next
		}
		doc = next
	}
	doc[parts[len(parts)-1]] = v
}

func sameFields(a, b map[string]int64) bool {
	n := 0
	for k, v := range a {
		if v == 0 {
			continue
		}
		n++
		if b[k] != v {
			return false
		}
	}
	return n == len(b)
}
