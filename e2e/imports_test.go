package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"nongxun/sheets/sheetstest"
)

// importViewports are the widths the import pages are checked at: a cheap
// phone and the office's laptop.
var importViewports = []viewport{{"phone", 360, 780, true}, {"laptop", 1366, 900, false}}

// TestImportPages drives the roster import (学员 page) and the region
// import (区域 page): upload → preview table → 确认导入 → result with the
// download of the refused rows, at 360 px and 1366 px.
func TestImportPages(t *testing.T) {
	a := startApp(t)
	var twp region
	var villages []region
	rs := a.regions(t)
	for _, r := range rs {
		if r.Level == "township" && twp.ID == "" {
			twp = r
		}
	}
	for _, r := range rs {
		if r.Level == "village" && r.ParentID == twp.ID {
			villages = append(villages, r)
		}
	}
	for vi, vp := range importViewports {
		t.Run(vp.name, func(t *testing.T) {
			// Its own people and codes each run, so the test repeats on one app.
			run := vi + 2*int(seq.Add(1))
			dir := t.TempDir()
			var people []sheetstest.Trainee
			for i := 0; i < 12; i++ {
				id := sheetstest.ID(5000 + run*100 + i)
				g := "男"
				if (id[16]-'0')%2 == 0 {
					g = "女"
				}
				people = append(people, sheetstest.Trainee{Name: []string{"张建华", "李秀英", "王国强", "赵丽"}[i%4] + fmt.Sprint(run*100+i), IDNumber: id,
					Phone: fmt.Sprintf("139%08d", 10000+run*100+i), Township: twp.Name, Village: villages[i%3].Name, Gender: g})
			}
			people[3].Phone = "1390000"
			people[7].Village = "没有这个村"
			roster := filepath.Join(dir, "花名册.xlsx")
			if err := os.WriteFile(roster, sheetstest.RosterXLSX(t, people, sheetstest.XLSXOptions{Title: "会泽县电商培训花名册", Unit: true, SerialTo: 20}), 0o644); err != nil {
				t.Fatal(err)
			}
			b := newBrowser(t, vp)
			b.loginUI(a.base, "admin", adminPassword)
			b.do(hashNav(a.base+"/#/trainees"),
				chromedp.WaitVisible(chromedp.CSS(`#tr-impbox summary`)),
				chromedp.Evaluate[chromedp.Void](`document.querySelector('#tr-impbox').open = true`),
				chromedp.SetUploadFiles(chromedp.CSS(`#tr-imp input[type=file]`), []string{roster}),
				chromedp.Click(chromedp.CSS(`#tr-imp button`)))
			b.waitJS(`document.querySelectorAll('#tr-rep table.rows tbody tr').length === 12`, "the preview table")
			if txt := eval[string](b, `document.querySelector('#tr-rep').innerText`); !contains(txt, "预览", "未通过", "新登记", "找不到村") {
				t.Fatalf("preview: %s", txt)
			}
			b.do(chromedp.Evaluate[chromedp.Void](`document.querySelector('#tr-rep').scrollIntoView(); window.scrollBy(0, -60)`))
			viewShot(b, "roster-preview")
			b.do(chromedp.Click(chromedp.CSS(`#tr-rep button[data-imp=commit]`)))
			b.waitJS(`/已导入/.test(document.querySelector('#tr-rep').innerText)`, "the import result")
			if txt := eval[string](b, `document.querySelector('#tr-rep').innerText`); !strings.Contains(txt, "新登记 10 人") || !strings.Contains(txt, "下载未通过的行") {
				t.Fatalf("result: %s", txt)
			}
			// The download: the page posts the file again and saves the workbook.
			ok := eval[bool](b, `(function(){ window.__dl = 0; var orig = URL.createObjectURL; URL.createObjectURL = function (x) { window.__dl = x.size; return orig(x); };
				document.querySelector('#tr-rep button[data-imp=refused]').click(); return true })()`)
			if !ok {
				t.Fatal("no download button")
			}
			b.waitJS(`window.__dl > 1000`, "the refused-rows workbook")
			b.do(chromedp.Evaluate[chromedp.Void](`document.querySelector('#tr-rep').scrollIntoView(); window.scrollBy(0, -60)`))
			viewShot(b, "roster-result")

			// A roster whose ID column Excel stored as numbers: the preview says so first.
			numeric := filepath.Join(dir, "数字身份证.xlsx")
			for i := range people {
				people[i].IDNumber = sheetstest.ID(70000 + run*100 + i)
			}
			if err := os.WriteFile(numeric, sheetstest.RosterXLSX(t, people, sheetstest.XLSXOptions{IDs: sheetstest.IDNumber}), 0o644); err != nil {
				t.Fatal(err)
			}
			b.do(chromedp.Click(chromedp.CSS(`#tr-rep button[data-imp=again]`)),
				chromedp.SetUploadFiles(chromedp.CSS(`#tr-imp input[type=file]`), []string{numeric}),
				chromedp.Click(chromedp.CSS(`#tr-imp button`)))
			b.waitJS(`/存成了数字/.test(document.querySelector('#tr-rep').innerText)`, "the numeric-ID note")
			b.do(chromedp.Evaluate[chromedp.Void](`document.querySelector('#tr-rep').scrollIntoView(); window.scrollBy(0, -60)`))
			viewShot(b, "roster-numeric-ids")

			code := fmt.Sprintf("5303269%02d", run%100)
			csv := "区划代码,名称,级别,上级代码,贫困村\r\n" + code + ",新设镇" + fmt.Sprint(run) + ",乡镇,530326,\r\n" +
				code + "001,新设一村,村," + code + ",是\r\n" + code + "002,新设二村,村," + code + ",\r\n" + code + "003,孤村,村,999,\r\n"
			regionsFile := filepath.Join(dir, "区划.csv")
			if err := os.WriteFile(regionsFile, []byte(csv), 0o644); err != nil {
				t.Fatal(err)
			}
			b.do(hashNav(a.base+"/#/regions"),
				chromedp.WaitVisible(chromedp.CSS(`#rg-import input[type=file]`)),
				chromedp.SetUploadFiles(chromedp.CSS(`#rg-import input[type=file]`), []string{regionsFile}),
				chromedp.Click(chromedp.CSS(`#rg-import button`)))
			b.waitJS(`document.querySelectorAll('#rg-result table.rows tbody tr').length === 4`, "the region preview")
			b.do(chromedp.Evaluate[chromedp.Void](`document.querySelector('#rg-result').scrollIntoView(); window.scrollBy(0, -60)`))
			viewShot(b, "regions-preview")
			b.do(chromedp.Click(chromedp.CSS(`#rg-result button[data-imp=commit]`)))
			b.waitJS(`/已导入/.test(document.querySelector('#rg-result').innerText)`, "the region result")
			if txt := eval[string](b, `document.querySelector('#rg-result').innerText`); !strings.Contains(txt, "新建 3 个") || !strings.Contains(txt, "找不到上级代码 999") {
				t.Fatalf("region result: %s", txt)
			}
			b.do(chromedp.Evaluate[chromedp.Void](`document.querySelector('#rg-result').scrollIntoView(); window.scrollBy(0, -60)`))
			viewShot(b, "regions-result")
			b.noConsoleErrors()
		})
	}
}

// viewShot saves what the screen shows (not the whole page) to
// artifacts/e2e/<test>-<name>.png.
func viewShot(b *browser, name string) {
	b.t.Helper()
	buf, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	_ = os.MkdirAll(artifacts, 0o755)
	file := filepath.Join(artifacts, strings.NewReplacer("/", "-", " ", "_").Replace(b.t.Name())+"-"+name+".png")
	if err := os.WriteFile(file, buf, 0o644); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
	}
}
