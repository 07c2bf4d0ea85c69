package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestAccountsJourney at 360 px: the admin creates trainer, officer and
// station accounts through the pages, resets a trainee's password (the
// trainee logs in with the temporary one and must change it), disables an
// account whose next request is then refused; the auditor reads the audit log.
func TestAccountsJourney(t *testing.T) {
	a := startApp(t)
	w := seed(t, a)
	vp := viewports[0]
	n := seq.Add(1)
	var stn struct {
		ID string `json:"id"`
	}
	a.must(t, a.admin, "POST", "/api/v1/stations", map[string]any{"name": fmt.Sprintf("红岩村服务点%d", n), "kind": "village", "region_id": w.village.ID, "origin": "new"}, &stn, 201)

	b := newBrowser(t, vp)
	b.loginUI(a.base, "admin", adminPassword)
	if h := eval[float64](b, `document.getElementById('menu').getBoundingClientRect().height`); h > 60 {
		t.Errorf("the menu is %v px tall at 360 px, want one row", h)
	}

	// Create a trainer, an officer (township picked by search) and a station account.
	create := func(role, username, name string, pick func()) string {
		b.do(hashNav(a.base+"/#/accounts"), chromedp.WaitVisible(chromedp.CSS(`#acc-new`)), chromedp.Click(chromedp.CSS(`#acc-new`)),
			chromedp.WaitVisible(chromedp.CSS(`#acc-form select[name=role]`)),
			chromedp.SetValue(chromedp.CSS(`#acc-form select[name=role]`), role))
		b.do(chromedp.Evaluate[chromedp.Void](`document.querySelector('#acc-form select[name=role]').dispatchEvent(new Event('change'))`),
			chromedp.SendKeys(chromedp.CSS(`#acc-form input[name=name]`), name),
			chromedp.SendKeys(chromedp.CSS(`#acc-form input[name=username]`), username),
			chromedp.SendKeys(chromedp.CSS(`#acc-form input[name=password]`), userPassword))
		if pick != nil {
			pick()
		}
		b.shot("create-" + role)
		b.do(chromedp.Click(chromedp.CSS(`#acc-form button[type=submit]`)))
		b.waitJS(`/^#\/account\/[0-9a-f]{24}$/.test(location.hash)`, role+" account saved")
		return strings.TrimPrefix(eval[string](b, `location.hash`), "#/account/")
	}
	trainerID := create("trainer", fmt.Sprintf("newtrainer%d", n), "张讲师", nil)
	officerID := create("officer", fmt.Sprintf("newofficer%d", n), "赵联络员", func() {
		b.do(chromedp.SendKeys(chromedp.CSS(`#pk-township_id-q`), w.township.Name))
		b.waitJS(`document.querySelector('#pk-township_id').value !== ''`, "a township picked")
	})
	create("station", fmt.Sprintf("newstation%d", n), "孙站长", func() {
		b.do(chromedp.SetValue(chromedp.CSS(`#pk-station_id`), stn.ID))
	})
	var off struct {
		Role       string `json:"role"`
		TownshipID string `json:"township_id"`
	}
	a.must(t, a.admin, "GET", "/api/v1/users/"+officerID, nil, &off, 200)
	if off.Role != "officer" || off.TownshipID != w.township.ID {
		t.Fatalf("officer made through the page: %+v, want township %s", off, w.township.ID)
	}

	// Reset the trainee's password: the temporary one is shown once.
	b.do(hashNav(a.base+"/#/accounts"), chromedp.WaitVisible(chromedp.CSS(`#acc-filter input[name=q]`)),
		chromedp.SendKeys(chromedp.CSS(`#acc-filter input[name=q]`), w.traineePhone))
	b.waitJS(`document.querySelectorAll('#acc-table tbody tr').length === 1`, "the trainee found")
	if w := eval[float64](b, `document.documentElement.scrollWidth`); w > float64(vp.w)+1 {
		t.Errorf("accounts page is %v px wide at %d px", w, vp.w)
	}
	if d := eval[string](b, `getComputedStyle(document.querySelector('#acc-table tr')).display`); d != "block" {
		t.Errorf("account rows are %q at 360 px, want cards (block)", d)
	}
	b.shot("accounts-cards")
	b.do(chromedp.Click(chromedp.CSS(`#acc-table [data-reset]`)), chromedp.WaitVisible(chromedp.CSS(`dialog [data-yes]`)), chromedp.Click(chromedp.CSS(`dialog [data-yes]`)))
	b.waitJS(`!!document.getElementById('temp-pw')`, "the temporary password")
	temp := eval[string](b, `document.getElementById('temp-pw').textContent`)
	b.shot("temporary-password")
	b.do(chromedp.Click(chromedp.CSS(`#temp-close`)))
	if st, _ := a.call("", "POST", "/api/v1/auth/login", map[string]any{"login": w.traineePhone, "password": userPassword}, nil); st != 401 {
		t.Errorf("the trainee's old password after the reset: %d", st)
	}
	if st, _ := a.call(w.trainee, "GET", "/api/v1/me", nil, nil); st != 401 {
		t.Errorf("the trainee's old session after the reset: %d", st)
	}

	// Disable the new trainer: their next request is refused.
	trainerTok := a.login(t, fmt.Sprintf("newtrainer%d", n), userPassword)
	a.must(t, trainerTok, "GET", "/api/v1/me", nil, nil, 200)
	b.do(hashNav(a.base+"/#/account/"+trainerID), chromedp.WaitVisible(chromedp.CSS(`#acc-disable`)), chromedp.Click(chromedp.CSS(`#acc-disable`)),
		chromedp.WaitVisible(chromedp.CSS(`dialog [data-yes]`)), chromedp.Click(chromedp.CSS(`dialog [data-yes]`)))
	b.waitJS(`!!document.getElementById('acc-enable')`, "the account shown disabled")
	if st, _ := a.call(trainerTok, "GET", "/api/v1/me", nil, nil); st != 401 {
		t.Errorf("a disabled account's access token: %d, want 401", st)
	}
	b.noConsoleErrors()

	// The trainee logs in with the temporary password and must change it first.
	tb := newBrowser(t, vp)
	tb.do(chromedp.Navigate(a.base+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#login-form input[name=login]`)),
		chromedp.SendKeys(chromedp.CSS(`#login-form input[name=login]`), w.traineePhone),
		chromedp.SendKeys(chromedp.CSS(`#login-form input[name=password]`), temp),
		chromedp.Click(chromedp.CSS(`#login-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#pw-form`)))
	if !eval[bool](tb, `document.getElementById('menu').hidden`) {
		t.Error("the menu shows before the forced password change")
	}
	tb.shot("forced-change")
	tb.do(chromedp.SendKeys(chromedp.CSS(`#pw-form input[name=old_password]`), temp),
		chromedp.SendKeys(chromedp.CSS(`#pw-form input[name=new_password]`), "chaye-2019-mine"),
		chromedp.SendKeys(chromedp.CSS(`#pw-form input[name=again]`), "chaye-2019-mine"),
		chromedp.Click(chromedp.CSS(`#pw-form button`)))
	tb.waitJS(`!document.getElementById('pw-form') && !document.getElementById('menu').hidden && document.querySelectorAll('#menu a').length > 0`, "the trainee's home after the change")
	a.login(t, w.traineePhone, "chaye-2019-mine")
	tb.noConsoleErrors()

	// The auditor reads the audit log, filtered to password resets.
	audLogin := fmt.Sprintf("auditor%d", n)
	a.must(t, a.admin, "POST", "/api/v1/users", map[string]any{"username": audLogin, "password": userPassword, "role": "auditor", "name": "纪检组"}, nil, 201)
	ab := newBrowser(t, vp)
	ab.loginUI(a.base, audLogin, userPassword)
	ab.do(hashNav(a.base + "/#/audit"))
	ab.waitJS(`document.querySelectorAll('#au-table tbody tr').length > 0`, "audit entries")
	txt := eval[string](ab, `document.getElementById('au-table').innerText`)
	for _, want := range []string{"新建账号", "重置密码", "停用账号", "修改密码"} {
		if !strings.Contains(txt, want) {
			t.Errorf("the audit log lacks %s: %.400s", want, txt)
		}
	}
	if strings.Contains(txt, "user.") {
		t.Errorf("the audit log shows an action code: %.400s", txt)
	}
	ab.do(chromedp.SetValue(chromedp.CSS(`#au-filter select[name=action]`), "user.password_reset"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#au-filter select[name=action]').dispatchEvent(new Event('change', {bubbles: true}))`))
	time.Sleep(300 * time.Millisecond)
	ab.waitJS(`(function(){var r=document.querySelectorAll('#au-table tbody tr'); return r.length > 0 && Array.prototype.every.call(r, function(x){return x.innerText.indexOf('重置密码') >= 0})})()`, "only password resets")
	if w := eval[float64](ab, `document.documentElement.scrollWidth`); w > float64(vp.w)+1 {
		t.Errorf("audit page is %v px wide at %d px", w, vp.w)
	}
	ab.shot("audit-log")
	ab.noConsoleErrors()
}

// TestRegionsTree at 360 px: the admin sees county → townships → villages
// and flags a poverty village.
func TestRegionsTree(t *testing.T) {
	a := startApp(t)
	b := newBrowser(t, viewports[0])
	b.loginUI(a.base, "admin", adminPassword)
	b.do(hashNav(a.base + "/#/regions"))
	b.waitJS(`document.querySelectorAll('#rg-tree details').length >= 23`, "23 townships")
	b.do(chromedp.Evaluate[chromedp.Void](`document.querySelector('#rg-tree details').open = true`))
	b.shot("regions")
	id := eval[string](b, `(function(){var c=document.querySelector('#rg-tree details [data-poverty]:not(:checked)'); c.click(); return c.closest('.node').dataset.id})()`)
	deadline := time.Now().Add(10 * time.Second)
	for {
		var rs []struct {
			ID      string `json:"id"`
			Poverty bool   `json:"poverty"`
		}
		a.must(t, a.admin, "GET", "/api/v1/regions?level=village", nil, &rs, 200)
		found := false
		for _, r := range rs {
			if r.ID == id && r.Poverty {
				found = true
			}
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the poverty flag set in the tree never arrived")
		}
		time.Sleep(200 * time.Millisecond)
	}
	b.noConsoleErrors()
}
