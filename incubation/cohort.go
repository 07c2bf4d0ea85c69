package incubation

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"nongxun/clock"
	"nongxun/server"
	"nongxun/store"
)

// Cohort is an incubation batch (孵化批次).
type Cohort struct {
	ID             string    `bson:"_id" json:"id"`
	Name           string    `bson:"name" json:"name"`
	StartsOn       string    `bson:"starts_on" json:"starts_on"`
	EndsOn         string    `bson:"ends_on" json:"ends_on"`
	Mentors        []string  `bson:"mentors" json:"mentors"`
	RevenueLineFen int64     `bson:"revenue_line_fen" json:"revenue_line_fen"`
	Note           string    `bson:"note,omitempty" json:"note,omitempty"`
	Members        int64     `bson:"members" json:"members"`
	Graduated      int64     `bson:"graduated" json:"graduated"`
	CreatedAt      time.Time `bson:"created_at" json:"created_at"`
}

// CohortInput is the body of creating or editing a cohort.
type CohortInput struct {
	Name           string   `json:"name"`
	StartsOn       string   `json:"starts_on"`
	EndsOn         string   `json:"ends_on"`
	Mentors        []string `json:"mentors"`
	RevenueLineFen int64    `json:"revenue_line_fen"`
	Note           string   `json:"note"`
}

// Validate checks the fields.
func (n *CohortInput) Validate() error {
	f := server.Fields{}
	n.Name = strings.TrimSpace(n.Name)
	f.Add(n.Name == "" || utf8.RuneCountInString(n.Name) > 100, "name", "请填写批次名称（不超过 100 字）")
	f.Add(!validDay(n.StartsOn), "starts_on", "开始日期应为 YYYY-MM-DD")
	f.Add(!validDay(n.EndsOn), "ends_on", "结束日期应为 YYYY-MM-DD")
	f.Add(validDay(n.StartsOn) && validDay(n.EndsOn) && n.EndsOn < n.StartsOn, "ends_on", "结束日期不能早于开始日期")
	f.Add(!shortList(&n.Mentors), "mentors", "导师最多 10 位，每位不超过 50 字")
	f.Add(n.RevenueLineFen < 0 || n.RevenueLineFen > maxRevenueFen, "revenue_line_fen", "月销售额标准不能为负数")
	f.Add(utf8.RuneCountInString(n.Note) > 2000, "note", "备注不能超过 2000 字")
	if n.Mentors == nil {
		n.Mentors = []string{}
	}
	return f.Err()
}

// Milestone kinds.
var MilestoneKinds = map[string]string{
	"licence": "取得营业执照", "first_order": "首笔订单", "orders_100": "累计 100 单", "revenue_line": "月销售额达标",
}

// Milestone is a step a shop in a cohort reached.
type Milestone struct {
	Kind string    `bson:"kind" json:"kind"`
	On   string    `bson:"on" json:"on"`
	Note string    `bson:"note,omitempty" json:"note,omitempty"`
	Auto bool      `bson:"auto,omitempty" json:"auto"`
	At   time.Time `bson:"at" json:"at"`
}

// Member is a shop admitted to a cohort; _id is cohort/shop.
type Member struct {
	ID          string      `bson:"_id" json:"id"`
	CohortID    string      `bson:"cohort_id" json:"cohort_id"`
	ShopID      string      `bson:"shop_id" json:"shop_id"`
	ShopName    string      `bson:"shop_name" json:"shop_name"`
	TraineeID   string      `bson:"trainee_id" json:"trainee_id"`
	TraineeName string      `bson:"trainee_name" json:"trainee_name"`
	TownshipID  string      `bson:"township_id" json:"township_id"`
	AdmittedOn  string      `bson:"admitted_on" json:"admitted_on"`
	GraduatedOn string      `bson:"graduated_on,omitempty" json:"graduated_on,omitempty"`
	Milestones  []Milestone `bson:"milestones" json:"milestones"`
	// V is the member's version: milestone and graduation writes are conditional on it.
	V int `bson:"v,omitempty" json:"-"`
}

// ver is the condition on a version as read (a document written before
// versions has none, which matches nil).
func ver(v int) any {
	if v == 0 {
		return nil
	}
	return v
}

func (m *Member) has(kind string) bool {
	for _, x := range m.Milestones {
		if x.Kind == kind {
			return true
		}
	}
	return false
}

// CreateCohort adds a cohort.
func (s *Service) CreateCohort(ctx context.Context, p *server.Principal, n CohortInput) (*Cohort, error) {
	if err := n.Validate(); err != nil {
		return nil, err
	}
	c := &Cohort{ID: store.NewID(), Name: n.Name, StartsOn: n.StartsOn, EndsOn: n.EndsOn, Mentors: n.Mentors,
		RevenueLineFen: n.RevenueLineFen, Note: strings.TrimSpace(n.Note), CreatedAt: s.now()}
	if err := s.cohorts.InsertOne(ctx, c); err != nil {
		return nil, err
	}
	s.audit(ctx, p, "cohort.create", c.ID, map[string]any{"name": c.Name})
	return c, nil
}

// UpdateCohort edits a cohort's details.
func (s *Service) UpdateCohort(ctx context.Context, p *server.Principal, id string, n CohortInput) (*Cohort, error) {
	if err := n.Validate(); err != nil {
		return nil, err
	}
	set := bson.M{"name": n.Name, "starts_on": n.StartsOn, "ends_on": n.EndsOn, "mentors": n.Mentors,
		"revenue_line_fen": n.RevenueLineFen, "note": strings.TrimSpace(n.Note)}
	res, err := s.cohorts.UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$set": set})
	if err != nil {
		return nil, err
	}
	if res.MatchedCount == 0 {
		return nil, server.NotFound("孵化批次不存在")
	}
	s.audit(ctx, p, "cohort.update", id, nil)
	return s.Cohort(ctx, id)
}

// Cohort returns one cohort.
func (s *Service) Cohort(ctx context.Context, id string) (*Cohort, error) {
	var c Cohort
	if err := s.cohorts.Get(ctx, id, &c); err != nil {
		if store.IsNotFound(err) {
			return nil, server.NotFound("孵化批次不存在")
		}
		return nil, err
	}
	return &c, nil
}

// Cohorts lists the cohorts, newest first.
func (s *Service) Cohorts(ctx context.Context) ([]Cohort, error) {
	out := []Cohort{}
	err := s.cohorts.Find(ctx, bson.M{}, &out, options.Find().SetSort(bson.D{{Key: "starts_on", Value: -1}}))
	return out, err
}

// Members lists a cohort's shops (townshipID "" = all).
func (s *Service) Members(ctx context.Context, cohortID, townshipID string) ([]Member, error) {
	f := bson.M{"cohort_id": cohortID}
	if townshipID != "" {
		f["township_id"] = townshipID
	}
	out := []Member{}
	err := s.members.Find(ctx, f, &out, options.Find().SetSort(bson.D{{Key: "admitted_on", Value: 1}}))
	return out, err
}

// Admit admits a shop to a cohort and counts its trainee as incubated:
// the member (its natural _id refuses a second admission), the cohort's
// count, the shop's list of cohorts and the funnel, as one unit.
func (s *Service) Admit(ctx context.Context, p *server.Principal, cohortID, shopID, on string) (*Member, error) {
	today := clock.Day(s.now())
	if on == "" {
		on = today
	}
	if !store.ValidID(shopID) {
		return nil, server.Invalid("请选择网店", "shop_id", "格式错误")
	}
	if !validDay(on) || on > today {
		return nil, server.Invalid("入孵日期格式错误或晚于今天", "admitted_on", "日期错误")
	}
	c, err := s.Cohort(ctx, cohortID)
	if err != nil {
		return nil, err
	}
	sh, err := s.Shop(ctx, shopID)
	if err != nil {
		if e := server.ToError(err); e.Code == server.CodeNotFound {
			return nil, server.Invalid("网店不存在", "shop_id", "不存在")
		}
		return nil, err
	}
	if sh.Closed {
		return nil, server.Conflict("网店已关闭，不能入孵")
	}
	m := &Member{ID: c.ID + "/" + sh.ID, CohortID: c.ID, ShopID: sh.ID, ShopName: sh.Name, TraineeID: sh.TraineeID,
		TraineeName: sh.TraineeName, TownshipID: sh.TownshipID, AdmittedOn: on, Milestones: []Milestone{}}
	err = s.st.Unit(ctx, "cohort.admit", func(u *store.Unit) error {
		added, err := s.members.InsertIfAbsent(ctx, m)
		if err != nil {
			return err
		}
		if !added {
			return server.Conflict("该网店已在此批次中")
		}
		u.OnFail("member "+m.ID, func(ctx context.Context) error {
			_, err := s.members.DeleteOne(ctx, bson.M{"_id": m.ID})
			return err
		})
		if err := u.Do(ctx, "cohort "+c.ID, func(ctx context.Context) error {
			_, err := s.cohorts.UpdateOne(ctx, bson.M{"_id": c.ID}, bson.M{"$inc": bson.M{"members": 1}})
			return err
		}, func(ctx context.Context) error {
			_, err := s.cohorts.UpdateOne(ctx, bson.M{"_id": c.ID}, bson.M{"$inc": bson.M{"members": -1}})
			return err
		}); err != nil {
			return err
		}
		if err := u.Do(ctx, "shop "+sh.ID, func(ctx context.Context) error {
			_, err := s.shops.UpdateOne(ctx, bson.M{"_id": sh.ID}, bson.M{"$addToSet": bson.M{"cohorts": c.ID}})
			return err
		}, func(ctx context.Context) error {
			_, err := s.shops.UpdateOne(ctx, bson.M{"_id": sh.ID}, bson.M{"$pull": bson.M{"cohorts": c.ID}})
			return err
		}); err != nil {
			return err
		}
		_, err = s.count(ctx, u, StepIncubated, sh.Trainee)
		return err
	})
	if err != nil {
		return nil, err
	}
	sh.Cohorts = append(sh.Cohorts, c.ID)
	if err := s.autoMilestones(ctx, sh, sh.sales()); err != nil {
		// Milestones are a convenience: the admission stands, the log says why none was set.
		s.d.Log.Warn("automatic milestones failed", "shop_id", sh.ID, "err", err.Error())
	}
	s.audit(ctx, p, "cohort.admit", m.ID, nil)
	return s.member(ctx, m.ID)
}

func (s *Service) member(ctx context.Context, id string) (*Member, error) {
	var m Member
	if err := s.members.Get(ctx, id, &m); err != nil {
		if store.IsNotFound(err) {
			return nil, server.NotFound("该网店不在此孵化批次中")
		}
		return nil, err
	}
	return &m, nil
}

// AddMilestone records a milestone of a member shop; each kind once. The
// push is conditional on the member as read, so two writers cannot both
// add the same kind.
func (s *Service) AddMilestone(ctx context.Context, p *server.Principal, cohortID, shopID string, ms Milestone) (*Member, error) {
	today := clock.Day(s.now())
	f := server.Fields{}
	_, ok := MilestoneKinds[ms.Kind]
	f.Add(!ok, "kind", "里程碑应为 营业执照、首笔订单、累计100单 或 月销售额达标")
	f.Add(!validDay(ms.On) || ms.On > today, "on", "日期格式错误或晚于今天")
	f.Add(utf8.RuneCountInString(ms.Note) > 500, "note", "备注不能超过 500 字")
	if err := f.Err(); err != nil {
		return nil, err
	}
	ms.At, ms.Auto = s.now(), false
	id := cohortID + "/" + shopID
	for attempt := 0; ; attempt++ {
		m, err := s.member(ctx, id)
		if err != nil {
			return nil, err
		}
		if m.has(ms.Kind) {
			return nil, server.Conflict("该里程碑已记录")
		}
		ok, err := s.members.UpdateIf(ctx, id, store.Cond{"v": ver(m.V)}, bson.M{"$push": bson.M{"milestones": ms}, "$set": bson.M{"v": m.V + 1}})
		if err != nil {
			return nil, err
		}
		if ok {
			break
		}
		if attempt == 10 {
			return nil, server.Conflict("该网店的记录正被他人修改，请稍后重试")
		}
	}
	s.audit(ctx, p, "cohort.milestone", id, map[string]any{"kind": ms.Kind, "on": ms.On})
	return s.member(ctx, id)
}

// Graduate marks a member shop graduated: the member once (conditional on
// not being graduated), then the cohort's count, as one unit.
func (s *Service) Graduate(ctx context.Context, p *server.Principal, cohortID, shopID, on string) (*Member, error) {
	today := clock.Day(s.now())
	if on == "" {
		on = today
	}
	if !validDay(on) || on > today {
		return nil, server.Invalid("结业日期格式错误或晚于今天", "on", "日期错误")
	}
	id := cohortID + "/" + shopID
	m, err := s.member(ctx, id)
	if err != nil {
		return nil, err
	}
	if m.GraduatedOn != "" {
		return nil, server.Conflict("该网店已结业")
	}
	if on < m.AdmittedOn {
		return nil, server.Invalid("结业日期不能早于入孵日期", "on", "早于入孵日期")
	}
	err = s.st.Unit(ctx, "cohort.graduate", func(u *store.Unit) error {
		ok, err := s.members.UpdateIf(ctx, id, store.Cond{"graduated_on": nil}, bson.M{"$set": bson.M{"graduated_on": on}})
		if err != nil {
			return err
		}
		if !ok {
			return server.Conflict("该网店已结业")
		}
		u.OnFail("member "+id, func(ctx context.Context) error {
			_, err := s.members.UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$unset": bson.M{"graduated_on": ""}})
			return err
		})
		_, err = s.cohorts.UpdateOne(ctx, bson.M{"_id": cohortID}, bson.M{"$inc": bson.M{"graduated": 1}})
		return err
	})
	if err != nil {
		return nil, err
	}
	s.audit(ctx, p, "cohort.graduate", id, map[string]any{"on": on})
	return s.member(ctx, id)
}

// autoMilestones sets the milestones a shop's reports prove (first order,
// 100 orders, a month over the cohort's revenue line) on each cohort the
// shop is in (read by _id from the shop's list), conditionally on each
// member's version.
func (s *Service) autoMilestones(ctx context.Context, sh *Shop, reports []Sale) error {
	if len(sh.Cohorts) == 0 {
		return nil
	}
	var total int64
	first, hundred := "", ""
	for _, r := range reports { // by month
		if r.Orders > 0 && first == "" {
			first = r.Month
		}
		total += r.Orders
		if total >= 100 && hundred == "" {
			hundred = r.Month
		}
	}
	for _, cid := range sh.Cohorts {
		for attempt := 0; attempt < 5; attempt++ {
			m, err := s.member(ctx, cid+"/"+sh.ID)
			if err != nil {
				if server.ToError(err).Code == server.CodeNotFound {
					break
				}
				return err
			}
			if m.GraduatedOn != "" {
				break
			}
			var add []Milestone
			if first != "" && !m.has("first_order") {
				add = append(add, Milestone{Kind: "first_order", On: first + "-01", Auto: true, At: s.now()})
			}
			if hundred != "" && !m.has("orders_100") {
				add = append(add, Milestone{Kind: "orders_100", On: hundred + "-01", Auto: true, At: s.now()})
			}
			if !m.has("revenue_line") {
				c, err := s.Cohort(ctx, m.CohortID)
				if err != nil {
					return err
				}
				for _, r := range reports {
					if c.RevenueLineFen > 0 && r.RevenueFen >= c.RevenueLineFen {
						add = append(add, Milestone{Kind: "revenue_line", On: r.Month + "-01", Auto: true, At: s.now()})
						break
					}
				}
			}
			if len(add) == 0 {
				break
			}
			ok, err := s.members.UpdateIf(ctx, m.ID, store.Cond{"v": ver(m.V)}, bson.M{"$push": bson.M{"milestones": bson.M{"$each": add}}, "$set": bson.M{"v": m.V + 1}})
			if err != nil {
				return err
			}
			if ok {
				break
			}
		}
	}
	return nil
}
