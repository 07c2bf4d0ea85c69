package incubation

import (
	"context"

	"nongxun/reports"
)

// What the reports package reads of incubation, in the reports' types.

// ReportConversion is the funnel's top line for the county ("") or a township.
func (s *Service) ReportConversion(ctx context.Context, townshipID string) (*reports.Conversion, error) {
	c, err := s.Conversion(ctx, townshipID)
	if err != nil {
		return nil, err
	}
	return &reports.Conversion{Trained: c.Trained, Certified: c.Certified, FollowedUp: c.FollowedUp,
		ShopOpened: c.ShopOpened, Selling: c.Selling, Incubated: c.Incubated}, nil
}

// ReportGrowth is the year-to-date sales growth at the last complete month,
// with revenue by month for the chart.
func (s *Service) ReportGrowth(ctx context.Context, townshipID string) (*reports.Growth, error) {
	g, err := s.SalesGrowth(ctx, townshipID)
	if err != nil {
		return nil, err
	}
	out := &reports.Growth{CurrentFen: g.YTDRevenueFen, PreviousFen: g.YTDLastYearFen, ByMonth: map[string]int64{}}
	if g.YTDGrowth != nil {
		out.Rate, out.Known = *g.YTDGrowth, true
	}
	for _, m := range g.ByMonth {
		out.ByMonth[m.Month] = m.RevenueFen
	}
	return out, nil
}
