package incubation

import (
	"context"
	"strconv"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/clock"
	"nongxun/server"
	"nongxun/store"
)

// GrowthTarget is the plan's sales growth target (电子商务销售增速 ≥ 30%).
const GrowthTarget = 0.30

// MonthSales is one month of orders and revenue.
type MonthSales struct {
	Month      string `json:"month"`
	Orders     int64  `json:"orders"`
	RevenueFen int64  `json:"revenue_fen"`
}

// GrowthLine is the growth of one shop, township or the county at a month:
// month on month, year on year, and the year to date against the same
// months a year before (the figure held against the 30% target). Ratios
// are nil when the base is zero.
type GrowthLine struct {
	Month               string   `json:"month"`
	Orders              int64    `json:"orders"`
	RevenueFen          int64    `json:"revenue_fen"`
	PrevMonthRevenueFen int64    `json:"prev_month_revenue_fen"`
	LastYearRevenueFen  int64    `json:"last_year_revenue_fen"`
	MoM                 *float64 `json:"mom"`
	YoY                 *float64 `json:"yoy"`
	YTDRevenueFen       int64    `json:"ytd_revenue_fen"`
	YTDLastYearFen      int64    `json:"ytd_last_year_fen"`
	YTDGrowth           *float64 `json:"ytd_growth"`
	MeetsTarget         *bool    `json:"meets_target"`
}

// Growth is the county's or a township's sales growth against the target.
type Growth struct {
	GrowthLine
	Target     float64               `json:"target"`
	TownshipID string                `json:"township_id,omitempty"`
	ByMonth    []MonthSales          `json:"by_month"`
	ByTownship map[string]GrowthLine `json:"by_township,omitempty"`
}

// series is month → orders and revenue.
type series map[string]MonthSales

func ratio(cur, base int64) *float64 {
	if base <= 0 {
		return nil
	}
	r := float64(cur-base) / float64(base)
	return &r
}

// line computes the growth of a series at month.
func (sr series) line(month string) GrowthLine {
	cur := sr[month]
	l := GrowthLine{Month: month, Orders: cur.Orders, RevenueFen: cur.RevenueFen,
		PrevMonthRevenueFen: sr[addMonths(month, -1)].RevenueFen, LastYearRevenueFen: sr[addMonths(month, -12)].RevenueFen}
	l.MoM = ratio(l.RevenueFen, l.PrevMonthRevenueFen)
	l.YoY = ratio(l.RevenueFen, l.LastYearRevenueFen)
	for m := month[:4] + "-01"; m <= month; m = addMonths(m, 1) {
		l.YTDRevenueFen += sr[m].RevenueFen
		l.YTDLastYearFen += sr[addMonths(m, -12)].RevenueFen
	}
	l.YTDGrowth = ratio(l.YTDRevenueFen, l.YTDLastYearFen)
	if l.YTDGrowth != nil {
		ok := *l.YTDGrowth >= GrowthTarget
		l.MeetsTarget = &ok
	}
	return l
}

// months lists the n months up to month, oldest first.
func (sr series) months(month string, n int) []MonthSales {
	out := make([]MonthSales, 0, n)
	for i := n - 1; i >= 0; i-- {
		m := addMonths(month, -i)
		x := sr[m]
		x.Month = m
		out = append(out, x)
	}
	return out
}

func seriesOf(v any) series {
	out := series{}
	for m, x := range asMap(v) {
		mm := asMap(x)
		out[m] = MonthSales{Month: m, Orders: store.Int64(mm["o"]), RevenueFen: store.Int64(mm["r"])}
	}
	return out
}

// growthMonth is the month growth is shown for: the one asked, else the
// last complete month.
func (s *Service) growthMonth(month string) string {
	cur := clock.Month(s.now())
	if month == "" || month > cur {
		return addMonths(cur, -1)
	}
	return month
}

// SalesGrowth is the county's (townshipID "") or a township's sales growth
// at the last complete month, from the revenue counters (without the
// county's break-down by township: two reads).
func (s *Service) SalesGrowth(ctx context.Context, townshipID string) (*Growth, error) {
	return s.growthAt(ctx, townshipID, "", false)
}

// GrowthAt is SalesGrowth at a given month ("" = the last complete month),
// from the revenue documents of that year and the one before (by _id); the
// county's also gives each township's line.
func (s *Service) GrowthAt(ctx context.Context, townshipID, month string) (*Growth, error) {
	return s.growthAt(ctx, townshipID, month, true)
}

func (s *Service) growthAt(ctx context.Context, townshipID, month string, byTownship bool) (*Growth, error) {
	month = s.growthMonth(month)
	g := &Growth{Target: GrowthTarget, TownshipID: townshipID}
	sr, err := s.revenueSeries(ctx, townshipID, month)
	if err != nil {
		return nil, err
	}
	if townshipID == "" && byTownship && s.d.Regions != nil {
		twps := s.d.Regions.Townships(ctx)
		lines := make([]series, len(twps))
		fns := make([]func() error, len(twps))
		for i, t := range twps {
			fns[i] = func() (err error) { lines[i], err = s.revenueSeries(ctx, t.ID, month); return }
		}
		if err := par(fns); err != nil {
			return nil, err
		}
		g.ByTownship = map[string]GrowthLine{}
		for i, t := range twps {
			if len(lines[i]) > 0 {
				g.ByTownship[t.ID] = lines[i].line(month)
			}
		}
	}
	g.GrowthLine = sr.line(month)
	g.ByMonth = sr.months(month, 13)
	return g, nil
}

// revenueSeries reads the county's ("") or a township's orders and revenue
// for the year of month and the year before.
func (s *Service) revenueSeries(ctx context.Context, twp, month string) (series, error) {
	y, err := strconv.Atoi(month[:4])
	if err != nil {
		return nil, err
	}
	out := series{}
	for _, year := range []string{strconv.Itoa(y - 1), strconv.Itoa(y)} {
		doc, err := s.counters.Counter(ctx, revDoc(year, twp))
		if err != nil {
			return nil, err
		}
		for mm, x := range doc {
			if mm == "_id" {
				continue
			}
			v := asMap(x)
			m := year + "-" + mm
			out[m] = MonthSales{Month: m, Orders: store.Int64(v["o"]), RevenueFen: store.Int64(v["r"])}
		}
	}
	return out, nil
}

// ShopGrowth is one shop's growth at month ("" = the last complete month), from its reports.
func (s *Service) ShopGrowth(ctx context.Context, shopID, month string) (*Growth, error) {
	month = s.growthMonth(month)
	reports, err := s.ShopSales(ctx, shopID)
	if err != nil {
		return nil, err
	}
	sr := series{}
	for _, r := range reports {
		sr[r.Month] = MonthSales{Month: r.Month, Orders: r.Orders, RevenueFen: r.RevenueFen}
	}
	g := &Growth{Target: GrowthTarget, GrowthLine: sr.line(month), ByMonth: sr.months(month, 13)}
	return g, nil
}

// MonthlyFigures returns township id → metric → value for month
// "YYYY-MM": followups, shops_opened, sales_orders, sales_revenue_fen,
// from each township's month and revenue documents (by _id, in parallel).
// Figures of no township are under "".
func (s *Service) MonthlyFigures(ctx context.Context, month string) (map[string]map[string]int64, error) {
	if !validMonth(month) {
		return nil, server.Invalid("月份格式应为 YYYY-MM", "month", "格式错误")
	}
	ids := []string{""}
	if s.d.Regions != nil {
		for _, t := range s.d.Regions.Townships(ctx) {
			ids = append(ids, t.ID)
		}
	}
	months := make([]bson.M, len(ids))
	revs := make([]bson.M, len(ids))
	var fns []func() error
	for i, t := range ids {
		fns = append(fns, func() (err error) { months[i], err = s.counters.Counter(ctx, monthDoc(month, t)); return },
			func() (err error) { revs[i], err = s.counters.Counter(ctx, revDoc(month[:4], tk(t))); return })
	}
	if err := par(fns); err != nil {
		return nil, err
	}
	out := map[string]map[string]int64{}
	for i, t := range ids {
		r := asMap(revs[i][month[5:]])
		f := map[string]int64{"followups": store.Int64(months[i]["followups"]), "shops_opened": store.Int64(months[i]["shops_opened"]),
			"sales_orders": store.Int64(r["o"]), "sales_revenue_fen": store.Int64(r["r"])}
		if f["followups"]|f["shops_opened"]|f["sales_orders"]|f["sales_revenue_fen"] != 0 {
			out[t] = f
		}
	}
	return out, nil
}

// Counts returns how many leading enterprises, local brands and shops are registered.
func (s *Service) Counts(ctx context.Context) (enterprises, brands, shops int64, err error) {
	doc, err := s.counters.Counter(ctx, totalsDoc)
	if err != nil {
		return 0, 0, 0, err
	}
	return store.Int64(doc["enterprises"]), store.Int64(doc["brands"]), store.Int64(doc["shops"]), nil
}
