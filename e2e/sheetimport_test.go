package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestTrainerImportsSignInSheet: on the session page the trainer uploads a
// typed-in paper sign-in sheet, previews it (one known trainee, one
// unknown person) and confirms; the known trainee is then on the roster as
// present by 纸质签到表.
func TestTrainerImportsSignInSheet(t *testing.T) {
	a := startApp(t)
	forEachViewport(t, func(t *testing.T, b *browser, vp viewport) {
		w := seed(t, a)
		var tr struct {
			Name string `json:"name"`
		}
		a.must(t, a.admin, "GET", "/api/v1/trainees/"+w.traineeID, nil, &tr, 200)
		file := filepath.Join(t.TempDir(), "签到表.csv")
		csv := "\ufeff会泽县电商培训签到表,,\r\n姓名,手机号,签到\r\n" + tr.Name + "," + w.traineePhone + ",√\r\n张无名,13900001111,√\r\n李缺席,13900002222,\r\n"
		if err := os.WriteFile(file, []byte(csv), 0o644); err != nil {
			t.Fatal(err)
		}
		b.loginUI(a.base, w.trainerLogin, userPassword)
		b.do(hashNav(a.base+"/#/session-checkin/"+w.sessionID),
			chromedp.WaitVisible(chromedp.CSS(`#si-open`)),
			chromedp.Click(chromedp.CSS(`#si-open`)),
			chromedp.WaitVisible(chromedp.CSS(`#si-form`)),
			chromedp.SetUploadFiles(chromedp.CSS(`#si-form input[type=file]`), []string{file}),
			chromedp.Click(chromedp.CSS(`#si-form button.primary`)))
		b.waitJS(`!!document.querySelector('#si-out table.rows') && !document.getElementById('si-go').hidden`, "the preview table")
		text := eval[string](b, `document.getElementById('si-out').innerText`)
		if !contains(text, tr.Name, "将记为到场", "张无名", "名册中没有", "第 3 行", "未到") {
			t.Fatalf("preview: %s", text)
		}
		b.do(chromedp.ScrollIntoView(chromedp.CSS(`#si-panel`)))
		b.shot("preview")
		b.do(chromedp.Click(chromedp.CSS(`#si-confirm`)))
		b.waitJS(`/导入完成/.test(document.getElementById('si-msg').textContent)`, "the import")
		b.waitJS(`/纸质签到表/.test(document.getElementById('sc-roster').innerText)`, "the roster showing the sheet's record")
		if msg := eval[string](b, `document.getElementById('si-msg').textContent`); !strings.Contains(msg, "已记录 1 人到场") {
			t.Errorf("after the import: %q", msg)
		}
		b.shot("imported")
	})
}
