package incubation

import (
	"context"
	"sort"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"nongxun/clock"
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
// by the difference, so totals stay exact under replacement. The shop is
// updated conditionally on the month's version and the last sale month as
// read (one conditional update by _id, atomic on both engines); when
// another report got there first the shop is read again and the report
// retried, so parallel reports of one month all land, one after another.
func (s *Service) ReportSales(ctx context.Context, p *server.Principal, shopID string, n NewSale) (*Sale, error) {
	sh, err := s.Shop(ctx, shopID)
	if err != nil {
		return nil, err
	}
	if err := s.canReport(ctx, p, sh); err != nil {
		return nil, err
	}
	if err := n.Validate(clock.Month(s.now()), monthPart(sh.OpenedOn)); err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		if sh.Closed && n.Month > monthPart(sh.ClosedOn) {
			return nil, server.Conflict("网店已关闭，不能填报关闭之后的销售")
		}
		sale, err := s.reportOnce(ctx, p, sh, n)
		if err != errRaced {
			return sale, err
		}
		if attempt == 50 {
			return nil, server.Conflict("该月销售刚被他人修改，请刷新后重试")
		}
		if sh, err = s.Shop(ctx, shopID); err != nil {
			return nil, err
		}
	}
}

// errRaced says another write changed the shop between the read and the
// conditional update.
var errRaced = errNotMatched("shop")

// reportOnce writes one report against the shop as read: the shop (its
// month and last sale month), the history, the revenue counters and the
// selling marker, as one unit.
func (s *Service) reportOnce(ctx context.Context, p *server.Principal, sh *Shop, n NewSale) (*Sale, error) {
	now := s.now().Truncate(time.Millisecond)
	rep := MonthReport{Orders: *n.Orders, RevenueFen: *n.RevenueFen, Version: 1, ByID: p.UserID, ReportedAt: now}
	old, had := sh.Months[n.Month]
	key := "months." + n.Month
	cond := store.Cond{key: nil, "last_sale_month": lastCond(sh.LastSaleMonth)}
	if had {
		rep.Version = old.Version + 1
		cond = store.Cond{key + ".v": old.Version, "last_sale_month": lastCond(sh.LastSaleMonth)}
	}
	months := make(map[string]MonthReport, len(sh.Months)+1)
	for m, r := range sh.Months {
		months[m] = r
	}
	months[n.Month] = rep
	after := *sh
	after.Months = months
	last := after.lastSale()
	after.LastSaleMonth = last
	err := s.st.Unit(ctx, "sales.report", func(u *store.Unit) error {
		upd := bson.M{"$set": bson.M{key: rep, "last_sale_month": last}}
		if last == "" {
			upd = bson.M{"$set": bson.M{key: rep}, "$unset": bson.M{"last_sale_month": ""}}
		}
		ok, err := s.shops.UpdateIf(ctx, sh.ID, cond, upd)
		if err != nil {
			return err
		}
		if !ok {
			return errRaced
		}
		u.OnFail("shop "+sh.ID, func(ctx context.Context) error {
			back := bson.M{}
			if had {
				back["$set"] = bson.M{key: old}
			} else {
				back["$unset"] = bson.M{key: ""}
			}
			if sh.LastSaleMonth != "" {
				if back["$set"] == nil {
					back["$set"] = bson.M{}
				}
				back["$set"].(bson.M)["last_sale_month"] = sh.LastSaleMonth
			} else if last != "" {
				if back["$unset"] == nil {
					back["$unset"] = bson.M{}
				}
				back["$unset"].(bson.M)["last_sale_month"] = ""
			}
			ok, err := s.shops.UpdateIf(ctx, sh.ID, store.Cond{key + ".v": rep.Version, "months." + n.Month + ".at": rep.ReportedAt}, back)
			return must(ok, err, "shop "+sh.ID)
		})
		if had {
			hist := sh.sale(n.Month, old)
			hist.ID, hist.ReplacedAt = store.NewID(), &now
			if err := u.Do(ctx, "sales history", func(ctx context.Context) error { return s.salesHist.InsertOne(ctx, hist) },
				func(ctx context.Context) error {
					_, err := s.salesHist.DeleteOne(ctx, bson.M{"_id": hist.ID})
					return err
				}); err != nil {
				return err
			}
		}
		if err := s.addRevenue(ctx, u, sh.TownshipID, n.Month, rep.Orders-old.Orders, rep.RevenueFen-old.RevenueFen); err != nil {
			return err
		}
		return s.setLastSale(ctx, u, sh.Trainee, sh.ID, last)
	})
	if err != nil {
		return nil, err
	}
	if err := s.autoMilestones(ctx, &after, after.sales()); err != nil {
		// Milestones are a convenience: the sale stands, the log says why none was set.
		s.d.Log.Warn("automatic milestones failed", "shop_id", sh.ID, "err", err.Error())
	}
	sale := sh.sale(n.Month, rep)
	sale.Replaced = had
	return &sale, nil
}

// lastCond is the condition on a shop's last sale month as read ("" = none).
func lastCond(m string) any {
	if m == "" {
		return nil
	}
	return m
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

// addRevenue moves the revenue counters of a township and month, the
// county's and the township's year documents, within u.
func (s *Service) addRevenue(ctx context.Context, u *store.Unit, twp, month string, orders, rev int64) error {
	if orders == 0 && rev == 0 {
		return nil
	}
	d := map[string]int64{month[5:] + ".o": orders, month[5:] + ".r": rev}
	return s.incManyUndo(ctx, u, s.counters, map[string]map[string]int64{revDoc(month[:4], ""): d, revDoc(month[:4], tk(twp)): d})
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
