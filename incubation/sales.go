package incubation

import (
	"context"
	"sort"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"nongxun/server"
	"nongxun/store"
)

// Sale is a shop's report for one month. The current report has _id
// shop/month; a replaced one moves to the history with an id of its own.
type Sale struct {
	ID         string     `bson:"_id" json:"id"`
	ShopID     string     `bson:"shop_id" json:"shop_id"`
	TraineeID  string     `bson:"trainee_id" json:"trainee_id"`
	TownshipID string     `bson:"township_id" json:"township_id"`
	Month      string     `bson:"month" json:"month"`
	Orders     int64      `bson:"orders" json:"orders"`
	RevenueFen int64      `bson:"revenue_fen" json:"revenue_fen"`
	Version    int        `bson:"version" json:"version"`
	ByID       string     `bson:"by_id" json:"by_id"`
	ReportedAt time.Time  `bson:"reported_at" json:"reported_at"`
	ReplacedAt *time.Time `bson:"replaced_at,omitempty" json:"replaced_at,omitempty"`
	Replaced   bool       `bson:"-" json:"replaced"`
}

func (x Sale) sold() bool { return x.Orders > 0 || x.RevenueFen > 0 }

// NewSale is the POST /api/v1/shops/:id/sales body. Numbers are pointers
// so a missing one is told from zero.
type NewSale struct {
	Month      string `json:"month"`
	Orders     *int64 `json:"orders"`
	RevenueFen *int64 `json:"revenue_fen"`
}

// Limits that catch typing slips.
const (
	maxOrders     = 10_000_000
	maxRevenueFen = 100_000_000_000_00 // 100 billion yuan
)

// Validate checks a report against the current month cur and the shop's opening month.
func (n *NewSale) Validate(cur, opened string) error {
	f := server.Fields{}
	_, err := time.Parse("2006-01", n.Month)
	ok := err == nil && len(n.Month) == 7
	f.Add(!ok, "month", "月份应为 YYYY-MM")
	f.Add(ok && n.Month > cur, "month", "不能填报未来月份的销售")
	f.Add(ok && n.Month <= cur && n.Month < opened, "month", "该月份早于开店日期")
	f.Add(n.Orders == nil, "orders", "请填写订单数")
	f.Add(n.Orders != nil && *n.Orders < 0, "orders", "订单数不能为负数")
	f.Add(n.Orders != nil && *n.Orders > maxOrders, "orders", "订单数过大")
	f.Add(n.RevenueFen == nil, "revenue_fen", "请填写销售额")
	f.Add(n.RevenueFen != nil && *n.RevenueFen < 0, "revenue_fen", "销售额不能为负数")
	f.Add(n.RevenueFen != nil && *n.RevenueFen > maxRevenueFen, "revenue_fen", "销售额过大")
	return f.Err()
}

// MonthReport is a shop's current report for one month, kept in the shop
// document (months.<YYYY-MM>): reading or replacing it is one _id access.
type MonthReport struct {
	Orders     int64     `bson:"o"`
	RevenueFen int64     `bson:"r"`
	Version    int       `bson:"v"`
	ByID       string    `bson:"by,omitempty"`
	ReportedAt time.Time `bson:"at"`
}

func (sh *Shop) sale(month string, m MonthReport) Sale {
	return Sale{ID: sh.ID + "/" + month, ShopID: sh.ID, TraineeID: sh.TraineeID, TownshipID: sh.TownshipID, Month: month,
		Orders: m.Orders, RevenueFen: m.RevenueFen, Version: m.Version, ByID: m.ByID, ReportedAt: m.ReportedAt}
}

// sales lists the shop's current reports by month.
func (sh *Shop) sales() []Sale {
	out := make([]Sale, 0, len(sh.Months))
	for m, r := range sh.Months {
		out = append(out, sh.sale(m, r))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Month < out[j].Month })
	return out
}

// lastSale is the last month the shop sold in, "" when never.
func (sh *Shop) lastSale() string {
	last := ""
	for m, r := range sh.Months {
		if (r.Orders > 0 || r.RevenueFen > 0) && m > last {
			last = m
		}
	}
	return last
}

// ReportSales records a shop's report for a month, replacing an earlier
// report of that month (which moves to the history). Revenue counters move
// by the difference, so totals stay exact under replacement. The shop
// update is conditional on the version it replaces, so two app nodes on
// MongoDB cannot both replace the same report.
func (s *Service) ReportSales(ctx context.Context, p *server.Principal, shopID string, n NewSale) (*Sale, error) {
	sh, err := s.Shop(ctx, shopID)
	if err != nil {
		return nil, err
	}
	if err := s.canReport(ctx, p, sh); err != nil {
		return nil, err
	}
	if err := n.Validate(monthOf(s.now()), monthPart(sh.OpenedOn)); err != nil {
		return nil, err
	}
	if sh.Closed && n.Month > monthPart(sh.ClosedOn) {
		return nil, server.Conflict("网店已关闭，不能填报关闭之后的销售")
	}
	now := s.now()
	rep := MonthReport{Orders: *n.Orders, RevenueFen: *n.RevenueFen, Version: 1, ByID: p.UserID, ReportedAt: now}
	var sale Sale
	err = s.st.Lane(ctx, func(ctx context.Context) error {
		var u undo
		sh, err := s.Shop(ctx, shopID) // read again inside the lane: another report may have moved it
		if err != nil {
			return err
		}
		old, had := sh.Months[n.Month]
		key := "months." + n.Month
		filter := bson.M{"_id": shopID, key: bson.M{"$exists": false}}
		if had {
			rep.Version = old.Version + 1
			filter = bson.M{"_id": shopID, key + ".v": old.Version}
			hist := sh.sale(n.Month, old)
			hist.ID, hist.ReplacedAt = store.NewID(), &now
			if err := s.salesHist.InsertOne(ctx, hist); err != nil {
				return err
			}
			u.add(func(ctx context.Context) { _, _ = s.salesHist.DeleteOne(ctx, bson.M{"_id": hist.ID}) })
		}
		if sh.Months == nil {
			sh.Months = map[string]MonthReport{}
		}
		sh.Months[n.Month] = rep
		last := sh.lastSale()
		res, err := s.shops.UpdateOne(ctx, filter, bson.M{"$set": bson.M{key: rep, "last_sale_month": last}})
		if err == nil && res.MatchedCount == 0 {
			err = server.Conflict("该月销售刚被他人修改，请刷新后重试")
		}
		if err != nil {
			return u.fail(ctx, err)
		}
		prev := bson.M{"last_sale_month": sh.LastSaleMonth}
		if had {
			prev[key] = old
		}
		u.add(func(ctx context.Context) {
			upd := bson.M{"$set": prev}
			if !had {
				upd["$unset"] = bson.M{key: ""}
			}
			_, _ = s.shops.UpdateOne(ctx, bson.M{"_id": shopID}, upd)
		})
		dOrders, dRev := rep.Orders-old.Orders, rep.RevenueFen-old.RevenueFen
		if err := s.addRevenue(ctx, sh.TownshipID, n.Month, dOrders, dRev); err != nil {
			return u.fail(ctx, err)
		}
		u.add(func(ctx context.Context) { _ = s.addRevenue(ctx, sh.TownshipID, n.Month, -dOrders, -dRev) })
		if err := s.setLastSale(ctx, sh.Trainee, sh.ID, last); err != nil {
			return u.fail(ctx, err)
		}
		if err := s.autoMilestones(ctx, sh, sh.sales()); err != nil {
			// Milestones are a convenience: the sale stands, the log says why none was set.
			s.d.Log.Warn("automatic milestones failed", "shop_id", sh.ID, "err", err.Error())
		}
		sale = sh.sale(n.Month, rep)
		sale.Replaced = had
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &sale, nil
}

func (s *Service) canReport(ctx context.Context, p *server.Principal, sh *Shop) error {
	switch p.Role {
	case server.RoleTrainee:
		me, err := s.d.Trainees.TraineeByUser(ctx, p.UserID)
		if err != nil || me.ID != sh.TraineeID {
			return server.Forbidden("只能填报自己网店的销售")
		}
	case server.RoleOfficer:
		if !p.SeesTownship(sh.TownshipID) {
			return server.Forbidden("该网店不在您负责的乡镇")
		}
	}
	return nil
}

// addRevenue moves the revenue counters of a township and month: the
// monthly-report document and the growth document.
func (s *Service) addRevenue(ctx context.Context, twp, month string, orders, rev int64) error {
	if orders == 0 && rev == 0 {
		return nil
	}
	twp = tk(twp)
	m := map[string]int64{twp + ".sales_orders": orders, twp + ".sales_revenue_fen": rev}
	if err := s.counters.Inc(ctx, monthDoc+month, m); err != nil {
		return err
	}
	g := map[string]int64{
		countyKey + "." + month + ".o": orders, countyKey + "." + month + ".r": rev,
		townshipsKey + "." + twp + "." + month + ".o": orders, townshipsKey + "." + twp + "." + month + ".r": rev,
	}
	if err := s.counters.Inc(ctx, revenueDoc, g); err != nil {
		_ = s.counters.Inc(context.WithoutCancel(ctx), monthDoc+month, negate(m))
		return err
	}
	return nil
}

// ShopSales lists a shop's current reports, by month.
func (s *Service) ShopSales(ctx context.Context, shopID string) ([]Sale, error) {
	sh, err := s.Shop(ctx, shopID)
	if err != nil {
		return nil, err
	}
	return sh.sales(), nil
}

// SalesHistory lists a shop's replaced reports, newest first.
func (s *Service) SalesHistory(ctx context.Context, shopID string) ([]Sale, error) {
	out := []Sale{}
	err := s.salesHist.Find(ctx, bson.M{"shop_id": shopID}, &out, options.Find().SetSort(bson.D{{Key: "month", Value: -1}, {Key: "replaced_at", Value: -1}}))
	return out, err
}
