// Package funds keeps the programme's central fund: budget lines by
// category, the append-only ledger of allocations, payments and reversals,
// the rules of the fund's management measures (plan.md, 附件2) checked on
// every write, the contractor's tranche gates and station subsidies.
package funds

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"nongxun/clock"
	"nongxun/server"
)

// Entry kinds.
const (
	KindAllocation = "allocation"
	KindPayment    = "payment"
	KindReversal   = "reversal"
)

// Categories of the fund (附件2 二).
const (
	CatUpward        = "upward"         // 农产品上行
	CatPublicService = "public_service" // 公共服务体系
	CatTraining      = "training"       // 培训
	CatOther         = "other"          // 其他
)

// Categories lists every category in display order.
var Categories = []string{CatUpward, CatPublicService, CatTraining, CatOther}

// CategoryNames are the categories' Chinese names.
var CategoryNames = map[string]string{
	CatUpward:        "农产品上行",
	CatPublicService: "公共服务体系",
	CatTraining:      "培训",
	CatOther:         "其他",
}

// UseSubsidy is the use of a station subsidy payment.
const UseSubsidy = "station_subsidy"

// ForbiddenUses may never be paid from the central fund (附件2 一(一)1).
var ForbiddenUses = map[string]string{
	"platform_building": "网络交易平台建设",
	"buildings":         "楼堂馆所建设",
	"office_expenses":   "工作经费",
	"traffic_purchase":  "购买流量",
}

// maxAmount bounds one entry (about 11 trillion yuan) so sums cannot overflow int64.
const maxAmount = 1 << 50

// forbiddenWords catch a forbidden purpose written out in Chinese.
var forbiddenWords = []string{"网络交易平台", "楼堂馆所", "工作经费", "购买流量"}

// Entry is one line of the ledger. Entries are never changed or deleted:
// a correction is a new entry of kind reversal naming the one it reverses.
type Entry struct {
	ID        string `bson:"_id" json:"id"`
	Seq       int64  `bson:"seq" json:"seq"`
	Kind      string `bson:"kind" json:"kind"`
	Category  string `bson:"category" json:"category"`
	Use       string `bson:"use" json:"use"`
	Purpose   string `bson:"purpose" json:"purpose"`
	AmountFen int64  `bson:"amount_fen" json:"amount_fen"`
	Payee     string `bson:"payee,omitempty" json:"payee,omitempty"`
	Contract  string `bson:"contract,omitempty" json:"contract,omitempty"`
	Approver  string `bson:"approver,omitempty" json:"approver,omitempty"`
	Note      string `bson:"note,omitempty" json:"note,omitempty"`
	Tranche   int    `bson:"tranche,omitempty" json:"tranche,omitempty"`
	// Reverses is the id of the entry a reversal corrects; ReversedKind is that entry's kind.
	Reverses     string `bson:"reverses,omitempty" json:"reverses,omitempty"`
	ReversedKind string `bson:"reversed_kind,omitempty" json:"reversed_kind,omitempty"`
	StationID    string `bson:"station_id,omitempty" json:"station_id,omitempty"`
	// At is when the money moved or was planned; RecordedAt when it was entered.
	At         time.Time `bson:"at" json:"at"`
	RecordedAt time.Time `bson:"recorded_at" json:"recorded_at"`
	RecordedBy string    `bson:"recorded_by" json:"recorded_by"`
	ByName     string    `bson:"by_name,omitempty" json:"by_name,omitempty"`
}

// NewEntry is the body of POST /funds/entries.
type NewEntry struct {
	Kind      string `json:"kind"`
	Category  string `json:"category"`
	Use       string `json:"use"`
	Purpose   string `json:"purpose"`
	AmountFen int64  `json:"amount_fen"`
	Payee     string `json:"payee"`
	Contract  string `json:"contract"`
	Approver  string `json:"approver"`
	Note      string `json:"note"`
	Tranche   int    `json:"tranche"`
	Reverses  string `json:"reverses"`
	At        string `json:"at"`
}

// normalize trims the text fields and lower-cases the codes.
func (n *NewEntry) normalize() {
	for _, p := range []*string{&n.Kind, &n.Category, &n.Use, &n.Purpose, &n.Payee, &n.Contract, &n.Approver, &n.Note, &n.Reverses, &n.At} {
		*p = strings.TrimSpace(*p)
	}
	n.Kind, n.Category = strings.ToLower(n.Kind), strings.ToLower(n.Category)
	n.Use = strings.ReplaceAll(strings.ToLower(n.Use), "-", "_")
}

// Validate checks the fields that need no stored state, as the office
// (admin) entering them now.
func (n *NewEntry) Validate() (time.Time, error) {
	return n.validate(&server.Principal{Role: server.RoleAdmin}, time.Now())
}

// validate checks the fields that need no stored state, for p at now. A
// forbidden use or purpose is refused with the rule forbidden_use.
func (n *NewEntry) validate(p *server.Principal, now time.Time) (time.Time, error) {
	n.normalize()
	if name, ok := ForbiddenUses[n.Use]; ok {
		return time.Time{}, broken(server.CodeInvalid, RuleForbiddenUse,
			"中央财政资金不得用于"+name+"（网络交易平台建设、楼堂馆所建设、工作经费、购买流量均不得列支）")
	}
	for _, w := range forbiddenWords {
		// A reversal only undoes a recorded entry, so its reason may name anything.
		if n.Kind != KindReversal && (strings.Contains(n.Purpose, w) || strings.Contains(n.Use, w) || strings.Contains(n.Note, w)) {
			return time.Time{}, broken(server.CodeInvalid, RuleForbiddenUse,
				"中央财政资金不得用于"+w+"等支出（网络交易平台建设、楼堂馆所建设、工作经费、购买流量均不得列支）")
		}
	}
	f := server.Fields{}
	switch n.Kind {
	case KindAllocation, KindPayment:
		f.Add(CategoryNames[n.Category] == "", "category", categoryHint)
		f.Add(n.Use == "", "use", "请填写资金用途")
		f.Add(n.Purpose == "", "purpose", "请填写用途说明")
		f.Add(n.AmountFen <= 0, "amount_fen", "金额应大于 0")
		f.Add(n.Reverses != "", "reverses", "只有冲销分录可以填写")
		f.Add(n.Kind == KindAllocation && n.Tranche != 0, "tranche", "预算安排不分期；分期只用于付款")
		f.Add(n.Tranche < 0 || n.Tranche > 4, "tranche", "应为第 1、2、3 或 4 期")
	case KindReversal:
		f.Add(n.Reverses == "", "reverses", "请选择被冲销的分录")
		f.Add(n.AmountFen < 0, "amount_fen", "金额不能为负（不填表示全额冲销）")
		f.Add(n.Purpose == "", "purpose", "请填写冲销原因")
		f.Add(n.Category != "" && CategoryNames[n.Category] == "", "category", categoryHint)
	default:
		f.Add(true, "kind", "应为预算安排、付款或冲销")
	}
	f.Add(n.AmountFen > maxAmount, "amount_fen", "金额过大")
	f.Add(n.Use != "" && (len(n.Use) > 64 || !utf8.ValidString(n.Use)), "use", "过长")
	f.Add(utf8.RuneCountInString(n.Purpose) > 500, "purpose", "不超过 500 字")
	for name, v := range map[string]string{"payee": n.Payee, "contract": n.Contract, "approver": n.Approver} {
		f.Add(utf8.RuneCountInString(v) > 200, name, "不超过 200 字")
	}
	f.Add(utf8.RuneCountInString(n.Note) > 1000, "note", "不超过 1000 字")
	at := entryDate(f, "at", n.At, p, now)
	return at, f.Err()
}

const categoryHint = "应为农产品上行、公共服务体系、培训或其他"

// entryDate reads the date money moved (docs/design.md, "Time"): a
// programme date, and within clock.RecentYears of today unless the office
// (admin) back-fills an older entry. "" is now.
func entryDate(f server.Fields, field, v string, p *server.Principal, now time.Time) time.Time {
	if v == "" {
		return now.UTC()
	}
	t, ok := dateIn(f, field, v, now)
	if ok && !clock.Recent(t, now) && (p == nil || p.Role != server.RoleAdmin) {
		f.Add(true, field, fmt.Sprintf("只能登记 %d 年以内的日期；更早的分录由县电商办（管理员）补录", clock.RecentYears))
	}
	return t
}

// programmeDate reads a programme date (a tranche gate), required.
func programmeDate(f server.Fields, field, v string, now time.Time) time.Time {
	if v == "" {
		f.Add(true, field, "请填写日期")
		return time.Time{}
	}
	t, _ := dateIn(f, field, v, now)
	return t
}

// dateIn reads a date or time in the programme's years and not in the
// future, reporting whether it is one.
func dateIn(f server.Fields, field, v string, now time.Time) (time.Time, bool) {
	t, err := parseTime(v, now)
	switch {
	case err != nil:
		f.Add(true, field, "应为日期（如 2019-05-01）或完整时间")
	case !clock.InProgrammeRange(t):
		f.Add(true, field, fmt.Sprintf("日期应在 %d 年至 %d 年之间", clock.ProgrammeMinYear, clock.ProgrammeMaxYear))
	case t.After(now.Add(24 * time.Hour)):
		f.Add(true, field, "不能是未来的日期")
	default:
		return t, true
	}
	return t, false
}

// parseTime reads an RFC 3339 time or a date (Asia/Shanghai); "" is now.
func parseTime(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return now.UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	t, err := clock.ParseDay(s)
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}

// yuan formats fen as yuan with thousands separators: 1,234,567.89.
func yuan(fen int64) string {
	neg := fen < 0
	if neg {
		fen = -fen
	}
	s := fmt.Sprintf("%d", fen/100)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	out := fmt.Sprintf("%s.%02d", b.String(), fen%100)
	if neg {
		out = "-" + out
	}
	return out + " 元"
}
