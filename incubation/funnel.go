package incubation

import (
	"context"
	"maps"
	"slices"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"nongxun/server"
	"nongxun/store"
)

// Funnel steps counted by this package ("trained" is enrollment's).
const (
	StepTrained    = "trained"
	StepCertified  = "certified"
	StepFollowedUp = "followed_up"
	StepShopOpened = "shop_opened"
	StepSelling    = "selling"
	StepIncubated  = "incubated"
)

// markedSteps are the steps counted once per trainee with a marker document.
var markedSteps = []string{StepCertified, StepFollowedUp, StepShopOpened, StepIncubated}

// Steps lists the funnel in order.
var Steps = []string{StepTrained, StepCertified, StepFollowedUp, StepShopOpened, StepSelling, StepIncubated}

// SellingMonths is how many months (the current one included) a sale
// keeps a trainee in the "selling" step, and a shop out of "dormant".
const SellingMonths = 3

// sellPrefix names the per-month buckets of trainees by their last sale month.
const sellPrefix = "sell"

// Funnel is one line of the conversion funnel.
type Funnel struct {
	Trained    int64 `json:"trained"`
	Certified  int64 `json:"certified"`
	FollowedUp int64 `json:"followed_up"`
	ShopOpened int64 `json:"shop_opened"`
	Selling    int64 `json:"selling"`
	Incubated  int64 `json:"incubated"`
}

// Conversion is the GET /api/v1/conversion body.
type Conversion struct {
	Funnel
	TownshipID string            `json:"township_id,omitempty"`
	ByTownship map[string]Funnel `json:"by_township"`
	ByGroup    map[string]Funnel `json:"by_group"`
	// SellingSince is the first month counted as "recent" for selling.
	SellingSince string `json:"selling_since"`
	AsOf         string `json:"as_of"`
}

// who is the trainee a funnel change is counted for, as counted: the
// township and groups are kept on the marker so an undo matches.
type who struct {
	TraineeID  string   `bson:"trainee_id"`
	Name       string   `bson:"name,omitempty"`
	TownshipID string   `bson:"township_id"`
	Groups     []string `bson:"groups,omitempty"`
}

func whoOf(t *Trainee) who {
	return who{TraineeID: t.ID, Name: t.Name, TownshipID: t.TownshipID, Groups: t.Groups}
}

// mark is a funnel marker: _id step/trainee for the counted steps,
// sell/trainee (with the last sale month) for selling.
type mark struct {
	ID    string    `bson:"_id"`
	Step  string    `bson:"step"`
	Month string    `bson:"month,omitempty"`
	At    time.Time `bson:"at"`
	W     who       `bson:",inline"`
	// Shops (selling only): shop id → the last month it sold in; Month is their maximum.
	Shops map[string]string `bson:"shops,omitempty"`
}

const (
	funnelDoc    = "funnel"  // {c:{step:n, sell:{month:n}}, t:{twp:{…}}, g:{group:{…}}}
	funnelTwpDoc = "funnel/" // + township: {c:{…}, g:{group:{…}}}
	totalsDoc    = "totals"  // {enterprises, brands, shops}
	revenueDoc   = "revenue" // {c:{month:{o,r}}, t:{twp:{month:{o,r}}}}
	monthDoc     = "month/"  // + YYYY-MM: {twp:{followups, shops_opened, sales_orders, sales_revenue_fen}}
	countyKey    = "c"
	townshipsKey = "t"
	groupsKey    = "g"
)

// safeKey reports whether k can be a counter field name.
func safeKey(k string) bool {
	return k != "" && !strings.ContainsAny(k, ".$") && len(k) <= 64
}

// funnelDelta adds d to field (a step or sell.<month>) for w on both the
// county document and w's township document.
func funnelDelta(w who, field string, d int64, county, twp map[string]int64) {
	county[countyKey+"."+field] += d
	if safeKey(w.TownshipID) {
		county[townshipsKey+"."+w.TownshipID+"."+field] += d
		twp[countyKey+"."+field] += d
	}
	for _, g := range w.Groups {
		if safeKey(g) {
			county[groupsKey+"."+g+"."+field] += d
			if safeKey(w.TownshipID) {
				twp[groupsKey+"."+g+"."+field] += d
			}
		}
	}
}

// applyFunnel writes the deltas of funnelDelta; when the township document
// fails it takes the county change back, so the two stay equal.
func (s *Service) applyFunnel(ctx context.Context, twpID string, county, twp map[string]int64) error {
	defer s.forgetFunnel(funnelDoc, funnelTwpDoc+twpID)
	if err := s.funnel.Inc(ctx, funnelDoc, county); err != nil {
		return err
	}
	if len(twp) == 0 {
		return nil
	}
	if err := s.funnel.Inc(ctx, funnelTwpDoc+twpID, twp); err != nil {
		_ = s.funnel.Inc(context.WithoutCancel(ctx), funnelDoc, negate(county))
		return err
	}
	return nil
}

func negate(m map[string]int64) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = -v
	}
	return out
}

// count counts w once at step: the marker insert is the dedup (a
// duplicate key means already counted), then the counters move. It
// reports whether w was newly counted.
func (s *Service) count(ctx context.Context, step string, w who) (bool, error) {
	var added bool
	err := s.st.Lane(ctx, func(ctx context.Context) error {
		m := mark{ID: step + "/" + w.TraineeID, Step: step, At: s.now(), W: w}
		if err := s.markColl(step).InsertOne(ctx, m); err != nil {
			if store.IsDup(err) {
				return nil
			}
			return err
		}
		county, twp := map[string]int64{}, map[string]int64{}
		funnelDelta(w, step, 1, county, twp)
		if err := s.applyFunnel(ctx, w.TownshipID, county, twp); err != nil {
			_, _ = s.markColl(step).DeleteOne(context.WithoutCancel(ctx), bson.M{"_id": m.ID})
			return err
		}
		added = true
		return nil
	})
	return added, err
}

// uncount removes trainee's marker of step and takes them off the counters
// they were counted in (from the marker's own record of who they were then).
func (s *Service) uncount(ctx context.Context, step, traineeID string) error {
	return s.st.Lane(ctx, func(ctx context.Context) error {
		var m mark
		if err := s.markColl(step).FindOne(ctx, bson.M{"_id": step + "/" + traineeID}, &m); err != nil {
			if store.IsNotFound(err) {
				return nil
			}
			return err
		}
		if n, err := s.markColl(step).DeleteOne(ctx, bson.M{"_id": m.ID}); err != nil || n == 0 {
			return err
		}
		county, twp := map[string]int64{}, map[string]int64{}
		funnelDelta(m.W, step, -1, county, twp)
		if err := s.applyFunnel(ctx, m.W.TownshipID, county, twp); err != nil {
			_ = s.markColl(step).InsertOne(context.WithoutCancel(ctx), m)
			return err
		}
		return nil
	})
}

// setLastSale records that shop shopID of trainee w last sold in shopLast
// ("" = never) and moves the trainee to the bucket of their last sale
// month over all their shops. Call it inside the lane.
func (s *Service) setLastSale(ctx context.Context, w who, shopID, shopLast string) error {
	id := sellPrefix + "/" + w.TraineeID
	sells := s.markColl(sellPrefix)
	var cur mark
	err := sells.FindOne(ctx, bson.M{"_id": id}, &cur)
	if err != nil && !store.IsNotFound(err) {
		return err
	}
	had := err == nil
	shops := map[string]string{}
	for k, v := range cur.Shops {
		shops[k] = v
	}
	if shopLast == "" {
		delete(shops, shopID)
	} else {
		shops[shopID] = shopLast
	}
	month := ""
	for _, m := range shops {
		if m > month {
			month = m
		}
	}
	if !had && month == "" {
		return nil
	}
	if had && cur.Month == month {
		if maps.Equal(cur.Shops, shops) {
			return nil
		}
		cur.Shops = shops // same bucket: only the per-shop months change
		_, err := sells.ReplaceOne(ctx, bson.M{"_id": id}, cur)
		return err
	}
	old := cur
	cur = mark{ID: id, Step: sellPrefix, Month: month, At: s.now(), W: w, Shops: shops}
	county, twp := map[string]int64{}, map[string]int64{}
	oldCounty, oldTwp := map[string]int64{}, map[string]int64{}
	if had {
		funnelDelta(old.W, sellPrefix+"."+old.Month, -1, oldCounty, oldTwp)
	}
	if month != "" {
		funnelDelta(w, sellPrefix+"."+month, 1, county, twp)
	}
	// The marker first, then the counters; each step undone if a later one fails.
	if month == "" {
		if _, err := sells.DeleteOne(ctx, bson.M{"_id": id}); err != nil {
			return err
		}
	} else {
		if _, err := sells.ReplaceOne(ctx, bson.M{"_id": id}, cur, options.Replace().SetUpsert(true)); err != nil {
			return err
		}
	}
	restore := func() {
		bg := context.WithoutCancel(ctx)
		if had {
			_, _ = sells.ReplaceOne(bg, bson.M{"_id": id}, old, options.Replace().SetUpsert(true))
		} else {
			_, _ = sells.DeleteOne(bg, bson.M{"_id": id})
		}
	}
	if had {
		if err := s.applyFunnel(ctx, old.W.TownshipID, oldCounty, oldTwp); err != nil {
			restore()
			return err
		}
	}
	if month != "" {
		if err := s.applyFunnel(ctx, w.TownshipID, county, twp); err != nil {
			if had {
				_ = s.applyFunnel(context.WithoutCancel(ctx), old.W.TownshipID, negate(oldCounty), negate(oldTwp))
			}
			restore()
			return err
		}
	}
	return nil
}

// funnelLine reads one line of a counter document: the counted steps and
// the selling buckets of the recent months.
func funnelLine(v any, recent []string) Funnel {
	m := asMap(v)
	f := Funnel{
		Certified:  store.Int64(m[StepCertified]),
		FollowedUp: store.Int64(m[StepFollowedUp]),
		ShopOpened: store.Int64(m[StepShopOpened]),
		Incubated:  store.Int64(m[StepIncubated]),
	}
	sell := asMap(m[sellPrefix])
	for _, mo := range recent {
		f.Selling += store.Int64(sell[mo])
	}
	return f
}

func asMap(v any) bson.M {
	switch x := v.(type) {
	case bson.M:
		return x
	case bson.D:
		m := bson.M{}
		for _, e := range x {
			m[e.Key] = e.Value
		}
		return m
	case map[string]any:
		return bson.M(x)
	}
	return bson.M{}
}

// recentMonths are the months whose sales count as "selling" now.
func (s *Service) recentMonths() []string {
	cur := monthOf(s.now())
	out := make([]string, SellingMonths)
	for i := range out {
		out[i] = addMonths(cur, -i)
	}
	return out
}

// Conversion is the funnel for the county (townshipID "") or one township,
// read from counters: two counter documents and enrollment's trained counters.
func (s *Service) Conversion(ctx context.Context, townshipID string) (*Conversion, error) {
	recent := s.recentMonths()
	out := &Conversion{TownshipID: townshipID, ByTownship: map[string]Funnel{}, ByGroup: map[string]Funnel{},
		SellingSince: recent[len(recent)-1], AsOf: s.now().Format(time.RFC3339)}
	id := funnelDoc
	if townshipID != "" {
		id = funnelTwpDoc + townshipID
	}
	doc, err := s.funnelCounter(ctx, id)
	if err != nil {
		return nil, err
	}
	out.Funnel = funnelLine(doc[countyKey], recent)
	for g, v := range asMap(doc[groupsKey]) {
		out.ByGroup[g] = funnelLine(v, recent)
	}
	if townshipID == "" {
		for t, v := range asMap(doc[townshipsKey]) {
			out.ByTownship[t] = funnelLine(v, recent)
		}
	} else {
		out.ByTownship[townshipID] = out.Funnel
	}
	if s.d.Trainees != nil {
		tr, err := s.d.Trainees.Trained(ctx, townshipID)
		if err != nil {
			return nil, err
		}
		if tr != nil {
			out.Trained = tr.Total
			for t, n := range tr.ByTownship {
				if townshipID != "" && t != townshipID {
					continue
				}
				f := out.ByTownship[t]
				f.Trained = n
				out.ByTownship[t] = f
			}
			for g, n := range tr.ByGroup {
				f := out.ByGroup[g]
				f.Trained = n
				out.ByGroup[g] = f
			}
		}
	}
	if townshipID != "" {
		out.ByTownship[townshipID] = out.Funnel
	}
	return out, nil
}

// StepTrainee is one trainee behind a step of the funnel.
type StepTrainee struct {
	TraineeID  string    `json:"trainee_id"`
	Name       string    `json:"name"`
	TownshipID string    `json:"township_id"`
	Groups     []string  `json:"groups"`
	Month      string    `json:"month,omitempty"` // selling: the last month sold in
	At         time.Time `json:"at"`
}

// StepTrainees lists the trainees counted at a step (the lists behind the
// funnel), optionally of one township and one group. "trained" is
// enrollment's list and is not kept here.
func (s *Service) StepTrainees(ctx context.Context, step, townshipID, group string) ([]StepTrainee, error) {
	f := bson.M{}
	switch step {
	case StepCertified, StepFollowedUp, StepShopOpened, StepIncubated:
		f["step"] = step
	case StepSelling:
		recent := s.recentMonths()
		f["step"] = sellPrefix
		f["month"] = bson.M{"$gte": recent[len(recent)-1]}
	case StepTrained:
		return nil, server.Invalid("已参训学员名单请在「学员」页查看", "step", "不在此处")
	default:
		return nil, server.Invalid("未知的转化环节", "step", "应为 certified、followed_up、shop_opened、selling 或 incubated")
	}
	if townshipID != "" {
		f["township_id"] = townshipID
	}
	var marks []mark
	c := s.markColl(step)
	if step == StepSelling {
		c = s.markColl(sellPrefix)
	}
	if err := c.Find(ctx, f, &marks, options.Find().SetSort(bson.D{{Key: "at", Value: -1}}).SetLimit(5000)); err != nil {
		return nil, err
	}
	out := make([]StepTrainee, 0, len(marks))
	for _, m := range marks {
		if group != "" && !slices.Contains(m.W.Groups, group) {
			continue
		}
		g := m.W.Groups
		if g == nil {
			g = []string{}
		}
		out = append(out, StepTrainee{TraineeID: m.W.TraineeID, Name: m.W.Name, TownshipID: m.W.TownshipID, Groups: g, Month: m.Month, At: m.At})
	}
	return out, nil
}

func validMonth(m string) bool {
	_, err := time.Parse("2006-01", m)
	return err == nil && len(m) == 7
}

// tk is a township id as a counter key ("none" when missing).
func tk(t string) string {
	if safeKey(t) {
		return t
	}
	return "none"
}

// allMarkSteps are the steps with marker collections (selling's is "sell").
var allMarkSteps = append(append([]string{}, markedSteps...), sellPrefix)

// markColl is the marker collection of a step: one per step, so each
// stays as small as its step (the engine reads whole collections).
func (s *Service) markColl(step string) *store.Collection { return s.st.C("funnel_marks_" + step) }

// funnelCounter reads a funnel counter document. On the embedded engine
// (this process the only writer) a document once read is kept in memory
// until a write to it (applyFunnel, the recount, both in the lane) drops
// it; a missing one is loaded inside the lane, so no write can slip
// between the load and the cache.
func (s *Service) funnelCounter(ctx context.Context, id string) (bson.M, error) {
	if !s.st.Embedded() {
		return s.funnel.Counter(ctx, id)
	}
	get := func() (bson.M, bool) {
		s.funnelMu.Lock()
		defer s.funnelMu.Unlock()
		d, ok := s.funnelCache[id]
		return d, ok
	}
	if d, ok := get(); ok {
		return d, nil
	}
	var doc bson.M
	err := s.st.Lane(ctx, func(ctx context.Context) error {
		if d, ok := get(); ok {
			doc = d
			return nil
		}
		d, err := s.funnel.Counter(ctx, id)
		if err != nil {
			return err
		}
		s.funnelMu.Lock()
		s.funnelCache[id] = d
		s.funnelMu.Unlock()
		doc = d
		return nil
	})
	return doc, err
}

// forgetFunnel drops cached funnel documents after a write to them.
func (s *Service) forgetFunnel(ids ...string) {
	s.funnelMu.Lock()
	defer s.funnelMu.Unlock()
	for _, id := range ids {
		delete(s.funnelCache, id)
	}
}
