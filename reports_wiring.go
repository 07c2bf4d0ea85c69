package main

import (
	"context"

	"github.com/go-pdf/fpdf"
	"nongxun/certificates"
	"nongxun/courses"
	"nongxun/enrollment"
	"nongxun/funds"
	"nongxun/incubation"
	"nongxun/reports"
	"nongxun/stations"
	"nongxun/users"
)

// reportSources are the services the reports read, each nil until build() wires it.
type reportSources struct {
	Users        *users.Service
	Courses      *courses.Service
	Enrollment   *enrollment.Service
	Certificates *certificates.Service
	Incubation   *incubation.Service
	Stations     *stations.Service
	Funds        *funds.Service
}

// reportsDeps hands the reports each feature's own export (its
// reports_export.go): the wiring only picks them.
func reportsDeps(d reports.Deps, s reportSources) reports.Deps {
	if c := s.Courses; c != nil {
		d.Sources = append(d.Sources, c)
		d.Sessions = c.ReportSessions
		d.Teaches = c.Teaches
	}
	if e := s.Enrollment; e != nil {
		d.Sources = append(d.Sources, e)
		d.Progress = e.ReportProgress
		d.SessionFor = e.SessionFor
		d.SignIn = e.ReportSignIn
		d.SessionEvidence = e.SessionEvidence
		d.Roster = func(ctx context.Context, tid string) ([]reports.TraineeRow, error) {
			return e.ReportRoster(ctx, tid, func(id string) string {
				if r, ok := d.Regions.Get(ctx, id); ok {
					return r.Name
				}
				return ""
			})
		}
	}
	if c := s.Certificates; c != nil {
		d.Sources = append(d.Sources, reports.SourceFunc(c.ReportMonthly))
		d.Certificates = c.CountByTownship
		d.SealSet = c.SealSet
		d.Issuer = c.IssuerName
		d.PDFText = func(pdf *fpdf.Fpdf) (reports.PDFText, error) { return c.NewPDFText(pdf) }
	}
	if in := s.Incubation; in != nil {
		d.Sources = append(d.Sources, in)
		d.Conversion = in.ReportConversion
		d.SalesGrowth = in.ReportGrowth
		d.Enterprises = in.Counts
	}
	if st := s.Stations; st != nil {
		d.Sources = append(d.Sources, st)
		d.Coverage = st.ReportCoverage
		d.Parcels = st.ReportParcels
		d.Facilities = st.ReportFacilities
		d.Acceptance = st.ReportAcceptance
	}
	if fs := s.Funds; fs != nil {
		d.Sources = append(d.Sources, fs)
		d.Funds = fs.ReportSummary
		d.Ledger = fs.ReportLedger
	}
	return d
}
