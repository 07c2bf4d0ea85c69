package stations

import (
	"context"
	"sort"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/server"
	"nongxun/store"
)

// subsidyKey is the counter of subsidies owed and paid: moved when a
// station that earns one is accepted and when it is paid.
const subsidyKey = "subsidy:all"

// SubsidyTotals are the subsidies earned so far: owed (accepted, unpaid)
// and paid, in fen and stations.
type SubsidyTotals struct {
	OwedFen   int64 `bson:"owed_fen" json:"owed_fen"`
	OwedCount int64 `bson:"owed_count" json:"owed_count"`
	PaidFen   int64 `bson:"paid_fen" json:"paid_fen"`
	PaidCount int64 `bson:"paid_count" json:"paid_count"`
}

// Totals reads the subsidy counter: one read by _id, for the fund summary
// and the dashboards.
func (s *Service) Totals(ctx context.Context) (SubsidyTotals, error) {
	var t SubsidyTotals
	err := s.counters.Get(ctx, subsidyKey, &t)
	if store.IsNotFound(err) {
		err = nil
	}
	return t, err
}

// initTotals makes the subsidy counter from the stations when it is missing
// (data from before it was kept); two nodes starting at once make it once.
func (s *Service) initTotals(ctx context.Context) error {
	if err := s.counters.Get(ctx, subsidyKey, &SubsidyTotals{}); !store.IsNotFound(err) {
		return err
	}
	list, err := s.Subsidies(ctx)
	if err != nil {
		return err
	}
	var t SubsidyTotals
	for _, x := range list {
		if x.Paid {
			t.PaidFen, t.PaidCount = t.PaidFen+x.AmountFen, t.PaidCount+1
		} else {
			t.OwedFen, t.OwedCount = t.OwedFen+x.AmountFen, t.OwedCount+1
		}
	}
	_, err = s.counters.InsertIfAbsent(ctx, bson.M{"_id": subsidyKey, "owed_fen": t.OwedFen, "owed_count": t.OwedCount, "paid_fen": t.PaidFen, "paid_count": t.PaidCount})
	return err
}

// subsidyCount moves the subsidy counter inside unit u.
func (s *Service) subsidyCount(ctx context.Context, u *store.Unit, d map[string]int64) error {
	return s.incCounter(ctx, u, subsidyKey, d)
}

// SubsidyDue is the subsidy a station has earned (0 when none: integrated,
// county-level, or not yet accepted) and whether it has been paid.
func (s *Service) SubsidyDue(ctx context.Context, stationID string) (int64, bool, error) {
	x, err := s.load(ctx, stationID)
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
// subsidy matches), so two payments cannot both succeed on any engine or
// any number of app nodes; the second is a conflict naming the rule.
func (s *Service) MarkSubsidyPaid(ctx context.Context, stationID, entryID string) error {
	entryID = strings.TrimSpace(entryID)
	if entryID == "" || len(entryID) > 64 {
		return server.Invalid("缺少记账编号", "entry_id", "必填")
	}
	x, err := s.load(ctx, stationID)
	if err != nil {
		return err
	}
	defer s.changed(x)
	amount := subsidyOf(x.Kind, x.Origin)
	now := s.now().UTC()
	err = s.st.Unit(ctx, "station.subsidy_paid", func(u *store.Unit) error {
		cond := store.Cond{"origin": OriginNew, "kind": bson.M{"$in": bson.A{KindTownship, KindVillage}},
			"accepted_at": bson.M{"$exists": true}, "subsidy_paid": bson.M{"$ne": true}}
		ok, err := s.stations.UpdateIf(ctx, stationID, cond, bson.M{"$set": bson.M{"subsidy_paid": true, "subsidy_entry_id": entryID, "subsidy_paid_at": now}})
		if err != nil {
			return err
		}
		if !ok {
			x, err := s.load(ctx, stationID)
			if err != nil {
				return err
			}
			if x.SubsidyPaid {
				return server.RuleBroken(server.CodeConflict, "subsidy_paid_once", "该站点的建设补助已支付（记账编号 "+x.SubsidyEntry+"），不能重复支付")
			}
			return server.RuleBroken(server.CodeConflict, "subsidy_not_due", "该站点没有应付的建设补助："+notDueReason(x))
		}
		u.OnFail("subsidy mark", func(ctx context.Context) error {
			_, err := s.stations.UpdateIf(ctx, stationID, store.Cond{"subsidy_entry_id": entryID},
				bson.M{"$set": bson.M{"subsidy_paid": false}, "$unset": bson.M{"subsidy_entry_id": "", "subsidy_paid_at": ""}})
			return err
		})
		if err := s.subsidyCount(ctx, u, map[string]int64{"owed_fen": -amount, "owed_count": -1, "paid_fen": amount, "paid_count": 1}); err != nil {
			return err
		}
		return s.listStep(ctx, u, stationID, x)
	})
	if err != nil {
		return err
	}
	s.note(ctx, nil, "station.subsidy_paid", stationID, map[string]any{"entry_id": entryID, "amount_fen": amount})
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

// Subsidies lists every subsidy earned, paid or still owed (from the
// station list's pack).
func (s *Service) Subsidies(ctx context.Context) ([]Subsidy, error) {
	list, err := s.summaries(ctx)
	if err != nil {
		return nil, err
	}
	out := []Subsidy{}
	for _, x := range list {
		amount := subsidyOf(x.Kind, x.Origin)
		if amount == 0 || x.AcceptedAt == nil {
			continue
		}
		out = append(out, Subsidy{StationID: x.ID, Name: x.Name, Kind: x.Kind, RegionID: x.RegionID, TownshipID: x.TownshipID,
			AmountFen: amount, Paid: x.SubsidyPaid, EntryID: x.SubsidyEntry, AcceptedAt: x.AcceptedAt, PaidAt: x.SubsidyAt})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].AcceptedAt.Before(*out[j].AcceptedAt) })
	return out, nil
}

// AcceptanceRecords lists every acceptance inspection, passed or failed,
// oldest first: the evidence behind station figures in a self-evaluation.
// It reads every station (an export and an audit page, off the hot paths).
func (s *Service) AcceptanceRecords(ctx context.Context) ([]Acceptance, error) {
	list, err := s.loadAll(ctx)
	if err != nil {
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
