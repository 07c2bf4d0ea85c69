package funds

import (
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/server"
	"nongxun/store"
)

// Rule ids, stable: clients and tests tell refusals apart by them.
const (
	RuleUpwardMin50        = "upward_min_50"         // everything not 农产品上行 ≤ 50% of the total
	RulePublicServiceMax15 = "public_service_max_15" // 公共服务体系 ≤ 15% of the total
	RuleForbiddenUse       = "forbidden_use"         // 网络交易平台建设, 楼堂馆所建设, 工作经费, 购买流量
	RuleTrancheGate        = "tranche_gate"          // no tranche payment before its gate
	RuleTrancheCap         = "tranche_cap"           // no tranche payment beyond its share
	RuleTotalCap           = "total_cap"             // nothing beyond the total
	RuleCategoryAllocation = "category_allocation"   // payments of a category ≤ its allocations
	RuleReversalOnce       = "reversal_once"         // an entry is reversed at most once
	RuleReversalAmount     = "reversal_amount"       // a reversal ≤ the entry it reverses
	RuleReversalTarget     = "reversal_target"       // only allocations and payments are reversed
	RuleSubsidyOnce        = "subsidy_once"          // a station's subsidy is paid once
	RuleSubsidyDue         = "subsidy_due"           // only a subsidy the station is due
	RuleSubsidyFinal       = "subsidy_final"         // a subsidy payment is not reversed
	RuleGateOnce           = "gate_once"             // a gate is recorded once
	RuleGateOrder          = "gate_order"            // gates in order
	RuleAppendOnly         = "append_only"           // entries are never edited or deleted
)

// RuleNames are the rules' Chinese names: a refusal's message names its
// rule in these words (the code stays in error.rule for programs).
var RuleNames = map[string]string{
	RuleUpwardMin50:        "农产品上行资金不低于总额 50%",
	RulePublicServiceMax15: "公共服务体系资金不高于总额 15%",
	RuleForbiddenUse:       "中央财政资金负面清单",
	RuleTrancheGate:        "分期拨付须在相应节点之后",
	RuleTrancheCap:         "分期拨付比例 30%/30%/30%/10%",
	RuleTotalCap:           "不超过资金总额",
	RuleCategoryAllocation: "各类别支付不超过其预算安排",
	RuleReversalOnce:       "每笔分录只能冲销一次",
	RuleReversalAmount:     "冲销金额不超过原分录",
	RuleReversalTarget:     "冲销分录不能再冲销",
	RuleSubsidyOnce:        "站点补助只付一次",
	RuleSubsidyDue:         "只付站点应得的补助",
	RuleSubsidyFinal:       "站点补助支付后不能冲销",
	RuleGateOnce:           "拨付节点只登记一次",
	RuleGateOrder:          "拨付节点按顺序登记",
	RuleAppendOnly:         "资金台账只能追加",
}

// broken is the refusal of a write that breaks rule: the message names the
// rule in Chinese, then says what is wrong.
func broken(code, rule, msg string) error {
	return server.RuleBroken(code, rule, "不符合“"+RuleNames[rule]+"”的规定："+msg)
}

// Gates in order; gate i opens tranche i+1.
var Gates = []string{"contract_start", "city_acceptance", "national_acceptance", "one_year_operation"}

// GateNames are the gates' Chinese names.
var GateNames = map[string]string{
	"contract_start":      "签订合同并进场（启动资金）",
	"city_acceptance":     "通过市级验收",
	"national_acceptance": "通过国家验收",
	"one_year_operation":  "项目运行满一年（尾款）",
}

// TranchePct are the tranches' shares of the contract base, in percent.
var TranchePct = []int64{30, 30, 30, 10}

// gateIndex is the 1-based tranche a gate opens, 0 for an unknown gate.
func gateIndex(g string) int {
	for i, x := range Gates {
		if x == g {
			return i + 1
		}
	}
	return 0
}

// limits are the caps of one fund total.
type limits struct {
	total, half, ps15 int64
	tranche           [5]int64 // 1-based
}

// limitsOf computes the caps in fen. The tranche base is the whole fund
// (the plan lets one contractor carry the whole programme, 整体打包); the
// cumulative shares are rounded down and the last tranche takes the rest,
// so the four caps add up to the total exactly.
func limitsOf(total int64) limits {
	l := limits{total: total, half: total * 50 / 100, ps15: total * 15 / 100}
	var cum, prev int64
	for i, p := range TranchePct {
		cum += p
		upto := total * cum / 100
		l.tranche[i+1] = upto - prev
		prev = upto
	}
	return l
}

// constraint bounds one field of the balance document.
type constraint struct {
	field    string
	min, max *int64
	rule     string
	msg      func(value, delta, bound int64) string
}

func i64(v int64) *int64 { return &v }

// constraints lists every bound the balance document must stay within.
func (l limits) constraints() []constraint {
	cs := []constraint{
		{field: "alloc_total", max: i64(l.total), rule: RuleTotalCap, msg: func(v, d, b int64) string {
			return fmt.Sprintf("安排资金合计不得超过资金总额 %s（已安排 %s，本次 %s）", yuan(b), yuan(v), yuan(d))
		}},
		{field: "paid_total", max: i64(l.total), rule: RuleTotalCap, msg: func(v, d, b int64) string {
			return fmt.Sprintf("支付合计不得超过资金总额 %s（已支付 %s，本次 %s）", yuan(b), yuan(v), yuan(d))
		}},
		{field: "alloc_non_upward", max: i64(l.half), rule: RuleUpwardMin50, msg: func(v, d, b int64) string {
			return fmt.Sprintf("支持农产品上行的资金不得低于总额的 50%%：农产品上行以外的安排合计不得超过 %s（已安排 %s，本次 %s）", yuan(b), yuan(v), yuan(d))
		}},
		{field: "alloc_public_service", max: i64(l.ps15), rule: RulePublicServiceMax15, msg: func(v, d, b int64) string {
			return fmt.Sprintf("公共服务体系资金不得高于总额的 15%%，即 %s（已安排 %s，本次 %s）", yuan(b), yuan(v), yuan(d))
		}},
	}
	for _, c := range Categories {
		name := CategoryNames[c]
		cs = append(cs, constraint{field: "headroom_" + c, min: i64(0), rule: RuleCategoryAllocation, msg: func(v, d, _ int64) string {
			if d < 0 && -d > v {
				return fmt.Sprintf("“%s”的支付不得超过其预算安排：尚可支付 %s，本次 %s；请先安排预算", name, yuan(v), yuan(-d))
			}
			return fmt.Sprintf("“%s”的支付不得超过其预算安排", name)
		}})
	}
	for n := 1; n <= 4; n++ {
		n := n
		cs = append(cs, constraint{field: fmt.Sprintf("paid_tranche_%d", n), max: i64(l.tranche[n]), rule: RuleTrancheCap, msg: func(v, d, b int64) string {
			return fmt.Sprintf("第 %d 期（%d%%）拨付不得超过 %s（已拨付 %s，本次 %s）", n, TranchePct[n-1], yuan(b), yuan(v), yuan(d))
		}})
	}
	return cs
}

// deltas are the balance changes an entry of kind makes (sign −1 undoes them).
func deltas(kind, category string, tranche int, amount int64, subsidy bool, sign int64) map[string]int64 {
	a := amount * sign
	d := map[string]int64{}
	switch kind {
	case KindAllocation:
		d["alloc_"+category] = a
		d["headroom_"+category] = a
		d["alloc_total"] = a
		if category != CatUpward {
			d["alloc_non_upward"] = a
		}
	case KindPayment:
		d["paid_"+category] = a
		d["headroom_"+category] = -a
		d["paid_total"] = a
		if tranche > 0 {
			d[fmt.Sprintf("paid_tranche_%d", tranche)] = a
		}
		if subsidy {
			d["subsidy_paid_fen"] = a
		}
	}
	return d
}

// balance is the decoded balance document; a gate's date is under
// "gate_at_N" in Unix milliseconds, when recorded.
type balance map[string]int64

// balanceFields are the numeric fields of the balance document; all start at 0.
func balanceFields() []string {
	f := []string{"alloc_total", "paid_total", "alloc_non_upward", "entries", "seq", "subsidy_paid_fen"}
	for _, c := range Categories {
		f = append(f, "alloc_"+c, "paid_"+c, "headroom_"+c)
	}
	for n := 1; n <= 4; n++ {
		f = append(f, fmt.Sprintf("paid_tranche_%d", n), fmt.Sprintf("gate_%d", n))
	}
	return f
}

func decodeBalance(m bson.M) balance {
	b := balance{}
	for n := 1; n <= 4; n++ {
		k := fmt.Sprintf("gate_at_%d", n)
		if t, ok := m[k].(bson.DateTime); ok {
			b[k] = int64(t)
		}
	}
	for _, f := range balanceFields() {
		switch v := m[f].(type) {
		case bool:
			if v {
				b[f] = 1
			}
		default:
			b[f] = store.Int64(v)
		}
	}
	return b
}

// check finds the first rule the deltas would break on b; tranche > 0 also
// needs its gate. It is run before the conditional update, for the error.
func (l limits) check(b balance, d map[string]int64, gateTranche int) error {
	if gateTranche > 0 && b[fmt.Sprintf("gate_%d", gateTranche)] == 0 {
		g := Gates[gateTranche-1]
		return broken(server.CodeConflict, RuleTrancheGate,
			fmt.Sprintf("第 %d 期资金须在“%s”登记后才能拨付", gateTranche, GateNames[g]))
	}
	for _, c := range l.constraints() {
		delta, ok := d[c.field]
		if !ok || delta == 0 {
			continue
		}
		v := b[c.field]
		if c.max != nil && delta > 0 && v+delta > *c.max {
			return broken(server.CodeConflict, c.rule, c.msg(v, delta, *c.max))
		}
		if c.min != nil && delta < 0 && v+delta < *c.min {
			return broken(server.CodeConflict, c.rule, c.msg(v, delta, *c.min))
		}
	}
	return nil
}

// cond is the condition of the balance's conditional update: it holds every
// bound the deltas move toward, so the $inc applies only if the rules still
// hold — atomic on both engines and across app nodes (e.g. paid_tranche_1
// $lte cap - amount).
func (l limits) cond(d map[string]int64, gateTranche int) store.Cond {
	c := store.Cond{}
	if gateTranche > 0 {
		c[fmt.Sprintf("gate_%d", gateTranche)] = true
	}
	for _, x := range l.constraints() {
		delta := d[x.field]
		if x.max != nil && delta > 0 {
			c[x.field] = bson.M{"$lte": *x.max - delta}
		}
		if x.min != nil && delta < 0 {
			c[x.field] = bson.M{"$gte": *x.min - delta}
		}
	}
	return c
}
