package demo

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// fundEvent is one write of the fund's year, applied in date order.
type fundEvent struct {
	at   time.Time
	what string
	path string
	body map[string]any
	// reverses is the event whose entry this reversal corrects.
	reverses *fundEvent
	id       string
}

const yuan = 100 // fen

const contractor = "云南滇乡电子商务有限公司" + demoMark

// loadFunds records the year's fund ledger in date order: budget
// allocations within the rules (≥ 50 % to moving products up, ≤ 15 % to
// public services), the contract's start and the city's acceptance as
// gates, the contractor's tranches after their gates, suppliers, one
// double entry corrected by a reversal, and the station subsidies.
func (l *loader) loadFunds(ctx context.Context) error {
	r := l.rand("funds")
	T := int(l.today().Sub(l.programmeStart()).Hours() / 24)
	at := func(d int) time.Time { return l.day(d, 10, r.IntN(50)) }
	var ev []*fundEvent
	alloc := func(d int, cat, use, purpose string, y int64) {
		ev = append(ev, &fundEvent{at: at(d), what: "预算安排 " + purpose, path: "/funds/entries",
			body: map[string]any{"kind": "allocation", "category": cat, "use": use, "purpose": purpose, "amount_fen": y * yuan,
				"approver": "县电子商务进农村工作领导小组", "note": "依据实施方案（会政办发〔2019〕22号）"}})
	}
	pay := func(d int, cat, use, purpose string, y int64, tranche int, payee string) {
		b := map[string]any{"kind": "payment", "category": cat, "use": use, "purpose": purpose, "amount_fen": y * yuan, "payee": payee}
		if tranche > 0 {
			b["tranche"], b["contract"] = tranche, "HZDS-ZB-001"
		}
		ev = append(ev, &fundEvent{at: at(d), what: "支付 " + purpose, path: "/funds/entries", body: b})
	}
	alloc(6, "upward", "certification", "农产品标准化与“三品一标”认证", 800000)
	alloc(6, "upward", "branding", "区域公用品牌打造与宣传推广", 1500000)
	alloc(6, "upward", "traceability", "农产品质量追溯体系", 1000000)
	alloc(6, "upward", "packing", "农产品分级、包装与预冷", 1700000)
	alloc(6, "upward", "logistics", "县乡村三级物流配送体系", 2500000)
	alloc(6, "upward", "processing", "农产品初加工设备", 500000)
	alloc(7, "public_service", "service_center", "县级电子商务公共服务中心建设运营", 1000000)
	alloc(7, "public_service", "township_station", "乡镇电子商务服务站建设与补助", 500000)
	alloc(7, "public_service", "village_point", "村级电商服务点建设与补助", 500000)
	alloc(7, "training", "training", "农村电商人才培训", 1200000)
	alloc(7, "training", "incubation", "电商创业孵化", 300000)
	alloc(8, "other", "evaluation", "绩效自评与验收", 200000)
	alloc(8, "other", "other", "电商氛围营造与典型宣传", 300000)
	ev = append(ev, &fundEvent{at: at(14), what: "登记节点：合同签订", path: "/funds/gates",
		body: map[string]any{"gate": "contract_start", "note": "与承办企业签订整体承办合同 HZDS-ZB-001"}})
	// Tranche 1 (30 %) once the contract started.
	pay(20, "upward", "logistics", "承办合同第一期款（物流与上行体系）", 2700000, 1, contractor)
	pay(20, "public_service", "service_center", "承办合同第一期款（公共服务中心）", 800000, 1, contractor)
	pay(20, "training", "training", "承办合同第一期款（培训）", 700000, 1, contractor)
	pay(20, "other", "evaluation", "承办合同第一期款（其他）", 300000, 1, contractor)
	// Suppliers paid without a tranche: training venues and printing.
	for k, d := range []int{T * 25 / 100, T * 45 / 100, T * 65 / 100, T * 85 / 100} {
		pay(d, "training", "training", "培训场地租用与教材印制（第"+cnOrdinal(k+1)+"批）", int64(32000+r.IntN(20000)), 0, "会泽县印务中心"+demoMark)
	}
	// A double entry, corrected by a reversal the same week.
	pay(T*85/100+1, "training", "training", "培训场地租用与教材印制（第四批）", ev[len(ev)-1].body["amount_fen"].(int64)/yuan, 0, "会泽县印务中心"+demoMark)
	ev = append(ev, &fundEvent{at: at(T*85/100 + 3), what: "冲销重复录入", path: "/funds/entries", reverses: ev[len(ev)-1],
		body: map[string]any{"kind": "reversal", "purpose": "冲销重复录入的第四批培训场地款", "note": "同一发票录入两次，予以冲销"}})
	// The city's acceptance, then part of tranche 2.
	ev = append(ev, &fundEvent{at: at(T - 45), what: "登记节点：市级验收", path: "/funds/gates",
		body: map[string]any{"gate": "city_acceptance", "note": "市商务局组织中期验收，通过"}})
	pay(T-30, "upward", "logistics", "承办合同第二期款（物流与上行体系，部分）", 2000000, 2, contractor)
	pay(T-30, "training", "training", "承办合同第二期款（培训，部分）", 300000, 2, contractor)
	// Station subsidies, paid through the fund after acceptance.
	for _, s := range l.stations.all() {
		if !s.SubsidyAt.IsZero() {
			ev = append(ev, &fundEvent{at: s.SubsidyAt, what: "站点补助 " + s.Name, path: "/funds/subsidies",
				body: map[string]any{"station_id": s.ID, "approver": "县工信局"}})
		}
	}
	sort.SliceStable(ev, func(i, j int) bool { return ev[i].at.Before(ev[j].at) })
	for i, e := range ev {
		e.body["at"] = rfc(l.past(e.at))
		if e.reverses != nil {
			e.body["reverses"] = e.reverses.id
		}
		var out struct {
			ID string `json:"id"`
		}
		if err := l.admin.must(e.what, "POST", e.path, e.body, &out); err != nil {
			return err
		}
		e.id = out.ID
		l.progress("资金台账", i+1, len(ev))
	}
	var sum struct {
		AllocatedFen int64 `json:"allocated_fen"`
		PaidFen      int64 `json:"paid_fen"`
	}
	if err := l.admin.must("读取资金汇总", "GET", "/funds/summary", nil, &sum); err != nil {
		return err
	}
	l.say("        已安排 %s 万元，已支付 %s 万元", wan(sum.AllocatedFen), wan(sum.PaidFen))
	l.count("资金台账记录", len(ev))
	return nil
}

// wan is an amount in 万元 (ten thousand yuan), up to two decimals.
func wan(fen int64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", float64(fen)/100/10000), "0"), ".")
}

func cnOrdinal(n int) string {
	d := []string{"零", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十"}
	if n <= 10 {
		return d[n]
	}
	return fmt.Sprint(n)
}
