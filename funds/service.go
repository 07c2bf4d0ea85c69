package funds

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"nongxun/audit"
	"nongxun/server"
	"nongxun/store"
)

// balanceID is the one document holding the fund's running totals.
const balanceID = "balance"

// Stations is what funds needs of the stations package to pay subsidies
// (stations.Service satisfies it).
type Stations interface {
	SubsidyDue(ctx context.Context, stationID string) (amountFen int64, paid bool, err error)
	MarkSubsidyPaid(ctx context.Context, stationID, entryID string) error
}

// Subsidy is one station subsidy due, paid or owed, as the summary shows it.
type Subsidy struct {
	StationID string `json:"station_id"`
	Name      string `json:"name,omitempty"`
	AmountFen int64  `json:"amount_fen"`
	Paid      bool   `json:"paid"`
}

// Deps are what the fund service is built from.
type Deps struct {
	Store  *store.Store
	Config server.Config
	Audit  *audit.Log
	Log    *slog.Logger
	// Stations pays subsidies; nil leaves POST /funds/subsidies refused.
	Stations Stations
	// Subsidies lists every subsidy due (stations.Service.Subsidies, adapted in main.go).
	Subsidies func(ctx context.Context) ([]Subsidy, error)
}

// Service owns the fund collections: fund_entries (the ledger, insert
// only), fund_balance (the running totals every rule is checked against),
// fund_gates, fund_marks (natural-key markers: one reversal per entry,
// one subsidy per station), fund_evidence and fund_months (counters).
type Service struct {
	d        Deps
	lim      limits
	entries  *store.Collection
	bal      *store.Collection
	gates    *store.Collection
	marks    *store.Collection
	evidence *store.Collection
	months   *store.Collection
	cache    ledgerCache
	noCache  bool // tests: read the ledger from the database even when embedded
}

// New opens the service, declares its indexes and makes the balance document.
func New(ctx context.Context, d Deps) (*Service, error) {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	st := d.Store
	s := &Service{d: d, lim: limitsOf(d.Config.FundTotalFen),
		entries: st.C("fund_entries"), bal: st.C("fund_balance"), gates: st.C("fund_gates"),
		marks: st.C("fund_marks"), evidence: st.C("fund_evidence"), months: st.C("fund_months")}
	if s.lim.total <= 0 {
		return nil, errors.New("funds: FundTotalFen must be positive")
	}
	for _, k := range []bson.D{{{Key: "seq", Value: -1}}, {{Key: "kind", Value: 1}, {Key: "category", Value: 1}}, {{Key: "reverses", Value: 1}}} {
		if err := s.entries.Index(ctx, k, false); err != nil {
			return nil, err
		}
	}
	if err := s.evidence.Index(ctx, bson.D{{Key: "entry_id", Value: 1}}, false); err != nil {
		return nil, err
	}
	init := bson.M{}
	for _, f := range balanceFields() {
		init[f] = int64(0)
	}
	for n := 1; n <= 4; n++ {
		init[fmt.Sprintf("gate_%d", n)] = false
	}
	_, err := s.bal.UpdateOne(ctx, bson.M{"_id": balanceID}, bson.M{"$setOnInsert": init}, options.UpdateOne().SetUpsert(true))
	if err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Service) readBalance(ctx context.Context) (balance, error) {
	var m bson.M
	if err := s.bal.FindOne(ctx, bson.M{"_id": balanceID}, &m); err != nil {
		return nil, fmt.Errorf("funds: balance: %w", err)
	}
	return decodeBalance(m), nil
}

// Entry returns one ledger entry; server.NotFound when absent.
func (s *Service) Entry(ctx context.Context, id string) (*Entry, error) {
	if s.cached() {
		e, ok, err := s.cachedEntry(ctx, id)
		if err == nil && !ok {
			err = server.NotFound("资金分录不存在")
		}
		return e, err
	}
	var e Entry
	err := s.entries.FindOne(ctx, bson.M{"_id": id}, &e)
	if store.IsNotFound(err) {
		return nil, server.NotFound("资金分录不存在")
	}
	if err != nil {
		return nil, err
	}
	return &e, nil
}

// Record validates and appends one entry, checking every rule against the
// balance document and moving the balance with one conditional $inc, all
// inside the write lane. Nothing is written when a rule is broken.
func (s *Service) Record(ctx context.Context, p *server.Principal, in NewEntry) (*Entry, error) {
	at, err := in.Validate()
	if err != nil {
		return nil, err
	}
	if in.Kind != KindReversal && in.Use == UseSubsidy {
		return nil, server.Invalid("站点补助请通过“支付站点补助”登记", "use", "请使用 POST /funds/subsidies")
	}
	e := &Entry{ID: store.NewID(), Kind: in.Kind, Category: in.Category, Use: in.Use, Purpose: in.Purpose,
		AmountFen: in.AmountFen, Payee: in.Payee, Contract: in.Contract, Approver: in.Approver, Note: in.Note,
		Tranche: in.Tranche, Reverses: in.Reverses, At: at}
	var out *Entry
	// A client that hangs up mid-write must not leave half of it behind.
	err = s.d.Store.Lane(context.WithoutCancel(ctx), func(ctx context.Context) error {
		var err error
		out, err = s.write(ctx, p, e, nil)
		return err
	})
	return out, err
}

// write appends e inside the lane. after, when set, runs once the entry is
// stored; if it fails, the entry, the balance and the marker are undone.
func (s *Service) write(ctx context.Context, p *server.Principal, e *Entry, after func(ctx context.Context, e *Entry) error) (*Entry, error) {
	kind, subsidy := e.Kind, e.Use == UseSubsidy
	var undo []func()
	rollback := func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	gate := e.Tranche
	if e.Kind == KindReversal {
		orig, err := s.reversalTarget(ctx, e)
		if err != nil {
			return nil, err
		}
		kind, subsidy, gate = orig.Kind, false, 0
		mark := "reversal:" + orig.ID
		if err := s.marks.InsertOne(ctx, bson.M{"_id": mark, "entry_id": e.ID, "at": time.Now().UTC()}); err != nil {
			if store.IsDup(err) {
				return nil, server.RuleBroken(server.CodeConflict, RuleReversalOnce, "该分录已经冲销过，不能重复冲销")
			}
			return nil, err
		}
		undo = append(undo, func() { s.undoDelete(ctx, s.marks, mark) })
	}
	if gate > 0 {
		if err := s.gateDate(ctx, gate, e.At); err != nil {
			rollback()
			return nil, err
		}
	}
	sign := int64(1)
	if e.Kind == KindReversal {
		sign = -1
	}
	d := deltas(kind, e.Category, e.Tranche, e.AmountFen, subsidy, sign)
	b, err := s.readBalance(ctx)
	if err == nil {
		err = s.lim.check(b, d, gate)
	}
	if err != nil {
		rollback()
		return nil, err
	}
	d["entries"] = 1 // undone with the rest; seq only grows, so a failed write leaves a gap
	inc := bson.M{"seq": int64(1)}
	for k, v := range d {
		inc[k] = v
	}
	var after2 bson.M
	err = s.bal.FindOneAndUpdate(ctx, s.lim.filter(d, gate), bson.M{"$inc": inc}, &after2,
		options.FindOneAndUpdate().SetReturnDocument(options.After))
	if errors.Is(err, mongo.ErrNoDocuments) {
		// Another node moved the balance between the check and the update.
		if b, rerr := s.readBalance(ctx); rerr == nil {
			if cerr := s.lim.check(b, d, gate); cerr != nil {
				err = cerr
			}
		}
		if errors.Is(err, mongo.ErrNoDocuments) {
			err = server.Conflict("资金余额刚刚发生变化，请重试")
		}
	}
	if err != nil {
		rollback()
		return nil, err
	}
	undo = append(undo, func() {
		neg := bson.M{}
		for k, v := range d {
			neg[k] = -v
		}
		if _, err := s.bal.UpdateOne(context.WithoutCancel(ctx), bson.M{"_id": balanceID}, bson.M{"$inc": neg}); err != nil {
			s.d.Log.Error("funds: undo failed", "step", "balance", "err", err.Error())
		}
	})
	now := time.Now().UTC()
	e.Seq = store.Int64(after2["seq"])
	e.RecordedAt = now
	if p != nil {
		e.RecordedBy, e.ByName = p.UserID, p.Name
	}
	if err := s.entries.InsertOne(ctx, e); err != nil {
		rollback()
		return nil, err
	}
	if after != nil {
		undo = append(undo, func() { s.undoDelete(ctx, s.entries, e.ID) })
		if err := after(ctx, e); err != nil {
			rollback()
			return nil, err
		}
	}
	if s.cached() {
		s.cache.add(*e)
	}
	if kind == KindPayment {
		if err := s.months.Inc(ctx, "month:"+monthOf(e.At), map[string]int64{"fund_payments_fen": d["paid_total"]}); err != nil {
			s.d.Log.Error("funds: month counter", "entry", e.ID, "err", err.Error())
		}
	}
	s.audit(ctx, p, "funds.entry."+e.Kind, e.ID, map[string]any{"seq": e.Seq, "category": e.Category, "use": e.Use,
		"amount_fen": e.AmountFen, "tranche": e.Tranche, "reverses": e.Reverses, "payee": e.Payee, "station_id": e.StationID})
	return e, nil
}

// reversalTarget loads and checks the entry a reversal corrects, and fills
// the reversal's category, use, tranche and amount from it.
func (s *Service) reversalTarget(ctx context.Context, e *Entry) (*Entry, error) {
	if !store.ValidID(e.Reverses) {
		return nil, server.Invalid("被冲销分录的编号格式错误", "reverses", "应为 24 位十六进制编号")
	}
	orig, err := s.Entry(ctx, e.Reverses)
	if err != nil {
		var se *server.Error
		if errors.As(err, &se) && se.Code == server.CodeNotFound {
			return nil, server.Invalid("被冲销的分录不存在", "reverses", "分录不存在")
		}
		return nil, err
	}
	if orig.Kind == KindReversal {
		return nil, server.RuleBroken(server.CodeInvalid, RuleReversalTarget, "冲销分录不能再被冲销；如需更正，请重新登记一笔预算或付款")
	}
	if orig.Use == UseSubsidy {
		return nil, server.RuleBroken(server.CodeConflict, RuleSubsidyFinal, "站点补助已支付并登记到站点，不能冲销")
	}
	if e.Category != "" && e.Category != orig.Category {
		return nil, server.Invalid("冲销分录的类别须与原分录一致", "category", "应为 "+orig.Category)
	}
	if e.AmountFen == 0 {
		e.AmountFen = orig.AmountFen
	}
	if e.AmountFen > orig.AmountFen {
		return nil, server.RuleBroken(server.CodeInvalid, RuleReversalAmount,
			fmt.Sprintf("冲销金额 %s 不能超过原分录金额 %s", yuan(e.AmountFen), yuan(orig.AmountFen)))
	}
	e.Category, e.Tranche, e.ReversedKind, e.StationID = orig.Category, orig.Tranche, orig.Kind, ""
	if e.Use == "" {
		e.Use = orig.Use
	}
	if e.Payee == "" {
		e.Payee = orig.Payee
	}
	return orig, nil
}

// undoDelete removes a document written earlier in a write that failed
// later; if that fails too, the log says what needs a look by hand.
func (s *Service) undoDelete(ctx context.Context, c *store.Collection, id string) {
	if _, err := c.DeleteOne(context.WithoutCancel(ctx), bson.M{"_id": id}); err != nil {
		s.d.Log.Error("funds: undo failed", "collection", c.Name(), "id", id, "err", err.Error())
	}
}

// audit records a fund write; a failure is logged (the write is kept).
func (s *Service) audit(ctx context.Context, p *server.Principal, action, target string, detail map[string]any) {
	if s.d.Audit == nil {
		return
	}
	if err := s.d.Audit.Record(ctx, p, action, target, detail); err != nil {
		s.d.Log.Error("funds: audit", "action", action, "target", target, "err", err.Error())
	}
}

// PaySubsidy pays a station the subsidy stations says it is due: a payment
// of category public_service, then stations.MarkSubsidyPaid. A second
// payment for one station is refused (subsidy_once).
func (s *Service) PaySubsidy(ctx context.Context, p *server.Principal, stationID, approver, at string) (*Entry, error) {
	if s.d.Stations == nil {
		return nil, server.NotFound("站点模块未启用")
	}
	if !store.ValidID(stationID) {
		return nil, server.Invalid("站点编号格式错误", "station_id", "应为 24 位十六进制编号")
	}
	approver = strings.TrimSpace(approver)
	if utf8.RuneCountInString(approver) > 200 {
		return nil, server.Invalid("审批人过长", "approver", "不超过 200 字")
	}
	when, err := parseTime(at)
	if err != nil {
		return nil, server.Invalid("日期格式错误", "at", "应为日期（2019-05-01）或 RFC 3339 时间")
	}
	var out *Entry
	err = s.d.Store.Lane(context.WithoutCancel(ctx), func(ctx context.Context) error {
		amount, paid, err := s.d.Stations.SubsidyDue(ctx, stationID)
		if err != nil {
			return err
		}
		if paid {
			return server.RuleBroken(server.CodeConflict, RuleSubsidyOnce, "该站点的建设补助已经支付过，不能重复支付")
		}
		if amount <= 0 {
			return server.RuleBroken(server.CodeConflict, RuleSubsidyDue, "该站点没有应付补助：补助只给新建并通过验收的乡镇服务站（1 万元）和村级服务点（3 千元）")
		}
		mark := "subsidy:" + stationID
		e := &Entry{ID: store.NewID(), Kind: KindPayment, Category: CatPublicService, Use: UseSubsidy,
			Purpose: "服务站点建设补助", AmountFen: amount, Payee: s.stationName(ctx, stationID), Approver: approver,
			StationID: stationID, At: when}
		if err := s.marks.InsertOne(ctx, bson.M{"_id": mark, "entry_id": e.ID, "at": time.Now().UTC()}); err != nil {
			if store.IsDup(err) {
				return server.RuleBroken(server.CodeConflict, RuleSubsidyOnce, "该站点的建设补助已经支付过，不能重复支付")
			}
			return err
		}
		out, err = s.write(ctx, p, e, func(ctx context.Context, e *Entry) error {
			return s.d.Stations.MarkSubsidyPaid(ctx, stationID, e.ID)
		})
		if err != nil {
			s.undoDelete(ctx, s.marks, mark)
		}
		return err
	})
	return out, err
}

// stationName is the station's name for the payee column, or its id.
func (s *Service) stationName(ctx context.Context, id string) string {
	if s.d.Subsidies != nil {
		if list, err := s.d.Subsidies(ctx); err == nil {
			for _, x := range list {
				if x.StationID == id && x.Name != "" {
					return x.Name
				}
			}
		}
	}
	return "站点 " + id
}

// gateDate refuses a tranche payment dated before its gate was passed.
func (s *Service) gateDate(ctx context.Context, tranche int, at time.Time) error {
	var g Gate
	err := s.gates.FindOne(ctx, bson.M{"_id": Gates[tranche-1]}, &g)
	if store.IsNotFound(err) {
		return nil // the balance check names the missing gate
	}
	if err != nil {
		return err
	}
	if at.Before(g.At) {
		return server.RuleBroken(server.CodeConflict, RuleTrancheGate,
			fmt.Sprintf("第 %d 期付款日期不能早于“%s”的日期（%s）", tranche, GateNames[g.Gate], g.At.In(shanghai).Format("2006-01-02")))
	}
	return nil
}
