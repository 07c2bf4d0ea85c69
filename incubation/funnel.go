package incubation

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"nongxun/clock"
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
	// V (selling only) is the marker's version, for conditional updates.
	V int `bson:"v,omitempty"`
}

// Counter documents (funnel_counters and incubation_counters), each small
// and read by _id:
//
//	funnel            {c:{step:n}, g:{group:{step:n}}, t:{twp:{step:n}}}  the county
//	funnel/<twp>      {c:{step:n}, g:{group:{step:n}}}                    one township
//	sell/<YYYY-MM>    {c:n, t:{twp:n}, g:{group:n}}                     trainees whose last sale is that month
//	sell/<YYYY-MM>/<twp>  {c:n, g:{group:n}}                            the same, of one township
//	month/<YYYY-MM>/<twp>  {followups, shops_opened}
//	rev/<YYYY>        {<MM>:{o, r}}  the county's orders and revenue
//	rev/<YYYY>/<twp>  {<MM>:{o, r}}  one township's
//	totals            {enterprises, brands, shops}
//
// Each is bounded (by the steps, groups, townships or twelve months), so
// an $inc rewrites little on the embedded engine.
const (
	funnelDoc    = "funnel"
	funnelTwpDoc = "funnel/"
	sellDoc      = "sell/"
	totalsDoc    = "totals"
	countyKey    = "c"
	townshipsKey = "t"
	groupsKey    = "g"
)

func monthDoc(month, twp string) string { return "month/" + month + "/" + tk(twp) }

func revDoc(year, twp string) string {
	if twp == "" {
		return "rev/" + year
	}
	return "rev/" + year + "/" + tk(twp)
}

// safeKey reports whether k can be a counter field name.
func safeKey(k string) bool {
	return k != "" && !strings.ContainsAny(k, ".$") && len(k) <= 64
}

// funnelDelta adds d to step for w on the county document and w's township document.
func funnelDelta(w who, step string, d int64, county, twp map[string]int64) {
	t := tk(w.TownshipID)
	county[countyKey+"."+step] += d
	county[townshipsKey+"."+t+"."+step] += d
	twp[countyKey+"."+step] += d
	for _, g := range w.Groups {
		if safeKey(g) {
			county[groupsKey+"."+g+"."+step] += d
			twp[groupsKey+"."+g+"."+step] += d
		}
	}
}

// sellDelta adds d for w to a month's selling buckets: the county's and w's township's.
func sellDelta(w who, d int64, county, twp map[string]int64) {
	t := tk(w.TownshipID)
	county[countyKey] += d
	county[townshipsKey+"."+t] += d
	twp[countyKey] += d
	for _, g := range w.Groups {
		if safeKey(g) {
			county[groupsKey+"."+g] += d
			twp[groupsKey+"."+g] += d
		}
	}
}

func sellTwpDoc(month, twp string) string { return sellDoc + month + "/" + tk(twp) }

// sellMoves adds to deltas the move of w in or out (d = ±1) of the selling buckets of month.
func sellMoves(deltas map[string]map[string]int64, w who, month string, d int64) {
	county, twp := map[string]int64{}, map[string]int64{}
	sellDelta(w, d, county, twp)
	for id, m := range map[string]map[string]int64{sellDoc + month: county, sellTwpDoc(month, w.TownshipID): twp} {
		if deltas[id] == nil {
			deltas[id] = map[string]int64{}
		}
		for k, v := range m {
			deltas[id][k] += v
		}
	}
}

func negate(m map[string]int64) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = -v
	}
	return out
}

// incUndo moves counter id of c by delta within u, which takes it back
// should a later write of the unit fail.
func (s *Service) incUndo(ctx context.Context, u *store.Unit, c *store.Collection, id string, delta map[string]int64) error {
	if len(delta) == 0 {
		return nil
	}
	return u.Do(ctx, c.Name()+" "+id, func(ctx context.Context) error { return c.Inc(ctx, id, delta) },
		func(ctx context.Context) error { return c.Inc(ctx, id, negate(delta)) })
}

// incManyUndo moves several counter documents of c by their deltas in one
// bulk write (one call, documents in _id order), within u, which takes
// them all back should a later write of the unit fail. Each $inc is
// atomic on its document; a bulk that failed half way is taken back by
// what it reports as done (the undo of the unit moves only those).
func (s *Service) incManyUndo(ctx context.Context, u *store.Unit, c *store.Collection, deltas map[string]map[string]int64) error {
	ids := make([]string, 0, len(deltas))
	for id, d := range deltas {
		if len(d) > 0 {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	if len(ids) == 1 {
		return s.incUndo(ctx, u, c, ids[0], deltas[ids[0]])
	}
	sort.Strings(ids)
	model := func(sign int64) func(id string) mongo.WriteModel {
		return func(id string) mongo.WriteModel {
			inc := bson.M{}
			for k, v := range deltas[id] {
				inc[k] = sign * v
			}
			return mongo.NewUpdateOneModel().SetFilter(bson.M{"_id": id}).SetUpdate(bson.M{"$inc": inc}).SetUpsert(true)
		}
	}
	return s.bulkUndo(ctx, u, c, c.Name(), ids, model(1), model(-1))
}

// bulkUndo writes one update per document ids (do) in one ordered bulk
// write, within u: the undo writes undo for each document the bulk
// reports as done (all of them, or the ones before a failure), should a
// later write of the unit fail or this one fail half way.
func (s *Service) bulkUndo(ctx context.Context, u *store.Unit, c *store.Collection, what string, ids []string, do, undo func(id string) mongo.WriteModel) error {
	models := make([]mongo.WriteModel, len(ids))
	for i, id := range ids {
		models[i] = do(id)
	}
	res, err := c.BulkWrite(ctx, models, options.BulkWrite().SetOrdered(true))
	done := len(ids)
	if err != nil {
		done = 0
		if res != nil {
			done = min(len(ids), int(res.MatchedCount+res.UpsertedCount))
		}
	}
	var back []mongo.WriteModel
	if undo != nil {
		for _, id := range ids[:done] {
			if m := undo(id); m != nil {
				back = append(back, m)
			}
		}
	}
	if len(back) > 0 && u != nil {
		u.OnFail(what+" "+strings.Join(ids[:min(done, 5)], ","), func(ctx context.Context) error {
			_, err := c.BulkWrite(ctx, back, options.BulkWrite().SetOrdered(true))
			return err
		})
	}
	return err
}

// applyFunnel moves the county and township funnel documents of w (one bulk write).
func (s *Service) applyFunnel(ctx context.Context, u *store.Unit, w who, step string, d int64) error {
	county, twp := map[string]int64{}, map[string]int64{}
	funnelDelta(w, step, d, county, twp)
	return s.incManyUndo(ctx, u, s.funnel, map[string]map[string]int64{funnelDoc: county, funnelTwpDoc + tk(w.TownshipID): twp})
}

// count counts w once at step: inserting the marker step/trainee is the
// dedup (a duplicate means already counted), then the counters move, all
// within u. It reports whether w was newly counted.
func (s *Service) count(ctx context.Context, u *store.Unit, step string, w who) (bool, error) {
	m := mark{ID: step + "/" + w.TraineeID, Step: step, At: s.now(), W: w}
	added, err := s.markColl(step).InsertIfAbsent(ctx, m)
	if err != nil || !added {
		return false, err
	}
	u.OnFail("marker "+m.ID, func(ctx context.Context) error {
		_, err := s.markColl(step).DeleteOne(ctx, bson.M{"_id": m.ID})
		return err
	})
	return true, s.applyFunnel(ctx, u, w, step, 1)
}

// countMany counts each of ws once at step (each trainee once in ws): one
// insertMany of their markers (a duplicate means already counted), then
// one $inc per counter document for those newly counted, all within u.
// It reports how many were newly counted.
func (s *Service) countMany(ctx context.Context, u *store.Unit, step string, ws []who) (int, error) {
	if len(ws) == 1 {
		ok, err := s.count(ctx, u, step, ws[0])
		if ok {
			return 1, err
		}
		return 0, err
	}
	now := s.now().Truncate(time.Millisecond)
	docs := make([]any, len(ws))
	for i, w := range ws {
		docs[i] = mark{ID: step + "/" + w.TraineeID, Step: step, At: now, W: w}
	}
	c := s.markColl(step)
	_, err := c.InsertMany(ctx, docs)
	dups, derr := store.DupIndexes(err)
	var fresh []who
	for i, w := range ws {
		if derr != nil || !dups[i] {
			fresh = append(fresh, w)
		}
	}
	if len(fresh) > 0 {
		// only markers made now are taken back (a failed insert may have
		// written some of them)
		u.OnFail(fmt.Sprintf("%d markers of %s", len(fresh), step), func(ctx context.Context) error {
			fns := make([]func() error, len(fresh))
			for i, w := range fresh {
				fns[i] = func() error {
					_, err := c.DeleteIf(ctx, step+"/"+w.TraineeID, store.Cond{"at": now})
					return err
				}
			}
			return par(fns)
		})
	}
	if derr != nil {
		return 0, derr
	}
	deltas := map[string]map[string]int64{funnelDoc: {}}
	for _, w := range fresh {
		id := funnelTwpDoc + tk(w.TownshipID)
		if deltas[id] == nil {
			deltas[id] = map[string]int64{}
		}
		funnelDelta(w, step, 1, deltas[funnelDoc], deltas[id])
	}
	return len(fresh), s.incManyUndo(ctx, u, s.funnel, deltas)
}

// uncount removes trainee's marker of step and takes them off the counters
// they were counted in (from the marker's own record of who they were then).
// Whoever deletes the marker moves the counters, so two at once move them once.
func (s *Service) uncount(ctx context.Context, u *store.Unit, step, traineeID string) error {
	var m mark
	if err := s.markColl(step).Get(ctx, step+"/"+traineeID, &m); err != nil {
		if store.IsNotFound(err) {
			return nil
		}
		return err
	}
	n, err := s.markColl(step).DeleteOne(ctx, bson.M{"_id": m.ID})
	if err != nil || n == 0 {
		return err
	}
	u.OnFail("marker "+m.ID, func(ctx context.Context) error {
		_, err := s.markColl(step).InsertIfAbsent(ctx, m)
		return err
	})
	return s.applyFunnel(ctx, u, m.W, step, -1)
}

// setLastSale records that shop shopID of trainee w last sold in shopLast
// ("" = never) and moves the trainee to the selling bucket of their last
// sale month over all their shops. The marker sell/<trainee> is changed
// conditionally on its version, retried when another write got there first.
func (s *Service) setLastSale(ctx context.Context, u *store.Unit, w who, shopID, shopLast string) error {
	id := sellPrefix + "/" + w.TraineeID
	sells := s.markColl(sellPrefix)
	for attempt := 0; ; attempt++ {
		if attempt == 20 {
			return server.Conflict("销售记录正被他人修改，请稍后重试")
		}
		var cur mark
		err := sells.Get(ctx, id, &cur)
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
		if (!had && month == "") || (had && maps.Equal(cur.Shops, shops)) {
			return nil
		}
		next := mark{ID: id, Step: sellPrefix, Month: month, At: s.now(), W: w, Shops: shops, V: cur.V + 1}
		var ok bool
		switch {
		case !had:
			ok, err = sells.InsertIfAbsent(ctx, next)
		case month == "":
			ok, err = sells.DeleteIf(ctx, id, store.Cond{"v": ver(cur.V)})
		default:
			ok, err = sells.UpdateIf(ctx, id, store.Cond{"v": ver(cur.V)}, bson.M{"$set": bson.M{"month": month, "shops": shops, "v": next.V, "at": next.At}})
		}
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		u.OnFail("marker "+id, func(ctx context.Context) error {
			if !had {
				_, err := sells.DeleteIf(ctx, id, store.Cond{"v": next.V})
				return err
			}
			if month == "" {
				_, err := sells.InsertIfAbsent(ctx, cur)
				return err
			}
			ok, err := sells.UpdateIf(ctx, id, store.Cond{"v": next.V}, bson.M{"$set": bson.M{"month": cur.Month, "shops": cur.Shops, "v": cur.V}})
			return must(ok, err, "marker "+id)
		})
		if cur.Month == month {
			return nil // same bucket: only the per-shop months changed
		}
		moves := map[string]map[string]int64{}
		if had && cur.Month != "" {
			sellMoves(moves, cur.W, cur.Month, -1)
		}
		if month != "" {
			sellMoves(moves, next.W, month, 1)
		}
		return s.incManyUndo(ctx, u, s.funnel, moves)
	}
}

// funnelLine reads one line of a counter document: the counted steps.
func funnelLine(v any) Funnel {
	m := asMap(v)
	return Funnel{
		Certified:  store.Int64(m[StepCertified]),
		FollowedUp: store.Int64(m[StepFollowedUp]),
		ShopOpened: store.Int64(m[StepShopOpened]),
		Incubated:  store.Int64(m[StepIncubated]),
	}
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
	cur := clock.Month(s.now())
	out := make([]string, SellingMonths)
	for i := range out {
		out[i] = addMonths(cur, -i)
	}
	return out
}

// Conversion is the funnel for the county (townshipID "") or one township,
// read from counters by _id: the funnel document, the selling buckets of
// the recent months and enrollment's trained counters, all at once.
func (s *Service) Conversion(ctx context.Context, townshipID string) (*Conversion, error) {
	recent := s.recentMonths()
	out := &Conversion{TownshipID: townshipID, ByTownship: map[string]Funnel{}, ByGroup: map[string]Funnel{},
		SellingSince: recent[len(recent)-1], AsOf: s.now().Format(time.RFC3339)}
	id := funnelDoc
	if townshipID != "" {
		id = funnelTwpDoc + townshipID
	}
	var doc bson.M
	sells := make([]bson.M, len(recent))
	var tr *Trained
	fns := []func() error{func() (err error) { doc, err = s.funnel.Counter(ctx, id); return }}
	for i, m := range recent {
		sid := sellDoc + m
		if townshipID != "" {
			sid = sellTwpDoc(m, townshipID)
		}
		fns = append(fns, func() (err error) { sells[i], err = s.funnel.Counter(ctx, sid); return })
	}
	if s.d.Trainees != nil {
		fns = append(fns, func() (err error) { tr, err = s.d.Trainees.Trained(ctx, townshipID); return })
	}
	if err := par(fns); err != nil {
		return nil, err
	}
	out.Funnel = funnelLine(doc[countyKey])
	for g, v := range asMap(doc[groupsKey]) {
		out.ByGroup[g] = funnelLine(v)
	}
	if townshipID == "" {
		for t, v := range asMap(doc[townshipsKey]) {
			if t != unassigned {
				out.ByTownship[t] = funnelLine(v)
			}
		}
	}
	for _, sd := range sells {
		if townshipID == "" {
			out.Selling += store.Int64(sd[countyKey])
			for t, n := range asMap(sd[townshipsKey]) {
				if t != unassigned {
					f := out.ByTownship[t]
					f.Selling += store.Int64(n)
					out.ByTownship[t] = f
				}
			}
			for g, n := range asMap(sd[groupsKey]) {
				f := out.ByGroup[g]
				f.Selling += store.Int64(n)
				out.ByGroup[g] = f
			}
			continue
		}
		out.Selling += store.Int64(sd[countyKey])
		for g, n := range asMap(sd[groupsKey]) {
			f := out.ByGroup[g]
			f.Selling += store.Int64(n)
			out.ByGroup[g] = f
		}
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
	if townshipID != "" {
		out.ByTownship = map[string]Funnel{townshipID: out.Funnel}
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
	_, err := clock.ParseMonth(m)
	return err == nil
}

// tk is a township id as a counter key ("none" when missing).
func tk(t string) string {
	if safeKey(t) {
		return t
	}
	return unassigned
}

// allMarkSteps are the steps with marker collections (selling's is "sell").
var allMarkSteps = append(append([]string{}, markedSteps...), sellPrefix)

// markColl is the marker collection of a step (fixed names, one per step).
func (s *Service) markColl(step string) *store.Collection { return s.st.C(markPrefix + step) }
