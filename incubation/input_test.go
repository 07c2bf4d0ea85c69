package incubation

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/server"
	"nongxun/testkit"
)

// snapshot is what a refused request must leave unchanged.
type snapshot struct {
	shops, sales, hist, followups, tasks, marks int64
	counters                                    string
}

func (e *env) snap() snapshot {
	e.T.Helper()
	var s snapshot
	count := func(c interface{ Name() string }) int64 {
		n, err := e.Store.Database().Collection(c.Name()).CountDocuments(e.Ctx, bson.M{})
		if err != nil {
			e.T.Fatal(err)
		}
		return n
	}
	s.shops, s.hist = count(e.svc.shops), count(e.svc.salesHist)
	var shops []Shop
	if err := e.svc.shops.Find(e.Ctx, bson.M{}, &shops); err != nil {
		e.T.Fatal(err)
	}
	for _, sh := range shops {
		s.sales += int64(len(sh.Months))
		for _, r := range sh.Months {
			s.sales += r.Orders*1000003 + r.RevenueFen
		}
	}
	s.followups, s.tasks = count(e.svc.followups), count(e.svc.tasks)
	for _, step := range allMarkSteps {
		s.marks += count(e.svc.markColl(step))
	}
	var docs, funnels []bson.M
	if err := e.svc.counters.Find(e.Ctx, bson.M{}, &docs); err != nil {
		e.T.Fatal(err)
	}
	if err := e.svc.funnel.Find(e.Ctx, bson.M{}, &funnels); err != nil {
		e.T.Fatal(err)
	}
	docs = append(docs, funnels...)
	flat := map[string]int64{}
	for _, d := range docs {
		flatten(d["_id"].(string), d, flat)
	}
	s.counters = bsonString(flat)
	return s
}

func bsonString(m map[string]int64) string { return fmt.Sprint(m) } // fmt sorts map keys

// TestBadInput: every refused request answers with the API error and writes nothing.
func TestBadInput(t *testing.T) {
	e := newEnv(t)
	a := e.trainee(0, 0)
	far := e.trainee(1, 0)
	shop := e.shop(a)
	e.sale(shop, "2019-05", 5, 5000).Want(t, 201)
	sh, err := e.svc.Shop(e.Ctx, shop)
	if err != nil {
		t.Fatal(err)
	}
	respelled := "HTTP://WWW." + strings.TrimSuffix(strings.TrimPrefix(sh.URL, "https://"), "/") + "#top"
	farShop := e.shop(far)
	closed := e.shop(a)
	e.Do(e.Admin, "POST", "/api/v1/shops/"+closed+"/close", map[string]any{"closed_on": "2019-05-31"}).Want(t, 200)
	now := e.clock.now().Format(time.RFC3339)
	trainee := e.NewCaller(server.RoleTrainee, "")
	a2 := e.trainees.add(Trainee{Name: "自己", RegionID: a.RegionID, TownshipID: a.TownshipID, UserID: trainee.User.ID})

	shopBody := func(mod func(m map[string]any)) map[string]any {
		m := map[string]any{"trainee_id": a.ID, "platform": "jd", "name": "店", "url": "https://mall.jd.com/index-1.html", "opened_on": "2019-03-01"}
		mod(m)
		return m
	}
	cases := []struct {
		name   string
		caller *testkit.Caller
		method string
		path   string
		body   any
		status int
		field  string
	}{
		{"future month", e.Admin, "POST", "/api/v1/shops/" + shop + "/sales", map[string]any{"month": "2019-07", "orders": 1, "revenue_fen": 1}, 400, "month"},
		{"bad month", e.Admin, "POST", "/api/v1/shops/" + shop + "/sales", map[string]any{"month": "2019-13", "orders": 1, "revenue_fen": 1}, 400, "month"},
		{"month before opening", e.Admin, "POST", "/api/v1/shops/" + shop + "/sales", map[string]any{"month": "2018-12", "orders": 1, "revenue_fen": 1}, 400, "month"},
		{"negative orders", e.Admin, "POST", "/api/v1/shops/" + shop + "/sales", map[string]any{"month": "2019-05", "orders": -1, "revenue_fen": 1}, 400, "orders"},
		{"negative revenue", e.Admin, "POST", "/api/v1/shops/" + shop + "/sales", map[string]any{"month": "2019-05", "orders": 1, "revenue_fen": -100}, 400, "revenue_fen"},
		{"missing revenue", e.Admin, "POST", "/api/v1/shops/" + shop + "/sales", map[string]any{"month": "2019-05", "orders": 1}, 400, "revenue_fen"},
		{"revenue as text", e.Admin, "POST", "/api/v1/shops/" + shop + "/sales", map[string]any{"month": "2019-05", "orders": 1, "revenue_fen": "100"}, 400, "revenue_fen"},
		{"fractional orders", e.Admin, "POST", "/api/v1/shops/" + shop + "/sales", `{"month":"2019-05","orders":1.5,"revenue_fen":1}`, 400, "orders"},
		{"malformed shop id", e.Admin, "POST", "/api/v1/shops/xyz/sales", map[string]any{"month": "2019-05", "orders": 1, "revenue_fen": 1}, 400, "id"},
		{"unknown shop", e.Admin, "POST", "/api/v1/shops/" + a.ID + "/sales", map[string]any{"month": "2019-05", "orders": 1, "revenue_fen": 1}, 404, ""},
		{"sales after closing", e.Admin, "POST", "/api/v1/shops/" + closed + "/sales", map[string]any{"month": "2019-06", "orders": 1, "revenue_fen": 1}, 409, ""},
		{"officer, other township's shop", e.officer, "POST", "/api/v1/shops/" + farShop + "/sales", map[string]any{"month": "2019-05", "orders": 1, "revenue_fen": 1}, 403, ""},
		{"trainee, someone else's shop", trainee, "POST", "/api/v1/shops/" + shop + "/sales", map[string]any{"month": "2019-05", "orders": 1, "revenue_fen": 1}, 403, ""},
		{"auditor reports", e.NewCaller(server.RoleAuditor, ""), "POST", "/api/v1/shops/" + shop + "/sales", map[string]any{"month": "2019-05", "orders": 1, "revenue_fen": 1}, 403, ""},

		{"unknown platform", e.Admin, "POST", "/api/v1/shops", shopBody(func(m map[string]any) { m["platform"] = "amazon" }), 400, "platform"},
		{"url without scheme", e.Admin, "POST", "/api/v1/shops", shopBody(func(m map[string]any) { m["url"] = "mall.jd.com/x" }), 400, "url"},
		{"url javascript", e.Admin, "POST", "/api/v1/shops", shopBody(func(m map[string]any) { m["url"] = "javascript:alert(1)" }), 400, "url"},
		{"url with spaces", e.Admin, "POST", "/api/v1/shops", shopBody(func(m map[string]any) { m["url"] = "https://a b.com/" }), 400, "url"},
		{"url no host", e.Admin, "POST", "/api/v1/shops", shopBody(func(m map[string]any) { m["url"] = "https:///path" }), 400, "url"},
		{"url bare word host", e.Admin, "POST", "/api/v1/shops", shopBody(func(m map[string]any) { m["url"] = "http://localhost/" }), 400, "url"},
		{"missing url", e.Admin, "POST", "/api/v1/shops", shopBody(func(m map[string]any) { delete(m, "url") }), 400, "url"},
		{"unknown trainee", e.Admin, "POST", "/api/v1/shops", shopBody(func(m map[string]any) { m["trainee_id"] = shop }), 400, "trainee_id"},
		{"malformed trainee", e.Admin, "POST", "/api/v1/shops", shopBody(func(m map[string]any) { m["trainee_id"] = "x" }), 400, "trainee_id"},
		{"future opening", e.Admin, "POST", "/api/v1/shops", shopBody(func(m map[string]any) { m["opened_on"] = "2019-07-01" }), 400, "opened_on"},
		{"village is a township", e.Admin, "POST", "/api/v1/shops", shopBody(func(m map[string]any) { m["village_id"] = a.TownshipID }), 400, "village_id"},
		{"unknown product", e.Admin, "POST", "/api/v1/shops", shopBody(func(m map[string]any) { m["products"] = []string{shop} }), 400, "products"},
		{"same url", e.Admin, "POST", "/api/v1/shops", shopBody(func(m map[string]any) { m["url"] = sh.URL }), 409, ""},
		{"same url, other spelling", e.Admin, "POST", "/api/v1/shops", shopBody(func(m map[string]any) { m["url"] = respelled }), 409, ""},
		{"officer, other township's trainee", e.officer1, "POST", "/api/v1/shops", shopBody(func(m map[string]any) {}), 403, ""},
		{"trainee, someone else's shop", trainee, "POST", "/api/v1/shops", shopBody(func(m map[string]any) {}), 403, ""},
		{"station user", e.NewCaller(server.RoleStation, ""), "POST", "/api/v1/shops", shopBody(func(m map[string]any) {}), 403, ""},

		{"officer follows up another township", e.officer1, "POST", "/api/v1/followups", map[string]any{"trainee_id": a.ID, "contacted_at": now, "method": "phone"}, 403, ""},
		{"follow-up unknown trainee", e.trainer, "POST", "/api/v1/followups", map[string]any{"trainee_id": shop, "contacted_at": now, "method": "phone"}, 400, "trainee_id"},
		{"follow-up bad method", e.trainer, "POST", "/api/v1/followups", map[string]any{"trainee_id": a.ID, "contacted_at": now, "method": "fax"}, 400, "method"},
		{"follow-up in the future", e.trainer, "POST", "/api/v1/followups", map[string]any{"trainee_id": a.ID, "contacted_at": "2019-08-01T00:00:00Z", "method": "visit"}, 400, "contacted_at"},
		{"follow-up bad time", e.trainer, "POST", "/api/v1/followups", map[string]any{"trainee_id": a.ID, "contacted_at": "昨天", "method": "visit"}, 400, "contacted_at"},
		{"follow-up unknown task", e.officer, "POST", "/api/v1/followups", map[string]any{"trainee_id": a.ID, "contacted_at": now, "method": "visit", "task_id": a.ID + "/30"}, 400, "task_id"},
		{"follow-up by a trainer not assigned", e.trainer, "POST", "/api/v1/followups", map[string]any{"trainee_id": a.ID, "contacted_at": now, "method": "visit"}, 403, ""},
		{"follow-up by a trainee", trainee, "POST", "/api/v1/followups", map[string]any{"trainee_id": a2.ID, "contacted_at": now, "method": "visit"}, 403, ""},
		{"not JSON", e.trainer, "POST", "/api/v1/followups", "{", 400, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := e.snap()
			r := e.Do(c.caller, c.method, c.path, c.body).Want(t, c.status)
			if c.field != "" {
				errBody, _ := r.JSON()["error"].(map[string]any)
				fields, _ := errBody["fields"].(map[string]any)
				if _, ok := fields[c.field]; !ok {
					t.Fatalf("no reason for field %s: %s", c.field, r.Body)
				}
			}
			if after := e.snap(); after != before {
				t.Fatalf("a refused request wrote:\n before %+v\n after  %+v", before, after)
			}
		})
	}
	e.recountOK()
}

// TestScopes: officers see their township only; trainees their own shops.
func TestScopes(t *testing.T) {
	e := newEnv(t)
	a := e.trainee(0, 0)
	b := e.trainee(1, 0)
	sa, sb := e.shop(a), e.shop(b)
	var list struct{ Shops []Shop }
	e.Do(e.officer, "GET", "/api/v1/shops?township_id="+b.TownshipID, nil).Want(t, 200).Decode(t, &list)
	if len(list.Shops) != 1 || list.Shops[0].ID != sa {
		t.Fatalf("officer list: %+v", list.Shops)
	}
	e.Do(e.officer, "GET", "/api/v1/shops/"+sb, nil).Want(t, 403)
	e.Do(e.officer, "GET", "/api/v1/followups?trainee_id="+b.ID, nil).Want(t, 403)
	e.Do(e.trainer, "GET", "/api/v1/followups/tasks?scope=all", nil).Want(t, 403)

	me := e.NewCaller(server.RoleTrainee, "")
	mine := e.trainees.add(Trainee{Name: "我", RegionID: a.RegionID, TownshipID: a.TownshipID, UserID: me.User.ID})
	r := e.Do(me, "POST", "/api/v1/shops", map[string]any{"platform": "douyin", "name": "我的抖店", "url": "https://v.douyin.com/abc/", "opened_on": "2019-06-01"}).Want(t, 201)
	id := r.JSON()["id"].(string)
	e.Do(me, "GET", "/api/v1/shops", nil).Want(t, 200).Decode(t, &list)
	if len(list.Shops) != 1 || list.Shops[0].ID != id || list.Shops[0].TraineeID != mine.ID {
		t.Fatalf("trainee list: %+v", list.Shops)
	}
	e.Do(me, "POST", "/api/v1/shops/"+id+"/sales", map[string]any{"month": "2019-06", "orders": 3, "revenue_fen": 9900}).Want(t, 201)
	e.Do(me, "GET", "/api/v1/shops/"+sa, nil).Want(t, 403)
	e.Do(me, "GET", "/api/v1/conversion", nil).Want(t, 403)
}

// TestTasks: scheduling is idempotent, due lists are per user, recording
// closes the earliest due task, "done": false keeps it open.
func TestTasks(t *testing.T) {
	e := newEnv(t)
	a := e.trainee(0, 0)
	if n, err := e.svc.Schedule(e.Ctx, a.ID, "c1", "course_finished", start); err != nil || n != 3 {
		t.Fatalf("scheduled %d (%v)", n, err)
	}
	if n, _ := e.svc.Schedule(e.Ctx, a.ID, "c2", "course_finished", start); n != 0 {
		t.Fatalf("a second course scheduled %d more", n)
	}
	e.clock.set(start.AddDate(0, 0, 95))
	var due struct{ Tasks []Task }
	e.Do(e.trainer, "GET", "/api/v1/followups/tasks", nil).Want(t, 200).Decode(t, &due)
	if len(due.Tasks) != 2 || due.Tasks[0].Days != 30 || due.Tasks[1].Days != 90 {
		t.Fatalf("due: %+v", due.Tasks)
	}
	e.Do(e.officer, "GET", "/api/v1/followups/tasks", nil).Want(t, 200).Decode(t, &due)
	if len(due.Tasks) != 0 {
		t.Fatalf("officer's own list: %+v", due.Tasks)
	}
	e.Do(e.officer, "GET", "/api/v1/followups/tasks?scope=all", nil).Want(t, 200).Decode(t, &due)
	if len(due.Tasks) != 2 {
		t.Fatalf("officer's township list: %+v", due.Tasks)
	}
	e.Do(e.officer1, "GET", "/api/v1/followups/tasks?scope=all", nil).Want(t, 200).Decode(t, &due)
	if len(due.Tasks) != 0 {
		t.Fatalf("other township's list: %+v", due.Tasks)
	}
	now := e.clock.now().Format(time.RFC3339)
	// Not reached: the task stays open, one attempt noted.
	e.Do(e.trainer, "POST", "/api/v1/followups", map[string]any{"trainee_id": a.ID, "contacted_at": now, "method": "phone", "done": false}).Want(t, 201)
	e.Do(e.trainer, "GET", "/api/v1/followups/tasks", nil).Want(t, 200).Decode(t, &due)
	if len(due.Tasks) != 2 || due.Tasks[0].Attempts != 1 {
		t.Fatalf("after an attempt: %+v", due.Tasks)
	}
	e.Do(e.trainer, "POST", "/api/v1/followups", map[string]any{"trainee_id": a.ID, "contacted_at": now, "method": "visit", "task_id": a.ID + "/90"}).Want(t, 201)
	e.Do(e.trainer, "POST", "/api/v1/followups", map[string]any{"trainee_id": a.ID, "contacted_at": now, "method": "visit", "task_id": a.ID + "/90"}).Want(t, 409)
	e.Do(e.trainer, "GET", "/api/v1/followups/tasks", nil).Want(t, 200).Decode(t, &due)
	if len(due.Tasks) != 1 || due.Tasks[0].Days != 30 {
		t.Fatalf("after closing +90: %+v", due.Tasks)
	}
	var hist struct {
		Followups []Followup
		Tasks     []Task
	}
	e.Do(e.officer, "GET", "/api/v1/followups?trainee_id="+a.ID, nil).Want(t, 200).Decode(t, &hist)
	if len(hist.Followups) != 2 || len(hist.Tasks) != 3 {
		t.Fatalf("history: %d follow-ups, %d tasks", len(hist.Followups), len(hist.Tasks))
	}
	figs, _ := e.svc.MonthlyFigures(e.Ctx, "2019-09")
	if figs[a.TownshipID]["followups"] != 2 {
		t.Fatalf("monthly follow-ups: %v", figs)
	}
	if c := e.conversion(e.Admin, ""); c.FollowedUp != 1 {
		t.Fatalf("followed up %d, want 1", c.FollowedUp)
	}
	e.recountOK()
}
