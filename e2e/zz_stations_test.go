package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

func TestZZStationsPages(t *testing.T) {
	a := startApp(t)
	rs := a.regions(t)
	var county, twp, vil string
	for _, r := range rs {
		switch {
		case r.Level == "county" && county == "":
			county = r.ID
		case r.Level == "township" && twp == "":
			twp = r.ID
		}
	}
	for _, r := range rs {
		if r.Level == "village" && r.ParentID == twp && vil == "" {
			vil = r.ID
		}
	}
	mk := func(kind, region string) string {
		var s struct{ ID string `json:"id"` }
		a.must(t, a.admin, "POST", "/api/v1/stations", map[string]any{"name": kind + "测试站", "kind": kind, "region_id": region, "origin": "new", "area_m2": 3000}, &s, 201)
		checks := map[string]bool{"area": true, "computer": true, "display": true, "recorder": true, "baskets": true, "notice_board": true, "door_sign": true}
		for _, st := range []string{"built", "accepted", "operating"} {
			a.must(t, a.admin, "POST", "/api/v1/stations/"+s.ID+"/status", map[string]any{"status": st, "at": time.Now().UTC().Format(time.RFC3339), "inspector": "验收组", "checklist": checks}, nil, 200)
		}
		return s.ID
	}
	w := mk("warehouse", county)
	mk("township", twp)
	v := mk("village", vil)
	a.must(t, a.admin, "POST", "/api/v1/users", map[string]any{"username": "zhanzhang", "password": "password-123", "role": "station", "name": "站长", "station_id": v}, nil, 201)
	a.must(t, a.admin, "POST", "/api/v1/parcels", map[string]any{"waybill": "E2E000001", "direction": "down", "origin_id": w, "destination_id": v}, nil, 201)
	forEachViewport(t, func(t *testing.T, b *browser, vp viewport) {
		b.loginUI(a.base, "admin", adminPassword)
		b.do(chromedp.Navigate(a.base + "/#/stations"))
		b.waitJS(`!!document.querySelector('#st-list table') && !!document.querySelector('#st-cov .kpi')`, "station list")
		b.shot("stations")
		b.do(chromedp.Navigate(a.base + "/#/station/" + v))
		b.waitJS(`document.body.innerText.indexOf('状态记录') >= 0`, "station detail")
		b.shot("station")
		b.do(chromedp.Navigate(a.base + "/#/logistics"))
		b.waitJS(`document.body.innerText.indexOf('上行占比') >= 0`, "volumes")
		b.shot("logistics")
		if wd := eval[float64](b, `document.documentElement.scrollWidth`); wd > float64(vp.w)+1 {
			t.Errorf("logistics is %v px wide at %d", wd, vp.w)
		}
		b.do(chromedp.Evaluate[chromedp.Void](`localStorage.clear()`))
		b.loginUI(a.base, "zhanzhang", "password-123")
		b.do(chromedp.Navigate(a.base + "/#/station-phone"))
		b.waitJS(`!!document.querySelector('#sp-svc')`, "phone page")
		b.do(chromedp.SetValue(chromedp.CSS(`#sp-svc input[name=yuan]`), "12.5"), chromedp.Click(chromedp.CSS(`#sp-svc button`)))
		b.waitJS(`document.querySelector('#sp-svc .msg').innerText.indexOf('已登记') >= 0`, "service logged")
		wb := fmt.Sprintf("UP%s%d", vp.name, time.Now().Unix())
		b.do(chromedp.SetValue(chromedp.CSS(`#sp-send input[name=waybill]`), wb), chromedp.Click(chromedp.CSS(`#sp-send button`)))
		b.waitJS(`document.querySelector('#sp-send .msg').innerText.indexOf('收件') >= 0`, "parcel sent: "+wb)
		b.shot("phone")
		if wd := eval[float64](b, `document.documentElement.scrollWidth`); wd > float64(vp.w)+1 {
			t.Errorf("phone page is %v px wide at %d", wd, vp.w)
		}
	})
}
