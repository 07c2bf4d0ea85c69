package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// attendanceRow is one line of a session's roll call as the API gives it.
type attendanceRow struct {
	TraineeID string `json:"trainee_id"`
	Name      string `json:"name"`
	Status    string `json:"status"`
}

// statusOf reads a trainee's status at a session ("" when not on the roll).
func statusOf(t *testing.T, a *app, token, sessionID, name string) string {
	t.Helper()
	var r struct {
		Roster []attendanceRow `json:"roster"`
	}
	a.must(t, token, "GET", "/api/v1/sessions/"+sessionID+"/attendance", nil, &r, 200)
	for _, x := range r.Roster {
		if x.Name == name {
			return x.Status
		}
	}
	return ""
}

// A trainer in a village hall finds a trainee registered without a phone
// and not enrolled (by the last 4 of the ID number), adds them in one tap,
// then registers a newcomer on the spot, all from the session page.
func TestTrainerAddsPhonelessWalkIn(t *testing.T) {
	a := startApp(t)
	forEachViewport(t, func(t *testing.T, b *browser, vp viewport) {
		w := seed(t, a)
		n := int(seq.Add(1))
		name := fmt.Sprintf("赵无机%d", n)
		id := idNumber(n)
		a.must(t, a.admin, "POST", "/api/v1/trainees", map[string]any{"name": name, "id_number": id, "region_id": w.village.ID}, nil, 201)
		b.loginUI(a.base, w.trainerLogin, userPassword)
		b.do(hashNav(a.base+"/#/session-checkin/"+w.sessionID),
			chromedp.WaitVisible(chromedp.CSS(`#sc-find input[name=q]`)),
			chromedp.SendKeys(chromedp.CSS(`#sc-find input[name=q]`), id[len(id)-4:]),
			chromedp.Click(chromedp.CSS(`#sc-find button`)))
		add := fmt.Sprintf(`#sc-found button[data-name="%s"]`, name)
		b.waitJS(fmt.Sprintf(`!!document.querySelector('%s')`, add), "the phoneless trainee in the search results")
		b.do(chromedp.Click(chromedp.CSS(add)))
		b.waitJS(fmt.Sprintf(`document.getElementById('sc-roster').innerText.indexOf('%s') >= 0 && document.getElementById('sc-msg').innerText.indexOf('已记为到场') >= 0`, name), "the walk-in on the roll")
		if st := statusOf(t, a, w.trainer, w.sessionID, name); st != "present" {
			t.Fatalf("the walk-in's status is %q, want present", st)
		}
		b.shot("walk-in-added")

		// A newcomer nobody registered: name and ID number, no phone.
		m := int(seq.Add(1))
		newcomer := fmt.Sprintf("钱新来%d", m)
		b.do(chromedp.Click(chromedp.CSS(`#sc-newbox summary`)),
			chromedp.WaitVisible(chromedp.CSS(`#sc-new input[name=name]`)),
			chromedp.SendKeys(chromedp.CSS(`#sc-new input[name=name]`), newcomer),
			chromedp.SendKeys(chromedp.CSS(`#sc-new input[name=id_number]`), idNumber(m)))
		b.waitJS(`!!document.querySelector('#sc-new select[name=region_id]').value`, "a village chosen")
		b.do(chromedp.Click(chromedp.CSS(`#sc-new button.primary`)))
		b.waitJS(fmt.Sprintf(`document.getElementById('sc-msg').innerText.indexOf('已登记 %s') >= 0`, newcomer), "the newcomer registered and marked")
		if st := statusOf(t, a, w.trainer, w.sessionID, newcomer); st != "present" {
			t.Fatalf("the newcomer's status is %q, want present", st)
		}
		b.shot("newcomer-registered")
	})
}

// A trainee enrols in a course from the 报名课程 page and, at its session,
// checks in by typing the trainer's 6 digits without a session link.
func TestTraineeEnrolsAndTypesCode(t *testing.T) {
	a := startApp(t)
	forEachViewport(t, func(t *testing.T, b *browser, vp viewport) {
		w := seed(t, a)
		var c struct {
			ID string `json:"id"`
		}
		title := fmt.Sprintf("直播带货入门 %d", seq.Add(1))
		a.must(t, a.admin, "POST", "/api/v1/courses", map[string]any{"title": title, "description": "e2e", "category": "直播带货",
			"hours": 2, "pass_ratio": 0.5, "published": true}, &c, 201)
		var s struct {
			ID string `json:"id"`
		}
		// Its own trainer: the seeded one is teaching now.
		var u struct {
			ID string `json:"id"`
		}
		login := fmt.Sprintf("trainer-live%d", seq.Add(1))
		a.must(t, a.admin, "POST", "/api/v1/users", map[string]any{"username": login, "password": userPassword, "role": "trainer", "name": "周老师"}, &u, 201)
		trainer := a.login(t, login, userPassword)
		start := time.Now().Add(-5 * time.Minute).UTC()
		a.must(t, a.admin, "POST", "/api/v1/courses/"+c.ID+"/sessions", map[string]any{"starts_at": start.Format(time.RFC3339),
			"ends_at": start.Add(2 * time.Hour).Format(time.RFC3339), "location": w.village.Name + "村委会", "region_id": w.village.ID,
			"trainer_id": u.ID, "capacity": 30}, &s, 201)

		b.loginUI(a.base, w.traineePhone, userPassword)
		if !b.hasView("enrol") {
			t.Fatal("报名课程 (#/enrol) is not in the trainee's menu")
		}
		card := fmt.Sprintf(`[data-course="%s"]`, c.ID)
		b.do(hashNav(a.base + "/#/enrol"))
		b.waitJS(fmt.Sprintf(`!!document.querySelector('%s button[data-act=enrol]')`, card), "the 报名 button")
		b.do(chromedp.Click(chromedp.CSS(card + ` button[data-act=enrol]`)))
		b.waitJS(fmt.Sprintf(`(document.querySelector('%s .tag.good') || {}).innerText === '已报名'`, card), "已报名")
		b.shot("enrolled")

		var code struct {
			Digits string `json:"digits"`
		}
		a.must(t, trainer, "GET", "/api/v1/sessions/"+s.ID+"/checkin-code", nil, &code, 200)
		b.do(hashNav(a.base+"/#/checkin"),
			chromedp.WaitVisible(chromedp.CSS(`#ck-form input[name=code]`)),
			chromedp.SendKeys(chromedp.CSS(`#ck-form input[name=code]`), code.Digits),
			chromedp.Click(chromedp.CSS(`#ck-form button`)))
		b.waitJS(`!document.getElementById('ck-done').hidden`, "已签到")
		if st := statusOf(t, a, trainer, s.ID, strings.TrimSpace(traineeName(t, a, w))); st != "present" {
			t.Fatalf("after typing the code the trainee's status is %q, want present", st)
		}
		b.shot("typed-code")
	})
}

// traineeName is the seeded trainee's name as stored.
func traineeName(t *testing.T, a *app, w *world) string {
	t.Helper()
	var x struct {
		Name string `json:"name"`
	}
	a.must(t, a.admin, "GET", "/api/v1/trainees/"+w.traineeID, nil, &x, 200)
	return x.Name
}
