package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

const chromiumPath = "/usr/bin/chromium"

// viewport is one screen size every browser step runs at.
type viewport struct {
	name   string
	w, h   int64
	mobile bool
}

var viewports = []viewport{{"phone", 360, 740, true}, {"desktop", 1280, 900, false}}

// browser is a headless Chromium tab that records console errors.
type browser struct {
	t      *testing.T
	ctx    context.Context
	mu     sync.Mutex
	errors []string
}

// newBrowser starts a fresh headless Chromium (own user-data-dir) at vp;
// the test fails, naming the package, when Chromium is not installed.
func newBrowser(t *testing.T, vp viewport) *browser {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatal("no " + chromiumPath + " on this machine: install Debian chromium (scripts/deps.sh)")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(int(vp.w), int(vp.h)),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	b := &browser{t: t, ctx: ctx}
	if err := chromedp.Listen(ctx, func(ev any) {
		switch e := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeAssert {
				var parts []string
				for _, a := range e.Args {
					parts = append(parts, string(a.Value)+a.Description)
				}
				b.addErr("console.error: " + strings.Join(parts, " "))
			}
		case *runtime.EventExceptionThrown:
			msg := e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				msg += " " + e.ExceptionDetails.Exception.Description
			}
			b.addErr("exception: " + msg)
		case *log.EventEntryAdded:
			// the browser's own favicon probe is not the page's error
			if e.Entry.Level == log.EntryLevelError && !strings.HasSuffix(e.Entry.URL, "/favicon.ico") {
				b.addErr("log: " + e.Entry.Text + " " + e.Entry.URL)
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	emu := []chromedp.EmulateViewportOption{chromedp.EmulatePortrait}
	if vp.mobile {
		emu = append(emu, chromedp.EmulateMobile, chromedp.EmulateTouch)
	} else {
		emu = []chromedp.EmulateViewportOption{chromedp.EmulateLandscape}
	}
	b.do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, log.Enable, cdp.Empty{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, tg, runtime.Enable, cdp.Empty{})
		return err
	}), chromedp.EmulateViewport(vp.w, vp.h, emu...))
	return b
}

func (b *browser) addErr(s string) {
	b.mu.Lock()
	b.errors = append(b.errors, s)
	b.mu.Unlock()
}

// do runs actions and fails the test on error.
func (b *browser) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	// Within 40 s, so a failure leaves time for the screenshot of the page as it was.
	ctx, cancel := context.WithTimeout(b.ctx, 40*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.shot("failed")
		b.t.Fatalf("browser: %v", err)
	}
}

// eval evaluates a JavaScript expression.
func eval[T any](b *browser, js string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](js))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// waitJS waits until a JavaScript predicate holds.
func (b *browser) waitJS(js string, what string) {
	b.t.Helper()
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[chromedp.Void](js, chromedp.WithPollingTimeout(30*time.Second), chromedp.WithPollingInterval(100*time.Millisecond))); err != nil {
		b.shot("failed")
		b.t.Fatalf("waiting for %s: %v", what, err)
	}
}

// shot writes a full-page screenshot to artifacts/e2e/<test>-<name>.png.
func (b *browser) shot(name string) {
	buf, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		b.t.Logf("artifacts: %v", err)
		return
	}
	file := filepath.Join(artifacts, strings.NewReplacer("/", "-", " ", "_").Replace(b.t.Name())+"-"+name+".png")
	if err := os.WriteFile(file, buf, 0o644); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
	}
}

// noConsoleErrors fails the test if the page logged an error.
func (b *browser) noConsoleErrors() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.errors) > 0 {
		b.t.Errorf("console errors:\n%s", strings.Join(b.errors, "\n"))
	}
}

// hashNav opens a view of the page already loaded by setting its address:
// a change of the fragment is a same-document navigation, which never
// fires the load event chromedp.Navigate waits for (it hung now and then).
func hashNav(url string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void]("location.href = " + strconv.Quote(url))
}

// loginUI logs in through the shell's form and waits for the menu.
func (b *browser) loginUI(base, login, password string) {
	b.t.Helper()
	b.do(chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#login-form input[name=login]`)),
		chromedp.SendKeys(chromedp.CSS(`#login-form input[name=login]`), login),
		chromedp.SendKeys(chromedp.CSS(`#login-form input[name=password]`), password),
		chromedp.Click(chromedp.CSS(`#login-form button[type=submit]`)))
	b.waitJS(`!!document.querySelector('#menu a') || !!document.getElementById('login-error').textContent`, "the menu after logging in")
	if msg := eval[string](b, `document.querySelector('#menu a') ? '' : document.getElementById('login-error').textContent`); msg != "" {
		b.shot("login-refused")
		b.t.Fatalf("logging in as %s: %s", login, msg)
	}
}

// hasView reports whether the shell registered a view (a feature's page has landed).
func (b *browser) hasView(hash string) bool {
	return eval[bool](b, fmt.Sprintf(`!!document.querySelector('#menu a[href="#/%s"]') || !!(window.NX && NX.route && location.hash === "#/%s")`, hash, hash))
}

// forEachViewport runs fn as a subtest per viewport with a fresh browser.
func forEachViewport(t *testing.T, fn func(t *testing.T, b *browser, vp viewport)) {
	for _, vp := range viewports {
		t.Run(vp.name, func(t *testing.T) {
			b := newBrowser(t, vp)
			fn(t, b, vp)
			b.noConsoleErrors()
		})
	}
}

func TestPublicPage(t *testing.T) {
	a := startApp(t)
	forEachViewport(t, func(t *testing.T, b *browser, vp viewport) {
		b.do(chromedp.Navigate(a.base+"/public"), chromedp.WaitVisible(chromedp.CSS(`#public .chart`)))
		// exactly one of the two chart sizes shows, the one that fits
		b.waitJS(`Array.from(document.querySelectorAll('#public .chart svg')).filter(function(s){return s.getBoundingClientRect().width > 0}).length === 1`, "one visible chart")
		text := eval[string](b, `document.body.innerText`)
		if !contains(text, "政务公开", "培训人次", "目标完成情况") {
			t.Errorf("public page text: %.300s", text)
		}
		if w := eval[float64](b, `document.documentElement.scrollWidth`); w > float64(vp.w)+1 {
			t.Errorf("page is %v px wide at a %d px viewport", w, vp.w)
		}
		b.shot("public")
	})
}

func TestOfficeDashboard(t *testing.T) {
	a := startApp(t)
	forEachViewport(t, func(t *testing.T, b *browser, vp viewport) {
		b.loginUI(a.base, "admin", adminPassword)
		b.do(hashNav(a.base + "/#/dashboard"))
		b.waitJS(`document.querySelectorAll('#charts img[data-loaded="1"]').length >= 9`, "nine charts")
		b.waitJS(`Array.from(document.querySelectorAll('#charts img')).every(function(i){return i.complete && i.naturalWidth > 0})`, "charts decoded")
		rows := eval[int](b, `document.querySelectorAll('#kpi-table tbody tr').length`)
		if rows < 17 {
			t.Errorf("KPI table has %d rows, want every target (17)", rows)
		}
		if w := eval[float64](b, `document.documentElement.scrollWidth`); w > float64(vp.w)+1 {
			t.Errorf("dashboard is %v px wide at a %d px viewport", w, vp.w)
		}
		b.shot("dashboard")
		b.do(hashNav(a.base + "/#/monthly"))
		b.waitJS(`!!document.querySelector('#monthly-table tbody tr') && !!document.querySelector('#written-table')`, "monthly report table")
		b.shot("monthly")
	})
}

func TestTraineeChecksIn(t *testing.T) {
	a := startApp(t)
	forEachViewport(t, func(t *testing.T, b *browser, vp viewport) {
		w := seed(t, a)
		b.loginUI(a.base, w.traineePhone, userPassword)
		if !b.hasView("checkin") {
			t.Fatal("the check-in page (#/checkin) is not in the trainee's menu")
		}
		var c struct {
			Digits string `json:"digits"`
		}
		a.must(t, w.trainer, "GET", "/api/v1/sessions/"+w.sessionID+"/checkin-code", nil, &c, 200)
		b.do(hashNav(a.base+"/#/checkin/"+w.sessionID),
			chromedp.WaitVisible(chromedp.CSS(`#ck-form input[name=code]`)),
			chromedp.SendKeys(chromedp.CSS(`#ck-form input[name=code]`), c.Digits),
			chromedp.Click(chromedp.CSS(`#ck-form button`)))
		b.waitJS(`!document.getElementById('ck-done').hidden`, "已签到")
		if txt := eval[string](b, `document.getElementById('ck-done').innerText`); !strings.Contains(txt, "已签到") {
			t.Errorf("after check-in the page says %q", txt)
		}
		b.shot("checked-in")
	})
}

func TestTrainerShowsQR(t *testing.T) {
	a := startApp(t)
	forEachViewport(t, func(t *testing.T, b *browser, vp viewport) {
		w := seed(t, a)
		b.loginUI(a.base, w.trainerLogin, userPassword)
		b.do(hashNav(a.base + "/#/session-checkin/" + w.sessionID))
		b.waitJS(`(function(i){return !!i && i.complete && i.naturalWidth > 0})(document.getElementById('sc-qr'))`, "the QR image")
		b.waitJS(`/^\d{6}$/.test(document.getElementById('sc-digits').textContent)`, "the 6 digits")
		b.shot("session-qr")
	})
}

func TestCertificateVerifyPage(t *testing.T) {
	a := startApp(t)
	w := seed(t, a)
	var res struct {
		Status string `json:"status"`
	}
	a.must(t, w.trainee, "POST", "/api/v1/checkins", map[string]any{"session_id": w.sessionID, "code": w.code(t, a), "client_id": fmt.Sprintf("cv-%d", time.Now().UnixNano())}, &res, 201, 200)
	var issued struct {
		Issued []struct {
			ID string `json:"id"`
		} `json:"issued"`
		Skipped []struct {
			Reason string `json:"reason"`
		} `json:"skipped"`
	}
	st, body := a.call(a.admin, "POST", "/api/v1/courses/"+w.courseID+"/certificates", map[string]any{"trainee_ids": []string{w.traineeID}}, &issued)
	if st != 200 || len(issued.Issued) == 0 {
		t.Fatalf("no certificate could be issued to verify (%d %s)", st, body)
	}
	var cert struct {
		Code string `json:"code"`
	}
	a.must(t, a.admin, "GET", "/api/v1/certificates/"+issued.Issued[0].ID, nil, &cert, 200)
	forEachViewport(t, func(t *testing.T, b *browser, vp viewport) {
		b.do(chromedp.Navigate(a.base + "/verify/" + cert.Code))
		b.waitJS(`document.readyState === 'complete' && document.body.innerText.length > 0`, "the verification page")
		txt := eval[string](b, `document.body.innerText`)
		if !strings.Contains(txt, "有效") || strings.Contains(txt, "王学员") {
			t.Errorf("verification page: %.300s", txt)
		}
		b.shot("verify")
	})
}

func TestOfficerFilesMonthlyReport(t *testing.T) {
	a := startApp(t)
	forEachViewport(t, func(t *testing.T, b *browser, vp viewport) {
		w := seed(t, a)
		login := fmt.Sprintf("officer%s%d", vp.name, seq.Add(1))
		a.must(t, a.admin, "POST", "/api/v1/users", map[string]any{"username": login, "password": userPassword, "role": "officer", "name": "联络员", "township_id": w.township.ID}, nil, 201)
		b.loginUI(a.base, login, userPassword)
		month := shanghaiMonth()
		b.do(hashNav(a.base+"/#/monthly/"+month),
			chromedp.WaitVisible(chromedp.CSS(`#written-form textarea`)),
			chromedp.SetValue(chromedp.CSS(`#written-form textarea`), "本月开展电商培训（"+vp.name+"）。"),
			chromedp.Click(chromedp.CSS(`#written-form button[type=submit]`)))
		deadline := time.Now().Add(15 * time.Second)
		for {
			var rep struct {
				Text string `json:"text"`
			}
			st, _ := a.call(a.admin, "GET", "/api/v1/reports/written/"+month+"/"+w.township.ID, nil, &rep)
			if st == 200 && strings.Contains(rep.Text, vp.name) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the report typed in the page never arrived (last %d %q)", st, rep.Text)
			}
			time.Sleep(300 * time.Millisecond)
		}
		b.waitJS(`!!document.querySelector('#written-table .tag.good, #written-table .tag.warn')`, "the report shown as submitted")
		if rows := eval[int](b, `document.querySelectorAll('#written-table tbody tr').length`); rows != 1 {
			t.Errorf("an officer sees %d townships, want only theirs", rows)
		}
		b.shot("monthly-submitted")
		// the officer's dashboard is their township's: no township chart, their name in the title
		b.do(hashNav(a.base + "/#/dashboard"))
		b.waitJS(`document.querySelectorAll('#charts img[data-loaded="1"]').length >= 8`, "the officer's charts")
		if eval[int](b, `document.querySelectorAll('#charts img[data-chart="by_township"]').length`) != 0 ||
			!strings.Contains(eval[string](b, `document.querySelector('#view h1').innerText`), w.township.Name) {
			t.Errorf("officer dashboard is not their township's")
		}
		b.shot("officer-dashboard")
	})
}
