package incubation

import (
	"context"
	"fmt"
	"maps"
	"sort"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"nongxun/clock"
	"nongxun/store"
)

// RecountResult says whether the counters agree with the records.
type RecountResult struct {
	OK          bool     `json:"ok"`
	Fixed       bool     `json:"fixed"`
	Differences []string `json:"differences"`
	// Counted is the county funnel as recounted from the records (trained is enrollment's).
	Counted Funnel `json:"counted"`
}

// expected is what the counter documents and markers should hold.
type expected struct {
	docs  map[string]map[string]int64 // counter doc id → dotted field → value
	marks map[string]mark
}

func (e *expected) add(id string, delta map[string]int64) {
	d := e.docs[id]
	if d == nil {
		d = map[string]int64{}
		e.docs[id] = d
	}
	for k, v := range delta {
		d[k] += v
	}
}

func (e *expected) count(step, month string, w who) {
	if step == sellPrefix {
		county, twp := map[string]int64{}, map[string]int64{}
		sellDelta(w, 1, county, twp)
		e.add(sellDoc+month, county)
		e.add(sellTwpDoc(month, w.TownshipID), twp)
	} else {
		county, twp := map[string]int64{}, map[string]int64{}
		funnelDelta(w, step, 1, county, twp)
		e.add(funnelDoc, county)
		e.add(funnelTwpDoc+tk(w.TownshipID), twp)
	}
	e.marks[step+"/"+w.TraineeID] = mark{ID: step + "/" + w.TraineeID, Step: step, Month: month, W: w}
}

// recompute builds the counters from the records: certificate markers,
// follow-ups, shops, sales, cohort members, enterprises and brands.
func (s *Service) recompute(ctx context.Context) (*expected, error) {
	e := &expected{docs: map[string]map[string]int64{}, marks: map[string]mark{}}
	byID := options.Find().SetSort(bson.D{{Key: "_id", Value: 1}})
	var certs []mark
	if err := s.markColl(StepCertified).Find(ctx, bson.M{}, &certs, byID); err != nil {
		return nil, err
	}
	for _, m := range certs {
		e.count(StepCertified, "", m.W)
	}
	var fus []Followup
	if err := s.followups.Find(ctx, bson.M{}, &fus, byID); err != nil {
		return nil, err
	}
	for _, f := range fus {
		if _, seen := e.marks[StepFollowedUp+"/"+f.TraineeID]; !seen {
			e.count(StepFollowedUp, "", who{TraineeID: f.TraineeID, Name: f.TraineeName, TownshipID: f.TownshipID, Groups: f.Groups})
		}
		e.add(monthDoc(clock.Month(f.ContactedAt), f.TownshipID), map[string]int64{"followups": 1})
	}
	var shops []Shop
	if err := s.shops.Find(ctx, bson.M{}, &shops, byID); err != nil {
		return nil, err
	}
	shopByID := map[string]*Shop{}
	traineeWho := map[string]who{}
	for i, sh := range shops {
		shopByID[sh.ID] = &shops[i]
		if _, seen := traineeWho[sh.TraineeID]; !seen {
			traineeWho[sh.TraineeID] = sh.Trainee
			e.count(StepShopOpened, "", sh.Trainee)
		}
		e.add(monthDoc(monthPart(sh.OpenedOn), sh.TownshipID), map[string]int64{"shops_opened": 1})
	}
	e.add(totalsDoc, map[string]int64{"shops": int64(len(shops))})
	last := map[string]map[string]string{} // trainee → shop → last month sold
	for _, sh := range shops {
		for _, r := range sh.sales() {
			d := map[string]int64{r.Month[5:] + ".o": r.Orders, r.Month[5:] + ".r": r.RevenueFen}
			e.add(revDoc(r.Month[:4], ""), d)
			e.add(revDoc(r.Month[:4], tk(r.TownshipID)), d)
		}
		if l := sh.lastSale(); l != "" {
			if last[sh.TraineeID] == nil {
				last[sh.TraineeID] = map[string]string{}
			}
			last[sh.TraineeID][sh.ID] = l
		}
	}
	for tr, byShop := range last {
		month := ""
		for _, m := range byShop {
			if m > month {
				month = m
			}
		}
		e.count(sellPrefix, month, traineeWho[tr])
		m := e.marks[sellPrefix+"/"+tr]
		m.Shops = byShop
		e.marks[m.ID] = m
	}
	var members []Member
	if err := s.members.Find(ctx, bson.M{}, &members, byID); err != nil {
		return nil, err
	}
	for _, m := range members {
		sh := shopByID[m.ShopID]
		if sh == nil {
			continue
		}
		if _, seen := e.marks[StepIncubated+"/"+sh.TraineeID]; !seen {
			e.count(StepIncubated, "", sh.Trainee)
		}
	}
	for _, x := range []struct {
		c    *store.Collection
		name string
	}{{s.enterprises, "enterprises"}, {s.brands, "brands"}} {
		var ids []bson.M
		if err := x.c.Find(ctx, bson.M{}, &ids, options.Find().SetProjection(bson.M{"_id": 1})); err != nil {
			return nil, err
		}
		e.add(totalsDoc, map[string]int64{x.name: int64(len(ids))})
	}
	return e, nil
}

// flatten turns a counter document into dotted field → value, without zeros.
func flatten(prefix string, v any, out map[string]int64) {
	switch x := v.(type) {
	case bson.M, bson.D, map[string]any:
		for k, y := range asMap(x) {
			if prefix == "" && k == "_id" {
				continue
			}
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			flatten(p, y, out)
		}
	default:
		if n := store.Int64(v); n != 0 {
			out[prefix] = n
		}
	}
}

func nonZero(m map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for k, v := range m {
		if v != 0 {
			out[k] = v
		}
	}
	return out
}

// nest turns dotted fields back into a document.
func nest(id string, flat map[string]int64) bson.M {
	doc := bson.M{"_id": id}
	for k, v := range flat {
		parts := strings.Split(k, ".")
		cur := doc
		for _, p := range parts[:len(parts)-1] {
			next, ok := cur[p].(bson.M)
			if !ok {
				next = bson.M{}
				cur[p] = next
			}
			cur = next
		}
		cur[parts[len(parts)-1]] = v
	}
	return doc
}

// RecountFunnel recomputes the funnel, monthly, revenue and totals
// counters, the funnel markers and the due lists from the records and
// compares them with what is stored; with fix it rewrites, by _id, each
// document that differs. It computes from the records first and then sets
// each counter, so it may run while others write (a write landing between
// the two is caught by the next recount; run it in a quiet moment on
// MongoDB, docs/design.md "Repairs"); the store's caches are emptied after.
func (s *Service) RecountFunnel(ctx context.Context, fix bool) (*RecountResult, error) {
	res := &RecountResult{Differences: []string{}}
	// Reading every record of a county takes a while on the embedded
	// engine: give the whole recount one generous deadline instead of the
	// store's per-call default.
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	exp, err := s.recompute(ctx)
	if err != nil {
		return nil, err
	}
	var stored, funnels []bson.M
	if err := s.counters.Find(ctx, bson.M{}, &stored); err != nil {
		return nil, err
	}
	if err := s.funnel.Find(ctx, bson.M{}, &funnels); err != nil {
		return nil, err
	}
	inFunnel := map[string]bool{}
	have := map[string]map[string]int64{}
	for _, d := range append(stored, funnels...) {
		id, _ := d["_id"].(string)
		flat := map[string]int64{}
		flatten("", d, flat)
		have[id] = flat
	}
	for _, d := range funnels {
		id, _ := d["_id"].(string)
		inFunnel[id] = true
	}
	isFunnel := func(id string) bool {
		return inFunnel[id] || id == funnelDoc || strings.HasPrefix(id, funnelTwpDoc) || strings.HasPrefix(id, sellDoc)
	}
	ids := map[string]bool{}
	for id := range have {
		ids[id] = true
	}
	for id := range exp.docs {
		ids[id] = true
	}
	var changed []string
	for id := range ids {
		want, got := nonZero(exp.docs[id]), have[id]
		diff := false
		for k, v := range want {
			if got[k] != v {
				res.Differences = append(res.Differences, fmt.Sprintf("%s %s: counter %d, records %d", id, k, got[k], v))
				diff = true
			}
		}
		for k, v := range got {
			if _, ok := want[k]; !ok {
				res.Differences = append(res.Differences, fmt.Sprintf("%s %s: counter %d, records 0", id, k, v))
				diff = true
			}
		}
		if diff {
			changed = append(changed, id)
		}
	}
	var marks []mark
	for _, step := range allMarkSteps {
		var l []mark
		if err := s.markColl(step).Find(ctx, bson.M{}, &l); err != nil {
			return nil, err
		}
		marks = append(marks, l...)
	}
	haveMarks := map[string]mark{}
	for _, m := range marks {
		haveMarks[m.ID] = m
		if w, ok := exp.marks[m.ID]; !ok || !sameMark(w, m) {
			res.Differences = append(res.Differences, "marker "+m.ID+" differs from the records")
		}
	}
	for id := range exp.marks {
		if _, ok := haveMarks[id]; !ok {
			res.Differences = append(res.Differences, "marker "+id+" missing")
		}
	}
	dueDiffs, err := s.recountDue(ctx, fix)
	if err != nil {
		return nil, err
	}
	res.Differences = append(res.Differences, dueDiffs...)
	sort.Strings(res.Differences)
	res.OK = len(res.Differences) == 0
	res.Counted = funnelLine(asMap(nest(funnelDoc, exp.docs[funnelDoc]))[countyKey])
	for _, m := range s.recentMonths() {
		res.Counted.Selling += exp.docs[sellDoc+m][countyKey]
	}
	if !fix || res.OK {
		return res, nil
	}
	defer s.st.InvalidateCaches()
	for _, id := range changed {
		c := s.counters
		if isFunnel(id) {
			c = s.funnel
		}
		if _, err := c.ReplaceOne(ctx, bson.M{"_id": id}, nest(id, nonZero(exp.docs[id])), options.Replace().SetUpsert(true)); err != nil {
			return nil, err
		}
	}
	// Markers: replace the wrong ones and add the missing by _id, drop those no record needs.
	for id, m := range haveMarks {
		if _, ok := exp.marks[id]; !ok {
			if _, err := s.markColl(m.Step).DeleteOne(ctx, bson.M{"_id": id}); err != nil {
				return nil, err
			}
		}
	}
	for id, m := range exp.marks {
		if h, ok := haveMarks[id]; ok && sameMark(h, m) {
			continue
		}
		m.At = s.now()
		if h, ok := haveMarks[id]; ok {
			m.V = h.V + 1
		}
		if _, err := s.markColl(m.Step).ReplaceOne(ctx, bson.M{"_id": id}, m, options.Replace().SetUpsert(true)); err != nil {
			return nil, err
		}
	}
	res.Fixed = true
	return res, nil
}

// Repair is RecountFunnel as a store repair (main registers it with
// st.OnRepair): it rebuilds whatever drifted and says whether anything had.
func (s *Service) Repair(ctx context.Context) (bool, error) {
	r, err := s.RecountFunnel(ctx, true)
	if err != nil {
		return false, err
	}
	return !r.OK, nil
}

// sameMark compares what a marker counts: the step's month and, for
// selling, the last month of each shop.
func sameMark(a, b mark) bool { return a.Month == b.Month && maps.Equal(a.Shops, b.Shops) }
