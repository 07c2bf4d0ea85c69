package demo

import (
	"context"
	"fmt"
	"sort"
	"time"

	"nongxun/clock"
)

// loadRegistry runs the incubation cohorts (the best shops admitted,
// licences noted, the first cohort's best graduating), and records the
// county's leading enterprises and local brands.
func (l *loader) loadRegistry(ctx context.Context) error {
	r := l.rand("registry")
	start := l.programmeStart()
	ranked := append([]*shop{}, l.shops...)
	sort.SliceStable(ranked, func(i, j int) bool { return ranked[i].Recent > ranked[j].Recent })
	used := map[*shop]bool{}
	cohorts := []struct {
		name       string
		from, to   time.Time
		line       int64
		n          int
		graduate   int
		mentorNote string
	}{
		{"第一期电商创业孵化班", start.AddDate(0, 4, 0), start.AddDate(0, 10, -1), 800000, l.scale(8, 2), l.scale(3, 1), "每月一次集中辅导，导师一对一"},
		{"第二期电商创业孵化班", start.AddDate(0, 9, 0), start.AddDate(0, 15, -1), 1000000, l.scale(10, 2), 0, "以直播带货为主"},
	}
	members := 0
	for _, co := range cohorts {
		if co.from.After(l.now) {
			continue
		}
		name := fmt.Sprintf("%d 年%s%s", co.from.Year(), co.name, demoMark)
		in := map[string]any{"name": name, "starts_on": clock.Day(co.from), "ends_on": clock.Day(co.to),
			"mentors": []string{marked(trainerNames[0]), "县电商公共服务中心运营团队"}, "revenue_line_fen": co.line, "note": co.mentorNote}
		var out struct {
			ID string `json:"id"`
		}
		if err := l.admin.must("建立孵化批次", "POST", "/cohorts", in, &out); err != nil {
			return err
		}
		admitted := 0
		for _, sh := range ranked {
			if admitted >= co.n {
				break
			}
			if used[sh] || sh.Enterprise > 0 || !sh.Closed.IsZero() || sh.Opened.After(co.from.AddDate(0, 1, 0)) || len(sh.Sales) == 0 {
				continue
			}
			on := co.from
			if sh.Opened.After(on) {
				on = sh.Opened
			}
			if err := l.admin.must("入孵 "+sh.Name, "POST", "/cohorts/"+out.ID+"/members", map[string]any{"shop_id": sh.ID, "admitted_on": clock.Day(on)}, nil); err != nil {
				return err
			}
			used[sh] = true
			admitted++
			if lic := on.AddDate(0, 0, 20+r.IntN(40)); admitted%2 == 1 && lic.Before(l.today()) {
				in := map[string]any{"kind": "licence", "on": clock.Day(lic), "note": "办理个体工商户营业执照"}
				if err := l.admin.must("登记营业执照", "POST", "/cohorts/"+out.ID+"/members/"+sh.ID+"/milestones", in, nil); err != nil {
					return err
				}
			}
			if admitted <= co.graduate && co.to.Before(l.today()) {
				if err := l.admin.must("结业 "+sh.Name, "POST", "/cohorts/"+out.ID+"/members/"+sh.ID+"/graduate", map[string]any{"on": clock.Day(co.to)}, nil); err != nil {
					return err
				}
			}
		}
		members += admitted
	}
	ne, nb, err := l.loadEnterprises(ranked)
	if err != nil {
		return err
	}
	l.say("        孵化批次 %d 个，入孵网店 %d 家；龙头企业 %d 家，地方品牌 %d 个", len(cohorts), members, ne, nb)
	l.count("入孵网店", members)
	return nil
}

var enterprises = []struct {
	name, business, product string
	township                int
}{
	{"会泽县乌蒙高原农业开发有限公司", "马铃薯、荞麦种植加工与网络销售", "马铃薯", 8},
	{"会泽县娜姑石榴专业合作社联合社", "软籽石榴种植、分级包装与电商直供", "石榴", 3},
	{"会泽县金钟核桃产业有限公司", "核桃收购、加工与线上线下销售", "核桃", 2},
	{"会泽县者海辣椒食品有限公司", "辣椒制品加工、网店与直播销售", "辣椒", 7},
	{"会泽县大海草山乳业有限公司", "高原牛奶、奶酪生产与社区团购", "", 10},
}

var brands = []struct {
	name, product string
	certs         []string
	enterprise    int
}{
	{"会泽石榴", "石榴", []string{"geographical_indication", "green"}, 1},
	{"乌蒙洋芋", "马铃薯", []string{"pollution_free", "sc"}, 0},
	{"金钟核桃", "核桃", []string{"organic", "sc"}, 2},
}

// creditCode makes an 18-character unified social credit code of the
// county's form (91 + 530326 + ten characters).
func creditCode(n int) string {
	const alpha = "0123456789ABCDEFGHJKLMNPQRTUWXY"
	s := "91530326MA6"
	x := uint64(n)*2654435761 + 97
	for len(s) < 18 {
		s += string(alpha[x%uint64(len(alpha))])
		x /= uint64(len(alpha))
		x += 7919
	}
	return s
}

func (l *loader) loadEnterprises(ranked []*shop) (int, int, error) {
	start := l.programmeStart()
	ne := l.enterpriseCount()
	ids := make([]string, ne)
	for k := 0; k < ne; k++ {
		e := enterprises[k]
		var shopIDs []string
		for _, sh := range ranked {
			if sh.Enterprise == k+1 {
				shopIDs = append(shopIDs, sh.ID)
			}
		}
		for _, sh := range ranked { // and the trainees' shops it buys from
			if len(shopIDs) < 4 && sh.Enterprise == 0 && sh.Product == e.product && sh.Closed.IsZero() && e.product != "" {
				shopIDs = append(shopIDs, sh.ID)
			}
		}
		in := map[string]any{"name": marked(e.name), "credit_code": creditCode(k + 1), "township_id": l.townships[e.township].ID,
			"business": e.business, "recognized_on": clock.Day(start.AddDate(0, 3+2*k, 10)), "shop_ids": shopIDs,
			"note": "县级农村电子商务龙头企业（演示）"}
		if id := l.products[e.product]; id != "" {
			in["products"] = []string{id}
		}
		var out struct {
			ID string `json:"id"`
		}
		if err := l.admin.must("登记龙头企业 "+e.name, "POST", "/enterprises", in, &out); err != nil {
			return 0, 0, err
		}
		ids[k] = out.ID
	}
	nb := min(l.scale(3, 2), len(brands))
	for k := 0; k < nb; k++ {
		b := brands[k]
		in := map[string]any{"name": marked(b.name), "trademark_no": fmt.Sprint(30512300 + k*1117),
			"certifications": b.certs, "registered_on": clock.Day(start.AddDate(0, 4+2*k, 3)), "note": "地方公用品牌（演示）"}
		if b.enterprise < ne {
			in["enterprise_id"] = ids[b.enterprise]
		}
		if id := l.products[b.product]; id != "" {
			in["products"] = []string{id}
		}
		if err := l.admin.must("登记地方品牌 "+b.name, "POST", "/brands", in, nil); err != nil {
			return 0, 0, err
		}
	}
	l.count("龙头企业", ne)
	l.count("地方品牌", nb)
	return ne, nb, nil
}
