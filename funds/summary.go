package funds

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"nongxun/clock"
	"nongxun/server"
	"nongxun/store"
)

// Summary is the body of GET /funds/summary, read from the balance
// document, the gates and the stations' subsidies (never from the ledger).
type Summary struct {
	TotalFen       int64                      `json:"total_fen"`
	AllocatedFen   int64                      `json:"allocated_fen"`
	PaidFen        int64                      `json:"paid_fen"`
	UnallocatedFen int64                      `json:"unallocated_fen"`
	ByCategory     map[string]CategoryFigures `json:"by_category"`
	Rules          []RuleStatus               `json:"rules"`
	Tranches       []TrancheStatus            `json:"tranches"`
	Subsidies      SubsidyFigures             `json:"subsidies"`
	Entries        int64                      `json:"entries"`
}

// CategoryFigures are one category's net allocations and payments; the
// ratios are of the fund total.
type CategoryFigures struct {
	Name         string  `json:"name"`
	AllocatedFen int64   `json:"allocated_fen"`
	PaidFen      int64   `json:"paid_fen"`
	Ratio        float64 `json:"ratio"`
	PaidRatio    float64 `json:"paid_ratio"`
}

// RuleStatus says whether one rule holds, with the figure it bounds.
type RuleStatus struct {
	Rule       string  `json:"rule"`
	Name       string  `json:"name"`
	OK         bool    `json:"ok"`
	ValueFen   int64   `json:"value_fen"`
	LimitFen   int64   `json:"limit_fen"`
	Ratio      float64 `json:"ratio"`
	LimitRatio float64 `json:"limit_ratio,omitempty"`
	Detail     string  `json:"detail,omitempty"`
}

// TrancheStatus is one of the contractor's four tranches.
type TrancheStatus struct {
	Tranche      int        `json:"tranche"`
	Gate         string     `json:"gate"`
	GateName     string     `json:"gate_name"`
	Open         bool       `json:"open"`
	GateAt       *time.Time `json:"gate_at,omitempty"`
	SharePct     int64      `json:"share_pct"`
	CapFen       int64      `json:"cap_fen"`
	PaidFen      int64      `json:"paid_fen"`
	RemainingFen int64      `json:"remaining_fen"`
}

// SubsidyFigures are the station subsidies: owed (due, unpaid) and paid.
type SubsidyFigures struct {
	OwedFen       int64 `json:"owed_fen"`
	PaidFen       int64 `json:"paid_fen"`
	OwedCount     int   `json:"owed_count"`
	PaidCount     int   `json:"paid_count"`
	LedgerPaidFen int64 `json:"ledger_paid_fen"`
}

// Gate is a recorded tranche gate.
type Gate struct {
	Gate       string    `bson:"_id" json:"gate"`
	Tranche    int       `bson:"tranche" json:"tranche"`
	At         time.Time `bson:"at" json:"at"`
	Note       string    `bson:"note,omitempty" json:"note,omitempty"`
	RecordedAt time.Time `bson:"recorded_at" json:"recorded_at"`
	RecordedBy string    `bson:"recorded_by" json:"recorded_by"`
	ByName     string    `bson:"by_name,omitempty" json:"by_name,omitempty"`
}

func ratio(v, total int64) float64 {
	if total == 0 {
		return 0
	}
	return float64(v*10000/total) / 10000
}

// Summary reads the fund's figures and rule status from counter documents
// by _id: the balance (totals, tranches, gates and their dates) and the
// stations' subsidy counter — never from the ledger.
func (s *Service) Summary(ctx context.Context) (*Summary, error) {
	b, err := s.readBalance(ctx)
	if err != nil {
		return nil, err
	}
	gateAt, err := s.gateDates(ctx, b)
	if err != nil {
		return nil, err
	}
	l := s.lim
	out := &Summary{TotalFen: l.total, AllocatedFen: b["alloc_total"], PaidFen: b["paid_total"],
		UnallocatedFen: l.total - b["alloc_total"], ByCategory: map[string]CategoryFigures{}, Entries: b["entries"]}
	for _, c := range Categories {
		out.ByCategory[c] = CategoryFigures{Name: CategoryNames[c], AllocatedFen: b["alloc_"+c], PaidFen: b["paid_"+c],
			Ratio: ratio(b["alloc_"+c], l.total), PaidRatio: ratio(b["paid_"+c], l.total)}
	}
	up := b["alloc_"+CatUpward]
	headOK, trancheOK, gateOK := true, true, true
	for _, c := range Categories {
		headOK = headOK && b["headroom_"+c] >= 0
	}
	for n := 1; n <= 4; n++ {
		paid := b[fmt.Sprintf("paid_tranche_%d", n)]
		g := Gates[n-1]
		t := TrancheStatus{Tranche: n, Gate: g, GateName: GateNames[g], Open: b[fmt.Sprintf("gate_%d", n)] != 0,
			SharePct: TranchePct[n-1], CapFen: l.tranche[n], PaidFen: paid, RemainingFen: l.tranche[n] - paid}
		if at, ok := gateAt[n]; ok {
			t.GateAt = &at
		}
		trancheOK = trancheOK && paid <= l.tranche[n]
		gateOK = gateOK && (paid == 0 || t.Open)
		out.Tranches = append(out.Tranches, t)
	}
	out.Rules = []RuleStatus{
		{Rule: RuleUpwardMin50, Name: "农产品上行资金不低于总额 50%", OK: b["alloc_non_upward"] <= l.half,
			ValueFen: b["alloc_non_upward"], LimitFen: l.half, Ratio: ratio(b["alloc_non_upward"], l.total), LimitRatio: 0.5,
			Detail: fmt.Sprintf("农产品上行已安排 %s（占总额 %.1f%%）；其余类别合计 %s，上限 %s", yuan(up), 100*ratio(up, l.total), yuan(b["alloc_non_upward"]), yuan(l.half))},
		{Rule: RulePublicServiceMax15, Name: "公共服务体系资金不高于总额 15%", OK: b["alloc_public_service"] <= l.ps15,
			ValueFen: b["alloc_public_service"], LimitFen: l.ps15, Ratio: ratio(b["alloc_public_service"], l.total), LimitRatio: 0.15},
		{Rule: RuleTotalCap, Name: "安排与支付不超过资金总额", OK: b["alloc_total"] <= l.total && b["paid_total"] <= l.total,
			ValueFen: b["alloc_total"], LimitFen: l.total, Ratio: ratio(b["alloc_total"], l.total), LimitRatio: 1},
		{Rule: RuleCategoryAllocation, Name: "各类别支付不超过其预算安排", OK: headOK,
			ValueFen: b["paid_total"], LimitFen: b["alloc_total"], Ratio: ratio(b["paid_total"], b["alloc_total"])},
		{Rule: RuleTrancheGate, Name: "分期拨付须在相应节点之后", OK: gateOK},
		{Rule: RuleTrancheCap, Name: "分期拨付不超过 30%/30%/30%/10%", OK: trancheOK},
		{Rule: RuleForbiddenUse, Name: "不得用于网络交易平台建设、楼堂馆所建设、工作经费、购买流量", OK: true,
			Detail: "此类登记一律拒绝"},
	}
	out.Subsidies.LedgerPaidFen = b["subsidy_paid_fen"]
	if s.d.SubsidyTotals != nil {
		t, err := s.d.SubsidyTotals(ctx)
		if err != nil {
			return nil, err
		}
		t.LedgerPaidFen = out.Subsidies.LedgerPaidFen
		out.Subsidies = t
	} else if s.d.Subsidies != nil {
		list, err := s.d.Subsidies(ctx)
		if err != nil {
			return nil, err
		}
		for _, x := range list {
			if x.Paid {
				out.Subsidies.PaidFen += x.AmountFen
				out.Subsidies.PaidCount++
			} else {
				out.Subsidies.OwedFen += x.AmountFen
				out.Subsidies.OwedCount++
			}
		}
	}
	return out, nil
}

// gateDates are the dates of the open gates by tranche, from the balance
// document (which keeps them since gates are recorded there); gates
// recorded before that are read from fund_gates.
func (s *Service) gateDates(ctx context.Context, b balance) (map[int]time.Time, error) {
	out := map[int]time.Time{}
	missing := false
	for n := 1; n <= 4; n++ {
		if b[fmt.Sprintf("gate_%d", n)] == 0 {
			continue
		}
		if ms, ok := b[fmt.Sprintf("gate_at_%d", n)]; ok {
			out[n] = time.UnixMilli(ms).UTC()
		} else {
			missing = true
		}
	}
	if missing {
		gates, err := s.gateList(ctx)
		if err != nil {
			return nil, err
		}
		for _, g := range gates {
			if _, ok := out[g.Tranche]; !ok {
				out[g.Tranche] = g.At
			}
		}
	}
	return out, nil
}

func (s *Service) gateList(ctx context.Context) (map[string]Gate, error) {
	var list []Gate
	if err := s.gates.Find(ctx, bson.M{}, &list); err != nil {
		return nil, err
	}
	m := make(map[string]Gate, len(list))
	for _, g := range list {
		m[g.Gate] = g
	}
	return m, nil
}

// GateStatus is one gate as GET /funds/gates lists it.
type GateStatus struct {
	Gate     string `json:"gate"`
	Name     string `json:"name"`
	Tranche  int    `json:"tranche"`
	Recorded bool   `json:"recorded"`
	Record   *Gate  `json:"record,omitempty"`
}

// GateStatuses lists the four gates in order, recorded or not.
func (s *Service) GateStatuses(ctx context.Context) ([]GateStatus, error) {
	m, err := s.gateList(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]GateStatus, 0, len(Gates))
	for i, g := range Gates {
		st := GateStatus{Gate: g, Name: GateNames[g], Tranche: i + 1}
		if x, ok := m[g]; ok {
			x := x
			st.Recorded, st.Record = true, &x
		}
		out = append(out, st)
	}
	return out, nil
}

// RecordGate records that a tranche gate has been passed. Gates are
// recorded in order, each once, and never before the previous one's date:
// the gate's natural _id makes it once, a conditional update of the
// balance on the previous gate makes the order, in one unit.
func (s *Service) RecordGate(ctx context.Context, p *server.Principal, gate, at, note string) (*Gate, error) {
	n := gateIndex(gate)
	f := server.Fields{}
	f.Add(n == 0, "gate", "应为签订合同、市级验收、国家验收或运行满一年之一")
	when := programmeDate(f, "at", at, s.now())
	f.Add(len([]rune(note)) > 500, "note", "不超过 500 字")
	if err := f.Err(); err != nil {
		return nil, err
	}
	g := &Gate{Gate: gate, Tranche: n, At: when.Truncate(time.Millisecond), Note: note, RecordedAt: s.now().UTC().Truncate(time.Millisecond)}
	if p != nil {
		g.RecordedBy, g.ByName = p.UserID, p.Name
	}
	ctx = context.WithoutCancel(ctx)
	cond := store.Cond{fmt.Sprintf("gate_%d", n): bson.M{"$ne": true}}
	if n > 1 {
		var prev Gate
		err := s.gates.Get(ctx, Gates[n-2], &prev)
		if store.IsNotFound(err) {
			return nil, broken(server.CodeConflict, RuleGateOrder, "请先登记上一节点“"+GateNames[Gates[n-2]]+"”")
		}
		if err != nil {
			return nil, err
		}
		if when.Before(prev.At) {
			return nil, broken(server.CodeInvalid, RuleGateOrder, "节点日期不能早于上一节点“"+GateNames[Gates[n-2]]+"”的日期（"+clock.Day(prev.At)+"）")
		}
		cond[fmt.Sprintf("gate_%d", n-1)] = true
	}
	once := broken(server.CodeConflict, RuleGateOnce, "“"+GateNames[gate]+"”已经登记过")
	err := s.st().Unit(ctx, "funds.gate", func(u *store.Unit) error {
		err := u.Do(ctx, "gate", func(ctx context.Context) error { return s.gates.InsertOne(ctx, g) },
			func(ctx context.Context) error { _, err := s.gates.DeleteOne(ctx, bson.M{"_id": gate}); return err })
		if store.IsDup(err) {
			return once
		}
		if err != nil {
			return err
		}
		if _, err := s.readBalance(ctx); err != nil {
			return err
		}
		ok, err := s.bal.UpdateIf(ctx, balanceID, cond, bson.M{"$set": bson.M{fmt.Sprintf("gate_%d", n): true, fmt.Sprintf("gate_at_%d", n): g.At}})
		if err != nil {
			return err
		}
		if !ok {
			return once
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.audit(ctx, p, "funds.gate", gate, map[string]any{"tranche": n, "at": when, "note": note})
	return g, nil
}

// Ledger returns every entry, oldest first (for exports and the
// self-evaluation: a read of the whole ledger, off the request paths of
// the pages).
func (s *Service) Ledger(ctx context.Context) ([]Entry, error) {
	out := []Entry{}
	err := s.entries.Find(ctx, bson.M{}, &out, options.Find().SetSort(bson.D{{Key: "seq", Value: 1}}))
	return out, err
}

// MonthlyFigures returns township id → metric → value for month "YYYY-MM":
// fund_payments_fen, net of reversals, under "" (payments are county-level).
func (s *Service) MonthlyFigures(ctx context.Context, month string) (map[string]map[string]int64, error) {
	if _, err := clock.ParseMonth(month); err != nil {
		return nil, server.Invalid("月份格式应为 YYYY-MM", "month", "格式错误")
	}
	m, err := s.months.Counter(ctx, "month:"+month)
	if err != nil {
		return nil, err
	}
	return map[string]map[string]int64{"": {"fund_payments_fen": store.Int64(m["fund_payments_fen"])}}, nil
}

// Drift is a balance field whose running total differs from the ledger's sum.
type Drift struct {
	Balance int64 `json:"balance"`
	Ledger  int64 `json:"ledger"`
}

// Reconcile recomputes every running total from the ledger and compares it
// with the balance document: the figures must trace back to the entries.
// It reads the whole ledger, so it is for the auditor and the CLI, not a dashboard.
func (s *Service) Reconcile(ctx context.Context) (map[string]Drift, error) {
	b, err := s.readBalance(ctx)
	if err != nil {
		return nil, err
	}
	sum, _, err := s.sums(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]Drift{}
	for _, f := range balanceFields() {
		if f == "seq" || len(f) > 5 && f[:5] == "gate_" {
			continue
		}
		if b[f] != sum[f] {
			out[f] = Drift{Balance: b[f], Ledger: sum[f]}
		}
	}
	return out, nil
}
