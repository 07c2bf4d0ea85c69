package stations

import (
	"context"
	"sort"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/server"
)

// subsidyFilter matches the stations that earn a subsidy: new township
// stations and new village points that have passed acceptance.
func subsidyFilter() bson.M {
	return bson.M{"origin": OriginNew, "kind": bson.M{"$in": bson.A{KindTownship, KindVillage}}, "accepted_at": bson.M{"$exists": true}}
}

// SubsidyDue is the subsidy a station has earned (0 when none: integrated,
// county-level, or not yet accepted) and whether it has been paid.
func (s *Service) SubsidyDue(ctx context.Context, stationID string) (int64, bool, error) {
	x, err := s.Station(ctx, stationID)
	if err != nil {
		return 0, false, err
	}
	if x.AcceptedAt == nil {
		return 0, x.SubsidyPaid, nil
	}
	return subsidyOf(x.Kind, x.Origin), x.SubsidyPaid, nil
}

// MarkSubsidyPaid records that the fund ledger entry entryID paid the
// station's subsidy. It is one conditional update (only an unpaid, due
// subsidy matches), so two payments cannot both succeed on any engine; the
// second is a conflict naming the rule.
func (s *Service) MarkSubsidyPaid(ctx context.Context, stationID, entryID string) error {
	entryID = strings.TrimSpace(entryID)
	if entryID == "" || len(entryID) > 64 {
		return server.Invalid("缺少记账编号", "entry_id", "必填")
	}
	f := subsidyFilter()
	f["_id"] = stationID
	f["subsidy_paid"] = bson.M{"$ne": true}
	now := s.now().UTC()
	res, err := s.stations.UpdateOne(ctx, f, bson.M{"$set": bson.M{"subsidy_paid": true, "subsidy_entry_id": entryID, "subsidy_paid_at": now}})
	if err != nil {
		return err
	}
	if res.MatchedCount == 0 {
		x, err := s.Station(ctx, stationID)
		if err != nil {
			return err
		}
		if x.SubsidyPaid {
			return server.RuleBroken(server.CodeConflict, "subsidy_paid_once", "该站点的建设补助已支付（记账编号 "+x.SubsidyEntry+"），不能重复支付")
		}
		return server.RuleBroken(server.CodeConflict, "subsidy_not_due", "该站点没有应付的建设补助："+notDueReason(x))
	}
	if err := s.record(ctx, nil, "station.subsidy_paid", stationID, map[string]any{"entry_id": entryID}); err != nil {
		s.d.Log.Error("stations: cannot audit a subsidy payment", "station", stationID, "err", err.Error())
	}
	_ = s.reload(ctx)
	return nil
}

func notDueReason(x *Station) string {
	switch {
	case x.Origin != OriginNew:
		return "整合的站点不享受新建补助"
	case x.Kind != KindTownship && x.Kind != KindVillage:
		return "只有新建的乡镇服务站和村级服务点有补助"
	}
	return "须先通过验收"
}

// Subsidies lists every subsidy earned, paid or still owed.
func (s *Service) Subsidies(ctx context.Context) ([]Subsidy, error) {
	var list []Station
	if err := s.stations.Find(ctx, subsidyFilter(), &list); err != nil {
		return nil, err
	}
	out := make([]Subsidy, 0, len(list))
	for _, x := range list {
		out = append(out, Subsidy{StationID: x.ID, Name: x.Name, Kind: x.Kind, RegionID: x.RegionID, TownshipID: x.TownshipID,
			AmountFen: subsidyOf(x.Kind, x.Origin), Paid: x.SubsidyPaid, EntryID: x.SubsidyEntry, AcceptedAt: x.AcceptedAt, PaidAt: x.SubsidyAt})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].AcceptedAt.Before(*out[j].AcceptedAt) })
	return out, nil
}

// AcceptanceRecords lists every acceptance inspection, passed or failed,
// oldest first: the evidence behind station figures in a self-evaluation.
func (s *Service) AcceptanceRecords(ctx context.Context) ([]Acceptance, error) {
	var list []Station
	if err := s.stations.Find(ctx, bson.M{}, &list); err != nil {
		return nil, err
	}
	out := []Acceptance{}
	for _, x := range list {
		for _, in := range x.Inspections {
			out = append(out, Acceptance{StationID: x.ID, Name: x.Name, Kind: x.Kind, Origin: x.Origin, RegionID: x.RegionID, TownshipID: x.TownshipID, Inspection: in})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out, nil
}
