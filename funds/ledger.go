package funds

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"nongxun/clock"
	"nongxun/server"
	"nongxun/store"
)

// errSeqBehind: the balance's sequence is behind the ledger (an entry
// already holds the next number), as after a restore of inconsistent data.
var errSeqBehind = errors.New("funds: the ledger's sequence is behind its entries")

// appendEntry is the one place an entry joins the ledger, inside unit u:
// the rules and the sequence number by one conditional $inc of the balance
// document (UpdateIf: {paid_tranche_1: {$lte: cap - amount}, …}, so of
// concurrent payments exactly those that fit are accepted, on any engine
// and any number of app nodes), then the entry (seq is unique), its page
// block, the reversal's mark on the entry it corrects and the month
// counter. Approval and the hash chain of the ledger hook in here.
func (s *Service) appendEntry(ctx context.Context, u *store.Unit, p *server.Principal, e *Entry) error {
	kind, subsidy, gate := e.Kind, e.Use == UseSubsidy, e.Tranche
	var orig *Entry
	if e.Kind == KindReversal {
		var err error
		if orig, err = s.reversalTarget(ctx, e); err != nil {
			return err
		}
		kind, subsidy, gate = orig.Kind, false, 0
		mark := "reversal:" + orig.ID
		err = u.Do(ctx, "reversal marker", func(ctx context.Context) error {
			return s.marks.InsertOne(ctx, bson.M{"_id": mark, "entry_id": e.ID, "at": s.now().UTC()})
		}, func(ctx context.Context) error {
			_, err := s.marks.DeleteIf(ctx, mark, store.Cond{"entry_id": e.ID})
			return err
		})
		if store.IsDup(err) {
			return broken(server.CodeConflict, RuleReversalOnce, "该分录已经冲销过，不能重复冲销")
		}
		if err != nil {
			return err
		}
	}
	if gate > 0 {
		if err := s.gateDate(ctx, gate, e.At); err != nil {
			return err
		}
	}
	sign := int64(1)
	if e.Kind == KindReversal {
		sign = -1
	}
	d := deltas(kind, e.Category, e.Tranche, e.AmountFen, subsidy, sign)
	b, err := s.readBalance(ctx)
	if err != nil {
		return err
	}
	if err := s.lim.check(b, d, gate); err != nil {
		return err
	}
	inc := bson.M{"seq": int64(1), "entries": int64(1)}
	for k, v := range d {
		inc[k] = v
	}
	var after bson.M
	ok, err := s.bal.UpdateIfGet(ctx, balanceID, s.lim.cond(d, gate), bson.M{"$inc": inc}, &after)
	if err != nil {
		return err
	}
	if !ok {
		// Another write moved the balance between the check and the update.
		if b, err := s.readBalance(ctx); err == nil {
			if err := s.lim.check(b, d, gate); err != nil {
				return err
			}
		}
		return server.Conflict("资金余额刚刚发生变化，请重试")
	}
	seq := store.Int64(after["seq"])
	u.OnFail("balance", func(ctx context.Context) error {
		neg := bson.M{"entries": int64(-1)}
		for k, v := range d {
			neg[k] = -v
		}
		// The number goes back too when no later entry took one.
		withSeq := bson.M{"seq": int64(-1)}
		for k, v := range neg {
			withSeq[k] = v
		}
		ok, err := s.bal.UpdateIf(ctx, balanceID, store.Cond{"seq": seq}, bson.M{"$inc": withSeq})
		if err != nil || ok {
			return err
		}
		_, err = s.bal.UpdateOne(ctx, bson.M{"_id": balanceID}, bson.M{"$inc": neg})
		return err
	})
	now := s.now().UTC()
	e.Seq = seq
	e.At, e.RecordedAt = e.At.Truncate(time.Millisecond), now.Truncate(time.Millisecond) // as stored, so copies compare equal
	if p != nil {
		e.RecordedBy, e.ByName = p.UserID, p.Name
	}
	err = u.Do(ctx, "entry", func(ctx context.Context) error { return s.entries.InsertOne(ctx, e) },
		func(ctx context.Context) error { _, err := s.entries.DeleteOne(ctx, bson.M{"_id": e.ID}); return err })
	if store.IsDup(err) {
		return errSeqBehind
	}
	if err != nil {
		return err
	}
	if err := s.pushBlock(ctx, u, e); err != nil {
		return err
	}
	if orig != nil {
		id := blockID(orig.Seq)
		if _, err := s.block(ctx, id); err != nil {
			return err
		}
		field := "reversed." + orig.ID
		if err := u.Do(ctx, "reversal in its block", func(ctx context.Context) error {
			_, err := s.blocks.UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$set": bson.M{field: e.ID}})
			return err
		}, func(ctx context.Context) error {
			_, err := s.blocks.UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$unset": bson.M{field: ""}})
			return err
		}); err != nil {
			return err
		}
	}
	if kind == KindPayment {
		m := "month:" + clock.Month(e.At)
		paid := map[string]int64{"fund_payments_fen": d["paid_total"]}
		return u.Do(ctx, "month counter", func(ctx context.Context) error { return s.months.Inc(ctx, m, paid) },
			func(ctx context.Context) error {
				return s.months.Inc(ctx, m, map[string]int64{"fund_payments_fen": -d["paid_total"]})
			})
	}
	return nil
}

// catchUpSeq moves the balance's sequence up to the ledger's highest
// number (a read of the whole ledger: only after errSeqBehind).
func (s *Service) catchUpSeq(ctx context.Context) error {
	var last []Entry
	if err := s.entries.Find(ctx, bson.M{}, &last, options.Find().SetSort(bson.D{{Key: "seq", Value: -1}}).SetLimit(1)); err != nil || len(last) == 0 {
		return err
	}
	s.d.Log.Warn("funds: the ledger's sequence was behind its entries (restored data?); caught up", "seq", last[0].Seq)
	_, err := s.bal.UpdateOne(ctx, bson.M{"_id": balanceID}, bson.M{"$max": bson.M{"seq": last[0].Seq}})
	return err
}

// sums reads the whole ledger and adds up what the balance holds, with the
// highest sequence number: for Reconcile and a balance rebuilt after a
// restore.
func (s *Service) sums(ctx context.Context) (map[string]int64, int64, error) {
	cur, err := s.entries.Cursor(ctx, bson.M{})
	if err != nil {
		return nil, 0, err
	}
	defer cur.Close(ctx)
	sum := map[string]int64{}
	var max int64
	for cur.Next(ctx) {
		var e Entry
		if err := cur.Decode(&e); err != nil {
			return nil, 0, err
		}
		kind, sign := e.Kind, int64(1)
		if e.Kind == KindReversal {
			kind, sign = e.ReversedKind, -1
		}
		for k, v := range deltas(kind, e.Category, e.Tranche, e.AmountFen, e.Use == UseSubsidy, sign) {
			sum[k] += v
		}
		sum["entries"]++
		if e.Seq > max {
			max = e.Seq
		}
	}
	return sum, max, cur.Err()
}

// blockSize is how many consecutive sequence numbers one block holds.
const blockSize = 50

// block is a page of the ledger for reading: the entries numbered
// 50n+1…50n+50 (copies of fund_entries, which stays the record), which of
// them were reversed and by what, and their evidence. A ledger page is one
// or two reads by _id instead of a scan of the ledger (docs/design.md,
// "Scans"); it is written in the same unit as the entry, the reversal or
// the evidence.
type block struct {
	ID       string                `bson:"_id"`
	Entries  []Entry               `bson:"entries"`
	Reversed map[string]string     `bson:"reversed,omitempty"`
	Evidence map[string][]Evidence `bson:"evidence,omitempty"`
}

func blockID(seq int64) string { return fmt.Sprintf("b:%09d", (seq-1)/blockSize) }

func blockRange(seq int64) (first, last int64) {
	first = (seq-1)/blockSize*blockSize + 1
	return first, first + blockSize - 1
}

// pushBlock adds e to its block inside unit u.
func (s *Service) pushBlock(ctx context.Context, u *store.Unit, e *Entry) error {
	id := blockID(e.Seq)
	if first, _ := blockRange(e.Seq); first < e.Seq {
		// The block's first entries may predate blocks (or come from a
		// restore without them): make it from the ledger first.
		if _, err := s.block(ctx, id); err != nil {
			return err
		}
	}
	return u.Do(ctx, "ledger block", func(ctx context.Context) error {
		_, err := s.blocks.UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$addToSet": bson.M{"entries": e}}, options.UpdateOne().SetUpsert(true))
		return err
	}, func(ctx context.Context) error {
		_, err := s.blocks.UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$pull": bson.M{"entries": e}})
		return err
	})
}

// block reads block id, making it from the ledger when it is missing but
// its entries exist.
func (s *Service) block(ctx context.Context, id string) (*block, error) {
	var b block
	err := s.blocks.Get(ctx, id, &b)
	if err == nil || !store.IsNotFound(err) {
		return &b, err
	}
	var n int64
	if _, err := fmt.Sscanf(id, "b:%d", &n); err != nil {
		return nil, err
	}
	first := n*blockSize + 1
	b = block{ID: id, Reversed: map[string]string{}, Evidence: map[string][]Evidence{}}
	if err := s.entries.Find(ctx, bson.M{"seq": bson.M{"$gte": first, "$lt": first + blockSize}}, &b.Entries); err != nil {
		return nil, err
	}
	if len(b.Entries) == 0 {
		return &b, nil
	}
	ids := make([]string, len(b.Entries))
	marks := make([]string, len(b.Entries))
	for i, e := range b.Entries {
		ids[i], marks[i] = e.ID, "reversal:"+e.ID
	}
	var ms []struct {
		ID      string `bson:"_id"`
		EntryID string `bson:"entry_id"`
	}
	if err := s.marks.Find(ctx, bson.M{"_id": bson.M{"$in": marks}}, &ms); err != nil {
		return nil, err
	}
	for _, m := range ms {
		b.Reversed[strings.TrimPrefix(m.ID, "reversal:")] = m.EntryID
	}
	var ev []Evidence
	if err := s.evidence.Find(ctx, bson.M{"entry_id": bson.M{"$in": ids}}, &ev, options.Find().SetSort(bson.D{{Key: "at", Value: 1}})); err != nil {
		return nil, err
	}
	for _, x := range ev {
		b.Evidence[x.EntryID] = append(b.Evidence[x.EntryID], x)
	}
	if _, err := s.blocks.InsertIfAbsent(ctx, b); err != nil {
		return nil, err
	}
	var stored block
	return &stored, s.blocks.Get(ctx, id, &stored)
}

// EntryView is an entry as the ledger shows it: with the reversal that
// corrected it, if any, and its evidence attachments.
type EntryView struct {
	Entry      `bson:",inline"`
	ReversedBy string     `json:"reversed_by,omitempty"`
	Evidence   []Evidence `json:"evidence"`
}

// Evidence is a file (invoice, contract, acceptance record) attached to an entry.
type Evidence struct {
	ID          string    `bson:"_id" json:"id"`
	EntryID     string    `bson:"entry_id" json:"entry_id"`
	BlobID      string    `bson:"blob_id" json:"-"`
	Name        string    `bson:"name" json:"name"`
	Size        int64     `bson:"size" json:"size"`
	ContentType string    `bson:"content_type" json:"content_type"`
	At          time.Time `bson:"at" json:"at"`
	By          string    `bson:"by" json:"by"`
	ByName      string    `bson:"by_name,omitempty" json:"by_name,omitempty"`
}

// LedgerQuery filters and pages the ledger, newest first.
type LedgerQuery struct {
	Kind, Category, StationID string
	Tranche                   int
	From, To                  time.Time // on At; zero: open
	Before                    int64     // seq; 0: from the newest
	Limit                     int64
}

// match reports whether e passes the query's filters (not the paging).
func (q LedgerQuery) match(e *Entry) bool {
	return (q.Kind == "" || e.Kind == q.Kind) && (q.Category == "" || e.Category == q.Category) &&
		(q.StationID == "" || e.StationID == q.StationID) && (q.Tranche == 0 || e.Tranche == q.Tranche) &&
		(q.From.IsZero() || !e.At.Before(q.From)) && (q.To.IsZero() || e.At.Before(q.To))
}

// maxBlocks bounds the blocks one page request reads: a filter that
// matches few entries gets a shorter page (maybe empty) and next_before
// to go on from, never a read of the whole ledger.
const maxBlocks = 8

// LedgerPage returns one page of entries matching q, newest first, and the
// seq to pass as Before for the next page (0 when there is no more). It
// reads the ledger's blocks by _id from the newest down (docs/design.md,
// "Scans"): an unfiltered page is one or two reads; a filtered one reads
// at most maxBlocks blocks, so its page may hold fewer than Limit entries
// while next_before says where to go on.
func (s *Service) LedgerPage(ctx context.Context, q LedgerQuery) ([]EntryView, int64, error) {
	hi := q.Before - 1
	if q.Before == 0 {
		b, err := s.readBalance(ctx)
		if err != nil {
			return nil, 0, err
		}
		hi = b["seq"]
	}
	out := []EntryView{}
	seen := map[string]bool{}
	reads := 0
	for top := hi; top > 0; {
		if int64(len(out)) == q.Limit {
			return out, out[len(out)-1].Seq, nil
		}
		if reads == maxBlocks {
			return out, top + 1, nil
		}
		b, err := s.block(ctx, blockID(top))
		if err != nil {
			return nil, 0, err
		}
		reads++
		first, _ := blockRange(top)
		var in []Entry
		for _, e := range b.Entries {
			if e.Seq >= first && e.Seq <= top && !seen[e.ID] && q.match(&e) {
				seen[e.ID] = true
				in = append(in, e)
			}
		}
		sort.Slice(in, func(i, j int) bool { return in[i].Seq > in[j].Seq })
		for _, e := range in {
			if int64(len(out)) == q.Limit {
				return out, out[len(out)-1].Seq, nil
			}
			out = append(out, b.view(e))
		}
		top = first - 1
	}
	return out, 0, nil
}

func (b *block) view(e Entry) EntryView {
	v := EntryView{Entry: e, ReversedBy: b.Reversed[e.ID], Evidence: b.Evidence[e.ID]}
	if v.Evidence == nil {
		v.Evidence = []Evidence{}
	}
	return v
}

// views adds reversals and evidence to entries from their blocks.
func (s *Service) views(ctx context.Context, list []Entry) ([]EntryView, error) {
	out := make([]EntryView, len(list))
	blocks := map[string]*block{}
	for i, e := range list {
		id := blockID(e.Seq)
		b, ok := blocks[id]
		if !ok {
			var err error
			if b, err = s.block(ctx, id); err != nil {
				return nil, err
			}
			blocks[id] = b
		}
		out[i] = b.view(e)
	}
	return out, nil
}

// View returns one entry with its reversal and evidence.
func (s *Service) View(ctx context.Context, id string) (*EntryView, error) {
	e, err := s.Entry(ctx, id)
	if err != nil {
		return nil, err
	}
	v, err := s.views(ctx, []Entry{*e})
	if err != nil {
		return nil, err
	}
	return &v[0], nil
}

// AddEvidence stores an uploaded file and attaches it to entry id. The
// entry itself is not changed: evidence is a document of its own (and a
// line of the entry's block, in the same unit).
func (s *Service) AddEvidence(ctx context.Context, p *server.Principal, id string, u server.Upload) (*Evidence, error) {
	e, err := s.Entry(ctx, id)
	if err != nil {
		return nil, err
	}
	info, err := s.d.Store.Blobs.Put(ctx, u.Body, s.d.Config.MaxUpload)
	if err != nil {
		return nil, server.BlobError(err, s.d.Config.MaxUpload)
	}
	name := filepath.Base(strings.ReplaceAll(u.Filename, "\\", "/"))
	if !utf8.ValidString(name) || name == "." || name == "/" {
		name = "evidence"
	}
	if r := []rune(name); len(r) > 200 {
		name = string(r[len(r)-200:])
	}
	ct := mime.TypeByExtension(strings.ToLower(filepath.Ext(name)))
	if ct == "" {
		ct = http.DetectContentType(info.Head)
	}
	ev := &Evidence{ID: store.NewID(), EntryID: id, BlobID: info.ID, Name: name, Size: info.Size, ContentType: ct, At: s.now().UTC().Truncate(time.Millisecond)}
	if p != nil {
		ev.By, ev.ByName = p.UserID, p.Name
	}
	bid := blockID(e.Seq)
	if _, err := s.block(ctx, bid); err != nil {
		return nil, err
	}
	err = s.st().Unit(context.WithoutCancel(ctx), "funds.evidence", func(un *store.Unit) error {
		if err := un.Do(ctx, "evidence", func(ctx context.Context) error { return s.evidence.InsertOne(ctx, ev) },
			func(ctx context.Context) error { _, err := s.evidence.DeleteOne(ctx, bson.M{"_id": ev.ID}); return err }); err != nil {
			return err
		}
		field := "evidence." + id
		return un.Do(ctx, "evidence in its block", func(ctx context.Context) error {
			_, err := s.blocks.UpdateOne(ctx, bson.M{"_id": bid}, bson.M{"$push": bson.M{field: ev}})
			return err
		}, nil)
	})
	if err != nil {
		return nil, err
	}
	s.audit(ctx, p, "funds.evidence", id, map[string]any{"evidence_id": ev.ID, "name": name, "size": info.Size, "sha256": info.ID})
	return ev, nil
}

// EvidenceFile returns an evidence record by id.
func (s *Service) EvidenceFile(ctx context.Context, id string) (*Evidence, error) {
	var ev Evidence
	err := s.evidence.Get(ctx, id, &ev)
	if store.IsNotFound(err) {
		return nil, server.NotFound("附件不存在")
	}
	if err != nil {
		return nil, err
	}
	return &ev, nil
}
