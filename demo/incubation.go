package demo

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"nongxun/clock"
)

// shop is a certified trainee's online shop and its monthly sales.
type shop struct {
	ID       string
	Person   int
	Platform string
	Name     string
	URL      string
	Opened   time.Time
	Product  string // main product (a product of the county's list), "" for others
	Main     string
	Sales    []sale
	Closed   time.Time
	Recent   int64 // revenue of the last three reported months (fen), to rank shops
	// Enterprise is 1 + the index of the leading enterprise whose shop it is (0: none).
	Enterprise int
}

type sale struct {
	Month   string
	Orders  int64
	Revenue int64 // fen
}

type followup struct {
	Person     int
	At         time.Time
	Method     string
	ShopOpened bool
	Note       string
	Obstacles  []string
	Help       []string
}

var (
	platforms = []struct {
		key string
		w   int
	}{{"pinduoduo", 24}, {"taobao", 20}, {"wechat", 20}, {"douyin", 18}, {"kuaishou", 8}, {"jd", 4}, {"tmall", 2}, {"own", 2}, {"other", 2}}
	mainProducts = []struct {
		name, main string
		w          int
	}{{"石榴", "会泽软籽石榴", 35}, {"马铃薯", "高原马铃薯、洋芋片", 20}, {"核桃", "核桃、核桃仁", 20}, {"辣椒", "干辣椒、油辣子", 15}, {"", "荞麦、苦荞茶", 10}}
	shopStyles = []string{"%s家%s小店", "%s%s直供", "乌蒙%s·%s坊", "%s记%s"}
	obstacles  = []string{"缺少启动资金", "不会拍产品照片", "物流成本高", "货源不稳定", "不懂平台规则", "家里农活忙"}
	helps      = []string{"产品拍摄指导", "小额贷款", "包装设计", "对接快递", "直播间设备"}
)

func (l *loader) pickPlatform(r *rand.Rand) string {
	w := make([]int, len(platforms))
	for i, p := range platforms {
		w[i] = p.w
	}
	return platforms[pick(r, w)].key
}

// planIncubation decides, for each certified trainee, the follow-ups, who
// opened a shop (some had one before the programme) and the shops' sales:
// growing month on month, a harvest-season peak, some going quiet.
func (l *loader) planIncubation() []followup {
	r := l.rand("incubation")
	var people []int
	for i := range l.certs {
		people = append(people, i)
	}
	sort.Ints(people)
	var fus []followup
	nowLim := l.now.Add(-2 * time.Hour)
	start := l.programmeStart()
	for _, i := range people {
		c := l.certs[i]
		p := l.people[i]
		first := c.Ended.AddDate(0, 0, 15+r.IntN(30)).Add(jitter(r, 300))
		if first.After(nowLim) || r.IntN(100) >= 66 {
			continue
		}
		f := followup{Person: i, At: first, Method: []string{"phone", "phone", "wechat", "visit"}[r.IntN(4)]}
		wantsShop := r.IntN(100) < 34
		if wantsShop {
			sh := &shop{Person: i, Platform: l.pickPlatform(r)}
			mp := make([]int, len(mainProducts))
			for k, x := range mainProducts {
				mp[k] = x.w
			}
			m := mainProducts[pick(r, mp)]
			sh.Product, sh.Main = m.name, m.main
			label := m.name
			if label == "" {
				label = "苦荞"
			}
			style := shopStyles[r.IntN(len(shopStyles))]
			who := []rune(unmarked(p.Name))[:1]
			if style == shopStyles[1] {
				who = []rune(strings.TrimSuffix(unmarked(l.villages[p.Village].Name), "村"))
			}
			sh.Name = marked(fmt.Sprintf(style, string(who), label))
			if old := hasGroup(p.Groups, "returnee_graduate") || hasGroup(p.Groups, "returnee_worker"); old && r.IntN(100) < 40 {
				sh.Opened = start.AddDate(0, 0, -60-r.IntN(240)) // had a shop before the programme
			} else {
				sh.Opened = c.Ended.AddDate(0, 0, 5+r.IntN(40))
			}
			if sh.Opened.After(nowLim) {
				sh = nil
			} else {
				sh.URL = fmt.Sprintf("https://%s.example.com/demo/shop/%04d", sh.Platform, len(l.shops)+1)
				model := newShopModel(r)
				if sh.Opened.Before(start) {
					model = salesModel{base: 1500 + r.Float64()*2500, g: 0.02 + r.Float64()*0.02} // an older, steadier shop
				}
				l.planSales(r, sh, model)
				l.shops = append(l.shops, sh)
				f.ShopOpened = !sh.Opened.After(f.At)
			}
		}
		switch {
		case f.ShopOpened:
			f.Note = "已开店，正在上架产品，下月再回访销售情况"
		case wantsShop:
			f.Note = "准备开店，已注册平台账号"
			f.Help = []string{helps[r.IntN(len(helps))]}
		default:
			f.Note = "暂未开店"
			f.Obstacles = []string{obstacles[r.IntN(len(obstacles))]}
			if r.IntN(2) == 0 {
				f.Help = []string{helps[r.IntN(len(helps))]}
			}
		}
		fus = append(fus, f)
		// Shop owners are visited again a few months on.
		if len(l.shops) > 0 && l.shops[len(l.shops)-1].Person == i {
			if again := first.AddDate(0, 0, 60+r.IntN(40)); again.Before(nowLim) {
				fus = append(fus, followup{Person: i, At: again, Method: "visit", ShopOpened: true, Note: "网店经营正常，已有回头客"})
			}
		}
	}
	return l.enterpriseShops(r, fus)
}

// salesModel is how a shop's monthly revenue goes: base yuan in its
// first full month, growing g a month.
type salesModel struct{ base, g float64 }

// newShopModel is a trainee's new shop: small, growing fast.
func newShopModel(r *rand.Rand) salesModel {
	return salesModel{base: 300 + r.Float64()*1200, g: 0.04 + r.Float64()*0.06}
}

// planSales makes a shop's monthly reports from its opening month (or
// January of last year, when reports began) to last month, and this
// month for some: growing month on month, higher in the harvest months
// and at the Spring Festival; a few new shops go quiet.
func (l *loader) planSales(r *rand.Rand, sh *shop, m salesModel) {
	cur := clock.Month(l.now)
	first := fmt.Sprintf("%d-01", l.now.In(clock.Shanghai).Year()-1)
	price := 35 + r.Float64()*55
	quiet := ""
	if sh.Opened.After(l.programmeStart()) && r.IntN(100) < 16 {
		q := sh.Opened.AddDate(0, 2+r.IntN(4), 0)
		if lim := l.now.AddDate(0, -4, 0); q.After(lim) {
			q = lim
		}
		if !q.Before(sh.Opened) {
			quiet = clock.Month(q) // stops reporting after this month
		}
	}
	k := 0
	for mo := clock.Month(sh.Opened); mo <= cur; mo, k = clock.NextMonth(mo), k+1 {
		if quiet != "" && mo > quiet {
			break
		}
		if mo < first {
			continue
		}
		if mo == cur && r.IntN(100) >= 40 {
			break // this month's report not in yet
		}
		mt, _ := clock.ParseMonth(mo)
		season := 1.0
		switch mt.Month() {
		case time.September, time.October, time.November:
			if sh.Product == "石榴" {
				season = 1.6
			} else {
				season = 1.15
			}
		case time.January:
			season = 1.25 // Spring Festival gifts
		case time.February:
			season = 0.8
		}
		rev := m.base * math.Pow(1+m.g, float64(k)) * season * (0.85 + 0.3*r.Float64())
		if k == 0 {
			rev *= 0.4 // the first month is a part month
		}
		if mo == cur {
			rev *= 0.1
		}
		y := int64(rev)
		sh.Sales = append(sh.Sales, sale{Month: mo, Orders: int64(float64(y)/price) + 1, Revenue: y * yuan})
	}
	for _, s := range sh.Sales[max(0, len(sh.Sales)-3):] {
		sh.Recent += s.Revenue
	}
	if quiet != "" && r.IntN(3) == 0 {
		qt, _ := clock.ParseMonth(quiet)
		if c := qt.AddDate(0, 2, 10); c.Before(l.today()) {
			sh.Closed = c
		}
	}
}

// enterpriseShops gives each leading enterprise its flagship shop, run
// for a few years by a trainee who took a course this year (the county's
// e-commerce sales were not zero before the programme: these carry last
// year's base that growth is measured against).
func (l *loader) enterpriseShops(r *rand.Rand, fus []followup) []followup {
	has := map[int]bool{}
	for _, sh := range l.shops {
		has[sh.Person] = true
	}
	followed := map[int]bool{}
	for _, f := range fus {
		followed[f.Person] = true
	}
	var people []int
	for i := range l.certs {
		people = append(people, i)
	}
	sort.Ints(people)
	for k := 0; k < l.enterpriseCount(); k++ {
		e := enterprises[k]
		owner := -1
		for _, i := range people {
			if !has[i] && (owner < 0 || l.people[i].Township == e.township && l.people[owner].Township != e.township) {
				owner = i
			}
		}
		if owner < 0 {
			break
		}
		has[owner] = true
		c := l.certs[owner]
		sh := &shop{Person: owner, Platform: []string{"tmall", "jd", "taobao", "pinduoduo", "douyin"}[k%5], Product: e.product,
			Name: marked(strings.TrimPrefix(e.name, "会泽县") + "官方店"), Main: e.business, Enterprise: k + 1,
			Opened: l.programmeStart().AddDate(-2, r.IntN(6), 0)}
		sh.URL = fmt.Sprintf("https://%s.example.com/demo/store/%02d", sh.Platform, k+1)
		l.planSales(r, sh, salesModel{base: 25000 + r.Float64()*60000, g: 0.022 + r.Float64()*0.012})
		l.shops = append(l.shops, sh)
		if !followed[owner] {
			at := c.Ended.AddDate(0, 0, 10)
			if at.After(l.now.Add(-2 * time.Hour)) {
				at = l.now.Add(-3 * time.Hour)
			}
			fus = append(fus, followup{Person: owner, At: at, Method: "visit", ShopOpened: true, Note: "企业网店负责人，培训后新增直播销售"})
		}
	}
	return fus
}

func (l *loader) enterpriseCount() int { return min(l.scale(4, 3), len(enterprises)) }

// loadIncubation records the follow-ups, the shops and their sales
// reports: the township's officer for their own trainees, the course's
// trainer or the office for the others.
func (l *loader) loadIncubation(ctx context.Context) error {
	fus := l.planIncubation()
	var done atomic.Int64
	who := func(i int) *actor {
		if o := l.officerOf(l.people[i].Township); o != nil {
			return o
		}
		return l.admin
	}
	err := parallel(l.workers, len(fus), func(k int) error {
		f := fus[k]
		by := who(f.Person) // the office calls the trainees of townships without an officer account
		in := map[string]any{"trainee_id": l.people[f.Person].ID, "contacted_at": rfc(f.At), "method": f.Method,
			"shop_opened": f.ShopOpened, "note": f.Note, "obstacles": f.Obstacles, "help_wanted": f.Help}
		if err := by.must("跟踪回访 "+l.people[f.Person].Name, "POST", "/followups", in, nil); err != nil {
			return err
		}
		l.progress("跟踪回访", int(done.Add(1)), len(fus))
		return nil
	})
	if err != nil {
		return err
	}
	if err := l.loadProducts(); err != nil {
		return err
	}
	reports := 0
	for _, sh := range l.shops {
		reports += len(sh.Sales)
	}
	done.Store(0)
	err = parallel(l.workers, len(l.shops), func(k int) error {
		sh := l.shops[k]
		p := l.people[sh.Person]
		by := who(sh.Person)
		in := map[string]any{"trainee_id": p.ID, "platform": sh.Platform, "name": sh.Name, "url": sh.URL,
			"opened_on": clock.Day(sh.Opened), "main_products": sh.Main}
		if id := l.products[sh.Product]; id != "" {
			in["products"] = []string{id}
		}
		var out struct {
			ID string `json:"id"`
		}
		if err := by.must("登记网店 "+sh.Name, "POST", "/shops", in, &out); err != nil {
			return err
		}
		sh.ID = out.ID
		for _, s := range sh.Sales {
			body := map[string]any{"month": s.Month, "orders": s.Orders, "revenue_fen": s.Revenue}
			if err := by.must(fmt.Sprintf("报送销售（%s %s）", sh.Name, s.Month), "POST", "/shops/"+sh.ID+"/sales", body, nil); err != nil {
				return err
			}
			l.progress("网店销售月报", int(done.Add(1)), reports)
		}
		if !sh.Closed.IsZero() {
			if err := l.admin.must("关闭网店", "POST", "/shops/"+sh.ID+"/close", map[string]any{"closed": true, "closed_on": clock.Day(sh.Closed)}, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	var conv struct {
		Trained    int `json:"trained"`
		Certified  int `json:"certified"`
		FollowedUp int `json:"followed_up"`
		ShopOpened int `json:"shop_opened"`
		Selling    int `json:"selling"`
	}
	if err := l.admin.must("读取转化漏斗", "GET", "/conversion", nil, &conv); err != nil {
		return err
	}
	l.say("        回访 %d 次，网店 %d 家，销售月报 %d 份；漏斗：培训 %d → 取证 %d → 回访 %d → 开店 %d → 在售 %d",
		len(fus), len(l.shops), reports, conv.Trained, conv.Certified, conv.FollowedUp, conv.ShopOpened, conv.Selling)
	l.count("跟踪回访", len(fus))
	l.count("网店", len(l.shops))
	l.count("销售月报", reports)
	return nil
}

// loadProducts reads the county's product list (石榴, 马铃薯, 核桃, 辣椒).
func (l *loader) loadProducts() error {
	var out struct {
		Products []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"products"`
	}
	if err := l.admin.must("读取产品名录", "GET", "/products", nil, &out); err != nil {
		return err
	}
	l.products = map[string]string{}
	for _, p := range out.Products {
		l.products[p.Name] = p.ID
	}
	return nil
}
