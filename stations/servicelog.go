package stations

import (
	"context"
	"regexp"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"nongxun/clock"
	"nongxun/server"
	"nongxun/store"
)

// ServiceEntry is one line of a station's services log (代买, 缴费 …).
type ServiceEntry struct {
	ID         string    `bson:"_id" json:"id"`
	StationID  string    `bson:"station_id" json:"station_id"`
	TownshipID string    `bson:"township_id" json:"township_id"`
	Kind       string    `bson:"kind" json:"kind"`
	Count      int64     `bson:"count" json:"count"`
	AmountFen  int64     `bson:"amount_fen" json:"amount_fen"`
	At         time.Time `bson:"at" json:"at"`
	Note       string    `bson:"note,omitempty" json:"note,omitempty"`
	By         string    `bson:"by" json:"by"`
	CreatedAt  time.Time `bson:"created_at" json:"created_at"`
}

// NewServiceEntry is POST /stations/:id/services. ClientID, when the phone
// sends one, makes a retried upload count once.
type NewServiceEntry struct {
	Kind      string `json:"kind"`
	Count     int64  `json:"count"`
	AmountFen int64  `json:"amount_fen"`
	At        string `json:"at"`
	Note      string `json:"note"`
	ClientID  string `json:"client_id"`
}

var clientIDRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// countyKey stands for "no township" in counter field names.
const countyKey = "_county"

func tkey(tid string) string {
	if tid == "" {
		return countyKey
	}
	return tid
}

// LogService records services given at a station. Only an operating
// station logs services; a station user logs only at their own station.
func (s *Service) LogService(ctx context.Context, p *server.Principal, stationID string, in NewServiceEntry) (*ServiceEntry, bool, error) {
	in.Note = strings.TrimSpace(in.Note)
	now := s.now()
	f := server.Fields{}
	f.Add(!isServiceKind(in.Kind), "kind", "应为："+strings.Join(ServiceKinds, "、"))
	f.Add(in.Count < 1 || in.Count > 10000, "count", "次数应在 1 到 10000 之间")
	f.Add(in.AmountFen < 0 || in.AmountFen > 100_000_000, "amount_fen", "金额应在 0 到 100 万元之间")
	f.Add(len([]rune(in.Note)) > 200, "note", "备注过长（200 字以内）")
	f.Add(in.ClientID != "" && !clientIDRe.MatchString(in.ClientID), "client_id", "格式错误")
	at := now.UTC()
	if in.At != "" {
		at = parseAt(f, "at", in.At, now)
		f.Add(!at.IsZero() && at.Before(now.AddDate(0, 0, -62)), "at", "只能补记两个月内的服务")
	}
	if err := f.Err(); err != nil {
		return nil, false, err
	}
	if p.Role == server.RoleStation && p.StationID != stationID {
		return nil, false, server.Forbidden("只能登记本站点的服务")
	}
	x, err := s.Station(ctx, stationID)
	if err != nil {
		return nil, false, err
	}
	if x.Status != StatusOperating {
		return nil, false, server.RuleBroken(server.CodeConflict, "services_when_operating", "站点尚未运营（当前为「"+statusName[x.Status]+"」），不能登记服务")
	}
	e := &ServiceEntry{ID: store.NewID(), StationID: x.ID, TownshipID: x.TownshipID, Kind: in.Kind, Count: in.Count,
		AmountFen: in.AmountFen, At: at, Note: in.Note, By: who(p), CreatedAt: now.UTC()}
	if in.ClientID != "" {
		e.ID = x.ID + "/" + in.ClientID
	}
	m := clock.Month(at)
	tk := tkey(x.TownshipID)
	// The station's counter also keeps its latest entries (the phone's and
	// the detail page's list), so no request reads the growing log.
	delta := map[string]int64{"count": e.Count, "amount_fen": e.AmountFen, "kinds." + e.Kind + ".count": e.Count,
		"kinds." + e.Kind + ".amount_fen": e.AmountFen, "months." + m: e.Count}
	inc, neg := bson.M{}, bson.M{}
	for k, v := range delta {
		inc[k], neg[k] = v, -v
	}
	dup := false
	err = s.st.Unit(ctx, "station.service", func(u *store.Unit) error {
		err := u.Do(ctx, "service entry", func(ctx context.Context) error { return s.services.InsertOne(ctx, e) },
			func(ctx context.Context) error { _, err := s.services.DeleteOne(ctx, bson.M{"_id": e.ID}); return err })
		if store.IsDup(err) {
			dup = true
			return err
		}
		if err != nil {
			return err
		}
		var t ServiceTotals
		err = u.Do(ctx, "station totals", func(ctx context.Context) error {
			return s.counters.FindOneAndUpdate(ctx, bson.M{"_id": "svc:" + x.ID}, bson.M{"$inc": inc, "$push": bson.M{"recent": e}}, &t,
				options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After))
		}, func(ctx context.Context) error {
			_, err := s.counters.UpdateOne(ctx, bson.M{"_id": "svc:" + x.ID}, bson.M{"$inc": neg, "$pull": bson.M{"recent": e}})
			return err
		})
		if err != nil {
			return err
		}
		if len(t.Recent) > recentServices { // $push's $slice is ignored by the embedded engine
			if _, err := s.counters.UpdateOne(ctx, bson.M{"_id": "svc:" + x.ID}, bson.M{"$pop": bson.M{"recent": -1}}); err != nil {
				s.d.Log.Warn("stations: the latest-services list keeps one entry too many", "station", x.ID, "err", err.Error())
			}
		}
		return s.incCounter(ctx, u, "svcm:"+m, map[string]int64{tk + ".count": e.Count, tk + ".amount_fen": e.AmountFen})
	})
	if dup {
		var old ServiceEntry
		if err := s.services.Get(ctx, e.ID, &old); err != nil {
			return nil, false, err
		}
		return &old, true, nil
	}
	if err != nil {
		return nil, false, err
	}
	return e, false, nil
}

// KindTotal is the running total of one kind of service.
type KindTotal struct {
	Count     int64 `bson:"count" json:"count"`
	AmountFen int64 `bson:"amount_fen" json:"amount_fen"`
}

// ServiceTotals is a station's services counter.
type ServiceTotals struct {
	Count     int64                `bson:"count" json:"count"`
	AmountFen int64                `bson:"amount_fen" json:"amount_fen"`
	Kinds     map[string]KindTotal `bson:"kinds" json:"kinds"`
	Months    map[string]int64     `bson:"months" json:"months"`
	Recent    []ServiceEntry       `bson:"recent,omitempty" json:"-"`
}

// recentServices is how many latest entries a station's counter keeps.
const recentServices = 20

// Services returns a station's totals and its latest entries (newest
// first, at most recentServices), all from its counter document.
func (s *Service) Services(ctx context.Context, stationID string, limit int) (*ServiceTotals, []ServiceEntry, error) {
	var t ServiceTotals
	if err := s.counters.Get(ctx, "svc:"+stationID, &t); err != nil && !store.IsNotFound(err) {
		return nil, nil, err
	}
	if t.Kinds == nil {
		t.Kinds = map[string]KindTotal{}
	}
	if t.Months == nil {
		t.Months = map[string]int64{}
	}
	list := []ServiceEntry{}
	for i := len(t.Recent) - 1; i >= 0 && len(list) < limit; i-- {
		list = append(list, t.Recent[i])
	}
	t.Recent = nil
	return &t, list, nil
}
