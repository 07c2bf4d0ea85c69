package certificates

import (
	"fmt"
	"net/http"
	"nongxun/clock"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/enrollment"
	"nongxun/server"
	"nongxun/store"
	"nongxun/testkit"
)

func TestMaskSerialCode(t *testing.T) {
	for in, want := range map[string]string{"": "", "张": "*", "张三": "张*", "张小三": "张*三", "欧阳小三": "欧**三", " 李𠮷玥 ": "李*玥"} {
		if got := MaskName(in); got != want {
			t.Errorf("MaskName(%q) = %q, want %q", in, got, want)
		}
	}
	if got := FormatSerial("HZDS", 2019, 1); got != "HZDS-2019-00001" {
		t.Errorf("serial %q", got)
	}
	code := server.RandomToken(10)
	if !ValidCode(code) || len(code) < 10 {
		t.Errorf("code %q not valid", code)
	}
	for _, bad := range []string{"", "short", strings.Repeat("A", 15), strings.Repeat("0", 16), "HZDS-2019-00001", strings.Repeat("a", 16)} {
		if ValidCode(bad) {
			t.Errorf("ValidCode(%q) = true", bad)
		}
	}
}

// Eligibility counts only sessions that have started and are not cancelled.
func TestIssueEligibility(t *testing.T) {
	f := newFixture(t)
	c, ss, _ := f.course("农产品网店运营", 0.8, 10, 9, 8, 7, 6, 5, -3) // five held, one to come
	cancel := ss[5]
	if _, err := f.courses.CancelSession(f.Ctx, admin(f), cancel.ID, "暴雨停课"); err != nil {
		t.Fatal(err)
	}
	ss = ss[:5] // five held sessions; the cancelled one no longer counts
	a, _ := f.trainee("张三丰", 0)
	b, _ := f.trainee("李四", 0)
	z, _ := f.trainee("王五", 1)
	f.enrol(c, ss, []int{0, 1, 2, 3}, a) // 4/5 = 80%: eligible
	f.enrol(c, ss, []int{0, 1, 2}, b)    // 3/5: not
	f.enrol(c, ss, nil, z)               // 0/5

	res := f.issueAll(c.ID)
	if len(res.Issued) != 1 || res.Issued[0].TraineeID != a.ID {
		t.Fatalf("issued %+v", res.Issued)
	}
	reasons := map[string]string{}
	for _, s := range res.Skipped {
		reasons[s.TraineeID] = s.Reason
	}
	if reasons[b.ID] != "出勤 3/5，未达 80%" || reasons[z.ID] != "出勤 0/5，未达 80%" {
		t.Fatalf("reasons %v", reasons)
	}
	if want := fmt.Sprintf("%s-%d-00001", f.Config.CertPrefix, time.Now().In(clock.Shanghai).Year()); res.Issued[0].Serial != want {
		t.Fatalf("serial %s, want %s", res.Issued[0].Serial, want)
	}

	// Issuing twice issues nothing new, for all and for a list.
	again := f.issueAll(c.ID)
	if len(again.Issued) != 0 || len(again.Skipped) != 3 {
		t.Fatalf("second issue %+v", again)
	}
	var one IssueResult
	f.Do(f.Admin, "POST", "/api/v1/courses/"+c.ID+"/certificates", map[string]any{"trainee_ids": []string{a.ID, a.ID}}).Want(t, 200).Decode(t, &one)
	if len(one.Issued) != 0 || len(one.Skipped) != 1 || !strings.HasPrefix(one.Skipped[0].Reason, "已颁发证书") {
		t.Fatalf("explicit re-issue %+v", one)
	}
	if n := f.count(); n != 1 {
		t.Fatalf("%d certificates stored", n)
	}

	// The certificate reads as the contract says.
	cert := f.Do(f.Admin, "GET", "/api/v1/certificates/"+res.Issued[0].ID, nil).Want(t, 200).JSON()
	for _, k := range []string{"id", "serial", "code", "trainee_id", "course_id", "issued_at", "status"} {
		if cert[k] == nil || cert[k] == "" {
			t.Errorf("certificate lacks %s: %v", k, cert)
		}
	}
	if cert["status"] != "valid" || cert["code"] == cert["serial"] || len(cert["code"].(string)) < 10 {
		t.Errorf("certificate %v", cert)
	}

	// The eligibility view says the same.
	var el struct{ Items []Standing }
	f.Do(f.Admin, "GET", "/api/v1/courses/"+c.ID+"/eligibility", nil).Want(t, 200).Decode(t, &el)
	if len(el.Items) != 3 {
		t.Fatalf("standings %+v", el.Items)
	}
	for _, s := range el.Items {
		if (s.TraineeID == a.ID) != (s.Eligible && s.Serial != "") || s.Held != 5 {
			t.Errorf("standing %+v", s)
		}
	}
}

func TestIssueBadInput(t *testing.T) {
	f := newFixture(t)
	c, ss, trainer := f.course("直播带货", 0.5, 3, 2)
	a, _ := f.trainee("赵六", 0)
	out, _ := f.trainee("钱七", 0) // not enrolled
	f.enrol(c, ss, []int{0, 1}, a)
	other := f.NewCaller(server.RoleTrainer, "")
	officer := f.NewCaller(server.RoleOfficer, "")
	path := "/api/v1/courses/" + c.ID + "/certificates"
	cases := []struct {
		name   string
		caller *testkit.Caller
		path   string
		body   any
		status int
	}{
		{"unknown course", f.Admin, "/api/v1/courses/" + store.NewID() + "/certificates", map[string]any{}, 404},
		{"malformed course", f.Admin, "/api/v1/courses/xyz/certificates", map[string]any{}, 400},
		{"unknown trainee", f.Admin, path, map[string]any{"trainee_ids": []string{a.ID, store.NewID()}}, 404},
		{"not enrolled", f.Admin, path, map[string]any{"trainee_ids": []string{a.ID, out.ID}}, 400},
		{"malformed trainee", f.Admin, path, map[string]any{"trainee_ids": []string{"abc"}}, 400},
		{"ids not a list", f.Admin, path, `{"trainee_ids":"x"}`, 400},
		{"bad json", f.Admin, path, `{`, 400},
		{"trainer of another course", other, path, map[string]any{}, 403},
		{"officer", officer, path, map[string]any{}, 403},
		{"no token", nil, path, map[string]any{}, 401},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f.Do(tc.caller, "POST", tc.path, tc.body).Want(t, tc.status)
			if n := f.count(); n != 0 {
				t.Fatalf("%d certificates written", n)
			}
		})
	}
	// The course's own trainer may issue.
	var res IssueResult
	f.Do(trainer, "POST", path, map[string]any{"trainee_ids": []string{a.ID}}).Want(t, 200).Decode(t, &res)
	if len(res.Issued) != 1 {
		t.Fatalf("%+v", res)
	}
}

// Assessment: a course that requires it issues only to those who passed.
func TestAssessmentRule(t *testing.T) {
	f := newFixture(t)
	c, ss, trainer := f.course("电商实操", 0.5, 2, 1)
	a, _ := f.trainee("孙一", 0)
	b, _ := f.trainee("周二", 0)
	d, _ := f.trainee("吴三", 0)
	f.enrol(c, ss, []int{0, 1}, a, b, d)
	rule := "/api/v1/courses/" + c.ID + "/certificate-rule"
	f.Do(trainer, "PUT", rule, map[string]any{"requires_assessment": true}).Want(t, 403)
	f.Do(f.Admin, "PUT", rule, map[string]any{}).Want(t, 400)
	f.Do(f.Admin, "PUT", rule, map[string]any{"requires_assessment": true}).Want(t, 200)
	if !f.Do(trainer, "GET", rule, nil).Want(t, 200).JSON()["requires_assessment"].(bool) {
		t.Fatal("rule not kept")
	}
	ap := "/api/v1/courses/" + c.ID + "/assessments"
	for _, bad := range []any{
		map[string]any{"results": []any{}},
		map[string]any{"results": []any{map[string]any{"trainee_id": a.ID}}},
		map[string]any{"results": []any{map[string]any{"trainee_id": "nope", "passed": true}}},
		map[string]any{"results": []any{map[string]any{"trainee_id": a.ID, "passed": true}, map[string]any{"trainee_id": store.NewID(), "passed": true}}},
	} {
		f.Do(f.Admin, "POST", ap, bad).Want(t, 400)
	}
	if n, _ := f.svc.assessments.Count(f.Ctx, bson.M{}); n != 0 {
		t.Fatalf("%d assessments written by refused requests", n)
	}
	f.Do(trainer, "POST", ap, map[string]any{"results": []any{map[string]any{"trainee_id": a.ID, "passed": true}}}).Want(t, 403)
	f.Do(f.Admin, "POST", ap, map[string]any{"results": []any{
		map[string]any{"trainee_id": a.ID, "passed": true}, map[string]any{"trainee_id": b.ID, "passed": false, "note": "实操未完成"}}}).Want(t, 200)
	res := f.issueAll(c.ID)
	reasons := map[string]string{}
	for _, s := range res.Skipped {
		reasons[s.TraineeID] = s.Reason
	}
	if len(res.Issued) != 1 || res.Issued[0].TraineeID != a.ID || reasons[b.ID] != "考核未通过" || reasons[d.ID] != "未录入考核结果" {
		t.Fatalf("issued %+v skipped %v", res.Issued, reasons)
	}
	// A later pass replaces the failure.
	f.Do(f.Admin, "POST", ap, map[string]any{"results": []any{map[string]any{"trainee_id": b.ID, "passed": true}}}).Want(t, 200)
	if res := f.issueAll(c.ID); len(res.Issued) != 1 || res.Issued[0].TraineeID != b.ID {
		t.Fatalf("after pass %+v", res)
	}
}

// Parallel issuance over HTTP hands out every number of the year exactly once.
func TestSerialsUnderConcurrency(t *testing.T) {
	f := newFixture(t)
	const nCourses, perCourse = 4, 15
	type job struct{ id string }
	var jobs []job
	for i := 0; i < nCourses; i++ {
		c, ss, _ := f.course(fmt.Sprintf("课程%d", i), 1, 2)
		var ts []*enrollment.Trainee
		for k := 0; k < perCourse; k++ {
			ts = append(ts, f.plainTrainee(fmt.Sprintf("学员%d-%d", i, k), i%3))
		}
		f.enrol(c, ss, []int{0}, ts...)
		jobs = append(jobs, job{c.ID})
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var serials []string
	for round := 0; round < 3; round++ { // each course requested three times at once
		for _, j := range jobs {
			wg.Add(1)
			go func(id string) {
				defer wg.Done()
				req := f.Do(f.Admin, "POST", "/api/v1/courses/"+id+"/certificates", map[string]any{})
				if req.Status != http.StatusOK {
					t.Errorf("status %d: %s", req.Status, req.Body)
					return
				}
				var res IssueResult
				req.Decode(t, &res)
				mu.Lock()
				for _, x := range res.Issued {
					serials = append(serials, x.Serial)
				}
				mu.Unlock()
			}(j.id)
		}
	}
	wg.Wait()
	sort.Strings(serials)
	year := time.Now().In(clock.Shanghai).Year()
	if len(serials) != nCourses*perCourse {
		t.Fatalf("%d serials issued, want %d", len(serials), nCourses*perCourse)
	}
	for i, s := range serials {
		if want := FormatSerial(f.Config.CertPrefix, year, int64(i+1)); s != want {
			t.Fatalf("serial %d is %s, want %s (gap or duplicate): %v", i, s, want, serials)
		}
	}
	if n, _ := f.svc.lastSeq(f.Ctx, year); n != nCourses*perCourse {
		t.Fatalf("counter %d", n)
	}
}

// A counter left behind the stored serials (a crash between insert and
// counter update, or another node) does not produce a duplicate or a gap.
func TestSerialCounterCatchesUp(t *testing.T) {
	f := newFixture(t)
	year := time.Now().In(clock.Shanghai).Year()
	c, ss, _ := f.course("包装与物流", 1, 1)
	a, _ := f.trainee("郑一", 0)
	b, _ := f.trainee("冯二", 0)
	f.enrol(c, ss, []int{0}, a, b)
	// Someone stored number 1 and 2 without moving the counter.
	for i := int64(1); i <= 2; i++ {
		doc := Certificate{ID: store.NewID(), Serial: FormatSerial(f.Config.CertPrefix, year, i), Code: server.RandomToken(10),
			TraineeID: store.NewID(), CourseID: store.NewID(), Status: StatusValid, Year: year, Seq: i, IssuedAt: time.Now()}
		if err := f.svc.certs.InsertOne(f.Ctx, doc); err != nil {
			t.Fatal(err)
		}
	}
	res := f.issueAll(c.ID)
	got := []string{res.Issued[0].Serial, res.Issued[1].Serial}
	sort.Strings(got)
	if len(res.Issued) != 2 || got[0] != FormatSerial(f.Config.CertPrefix, year, 3) || got[1] != FormatSerial(f.Config.CertPrefix, year, 4) {
		t.Fatalf("issued %+v", res.Issued)
	}
	if n, _ := f.svc.lastSeq(f.Ctx, year); n != 4 {
		t.Fatalf("counter %d", n)
	}
}

func TestCounters(t *testing.T) {
	f := newFixture(t)
	c, ss, _ := f.course("品牌建设", 1, 1)
	a, _ := f.trainee("陈一", 0)
	b, _ := f.trainee("褚二", 2)
	d, _ := f.trainee("卫三", 2)
	f.enrol(c, ss, []int{0}, a, b, d)
	res := f.issueAll(c.ID)
	if len(res.Issued) != 3 {
		t.Fatalf("%+v", res)
	}
	t0, t2 := f.Township(0).ID, f.Township(2).ID
	by, err := f.svc.CountByTownship(f.Ctx)
	if err != nil || by[""] != 3 || by[t0] != 1 || by[t2] != 2 {
		t.Fatalf("by township %v %v", by, err)
	}
	month := time.Now().In(clock.Shanghai).Format("2006-01")
	mf, err := f.svc.MonthlyFigures(f.Ctx, month)
	if err != nil || mf[t2]["certificates"] != 2 || mf[""]["certificates"] != 3 {
		t.Fatalf("monthly %v %v", mf, err)
	}
	var cb string
	for _, x := range res.Issued {
		if x.TraineeID == b.ID {
			cb = x.ID
		}
	}
	f.Do(f.Admin, "POST", "/api/v1/certificates/"+cb+"/revoke", map[string]any{"reason": "材料造假"}).Want(t, 200)
	by, _ = f.svc.CountByTownship(f.Ctx)
	mf, _ = f.svc.MonthlyFigures(f.Ctx, month)
	if by[""] != 2 || by[t2] != 1 || mf[""]["certificates"] != 3 {
		t.Fatalf("after revoke: by township %v, monthly %v", by, mf)
	}
}
