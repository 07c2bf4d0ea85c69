package incubation

import (
	"context"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"nongxun/clock"
	"nongxun/server"
	"nongxun/store"
)

// Platforms are the shop platforms of API.md, with their Chinese names.
var Platforms = map[string]string{
	"taobao": "淘宝", "tmall": "天猫", "jd": "京东", "pinduoduo": "拼多多", "douyin": "抖音",
	"kuaishou": "快手", "wechat": "微信", "own": "自建平台", "other": "其他",
}

// Shop states as shown; only "closed" is stored, dormant is derived from the last sale.
const (
	ShopActive  = "active"
	ShopDormant = "dormant"
	ShopClosed  = "closed"
)

// Shop is a trainee's online shop.
type Shop struct {
	ID            string                 `bson:"_id" json:"id"`
	TraineeID     string                 `bson:"trainee_id" json:"trainee_id"`
	TraineeName   string                 `bson:"trainee_name" json:"trainee_name"`
	Trainee       who                    `bson:"trainee" json:"-"` // as counted in the funnel
	Cooperative   string                 `bson:"cooperative,omitempty" json:"cooperative,omitempty"`
	VillageID     string                 `bson:"village_id" json:"village_id"`
	TownshipID    string                 `bson:"township_id" json:"township_id"`
	Platform      string                 `bson:"platform" json:"platform"`
	Name          string                 `bson:"name" json:"name"`
	URL           string                 `bson:"url" json:"url"`
	URLKey        string                 `bson:"url_key" json:"-"`
	OpenedOn      string                 `bson:"opened_on" json:"opened_on"`
	Products      []string               `bson:"products,omitempty" json:"products"`
	MainProducts  string                 `bson:"main_products,omitempty" json:"main_products,omitempty"`
	Closed        bool                   `bson:"closed,omitempty" json:"-"`
	ClosedOn      string                 `bson:"closed_on,omitempty" json:"closed_on,omitempty"`
	LastSaleMonth string                 `bson:"last_sale_month,omitempty" json:"last_sale_month,omitempty"`
	Months        map[string]MonthReport `bson:"months,omitempty" json:"-"`  // current report by month
	Cohorts       []string               `bson:"cohorts,omitempty" json:"-"` // the cohorts it was admitted to (members cohort/shop)
	CreatedBy     string                 `bson:"created_by" json:"created_by"`
	CreatedAt     time.Time              `bson:"created_at" json:"created_at"`
	Status        string                 `bson:"-" json:"status"`
}

// status derives active/dormant/closed as of month cur: dormant when no
// sale in the last SellingMonths months (counting from the opening month
// for a shop that never sold).
func (sh *Shop) status(cur string) string {
	if sh.Closed {
		return ShopClosed
	}
	ref := sh.LastSaleMonth
	if opened := monthPart(sh.OpenedOn); opened > ref {
		ref = opened
	}
	if ref < addMonths(cur, -(SellingMonths-1)) {
		return ShopDormant
	}
	return ShopActive
}

func monthPart(day string) string {
	if len(day) >= 7 {
		return day[:7]
	}
	return day
}

// NewShop is the POST /api/v1/shops body.
type NewShop struct {
	TraineeID    string   `json:"trainee_id"`
	Platform     string   `json:"platform"`
	Name         string   `json:"name"`
	URL          string   `json:"url"`
	OpenedOn     string   `json:"opened_on"`
	VillageID    string   `json:"village_id"`
	Cooperative  string   `json:"cooperative"`
	Products     []string `json:"products"`
	MainProducts string   `json:"main_products"`
}

// Validate checks the fields that need no lookup; it returns the URL's key.
func (n *NewShop) Validate(today string) (string, error) {
	f := server.Fields{}
	n.TraineeID = strings.TrimSpace(n.TraineeID)
	n.Name = strings.TrimSpace(n.Name)
	n.URL = strings.TrimSpace(n.URL)
	n.Cooperative = strings.TrimSpace(n.Cooperative)
	n.MainProducts = strings.TrimSpace(n.MainProducts)
	f.Add(!store.ValidID(n.TraineeID), "trainee_id", "请选择学员")
	_, ok := Platforms[n.Platform]
	f.Add(!ok, "platform", "平台应为 淘宝、天猫、京东、拼多多、抖音、快手、微信、自建平台 或 其他")
	f.Add(n.Name == "", "name", "请填写店铺名称")
	f.Add(utf8.RuneCountInString(n.Name) > 100, "name", "店铺名称不能超过 100 字")
	key, err := urlKey(n.URL)
	f.Add(err != nil, "url", "店铺网址格式错误，应以 http:// 或 https:// 开头")
	f.Add(!validDay(n.OpenedOn), "opened_on", "开店日期应为 YYYY-MM-DD")
	f.Add(validDay(n.OpenedOn) && n.OpenedOn > today, "opened_on", "开店日期不能晚于今天")
	f.Add(validDay(n.OpenedOn) && n.OpenedOn < "2000-01-01", "opened_on", "开店日期过早")
	f.Add(n.VillageID != "" && !store.ValidID(n.VillageID), "village_id", "村编号格式错误")
	f.Add(utf8.RuneCountInString(n.Cooperative) > 100, "cooperative", "合作社名称不能超过 100 字")
	f.Add(utf8.RuneCountInString(n.MainProducts) > 200, "main_products", "主营产品不能超过 200 字")
	f.Add(!validIDs(n.Products, 20), "products", "产品编号格式错误")
	return key, f.Err()
}

func validDay(s string) bool {
	_, err := time.Parse("2006-01-02", s)
	return err == nil
}

func validIDs(ids []string, max int) bool {
	if len(ids) > max {
		return false
	}
	for _, id := range ids {
		if !store.ValidID(id) {
			return false
		}
	}
	return true
}

// urlKey checks a shop URL and returns the form two URLs of one shop share:
// lower-case host without "www." and default port, no fragment, no trailing slash.
func urlKey(raw string) (string, error) {
	if raw == "" || len(raw) > 500 || strings.ContainsAny(raw, " \t\r\n") {
		return "", errBadURL
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	if (scheme != "http" && scheme != "https") || u.User != nil || !strings.Contains(host, ".") ||
		strings.HasPrefix(host, ".") || strings.HasSuffix(host, ".") || strings.Contains(host, "..") {
		return "", errBadURL
	}
	for _, r := range host {
		if !(r == '.' || r == '-' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127) {
			return "", errBadURL
		}
	}
	if p := u.Port(); p != "" && p != "80" && p != "443" {
		host += ":" + p
	}
	host = strings.TrimPrefix(host, "www.")
	path := strings.TrimRight(u.EscapedPath(), "/")
	key := host + path
	if u.RawQuery != "" {
		key += "?" + u.RawQuery
	}
	return key, nil
}

var errBadURL = server.Invalid("店铺网址格式错误", "url", "格式错误")

// CreateShop registers a shop. The URL is claimed first with a
// natural-key document, so the same URL twice is a conflict on any engine.
func (s *Service) CreateShop(ctx context.Context, p *server.Principal, n NewShop) (*Shop, error) {
	today := clock.Day(s.now())
	key, err := n.Validate(today)
	if err != nil {
		return nil, err
	}
	t, err := s.trainee(ctx, n.TraineeID)
	if err != nil {
		return nil, err
	}
	if p.Role == server.RoleTrainee {
		if me, err := s.d.Trainees.TraineeByUser(ctx, p.UserID); err != nil || me.ID != t.ID {
			return nil, server.Forbidden("只能登记自己的网店")
		}
	}
	village := n.VillageID
	if village == "" {
		village = t.RegionID
	}
	twp := ""
	if s.d.Regions != nil {
		if !s.d.Regions.IsVillage(ctx, village) {
			return nil, server.Invalid("请选择网店所在的村", "village_id", "不是有效的村")
		}
		twp = s.d.Regions.TownshipOf(ctx, village)
	}
	if !p.SeesTownship(twp) || !p.SeesTownship(t.TownshipID) {
		return nil, server.Forbidden("该学员或网店不在您负责的乡镇")
	}
	if err := s.checkProducts(ctx, n.Products); err != nil {
		return nil, err
	}
	sh := &Shop{ID: store.NewID(), TraineeID: t.ID, TraineeName: t.Name, Trainee: whoOf(t), Cooperative: n.Cooperative,
		VillageID: village, TownshipID: twp, Platform: n.Platform, Name: n.Name, URL: n.URL, URLKey: key,
		OpenedOn: n.OpenedOn, Products: n.Products, MainProducts: n.MainProducts, CreatedBy: p.UserID, CreatedAt: s.now()}
	if sh.Products == nil {
		sh.Products = []string{}
	}
	// The URL is claimed first (its natural _id refuses a second shop),
	// then the shop, the totals, the month's count and the funnel: one unit.
	err = s.st.Unit(ctx, "shop.create", func(u *store.Unit) error {
		claimed, err := s.shopURLs.InsertIfAbsent(ctx, bson.M{"_id": key, "shop_id": sh.ID})
		if err != nil {
			return err
		}
		if !claimed {
			return server.Conflict("该网址的网店已登记")
		}
		u.OnFail("shop url "+key, func(ctx context.Context) error {
			_, err := s.shopURLs.DeleteIf(ctx, key, store.Cond{"shop_id": sh.ID})
			return err
		})
		if err := u.Do(ctx, "shop "+sh.ID, func(ctx context.Context) error { return s.shops.InsertOne(ctx, sh) },
			func(ctx context.Context) error { _, err := s.shops.DeleteOne(ctx, bson.M{"_id": sh.ID}); return err }); err != nil {
			return err
		}
		if err := s.incUndo(ctx, u, s.counters, totalsDoc, map[string]int64{"shops": 1}); err != nil {
			return err
		}
		if err := s.incUndo(ctx, u, s.counters, monthDoc(monthPart(sh.OpenedOn), twp), map[string]int64{"shops_opened": 1}); err != nil {
			return err
		}
		_, err = s.count(ctx, u, StepShopOpened, sh.Trainee)
		return err
	})
	if err != nil {
		return nil, err
	}
	sh.Status = sh.status(clock.Month(s.now()))
	s.audit(ctx, p, "shop.create", sh.ID, map[string]any{"trainee_id": t.ID, "url": sh.URL})
	return sh, nil
}

// Shop returns one shop with its status.
func (s *Service) Shop(ctx context.Context, id string) (*Shop, error) {
	var sh Shop
	if err := s.shops.Get(ctx, id, &sh); err != nil {
		if store.IsNotFound(err) {
			return nil, server.NotFound("网店不存在")
		}
		return nil, err
	}
	sh.Status = sh.status(clock.Month(s.now()))
	return &sh, nil
}

// ShopQuery selects shops.
type ShopQuery struct {
	TownshipID string
	TraineeID  string
	Platform   string
	Status     string
}

// Shops lists shops, newest first.
func (s *Service) Shops(ctx context.Context, q ShopQuery) ([]Shop, error) {
	f := bson.M{}
	if q.TownshipID != "" {
		f["township_id"] = q.TownshipID
	}
	if q.TraineeID != "" {
		f["trainee_id"] = q.TraineeID
	}
	if q.Platform != "" {
		f["platform"] = q.Platform
	}
	var all []Shop
	if err := s.shops.Find(ctx, f, &all, options.Find().SetSort(bson.D{{Key: "created_at", Value: -1}})); err != nil {
		return nil, err
	}
	cur := clock.Month(s.now())
	out := make([]Shop, 0, len(all))
	for _, sh := range all {
		sh.Status = sh.status(cur)
		if q.Status == "" || q.Status == sh.Status {
			out = append(out, sh)
		}
	}
	return out, nil
}

// CloseShop marks a shop closed (or, with closed false, open again).
func (s *Service) CloseShop(ctx context.Context, p *server.Principal, id string, closed bool, on string) (*Shop, error) {
	if on == "" {
		on = clock.Day(s.now())
	}
	if !validDay(on) || on > clock.Day(s.now()) {
		return nil, server.Invalid("关闭日期格式错误或晚于今天", "closed_on", "日期错误")
	}
	sh, err := s.Shop(ctx, id)
	if err != nil {
		return nil, err
	}
	if !p.SeesTownship(sh.TownshipID) {
		return nil, server.Forbidden("该网店不在您负责的乡镇")
	}
	upd := bson.M{"$set": bson.M{"closed": true, "closed_on": on}}
	if !closed {
		upd = bson.M{"$unset": bson.M{"closed": "", "closed_on": ""}}
	}
	if _, err := s.shops.UpdateOne(ctx, bson.M{"_id": id}, upd); err != nil {
		return nil, err
	}
	s.audit(ctx, p, "shop.close", id, map[string]any{"closed": closed, "on": on})
	return s.Shop(ctx, id)
}
