// Package logistics runs parcels over the stations' nodes (county centre,
// warehouse, township stations, village points): waybills with their
// route and scans, the day counters of up- and downstream volumes and the
// archive of finished parcels. The nodes are the stations package's; this
// package looks them up by id.
package logistics

import (
	"regexp"
	"strings"
	"time"

	"nongxun/clock"
	"nongxun/server"
	"nongxun/stations"
)

// Parcel directions: up carries rural products out (农产品上行), down
// brings goods in to the villages.
const (
	DirUp   = "up"
	DirDown = "down"
)

// Scan kinds, in the order a parcel meets them at a node.
const (
	ScanReceived   = "received"
	ScanSorted     = "sorted"
	ScanDispatched = "dispatched"
	ScanDelivered  = "delivered"
	ScanPickedUp   = "picked_up"
)

// ScanNames are the scan kinds' Chinese names.
var ScanNames = map[string]string{ScanReceived: "收件", ScanSorted: "分拣", ScanDispatched: "发出", ScanDelivered: "投递到站", ScanPickedUp: "已取件"}

// DirNames are the directions' Chinese names.
var DirNames = map[string]string{DirUp: "上行", DirDown: "下行"}

// MaxScans bounds a parcel's scans array: a route has at most four nodes,
// each seeing at most three scans, plus the pickup.
const MaxScans = 14

// Scan is one scan of a parcel at a node.
type Scan struct {
	NodeID   string    `bson:"node_id" json:"node_id"`
	NodeName string    `bson:"-" json:"node_name,omitempty"` // from the parcel's route_names
	Kind     string    `bson:"kind" json:"kind"`
	At       time.Time `bson:"at" json:"at"`
	By       string    `bson:"by,omitempty" json:"by,omitempty"`
}

// Parcel is one waybill with its route and its whole trace: one document,
// _id = the waybill, scans in a bounded array. The route's names and the
// ends' kinds are kept from registration, so a scan or a read needs no
// station lookup.
type Parcel struct {
	Waybill       string     `bson:"_id" json:"waybill"`
	Direction     string     `bson:"direction" json:"direction"`
	OriginID      string     `bson:"origin_id" json:"origin_id"`
	DestinationID string     `bson:"destination_id" json:"destination_id"`
	OriginKind    string     `bson:"origin_kind,omitempty" json:"-"`
	DestKind      string     `bson:"destination_kind,omitempty" json:"-"`
	Route         []string   `bson:"route" json:"route"`
	RouteNames    []string   `bson:"route_names,omitempty" json:"route_names"`
	TownshipID    string     `bson:"township_id" json:"township_id"`
	Product       string     `bson:"product,omitempty" json:"product,omitempty"`
	WeightG       int64      `bson:"weight_g,omitempty" json:"weight_g,omitempty"`
	State         string     `bson:"state" json:"state"` // last scan kind; "created" before the first
	LastHop       int        `bson:"last_hop" json:"-"`  // route index of the last scan
	LastAt        time.Time  `bson:"last_at" json:"last_at"`
	NScans        int        `bson:"nscans" json:"-"`
	Scans         []Scan     `bson:"scans" json:"scans"`
	StartedAt     *time.Time `bson:"started_at,omitempty" json:"started_at,omitempty"` // first scan at a county-level origin
	DeliveredAt   *time.Time `bson:"delivered_at,omitempty" json:"delivered_at,omitempty"`
	CreatedAt     time.Time  `bson:"created_at" json:"created_at"`
	CreatedBy     string     `bson:"created_by" json:"created_by"`
	Archived      bool       `bson:"-" json:"archived,omitempty"`
}

// StateCreated is a parcel's state before its first scan.
const StateCreated = "created"

// finished reports whether a parcel in state st is done (delivered or
// picked up): it may be archived once old enough.
func finished(st string) bool { return st == ScanDelivered || st == ScanPickedUp }

// NewParcel is POST /parcels.
type NewParcel struct {
	Waybill       string `json:"waybill"`
	Direction     string `json:"direction"`
	OriginID      string `json:"origin_id"`
	DestinationID string `json:"destination_id"`
	Product       string `json:"product"`
	WeightG       int64  `json:"weight_g"`
}

var waybillRe = regexp.MustCompile(`^[A-Za-z0-9-]{6,32}$`)

// ValidWaybill reports whether w can be a waybill number: 6-32 letters,
// digits or dashes, with at least one digit.
func ValidWaybill(w string) bool {
	return waybillRe.MatchString(w) && strings.ContainsAny(w, "0123456789")
}

// Validate checks the fields that need no lookup.
func (n *NewParcel) Validate() error {
	n.Waybill = strings.TrimSpace(n.Waybill)
	n.Product = strings.TrimSpace(n.Product)
	f := server.Fields{}
	f.Add(!ValidWaybill(n.Waybill), "waybill", "运单号应为 6-32 位字母、数字或短横线，且含数字")
	f.Add(n.Direction != DirUp && n.Direction != DirDown, "direction", "请选择上行或下行")
	f.Add(n.OriginID == "", "origin_id", "请选择起点站")
	f.Add(n.DestinationID == "", "destination_id", "请选择终点站")
	f.Add(n.OriginID != "" && n.OriginID == n.DestinationID, "destination_id", "起点和终点不能相同")
	f.Add(len([]rune(n.Product)) > 60, "product", "品名过长（60 字以内）")
	f.Add(n.WeightG < 0 || n.WeightG > 200_000, "weight_g", "重量应在 0 到 200 千克之间")
	return f.Err()
}

// NewScan is POST /parcels/:waybill/scans.
type NewScan struct {
	NodeID string `json:"node_id"`
	Kind   string `json:"kind"`
	At     string `json:"at"`
}

// parseAt reads a scan's RFC 3339 time: not in the future, and within
// clock.RecentYears of now (docs/design.md, "Time").
func parseAt(f server.Fields, field, v string, now time.Time) time.Time {
	t, err := time.Parse(time.RFC3339Nano, v)
	f.Add(err != nil, field, "时间格式不对，应如 2019-09-30T10:00:00+08:00")
	f.Add(err == nil && !clock.Recent(t, now), field, "扫描时间应在今天前后 5 年之内")
	f.Add(err == nil && clock.Recent(t, now) && t.After(now.Add(15*time.Minute)), field, "时间不能晚于现在")
	return t.UTC()
}

func rural(x *stations.Station) bool {
	return x.Kind == stations.KindTownship || x.Kind == stations.KindVillage
}

// directionRule checks that the ends fit the direction: down ends at a
// township or village, up starts at one.
func directionRule(dir string, o, d *stations.Station) error {
	switch {
	case dir == DirDown && (!rural(d) || o.Kind == stations.KindVillage):
		return &server.Error{Code: server.CodeInvalid, Rule: "parcel_direction", Message: "下行包裹应从县级中心或乡镇站发往乡镇站或村级服务点", Fields: map[string]string{"direction": "与起止站点不符"}}
	case dir == DirUp && (!rural(o) || d.Kind == stations.KindVillage):
		return &server.Error{Code: server.CodeInvalid, Rule: "parcel_direction", Message: "上行包裹应从村级服务点或乡镇站发往乡镇站或县级中心", Fields: map[string]string{"direction": "与起止站点不符"}}
	}
	return nil
}

// route is origin → the township hub of a village origin → the township
// hub of a village destination → destination, without repeats; a township
// without an operating hub is passed straight through. hub answers nil
// for none.
func route(o, d *stations.Station, hub func(tid string) *stations.Station) []*stations.Station {
	r := []*stations.Station{o}
	add := func(x *stations.Station) {
		if x != nil && r[len(r)-1].ID != x.ID {
			r = append(r, x)
		}
	}
	if o.Kind == stations.KindVillage {
		add(hub(o.TownshipID))
	}
	if d.Kind == stations.KindVillage {
		add(hub(d.TownshipID))
	}
	add(d)
	return r
}

// nextScan checks that a scan of kind at route index hop may follow the
// parcel's last scan. It returns the refusal naming what should come next.
func nextScan(p *Parcel, hop int, kind string, at time.Time) error {
	if hop < 0 {
		return server.RuleBroken(server.CodeConflict, "scan_on_route", "该站点不在此运单的路线上（起点 → 乡镇站 → 终点），不能扫描")
	}
	last := len(p.Route) - 1
	ok := false
	var want string
	if p.NScans == 0 || len(p.Scans) == 0 {
		ok = hop == 0 && kind == ScanReceived
		want = "起点站「收件」"
	} else {
		prev := p.Scans[len(p.Scans)-1]
		if at.Before(prev.At) {
			return server.RuleBroken(server.CodeConflict, "scan_order", "扫描时间早于上一次扫描（"+clock.Show(prev.At)+"），顺序不对")
		}
		h := p.LastHop
		switch prev.Kind {
		case ScanReceived, ScanSorted:
			ok = hop == h && ((kind == ScanSorted && prev.Kind == ScanReceived) || (kind == ScanDispatched && h < last) || (kind == ScanDelivered && h == last))
			if h < last {
				want = "本站「分拣」或「发出」"
			} else {
				want = "本站「投递到站」"
			}
		case ScanDispatched:
			ok = hop == h+1 && (kind == ScanReceived || (kind == ScanDelivered && hop == last))
			want = "下一站「收件」"
		case ScanDelivered:
			ok = hop == h && kind == ScanPickedUp
			want = "终点站「已取件」"
		case ScanPickedUp:
			return server.RuleBroken(server.CodeConflict, "scan_order", "包裹已被取走，运单已完结")
		}
	}
	if !ok {
		return server.RuleBroken(server.CodeConflict, "scan_order", "扫描顺序不对：不能「"+ScanNames[kind]+"」，下一步应为"+want)
	}
	if len(p.Scans) >= MaxScans {
		return server.RuleBroken(server.CodeConflict, "scan_order", "此运单的扫描次数已达上限")
	}
	return nil
}

func indexOf(list []string, v string) int {
	for i, x := range list {
		if x == v {
			return i
		}
	}
	return -1
}
