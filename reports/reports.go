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
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/audit"
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
// behind it exists; the pages then say the figure is not available.
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
	Sessions     func(ctx context.Context) ([]SessionRow, error)
	SignInSheet  func(ctx context.Context, sessionID string) (*SignInSheet, error)
	CertRegister func(ctx context.Context) ([]CertRow, error)
	Acceptance   func(ctx context.Context) ([]AcceptanceRow, error)
	Ledger       func(ctx context.Context) ([]LedgerRow, error)
	Roster       func(ctx context.Context, townshipID string) ([]TraineeRow, error)

	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// CacheTTL is how long a computed dashboard is reused: 0 means 5 s,
	// negative means never (benchmarks).
	CacheTTL time.Duration
	// SlowTTL is how long the funds summary and the stations' facilities
	// (which list records) are reused: 0 means 30 s, negative means never.
	SlowTTL time.Duration
}

// Service serves the reports.
type Service struct {
	d        Deps
	st       *store.Store
	written  *store.Collection
	settings *store.Collection
	log      *slog.Logger

	counts *store.Collection

	mu        sync.Mutex
	cache     map[string]cached // dashboard figures by township, briefly
	setVal    Settings          // programme settings, briefly
	slowCache map[string]slowEntry
	setAt     time.Time
}

type slowEntry struct {
	at  time.Time
	val any
}

type cached struct {
	at  time.Time
	val *Dashboard
}

// New opens the service and declares its indexes.
func New(ctx context.Context, d Deps) (*Service, error) {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.CacheTTL == 0 {
		d.CacheTTL = dashTTL
	}
	if d.SlowTTL == 0 {
		d.SlowTTL = 30 * time.Second
	}
	s := &Service{d: d, st: d.Store, written: d.Store.C("monthly_reports"), settings: d.Store.C("report_settings"), counts: d.Store.C("report_counters"),
		log: d.Log, cache: map[string]cached{}, slowCache: map[string]slowEntry{}}
	if err := s.written.Index(ctx, bson.D{{Key: "month", Value: 1}, {Key: "township_id", Value: 1}}, false); err != nil {
		return nil, err
	}
	return s, nil
}

// Via turns another package's result into the reports' own type of the
// same JSON shape (the API.md bodies), so reports need not import it.
func Via[T any](v any, err error) (*T, error) {
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	out := new(T)
	if err := json.Unmarshal(b, out); err != nil {
		return nil, err
	}
	return out, nil
}

// ViaSlice is Via for lists.
func ViaSlice[T any](v any, err error) ([]T, error) {
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out []T
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	return out, nil
}

var shanghai = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return l
}()

func (s *Service) now() time.Time { return s.d.Now().In(shanghai) }

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
