package reports

import "time"

// Progress is the GET /api/v1/progress body (API.md).
type Progress struct {
	Target      int64            `json:"target"`
	PersonTimes int64            `json:"person_times"`
	Trainees    int64            `json:"trainees"`
	ByTownship  map[string]int64 `json:"by_township"`
	ByGroup     map[string]int64 `json:"by_group"`
	ByMonth     map[string]int64 `json:"by_month"`
}

// Conversion is the top of the GET /api/v1/conversion body (API.md).
type Conversion struct {
	Trained    int64 `json:"trained"`
	Certified  int64 `json:"certified"`
	FollowedUp int64 `json:"followed_up"`
	ShopOpened int64 `json:"shop_opened"`
	Selling    int64 `json:"selling"`
	Incubated  int64 `json:"incubated"`
}

// Growth is the shops' revenue growth, year on year, against 30%.
type Growth struct {
	PreviousFen int64   `json:"previous_fen"`
	CurrentFen  int64   `json:"current_fen"`
	Rate        float64 `json:"rate"` // 0.3 = 30%
	Known       bool    `json:"known"`
	// ByMonth is revenue in fen by "YYYY-MM", for the chart.
	ByMonth map[string]int64 `json:"by_month,omitempty"`
}

// Coverage is the GET /api/v1/stations/coverage body (API.md).
type Coverage struct {
	VillagesTotal          int64   `json:"villages_total"`
	VillagesCovered        int64   `json:"villages_covered"`
	Ratio                  float64 `json:"ratio"`
	PovertyVillagesTotal   int64   `json:"poverty_villages_total"`
	PovertyVillagesCovered int64   `json:"poverty_villages_covered"`
	PovertyRatio           float64 `json:"poverty_ratio"`
	TownshipsTotal         int64   `json:"townships_total"`
	TownshipsCovered       int64   `json:"townships_covered"`
	TargetRatio            float64 `json:"target_ratio"`
	OperatingPoints        int64   `json:"operating_points"`
}

// Volumes are parcels up (village → county and out) and down.
type Volumes struct {
	Up           int64            `json:"up"`
	Down         int64            `json:"down"`
	UpwardShare  float64          `json:"upward_share"`
	AvgDownHours float64          `json:"avg_down_hours"`
	UpByMonth    map[string]int64 `json:"up_by_month,omitempty"`
	DownByMonth  map[string]int64 `json:"down_by_month,omitempty"`
}

// FundRule is one fund rule's check, as /funds/summary lists them.
type FundRule struct {
	Rule    string  `json:"rule"`
	OK      bool    `json:"ok"`
	Message string  `json:"message,omitempty"`
	Ratio   float64 `json:"ratio,omitempty"`
	Limit   float64 `json:"limit,omitempty"`
}

// FundTranche is one tranche of the 30/30/30/10 schedule.
type FundTranche struct {
	Tranche int    `json:"tranche"`
	Gate    string `json:"gate,omitempty"`
	Open    bool   `json:"open"`
	DueFen  int64  `json:"due_fen"`
	PaidFen int64  `json:"paid_fen"`
}

// FundSummary is the GET /api/v1/funds/summary body (API.md).
type FundSummary struct {
	TotalFen     int64            `json:"total_fen"`
	AllocatedFen int64            `json:"allocated_fen"`
	PaidFen      int64            `json:"paid_fen"`
	ByCategory   map[string]int64 `json:"by_category"`
	Rules        []FundRule       `json:"rules"`
	Tranches     []FundTranche    `json:"tranches"`
}

// Facilities counts the built infrastructure the plan names.
type Facilities struct {
	CountyCenters      int64   `json:"county_centers"`      // operating
	Warehouses         int64   `json:"warehouses"`          // operating
	WarehouseAreaM2    float64 `json:"warehouse_area_m2"`   // largest operating warehouse
	TownshipStations   int64   `json:"township_stations"`   // operating
	TownshipsTotal     int64   `json:"townships_total"`     //
	VillagePoints      int64   `json:"village_points"`      // operating
	AcceptedNewPoints  int64   `json:"accepted_new_points"` // subsidy-eligible
	SubsidyOwedFen     int64   `json:"subsidy_owed_fen"`
	SubsidyPaidFen     int64   `json:"subsidy_paid_fen"`
	VillagePointTarget int64   `json:"village_point_target"` // from the targets (190)
}

// SessionRow is one training session, as evidence.
type SessionRow struct {
	ID          string    `json:"id"`
	Course      string    `json:"course"`
	StartsAt    time.Time `json:"starts_at"`
	Location    string    `json:"location"`
	TownshipID  string    `json:"township_id"`
	Present     int64     `json:"present"`
	SheetPhotos int64     `json:"sheet_photos"`
	Cancelled   bool      `json:"cancelled"`
}

// SignInRow is one trainee on the sign-in sheet; the name is masked by the source.
type SignInRow struct {
	Name     string    `json:"name"`
	IDMasked string    `json:"id_masked"`
	Phone    string    `json:"phone"` // masked
	Status   string    `json:"status"`
	At       time.Time `json:"at"`
	Method   string    `json:"method"`
}

// CertRow is one line of the certificate register.
type CertRow struct {
	Serial    string    `json:"serial"`
	Name      string    `json:"name"` // masked
	Course    string    `json:"course"`
	Township  string    `json:"township"`
	IssuedAt  time.Time `json:"issued_at"`
	Status    string    `json:"status"`
	Revoked   string    `json:"revoked_reason,omitempty"`
	Verifying string    `json:"code,omitempty"`
}

// AcceptanceRow is one station acceptance record.
type AcceptanceRow struct {
	Station    string    `json:"station"`
	Kind       string    `json:"kind"`
	TownshipID string    `json:"township_id"`
	Origin     string    `json:"origin"`
	AcceptedAt time.Time `json:"accepted_at"`
	Note       string    `json:"note"`
}

// LedgerRow is one fund ledger entry.
type LedgerRow struct {
	ID        string    `json:"id"`
	At        time.Time `json:"at"`
	Kind      string    `json:"kind"`
	Category  string    `json:"category"`
	Use       string    `json:"use"`
	Purpose   string    `json:"purpose"`
	AmountFen int64     `json:"amount_fen"`
	Payee     string    `json:"payee"`
	Tranche   int       `json:"tranche"`
	Reverses  string    `json:"reverses"`
}

// TraineeRow is one trainee of the roster, masked.
type TraineeRow struct {
	Name       string    `json:"name"`
	Gender     string    `json:"gender"`
	IDMasked   string    `json:"id_masked"`
	Phone      string    `json:"phone"`
	TownshipID string    `json:"township_id"`
	Village    string    `json:"village"`
	Groups     []string  `json:"groups"`
	CreatedAt  time.Time `json:"created_at"`
}

// SessionInfo is a training session as the sign-in sheet shows it.
type SessionInfo struct {
	ID         string    `json:"id"`
	CourseID   string    `json:"course_id"`
	Course     string    `json:"course"`
	TownshipID string    `json:"township_id"`
	TrainerID  string    `json:"trainer_id"`
	Trainer    string    `json:"trainer"`
	Location   string    `json:"location"`
	StartsAt   time.Time `json:"starts_at"`
	Cancelled  bool      `json:"cancelled"`
}
