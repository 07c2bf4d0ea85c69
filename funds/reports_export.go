package funds

import (
	"context"

	"nongxun/reports"
)

// This file is what the reports package reads of funds, in the reports'
// types. It is kept by the reports engineer; the funds engineer keeps it
// true when the summary or the ledger change.

// ReportSummary is the funds summary in the reports' type.
func (s *Service) ReportSummary(ctx context.Context) (*reports.FundSummary, error) {
	sum, err := s.Summary(ctx)
	if err != nil {
		return nil, err
	}
	out := &reports.FundSummary{TotalFen: sum.TotalFen, AllocatedFen: sum.AllocatedFen, PaidFen: sum.PaidFen, ByCategory: map[string]int64{}}
	for k, c := range sum.ByCategory {
		out.ByCategory[k] = c.AllocatedFen
	}
	for _, r := range sum.Rules {
		msg := r.Name
		if r.Detail != "" {
			msg += "：" + r.Detail
		}
		out.Rules = append(out.Rules, reports.FundRule{Rule: r.Rule, OK: r.OK, Message: msg, Ratio: r.Ratio, Limit: r.LimitRatio})
	}
	for _, t := range sum.Tranches {
		out.Tranches = append(out.Tranches, reports.FundTranche{Tranche: t.Tranche, Gate: t.GateName, Open: t.Open, DueFen: t.CapFen, PaidFen: t.PaidFen})
	}
	return out, nil
}

// ReportLedger is the whole ledger for the archive export (an export: one read).
func (s *Service) ReportLedger(ctx context.Context) ([]reports.LedgerRow, error) {
	list, err := s.Ledger(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]reports.LedgerRow, 0, len(list))
	for _, e := range list {
		out = append(out, reports.LedgerRow{ID: e.ID, At: e.At, Kind: e.Kind, Category: e.Category, Use: useLabel(e.Use), Purpose: e.Purpose,
			AmountFen: e.AmountFen, Payee: e.Payee, Tranche: e.Tranche, Reverses: e.Reverses})
	}
	return out, nil
}

// useLabel shows a use the ledger knows by a key in Chinese (an export never
// shows an internal key); a use written in words stays as written.
func useLabel(use string) string {
	if use == UseSubsidy {
		return "建站补贴"
	}
	if n, ok := ForbiddenUses[use]; ok {
		return n
	}
	return use
}
