package stations

import (
	"context"
	"errors"
	"math"

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

// coverOn counts an operating station. The marker of its village (or
// township) holds the set of operating points there, so two points in one
// village cover it once; the counters move only when the set goes from
// empty to one.
func (s *Service) coverOn(ctx context.Context, x *Station) error {
	key := coverKey(x)
	if key == "" {
		return nil
	}
	poverty := false
	if r, ok := s.d.Regions.Get(ctx, x.RegionID); ok && x.Kind == KindVillage {
		poverty = r.Poverty
	}
	var before marker
	err := s.markers.FindOneAndUpdate(ctx, bson.M{"_id": key},
		bson.M{"$addToSet": bson.M{"points": x.ID}, "$setOnInsert": bson.M{"township_id": x.TownshipID, "poverty": poverty}},
		&before, options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.Before))
	existed := err == nil
	if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
		return err
	}
	if existed && contains(before.Points, x.ID) {
		return nil
	}
	if existed {
		poverty = before.Poverty
	}
	delta := coverDelta(x.Kind, !existed || len(before.Points) == 0, poverty, 1)
	if err := s.incCover(ctx, x.TownshipID, delta); err != nil {
		_, _ = s.markers.UpdateOne(context.WithoutCancel(ctx), bson.M{"_id": key}, bson.M{"$pull": bson.M{"points": x.ID}})
		return err
	}
	return nil
}

// coverOff uncounts a station that stops operating.
func (s *Service) coverOff(ctx context.Context, x *Station) error {
	key := coverKey(x)
	if key == "" {
		return nil
	}
	var before marker
	err := s.markers.FindOneAndUpdate(ctx, bson.M{"_id": key}, bson.M{"$pull": bson.M{"points": x.ID}},
		&before, options.FindOneAndUpdate().SetReturnDocument(options.Before))
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil
	}
	if err != nil {
		return err
	}
	if !contains(before.Points, x.ID) {
		return nil
	}
	delta := coverDelta(x.Kind, len(before.Points) == 1, before.Poverty, -1)
	if err := s.incCover(ctx, x.TownshipID, delta); err != nil {
		_, _ = s.markers.UpdateOne(context.WithoutCancel(ctx), bson.M{"_id": key}, bson.M{"$addToSet": bson.M{"points": x.ID}})
		return err
	}
	return nil
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

// incCover moves the county counter and the township's; the second is
// undone when the first fails.
func (s *Service) incCover(ctx context.Context, tid string, d map[string]int64) error {
	if err := s.counters.Inc(ctx, "cov:"+tid, d); err != nil {
		return err
	}
	if err := s.counters.Inc(ctx, "cov:all", d); err != nil {
		neg := map[string]int64{}
		for k, v := range d {
			neg[k] = -v
		}
		_ = s.counters.Inc(context.WithoutCancel(ctx), "cov:"+tid, neg)
		return err
	}
	return nil
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
	if err := s.counters.FindOne(ctx, bson.M{"_id": key}, &cc); err != nil && !store.IsNotFound(err) {
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

// Recount rebuilds the coverage markers and counters from the stations
// that operate now (after a village's poverty flag changed, or a repair).
func (s *Service) Recount(ctx context.Context, p *server.Principal) (*Coverage, error) {
	err := s.st.Lane(ctx, func(ctx context.Context) error {
		var ops []Station
		if err := s.stations.Find(ctx, bson.M{"status": StatusOperating}, &ops); err != nil {
			return err
		}
		if _, err := s.markers.DeleteMany(ctx, bson.M{"_id": bson.M{"$regex": "^[vt]:"}}); err != nil {
			return err
		}
		if _, err := s.counters.DeleteMany(ctx, bson.M{"_id": bson.M{"$regex": "^cov:"}}); err != nil {
			return err
		}
		for i := range ops {
			if err := s.coverOn(ctx, &ops[i]); err != nil {
				return err
			}
		}
		return s.record(ctx, p, "station.coverage_recount", "coverage", map[string]any{"operating": len(ops)})
	})
	if err != nil {
		return nil, err
	}
	return s.Coverage(ctx, "")
}
