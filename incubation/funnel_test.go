package incubation

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/certificates"
)

func wantFunnel(t *testing.T, what string, got, want Funnel) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: funnel %+v, want %+v", what, got, want)
	}
}

// TestFullPath: trained → certified → followed up → shop → sales →
// cohort, through the API, with the funnel agreeing with a recount at
// every step and "selling" falling away as months pass.
func TestFullPath(t *testing.T) {
	e := newEnv(t)
	a := e.trainee(0, 0, "poverty", "woman")
	b := e.trainee(1, 0)
	e.trainees.train(a.ID)
	e.trainees.train(b.ID)
	twp := a.TownshipID

	// A certificate, delivered twice and alongside the course's end: one certified, three tasks.
	cert := certificates.Certificate{ID: "c1", TraineeID: a.ID, CourseID: "course1", IssuedAt: e.clock.now()}
	e.issued(cert)
	e.issued(cert)
	e.finished("course1", a.ID)
	var tasks []Task
	if err := e.svc.tasks.Find(e.Ctx, bson.M{"trainee_id": a.ID}, &tasks); err != nil || len(tasks) != 3 {
		t.Fatalf("tasks %d (%v), want 3", len(tasks), err)
	}
	wantFunnel(t, "certified", e.conversion(e.Admin, "").Funnel, Funnel{Trained: 2, Certified: 1})

	// Nothing due yet; 31 days on the +30 task is overdue on the trainer's list.
	var due struct{ Tasks []Task }
	e.Do(e.trainer, "GET", "/api/v1/followups/tasks", nil).Want(t, 200).Decode(t, &due)
	if len(due.Tasks) != 0 {
		t.Fatalf("due now: %d", len(due.Tasks))
	}
	e.clock.set(start.AddDate(0, 0, 31))
	e.Do(e.trainer, "GET", "/api/v1/followups/tasks", nil).Want(t, 200).Decode(t, &due)
	if len(due.Tasks) != 1 || !due.Tasks[0].Overdue || due.Tasks[0].Days != 30 || due.Tasks[0].AssigneeID != e.trainer.User.ID {
		t.Fatalf("due after 31 days: %+v", due.Tasks)
	}
	e.Do(e.trainer, "POST", "/api/v1/followups", map[string]any{"trainee_id": a.ID, "contacted_at": e.clock.now().Format(time.RFC3339),
		"method": "phone", "shop_opened": true, "obstacles": []string{"物流"}, "help_wanted": []string{"美工"}, "note": "已开淘宝店"}).Want(t, 201)
	e.Do(e.trainer, "GET", "/api/v1/followups/tasks", nil).Want(t, 200).Decode(t, &due)
	if len(due.Tasks) != 0 {
		t.Fatalf("the recorded task is still due: %+v", due.Tasks)
	}
	wantFunnel(t, "followed up", e.conversion(e.Admin, "").Funnel, Funnel{Trained: 2, Certified: 1, FollowedUp: 1})

	shop := e.shop(a)
	e.shop(a) // a second shop of the same trainee counts once
	wantFunnel(t, "shop", e.conversion(e.Admin, "").Funnel, Funnel{Trained: 2, Certified: 1, FollowedUp: 1, ShopOpened: 1})

	e.sale(shop, "2019-07", 12, 345600).Want(t, 201)
	wantFunnel(t, "selling", e.conversion(e.Admin, "").Funnel, Funnel{Trained: 2, Certified: 1, FollowedUp: 1, ShopOpened: 1, Selling: 1})

	co := e.Do(e.Admin, "POST", "/api/v1/cohorts", map[string]any{"name": "2019 第一期", "starts_on": "2019-07-01", "ends_on": "2019-12-31",
		"mentors": []string{"张老师"}, "revenue_line_fen": 300000}).Want(t, 201).JSON()["id"].(string)
	e.Do(e.Admin, "POST", "/api/v1/cohorts/"+co+"/members", map[string]any{"shop_id": shop}).Want(t, 201)
	e.Do(e.Admin, "POST", "/api/v1/cohorts/"+co+"/members", map[string]any{"shop_id": shop}).Want(t, 409)
	all := Funnel{Trained: 2, Certified: 1, FollowedUp: 1, ShopOpened: 1, Selling: 1, Incubated: 1}
	one := Funnel{Trained: 1, Certified: 1, FollowedUp: 1, ShopOpened: 1, Selling: 1, Incubated: 1}
	conv := e.conversion(e.Admin, "")
	wantFunnel(t, "incubated", conv.Funnel, all)
	wantFunnel(t, "by township", conv.ByTownship[twp], one)
	wantFunnel(t, "other township", conv.ByTownship[b.TownshipID], Funnel{Trained: 1})
	wantFunnel(t, "poverty", conv.ByGroup["poverty"], one)
	offConv := e.conversion(e.officer, "?township_id="+b.TownshipID)
	wantFunnel(t, "officer", offConv.Funnel, one)
	wantFunnel(t, "officer by group", offConv.ByGroup["woman"], one)
	if len(offConv.ByTownship) != 1 {
		t.Fatalf("officer sees townships %v", offConv.ByTownship)
	}
	wantFunnel(t, "other officer", e.conversion(e.officer1, "").Funnel, Funnel{Trained: 1})
	e.recountOK()

	// Automatic milestones: first order and the revenue line (345,600 ≥ 300,000 fen).
	var got struct{ Members []Member }
	e.Do(e.Admin, "GET", "/api/v1/cohorts/"+co, nil).Want(t, 200).Decode(t, &got)
	if len(got.Members) != 1 || !got.Members[0].has("first_order") || !got.Members[0].has("revenue_line") || got.Members[0].has("orders_100") {
		t.Fatalf("milestones: %+v", got.Members)
	}
	e.Do(e.Admin, "POST", "/api/v1/cohorts/"+co+"/members/"+shop+"/milestones", map[string]any{"kind": "licence", "on": "2019-07-10"}).Want(t, 201)
	e.Do(e.Admin, "POST", "/api/v1/cohorts/"+co+"/members/"+shop+"/milestones", map[string]any{"kind": "licence", "on": "2019-07-10"}).Want(t, 409)
	e.Do(e.Admin, "POST", "/api/v1/cohorts/"+co+"/members/"+shop+"/graduate", map[string]any{"on": "2019-07-16"}).Want(t, 200)
	e.Do(e.Admin, "POST", "/api/v1/cohorts/"+co+"/members/"+shop+"/graduate", map[string]any{"on": "2019-07-16"}).Want(t, 409)

	// The lists behind the steps.
	var step struct{ Trainees []StepTrainee }
	e.Do(e.Admin, "GET", "/api/v1/conversion/steps/selling?group=poverty", nil).Want(t, 200).Decode(t, &step)
	if len(step.Trainees) != 1 || step.Trainees[0].TraineeID != a.ID || step.Trainees[0].Month != "2019-07" {
		t.Fatalf("selling list: %+v", step.Trainees)
	}
	e.Do(e.officer1, "GET", "/api/v1/conversion/steps/certified", nil).Want(t, 200).Decode(t, &step)
	if len(step.Trainees) != 0 {
		t.Fatalf("another township's officer sees %+v", step.Trainees)
	}

	// Three months with no sale: not selling, the shop dormant; counters still agree.
	e.clock.set(time.Date(2019, 10, 2, 2, 0, 0, 0, time.UTC))
	conv = e.conversion(e.Admin, "")
	wantFunnel(t, "months later", conv.Funnel, Funnel{Trained: 2, Certified: 1, FollowedUp: 1, ShopOpened: 1, Incubated: 1})
	sh, _ := e.svc.Shop(e.Ctx, shop)
	if sh.Status != ShopDormant {
		t.Fatalf("status %s, want dormant", sh.Status)
	}
	e.recountOK()
	// A late report for September brings it back.
	e.sale(shop, "2019-09", 3, 1000).Want(t, 201)
	wantFunnel(t, "late report", e.conversion(e.Admin, "").Funnel, all)
	// Replacing September with zero sales takes it out again: the last sale is July.
	e.sale(shop, "2019-09", 0, 0).Want(t, 201)
	wantFunnel(t, "zeroed", e.conversion(e.Admin, "").Funnel, Funnel{Trained: 2, Certified: 1, FollowedUp: 1, ShopOpened: 1, Incubated: 1})
	e.recountOK()
}

// TestRedeliveryConcurrent: hooks delivered many times at once count each trainee once.
func TestRedeliveryConcurrent(t *testing.T) {
	e := newEnv(t)
	var ts []*Trainee
	for i := 0; i < 5; i++ {
		ts = append(ts, e.trainee(i%3, 0, "poverty"))
	}
	var wg sync.WaitGroup
	for r := 0; r < 6; r++ {
		for _, tr := range ts {
			wg.Add(1)
			go func(tr *Trainee) {
				defer wg.Done()
				e.issued(certificates.Certificate{TraineeID: tr.ID, CourseID: "c", IssuedAt: start})
				e.finished("c", tr.ID)
			}(tr)
		}
	}
	wg.Wait()
	conv := e.conversion(e.Admin, "")
	if conv.Certified != 5 || conv.ByGroup["poverty"].Certified != 5 {
		t.Fatalf("certified %d (poverty %d), want 5", conv.Certified, conv.ByGroup["poverty"].Certified)
	}
	n, err := e.svc.tasks.Count(e.Ctx, bson.M{})
	if err != nil || n != 15 {
		t.Fatalf("tasks %d, want 15", n)
	}
	e.recountOK()
}

// TestParallelSalesHTTP: real parallel HTTP requests reporting one shop's
// month leave one current report, the rest in the history, and exact totals.
func TestParallelSalesHTTP(t *testing.T) {
	e := newEnv(t)
	a := e.trainee(0, 0)
	b := e.trainee(0, 1)
	shopA, shopB := e.shop(a), e.shop(b)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = e.App.Listener(ln) }()
	t.Cleanup(func() { _ = e.App.Shutdown() })
	base := "http://" + ln.Addr().String()

	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	post := func(shop string, i int) {
		defer wg.Done()
		body, _ := json.Marshal(map[string]any{"month": "2019-05", "orders": i, "revenue_fen": i * 1000})
		req, _ := http.NewRequest("POST", base+"/api/v1/shops/"+shop+"/sales", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+e.Admin.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			errs <- err
			return
		}
		resp.Body.Close()
		if resp.StatusCode != 201 {
			errs <- fmt.Errorf("status %d", resp.StatusCode)
		}
	}
	for i := 1; i <= n; i++ {
		wg.Add(2)
		go post(shopA, i)
		go post(shopB, i+100)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var curA, curB struct {
		Sales   []Sale
		History []Sale
	}
	e.Do(e.Admin, "GET", "/api/v1/shops/"+shopA+"/sales", nil).Want(t, 200).Decode(t, &curA)
	e.Do(e.Admin, "GET", "/api/v1/shops/"+shopB+"/sales", nil).Want(t, 200).Decode(t, &curB)
	if len(curA.Sales) != 1 || len(curA.History) != n-1 || curA.Sales[0].Version != n {
		t.Fatalf("shop A: %d current (version %d), %d history", len(curA.Sales), curA.Sales[0].Version, len(curA.History))
	}
	if len(curB.Sales) != 1 || len(curB.History) != n-1 {
		t.Fatalf("shop B: %d current, %d history", len(curB.Sales), len(curB.History))
	}
	wantOrders := curA.Sales[0].Orders + curB.Sales[0].Orders
	wantRev := curA.Sales[0].RevenueFen + curB.Sales[0].RevenueFen
	figs, err := e.svc.MonthlyFigures(e.Ctx, "2019-05")
	if err != nil {
		t.Fatal(err)
	}
	got := figs[a.TownshipID]
	if got["sales_orders"] != wantOrders || got["sales_revenue_fen"] != wantRev {
		t.Fatalf("monthly %v, want orders %d revenue %d", got, wantOrders, wantRev)
	}
	g, err := e.svc.GrowthAt(e.Ctx, "", "2019-05")
	if err != nil || g.RevenueFen != wantRev || g.Orders != wantOrders {
		t.Fatalf("growth %+v (%v), want revenue %d", g, err, wantRev)
	}
	e.recountOK()
}

// TestRecountRepairs: a counter knocked out of line is found and fixed.
func TestRecountRepairs(t *testing.T) {
	e := newEnv(t)
	a := e.trainee(2, 0, "youth")
	shop := e.shop(a)
	e.sale(shop, "2019-06", 2, 500).Want(t, 201)
	e.recountOK()
	if err := e.svc.funnel.Inc(e.Ctx, funnelDoc, map[string]int64{"c.shop_opened": 5}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.funnel.Inc(e.Ctx, sellDoc+"2019-06", map[string]int64{"c": 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.markColl(StepShopOpened).DeleteOne(e.Ctx, bson.M{"_id": StepShopOpened + "/" + a.ID}); err != nil {
		t.Fatal(err)
	}
	var r RecountResult
	e.Do(e.Admin, "POST", "/api/v1/conversion/recount?fix=false", nil).Want(t, 200).Decode(t, &r)
	if r.OK || len(r.Differences) < 3 {
		t.Fatalf("recount missed the damage: %+v", r)
	}
	e.Do(e.officer, "POST", "/api/v1/conversion/recount", nil).Want(t, 403)
	e.Do(e.Admin, "POST", "/api/v1/conversion/recount", nil).Want(t, 200).Decode(t, &r)
	if !r.Fixed {
		t.Fatalf("not fixed: %+v", r)
	}
	e.recountOK()
	wantFunnel(t, "repaired", e.conversion(e.Admin, "").Funnel, Funnel{ShopOpened: 1, Selling: 1})
}
