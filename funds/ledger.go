package funds

import (
	"context"
	"mime"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"nongxun/server"
	"nongxun/store"
)

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

// LedgerPage returns one page of entries matching q and the seq to pass as
// Before for the next page (0 when this is the last).
func (s *Service) LedgerPage(ctx context.Context, q LedgerQuery) ([]EntryView, int64, error) {
	if s.cached() {
		list, next, err := s.cachedPage(ctx, q)
		if err != nil {
			return nil, 0, err
		}
		views, err := s.views(ctx, list)
		return views, next, err
	}
	f := bson.M{}
	if q.Kind != "" {
		f["kind"] = q.Kind
	}
	if q.Category != "" {
		f["category"] = q.Category
	}
	if q.StationID != "" {
		f["station_id"] = q.StationID
	}
	if q.Tranche > 0 {
		f["tranche"] = q.Tranche
	}
	at := bson.M{}
	if !q.From.IsZero() {
		at["$gte"] = q.From
	}
	if !q.To.IsZero() {
		at["$lt"] = q.To
	}
	if len(at) > 0 {
		f["at"] = at
	}
	if len(f) == 0 {
		return s.window(ctx, q)
	}
	if q.Before > 0 {
		f["seq"] = bson.M{"$lt": q.Before}
	}
	var list []Entry
	err := s.entries.Find(ctx, f, &list, options.Find().SetSort(bson.D{{Key: "seq", Value: -1}}).SetLimit(q.Limit+1))
	if err != nil {
		return nil, 0, err
	}
	var next int64
	if int64(len(list)) > q.Limit {
		list = list[:q.Limit]
		next = list[len(list)-1].Seq
	}
	views, err := s.views(ctx, list)
	return views, next, err
}

// window serves the unfiltered ledger as a range of sequence numbers,
// sorted here: the embedded engine scans either way, but a sort on the
// engine costs about as much again. A seq skipped by a write that failed
// after taking its number makes that page one entry shorter.
func (s *Service) window(ctx context.Context, q LedgerQuery) ([]EntryView, int64, error) {
	hi := q.Before - 1
	if q.Before == 0 {
		b, err := s.readBalance(ctx)
		if err != nil {
			return nil, 0, err
		}
		hi = b["seq"]
	}
	lo := hi - q.Limit
	var list []Entry
	if err := s.entries.Find(ctx, bson.M{"seq": bson.M{"$gt": lo, "$lte": hi}}, &list); err != nil {
		return nil, 0, err
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Seq > list[j].Seq })
	var next int64
	if lo > 0 {
		next = lo + 1
	}
	views, err := s.views(ctx, list)
	return views, next, err
}

// views adds reversals and evidence to entries, with two queries.
func (s *Service) views(ctx context.Context, list []Entry) ([]EntryView, error) {
	out := make([]EntryView, len(list))
	if len(list) == 0 {
		return out, nil
	}
	ids := make([]string, len(list))
	marks := make([]string, len(list))
	at := map[string]int{}
	for i, e := range list {
		out[i] = EntryView{Entry: e, Evidence: []Evidence{}}
		ids[i], marks[i], at[e.ID] = e.ID, "reversal:"+e.ID, i
	}
	var ms []struct {
		ID      string `bson:"_id"`
		EntryID string `bson:"entry_id"`
	}
	if err := s.marks.Find(ctx, bson.M{"_id": bson.M{"$in": marks}}, &ms); err != nil {
		return nil, err
	}
	for _, m := range ms {
		if i, ok := at[strings.TrimPrefix(m.ID, "reversal:")]; ok {
			out[i].ReversedBy = m.EntryID
		}
	}
	var ev []Evidence
	if err := s.evidence.Find(ctx, bson.M{"entry_id": bson.M{"$in": ids}}, &ev, options.Find().SetSort(bson.D{{Key: "at", Value: 1}})); err != nil {
		return nil, err
	}
	for _, x := range ev {
		if i, ok := at[x.EntryID]; ok {
			out[i].Evidence = append(out[i].Evidence, x)
		}
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
// entry itself is not changed: evidence is a document of its own.
func (s *Service) AddEvidence(ctx context.Context, p *server.Principal, id string, u server.Upload) (*Evidence, error) {
	if _, err := s.Entry(ctx, id); err != nil {
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
	ev := &Evidence{ID: store.NewID(), EntryID: id, BlobID: info.ID, Name: name, Size: info.Size, ContentType: ct, At: time.Now().UTC()}
	if p != nil {
		ev.By, ev.ByName = p.UserID, p.Name
	}
	if err := s.evidence.InsertOne(ctx, ev); err != nil {
		return nil, err
	}
	s.audit(ctx, p, "funds.evidence", id, map[string]any{"evidence_id": ev.ID, "name": name, "size": info.Size, "sha256": info.ID})
	return ev, nil
}

// EvidenceFile returns an evidence record by id.
func (s *Service) EvidenceFile(ctx context.Context, id string) (*Evidence, error) {
	var ev Evidence
	err := s.evidence.FindOne(ctx, bson.M{"_id": id}, &ev)
	if store.IsNotFound(err) {
		return nil, server.NotFound("附件不存在")
	}
	if err != nil {
		return nil, err
	}
	return &ev, nil
}
