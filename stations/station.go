// Package stations holds the three-tier e-commerce service network of the
// programme (county public service centre, county warehouse, township
// stations, village service points) with its build status, acceptance,
// operators, services log, coverage and subsidies; and the logistics that
// runs over those nodes: parcels, their scans and the daily volumes.
package stations

import (
	"strings"
	"time"

	"nongxun/server"
	"nongxun/store"
)

// Kinds of station.
const (
	KindCountyCenter = "county_center"
	KindWarehouse    = "warehouse"
	KindTownship     = "township"
	KindVillage      = "village"
)

// Origins: built new (新建) or made from an existing shop or post office (整合).
const (
	OriginNew        = "new"
	OriginIntegrated = "integrated"
)

// Statuses, in the only order a station may pass through them.
const (
	StatusPlanned   = "planned"
	StatusBuilt     = "built"
	StatusAccepted  = "accepted"
	StatusOperating = "operating"
	StatusClosed    = "closed"
)

// statusOrder gives each status its place in the one allowed sequence.
var statusOrder = map[string]int{StatusPlanned: 0, StatusBuilt: 1, StatusAccepted: 2, StatusOperating: 3, StatusClosed: 4}

var statusOrderList = []string{StatusPlanned, StatusBuilt, StatusAccepted, StatusOperating, StatusClosed}

var statusName = map[string]string{StatusPlanned: "规划中", StatusBuilt: "已建成", StatusAccepted: "已验收", StatusOperating: "运营中", StatusClosed: "已关闭"}

var kindName = map[string]string{KindCountyCenter: "县级电子商务公共服务中心", KindWarehouse: "县级仓储物流配送中心", KindTownship: "乡镇服务站", KindVillage: "村级服务点"}

// Subsidies of plan 六(一): per new township station and per new village
// point that has passed acceptance. Integrated ones get none.
const (
	SubsidyTownshipFen int64 = 1_000_000
	SubsidyVillageFen  int64 = 300_000
)

// ServiceKinds are what an operator logs (plan 六(一)3: 代买代卖, 缴费, 票务, 快递收发).
var ServiceKinds = []string{"代买", "代卖", "缴费", "票务预订", "快递代收", "快递代发", "其他"}

// Step is one status change in a station's history.
type Step struct {
	Status string    `bson:"status" json:"status"`
	At     time.Time `bson:"at" json:"at"`
	Note   string    `bson:"note,omitempty" json:"note,omitempty"`
	By     string    `bson:"by,omitempty" json:"by,omitempty"`
}

// CheckResult is one checklist item as judged at an acceptance inspection.
type CheckResult struct {
	Key      string `bson:"key" json:"key"`
	Label    string `bson:"label" json:"label"`
	Required bool   `bson:"required" json:"required"`
	OK       bool   `bson:"ok" json:"ok"`
}

// Inspection is one acceptance inspection (验收), passed or failed.
type Inspection struct {
	At        time.Time     `bson:"at" json:"at"`
	Inspector string        `bson:"inspector" json:"inspector"`
	Result    string        `bson:"result" json:"result"` // pass | fail
	Items     []CheckResult `bson:"items" json:"items"`
	Note      string        `bson:"note,omitempty" json:"note,omitempty"`
	By        string        `bson:"by,omitempty" json:"by,omitempty"`
}

// Station is one node of the service and logistics network.
type Station struct {
	ID           string       `bson:"_id" json:"id"`
	Name         string       `bson:"name" json:"name"`
	Kind         string       `bson:"kind" json:"kind"`
	RegionID     string       `bson:"region_id" json:"region_id"`
	TownshipID   string       `bson:"township_id" json:"township_id"`
	Origin       string       `bson:"origin" json:"origin"`
	Status       string       `bson:"status" json:"status"`
	Lat          *float64     `bson:"lat,omitempty" json:"lat,omitempty"`
	Lng          *float64     `bson:"lng,omitempty" json:"lng,omitempty"`
	AreaM2       float64      `bson:"area_m2,omitempty" json:"area_m2,omitempty"`
	Address      string       `bson:"address,omitempty" json:"address,omitempty"`
	Hours        string       `bson:"hours,omitempty" json:"hours,omitempty"`
	Services     []string     `bson:"services,omitempty" json:"services"`
	OperatorID   string       `bson:"operator_id,omitempty" json:"operator_id,omitempty"`
	OperatorName string       `bson:"operator_name,omitempty" json:"operator_name,omitempty"`
	History      []Step       `bson:"history" json:"history,omitempty"`
	Inspections  []Inspection `bson:"inspections,omitempty" json:"inspections,omitempty"`
	Photos       []Photo      `bson:"photos,omitempty" json:"photos,omitempty"`
	AcceptedAt   *time.Time   `bson:"accepted_at,omitempty" json:"accepted_at,omitempty"`
	SubsidyPaid  bool         `bson:"subsidy_paid,omitempty" json:"subsidy_paid"`
	SubsidyEntry string       `bson:"subsidy_entry_id,omitempty" json:"subsidy_entry_id,omitempty"`
	SubsidyAt    *time.Time   `bson:"subsidy_paid_at,omitempty" json:"subsidy_paid_at,omitempty"`
	CreatedAt    time.Time    `bson:"created_at" json:"created_at"`
	// SubsidyFen is derived on read (see subsidyOf), never stored.
	SubsidyFen int64 `bson:"-" json:"subsidy_fen"`
}

// CountyLevel reports whether the station serves the whole county.
func (s *Station) CountyLevel() bool { return s.Kind == KindCountyCenter || s.Kind == KindWarehouse }

// NewStation is what creating a station takes (POST /stations).
type NewStation struct {
	Name     string   `json:"name"`
	Kind     string   `json:"kind"`
	RegionID string   `json:"region_id"`
	Origin   string   `json:"origin"`
	Lat      *float64 `json:"lat"`
	Lng      *float64 `json:"lng"`
	AreaM2   float64  `json:"area_m2"`
	Address  string   `json:"address"`
	Hours    string   `json:"hours"`
	Services []string `json:"services"`
}

// Validate checks the fields that need no lookup.
func (n *NewStation) Validate() error {
	n.Name = strings.TrimSpace(n.Name)
	n.Address = strings.TrimSpace(n.Address)
	n.Hours = strings.TrimSpace(n.Hours)
	if n.Origin == "" {
		n.Origin = OriginNew
	}
	f := server.Fields{}
	f.Add(n.Name == "" || len([]rune(n.Name)) > 60, "name", "请填写名称（60 字以内）")
	f.Add(kindName[n.Kind] == "", "kind", "应为 county_center、warehouse、township 或 village")
	f.Add(!store.ValidID(n.RegionID), "region_id", "请选择所在区域")
	f.Add(n.Origin != OriginNew && n.Origin != OriginIntegrated, "origin", "应为 new（新建）或 integrated（整合）")
	validPlace(f, n.Lat, n.Lng, n.AreaM2)
	f.Add(len([]rune(n.Address)) > 120, "address", "地址过长（120 字以内）")
	f.Add(len([]rune(n.Hours)) > 60, "hours", "营业时间过长（60 字以内）")
	f.Add(!validServices(n.Services), "services", "服务项目应取自："+strings.Join(ServiceKinds, "、"))
	return f.Err()
}

func validPlace(f server.Fields, lat, lng *float64, area float64) {
	f.Add(lat != nil && (*lat < -90 || *lat > 90), "lat", "纬度应在 -90 到 90 之间")
	f.Add(lng != nil && (*lng < -180 || *lng > 180), "lng", "经度应在 -180 到 180 之间")
	f.Add((lat == nil) != (lng == nil), "lat", "经纬度须同时填写")
	f.Add(area < 0 || area > 1_000_000, "area_m2", "面积应在 0 到 1,000,000 平方米之间")
}

func validServices(list []string) bool {
	if len(list) > len(ServiceKinds) {
		return false
	}
	seen := map[string]bool{}
	for _, s := range list {
		if !isServiceKind(s) || seen[s] {
			return false
		}
		seen[s] = true
	}
	return true
}

func isServiceKind(k string) bool {
	for _, x := range ServiceKinds {
		if x == k {
			return true
		}
	}
	return false
}

// StationUpdate is a partial change of the descriptive fields (PATCH).
type StationUpdate struct {
	Name       *string   `json:"name"`
	Address    *string   `json:"address"`
	Hours      *string   `json:"hours"`
	Services   *[]string `json:"services"`
	Lat        *float64  `json:"lat"`
	Lng        *float64  `json:"lng"`
	AreaM2     *float64  `json:"area_m2"`
	OperatorID *string   `json:"operator_id"`
}

// Validate checks the fields present.
func (u *StationUpdate) Validate() error {
	f := server.Fields{}
	trim := func(p *string) {
		if p != nil {
			*p = strings.TrimSpace(*p)
		}
	}
	trim(u.Name)
	trim(u.Address)
	trim(u.Hours)
	trim(u.OperatorID)
	f.Add(u.Name != nil && (*u.Name == "" || len([]rune(*u.Name)) > 60), "name", "请填写名称（60 字以内）")
	f.Add(u.Address != nil && len([]rune(*u.Address)) > 120, "address", "地址过长（120 字以内）")
	f.Add(u.Hours != nil && len([]rune(*u.Hours)) > 60, "hours", "营业时间过长（60 字以内）")
	f.Add(u.Services != nil && !validServices(*u.Services), "services", "服务项目应取自："+strings.Join(ServiceKinds, "、"))
	var area float64
	if u.AreaM2 != nil {
		area = *u.AreaM2
	}
	validPlace(f, u.Lat, u.Lng, area)
	f.Add(u.OperatorID != nil && *u.OperatorID != "" && !store.ValidID(*u.OperatorID), "operator_id", "编号格式错误")
	return f.Err()
}

// Subsidy is the subsidy one station earns, paid or still owed.
type Subsidy struct {
	StationID  string     `json:"station_id"`
	Name       string     `json:"name"`
	Kind       string     `json:"kind"`
	RegionID   string     `json:"region_id"`
	TownshipID string     `json:"township_id"`
	AmountFen  int64      `json:"amount_fen"`
	Paid       bool       `json:"paid"`
	EntryID    string     `json:"entry_id,omitempty"`
	AcceptedAt *time.Time `json:"accepted_at,omitempty"`
	PaidAt     *time.Time `json:"paid_at,omitempty"`
}

// Acceptance is a station's passed or failed inspection, as evidence for
// the programme's self-evaluation.
type Acceptance struct {
	StationID  string `json:"station_id"`
	Name       string `json:"name"`
	Kind       string `json:"kind"`
	Origin     string `json:"origin"`
	RegionID   string `json:"region_id"`
	TownshipID string `json:"township_id"`
	Inspection
}

// subsidyOf is the subsidy a station earns once accepted, by kind and origin.
func subsidyOf(kind, origin string) int64 {
	if origin != OriginNew {
		return 0
	}
	switch kind {
	case KindTownship:
		return SubsidyTownshipFen
	case KindVillage:
		return SubsidyVillageFen
	}
	return 0
}

// StatusName is a status's Chinese name.
func StatusName(status string) string { return statusName[status] }

// KindName is a station kind's Chinese name.
func KindName(kind string) string { return kindName[kind] }
