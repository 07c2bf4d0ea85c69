// Package reports is the county office's view of the programme: the
// dashboard with server-rendered SVG charts and the KPI table, the monthly
// report (每月一报) as JSON, CSV and XLSX, the townships' written monthly
// reports, the performance self-evaluation (绩效自评), the public
// disclosure page (政务公开) and the archive exports.
//
// Every figure comes from the other packages' counters through the small
// interfaces and funcs of Deps; main.go fills them with the real services.
// A nil source shows as "no data" rather than failing the page.
package reports

import (
	"context"
	"log/slog"
	"time"

	"github.com/go-pdf/fpdf"
	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/audit"
	"nongxun/clock"
	"nongxun/regions"
	"nongxun/server"
	"nongxun/store"
)

// Source is a package that keeps per-month, per-township counters
// (internal-api.md): township id → metric → value for month "YYYY-MM".
type Source interface {
	MonthlyFigures(ctx context.Context, month string) (map[string]map[string]int64, error)
}

// SourceFunc adapts a function to Source.
type SourceFunc func(ctx context.Context, month string) (map[string]map[string]int64, error)

// MonthlyFigures calls f.
func (f SourceFunc) MonthlyFigures(ctx context.Context, month string) (map[string]map[string]int64, error) {
	return f(ctx, month)
}

// Deps are what the reports need. Every func may be nil until the package
// behind it exists; the pages then say the figure is not available. Each
// is a feature's own export in the reports' types (its reports_export.go):
// no JSON round-trips, no loops over courses or sessions here.
type Deps struct {
	Store   *store.Store
	Config  server.Config
	Regions *regions.Service
	Audit   *audit.Log
	Log     *slog.Logger

	// Sources feed the monthly report, one per feature package.
	Sources []Source

	// Figures for the dashboard, the KPI table and the public page
	// ("" township = the county).
	Progress     func(ctx context.Context, townshipID string) (*Progress, error)
	Conversion   func(ctx context.Context, townshipID string) (*Conversion, error)
	SalesGrowth  func(ctx context.Context, townshipID string) (*Growth, error)
	Coverage     func(ctx context.Context, townshipID string) (*Coverage, error)
	Parcels      func(ctx context.Context, townshipID string) (*Volumes, error)
	Funds        func(ctx context.Context) (*FundSummary, error)
	Certificates func(ctx context.Context) (map[string]int64, error) // township → count, "" = county
	Enterprises  func(ctx context.Context) (enterprises, brands, shops int64, err error)
	Facilities   func(ctx context.Context) (*Facilities, error)

	// Evidence and archive records.
	Sessions        func(ctx context.Context) ([]SessionRow, error)
	SessionEvidence func(ctx context.Context, months []string) (present, photos map[string]int64, err error)
	CertRegister    func(ctx context.Context) ([]CertRow, error)
	Acceptance      func(ctx context.Context) ([]AcceptanceRow, error)
	Ledger          func(ctx context.Context) ([]LedgerRow, error)
	Roster          func(ctx context.Context, townshipID string) ([]TraineeRow, error)

	// The sign-in sheet: the session as its own routes let p read it (an
	// officer of another township: not found), whether a trainer teaches
	// a course, and the session's rows and photos.
	SessionFor func(ctx context.Context, p *server.Principal, id string) (*SessionInfo, error)
	Teaches    func(ctx context.Context, trainerID, courseID string) (bool, error)
	SignIn     func(ctx context.Context, sessionID string) ([]SignInRow, []string, error)
	// PDFText draws text with the certificates' font (every character,
	// those outside the BMP included); nil: the package's own font.
	PDFText func(pdf *fpdf.Fpdf) (PDFText, error)

	// First-run setup: whether the issuer's seal is set, and the issuer.
	SealSet func() bool
	Issuer  func() (name string, isDefault bool)

	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// PDFText is the certificates' text drawing on an fpdf document.
type PDFText interface {
	SetSize(pt float64)
	Text(x, y float64, s string)
	Width(s string) float64
	QR(text string, x, y, size float64) error
}

// Service serves the reports.
type Service struct {
	d        Deps
	st       *store.Store
	written  *store.Collection
	settings *store.Collection
	log      *slog.Logger

	counts *store.Collection
}

// New opens the service, creates its collections, declares its indexes
// and stores the default settings once (the programme period defaults to
// the current year, from the clock at first start).
func New(ctx context.Context, d Deps) (*Service, error) {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if err := d.Store.Ensure(ctx, "monthly_reports", "report_settings", "report_counters"); err != nil {
		return nil, err
	}
	s := &Service{d: d, st: d.Store, written: d.Store.C("monthly_reports"), settings: d.Store.C("report_settings"), counts: d.Store.C("report_counters"),
		log: d.Log}
	d.Store.BlobRef("monthly_reports", "attachments.blob_id")
	if err := s.written.Index(ctx, bson.D{{Key: "month", Value: 1}, {Key: "township_id", Value: 1}}, false); err != nil {
		return nil, err
	}
	if err := s.initSettings(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Service) now() time.Time { return s.d.Now().In(clock.Shanghai) }

// townshipName names a township; "" is the county level.
func (s *Service) townshipName(ctx context.Context, id string) string {
	if id == "" {
		return "县级"
	}
	if r, ok := s.d.Regions.Get(ctx, id); ok {
		return r.Name
	}
	return "（未知乡镇）"
}
