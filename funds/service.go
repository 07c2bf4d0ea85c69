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
	"nongxun/audit"
	"nongxun/clock"
	"nongxun/server"
	"nongxun/store"
)

// balanceID is the one document holding the fund's running totals, the
// ledger's last sequence number and the gates: every rule is checked
// against it with one conditional update (docs/design.md, "Conditional
// updates").
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
	// SubsidyTotals, when set, gives the summary's subsidy figures from a
	// counter (stations.Service.Totals) instead of listing every subsidy.
	SubsidyTotals func(ctx context.Context) (SubsidyFigures, error)
	// Now is the clock; time.Now when nil (tests set it).
	Now func() time.Time
}

// Collections are the collections the package owns, the same on both engines.
var Collections = []string{"fund_entries", "fund_balance", "fund_gates", "fund_marks", "fund_evidence", "fund_months", "fund_blocks"}

// Service owns the fund collections: fund_entries (the ledger, insert
// only), fund_balance (the running totals every rule is checked against),
// fund_gates, fund_marks (natural-key markers: one reversal per entry,
// one subsidy per station), fund_evidence, fund_months (counters) and
// fund_blocks (the ledger in pages of 50 for reading, see block).
type Service struct {
	d        Deps
	lim      limits
	entries  *store.Collection
	bal      *store.Collection
	gates    *store.Collection
	marks    *store.Collection
	evidence *store.Collection
	months   *store.Collection
	blocks   *store.Collection
	now      func() time.Time
}

// New opens the service: it creates its collections, declares its indexes
// and the evidence files' blob references, and makes the balance document.
func New(ctx context.Context, d Deps) (*Service, error) {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	st := d.Store
	s := &Service{d: d, lim: limitsOf(d.Config.FundTotalFen), now: d.Now,
		entries: st.C("fund_entries"), bal: st.C("fund_balance"), gates: st.C("fund_gates"),
		marks: st.C("fund_marks"), evidence: st.C("fund_evidence"), months: st.C("fund_months"), blocks: st.C("fund_blocks")}
	if s.now == nil {
		s.now = time.Now
	}
	if s.lim.total <= 0 {
		return nil, errors.New("funds: FundTotalFen must be positive")
	}
	if err := st.Ensure(ctx, Collections...); err != nil {
		return nil, err
	}
	// seq is unique: two entries can never share a number, on any engine.
	if err := s.entries.Index(ctx, bson.D{{Key: "seq", Value: -1}}, true); err != nil {
		return nil, err
	}
	for _, k := range []bson.D{{{Key: "kind", Value: 1}, {Key: "category", Value: 1}}, {{Key: "reverses", Value: 1}}} {
		if err := s.entries.Index(ctx, k, false); err != nil {
			return nil, err
		}
	}
	if err := s.evidence.Index(ctx, bson.D{{Key: "entry_id", Value: 1}}, false); err != nil {
		return nil, err
	}
	st.BlobRef("fund_evidence", "blob_id")
	if _, err := s.readBalance(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// readBalance reads the balance document by _id. When it is missing (a
// restore of data that had none), it is rebuilt from the ledger first, so
// the totals and the sequence continue from the data.
func (s *Service) readBalance(ctx context.Context) (balance, error) {
	var m bson.M
	err := s.bal.Get(ctx, balanceID, &m)
	if store.IsNotFound(err) {
		if err = s.rebuildBalance(ctx); err == nil {
			err = s.bal.Get(ctx, balanceID, &m)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("funds: balance: %w", err)
	}
	return decodeBalance(m), nil
}

// rebuildBalance makes the missing balance document from the ledger and
// the gates; two nodes doing it at once make it once.
func (s *Service) rebuildBalance(ctx context.Context) error {
	sum, max, err := s.sums(ctx)
	if err != nil {
		return err
	}
	doc := bson.M{"_id": balanceID}
	for _, f := range balanceFields() {
		doc[f] = sum[f]
	}
	doc["seq"] = max
	for n := 1; n <= 4; n++ {
		doc[fmt.Sprintf("gate_%d", n)] = false
	}
	gates, err := s.gateList(ctx)
	if err != nil {
		return err
	}
	for _, g := range gates {
		doc[fmt.Sprintf("gate_%d", g.Tranche)] = true
		doc[fmt.Sprintf("gate_at_%d", g.Tranche)] = g.At
	}
	_, err = s.bal.InsertIfAbsent(ctx, doc)
	return err
}

// Entry returns one ledger entry (a read by _id); server.NotFound when absent.
func (s *Service) Entry(ctx context.Context, id string) (*Entry, error) {
	var e Entry
	err := s.entries.Get(ctx, id, &e)
	if store.IsNotFound(err) {
		return nil, server.NotFound("资金分录不存在")
	}
	if err != nil {
		return nil, err
	}
	return &e, nil
}

// Record validates and appends one entry as p, checking every rule
// against the balance document. Nothing is written when a rule is broken.
func (s *Service) Record(ctx context.Context, p *server.Principal, in NewEntry) (*Entry, error) {
	at, err := in.validate(p, s.now())
	if err != nil {
		return nil, err
	}
	if in.Kind != KindReversal && in.Use == UseSubsidy {
		return nil, server.Invalid("站点补助请通过“支付站点补助”登记", "use", "请在“补助支付”中登记")
	}
	e := &Entry{ID: store.NewID(), Kind: in.Kind, Category: in.Category, Use: in.Use, Purpose: in.Purpose,
		AmountFen: in.AmountFen, Payee: in.Payee, Contract: in.Contract, Approver: in.Approver, Note: in.Note,
		Tranche: in.Tranche, Reverses: in.Reverses, At: at}
	// A client that hangs up mid-write must not leave half of it behind.
	return s.write(context.WithoutCancel(ctx), p, e, nil, nil)
}

// write appends e with its rules, as one unit of work: before, when set,
// runs first in the unit (a marker), after last (the station's mark); a
// failure anywhere undoes everything. A ledger that is behind its own
// numbers (a restore of inconsistent data) is caught up once and retried.
func (s *Service) write(ctx context.Context, p *server.Principal, e *Entry, before, after func(ctx context.Context, u *store.Unit, e *Entry) error) (*Entry, error) {
	var err error
	for try := 0; try < 2; try++ {
		err = s.st().Unit(ctx, "funds.entry."+e.Kind, func(u *store.Unit) error {
			if before != nil {
				if err := before(ctx, u, e); err != nil {
					return err
				}
			}
			if err := s.appendEntry(ctx, u, p, e); err != nil {
				return err
			}
			if after != nil {
				return after(ctx, u, e)
			}
			return nil
		})
		if !errors.Is(err, errSeqBehind) {
			break
		}
		if cerr := s.catchUpSeq(ctx); cerr != nil {
			return nil, cerr
		}
	}
	if errors.Is(err, errSeqBehind) {
		return nil, server.Conflict("资金台账编号与数据不一致，请稍后重试")
	}
	if err != nil {
		return nil, err
	}
	s.audit(ctx, p, "funds.entry."+e.Kind, e.ID, map[string]any{"seq": e.Seq, "category": e.Category, "use": e.Use,
		"amount_fen": e.AmountFen, "tranche": e.Tranche, "reverses": e.Reverses, "payee": e.Payee, "station_id": e.StationID})
	return e, nil
}

func (s *Service) st() *store.Store { return s.d.Store }

// reversalTarget loads and checks the entry a reversal corrects, and fills
// the reversal's category, use, tranche and amount from it.
func (s *Service) reversalTarget(ctx context.Context, e *Entry) (*Entry, error) {
	if !store.ValidID(e.Reverses) {
		return nil, server.Invalid("被冲销分录的编号格式错误", "reverses", "请从台账中选择要冲销的分录")
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
		return nil, broken(server.CodeInvalid, RuleReversalTarget, "冲销分录不能再被冲销；如需更正，请重新登记一笔预算或付款")
	}
	if orig.Use == UseSubsidy {
		return nil, broken(server.CodeConflict, RuleSubsidyFinal, "站点补助已支付并登记到站点，不能冲销")
	}
	if e.Category != "" && e.Category != orig.Category {
		return nil, server.Invalid("冲销分录的类别须与原分录一致", "category", "应为“"+CategoryNames[orig.Category]+"”")
	}
	if e.AmountFen == 0 {
		e.AmountFen = orig.AmountFen
	}
	if e.AmountFen > orig.AmountFen {
		return nil, broken(server.CodeInvalid, RuleReversalAmount,
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

// audit records a fund write that happened; a failure is logged (the
// write is kept).
func (s *Service) audit(ctx context.Context, p *server.Principal, action, target string, detail map[string]any) {
	if s.d.Audit != nil {
		s.d.Audit.Note(ctx, p, action, target, detail)
	}
}

// PaySubsidy pays a station the subsidy stations says it is due: a payment
// of category public_service, then stations.MarkSubsidyPaid, in one unit.
// A second payment for one station is refused (subsidy_once) by the
// marker's natural _id, on any engine and any number of nodes.
func (s *Service) PaySubsidy(ctx context.Context, p *server.Principal, stationID, approver, at string) (*Entry, error) {
	if s.d.Stations == nil {
		return nil, server.NotFound("站点模块未启用")
	}
	if !store.ValidID(stationID) {
		return nil, server.Invalid("站点编号格式错误", "station_id", "请选择站点")
	}
	approver = strings.TrimSpace(approver)
	if utf8.RuneCountInString(approver) > 200 {
		return nil, server.Invalid("审批人过长", "approver", "不超过 200 字")
	}
	f := server.Fields{}
	when := entryDate(f, "at", at, p, s.now())
	if err := f.Err(); err != nil {
		return nil, err
	}
	ctx = context.WithoutCancel(ctx)
	amount, paid, err := s.d.Stations.SubsidyDue(ctx, stationID)
	if err != nil {
		return nil, err
	}
	if paid {
		return nil, broken(server.CodeConflict, RuleSubsidyOnce, "该站点的建设补助已经支付过，不能重复支付")
	}
	if amount <= 0 {
		return nil, broken(server.CodeConflict, RuleSubsidyDue, "该站点没有应付补助：补助只给新建并通过验收的乡镇服务站（1 万元）和村级服务点（3 千元）")
	}
	mark := "subsidy:" + stationID
	e := &Entry{ID: store.NewID(), Kind: KindPayment, Category: CatPublicService, Use: UseSubsidy,
		Purpose: "服务站点建设补助", AmountFen: amount, Payee: s.stationName(ctx, stationID), Approver: approver,
		StationID: stationID, At: when}
	return s.write(ctx, p, e, func(ctx context.Context, u *store.Unit, e *Entry) error {
		err := u.Do(ctx, "subsidy marker", func(ctx context.Context) error {
			return s.marks.InsertOne(ctx, bson.M{"_id": mark, "entry_id": e.ID, "at": s.now().UTC()})
		}, func(ctx context.Context) error {
			_, err := s.marks.DeleteIf(ctx, mark, store.Cond{"entry_id": e.ID})
			return err
		})
		if store.IsDup(err) {
			return broken(server.CodeConflict, RuleSubsidyOnce, "该站点的建设补助已经支付过，不能重复支付")
		}
		return err
	}, func(ctx context.Context, _ *store.Unit, e *Entry) error {
		return s.d.Stations.MarkSubsidyPaid(ctx, stationID, e.ID)
	})
}

// stationName is the station's name for the payee column.
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
	return "服务站点"
}

// gateDate refuses a tranche payment dated before its gate was passed.
func (s *Service) gateDate(ctx context.Context, tranche int, at time.Time) error {
	var g Gate
	err := s.gates.Get(ctx, Gates[tranche-1], &g)
	if store.IsNotFound(err) {
		return nil // the balance check names the missing gate
	}
	if err != nil {
		return err
	}
	if at.Before(g.At) {
		return broken(server.CodeConflict, RuleTrancheGate,
			fmt.Sprintf("第 %d 期付款日期不能早于“%s”的日期（%s）", tranche, GateNames[g.Gate], clock.Day(g.At)))
	}
	return nil
}
