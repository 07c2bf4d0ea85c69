package incubation

import (
	"fmt"
	"testing"
	"time"

	"nongxun/certificates"
	"nongxun/courses"
	"nongxun/enrollment"
)

// idNumber makes a GB 11643 resident ID number with a valid check character.
func idNumber(seq int) string {
	base := fmt.Sprintf("53032619900101%03d", seq%1000)
	w := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, c := range base {
		sum += int(c-'0') * w[i]
	}
	return base + string("10X98765432"[sum%11])
}

// TestFullPathWithEnrollment runs the path on the real enrollment
// service: trained (a roll call), certified, followed up, shop, sales,
// cohort; the funnel's "trained" comes from enrollment's counters and the
// whole funnel agrees with a recount.
func TestFullPathWithEnrollment(t *testing.T) {
	e := newEnv(t)
	mem := enrollment.NewMemCourses()
	en, err := enrollment.New(e.Ctx, enrollment.Deps{Store: e.Store, Config: e.Config, Regions: e.Regions, Users: e.Users, Audit: e.Audit, Log: e.Log, Courses: mem})
	if err != nil {
		t.Fatal(err)
	}
	e.svc.d.Trainees = FromEnrollment(en)
	v := e.Village(2, 1)
	reg, err := en.AddTrainee(e.Ctx, enrollment.NewTrainee{Name: "李梅", IDNumber: idNumber(7), Phone: "13987650001", RegionID: v.ID, Groups: []string{"poverty"}}, false, "test", e.Admin.User.ID)
	if err != nil {
		t.Fatal(err)
	}
	tr := &reg.Trainee
	course := mem.AddCourse("网店开设实操")
	sess := mem.AddSession(courses.Session{CourseID: course.ID, StartsAt: time.Now().Add(-3 * time.Hour), EndsAt: time.Now().Add(-time.Hour),
		RegionID: v.ID, TownshipID: v.ParentID, TrainerID: e.trainer.User.ID})
	if _, err := en.Enroll(e.Ctx, course.ID, tr, e.Admin.User.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := en.RollCall(e.Ctx, sess, []string{tr.ID}, e.trainer.User.ID); err != nil {
		t.Fatal(err)
	}
	wantFunnel(t, "trained", e.conversion(e.Admin, "").Funnel, Funnel{Trained: 1})

	e.issued(certificates.Certificate{ID: "c", TraineeID: tr.ID, CourseID: course.ID, IssuedAt: e.clock.now()})
	e.clock.set(start.AddDate(0, 0, 30))
	e.Do(e.trainer, "POST", "/api/v1/followups", map[string]any{"trainee_id": tr.ID, "contacted_at": e.clock.now().Format(time.RFC3339), "method": "visit", "shop_opened": true}).Want(t, 201)
	shop := e.Do(e.trainer, "POST", "/api/v1/shops", map[string]any{"trainee_id": tr.ID, "platform": "kuaishou", "name": "李梅的快手小店",
		"url": "https://www.kuaishou.com/profile/3xlimei", "opened_on": "2019-07-01"}).Want(t, 201).JSON()["id"].(string)
	e.Do(e.trainer, "POST", "/api/v1/shops/"+shop+"/sales", map[string]any{"month": "2019-07", "orders": 30, "revenue_fen": 456000}).Want(t, 201)
	co := e.Do(e.Admin, "POST", "/api/v1/cohorts", map[string]any{"name": "快手直播班", "starts_on": "2019-07-01", "ends_on": "2019-09-30", "mentors": []string{"王老师"}}).Want(t, 201).JSON()["id"].(string)
	e.Do(e.Admin, "POST", "/api/v1/cohorts/"+co+"/members", map[string]any{"shop_id": shop}).Want(t, 201)

	all := Funnel{Trained: 1, Certified: 1, FollowedUp: 1, ShopOpened: 1, Selling: 1, Incubated: 1}
	conv := e.conversion(e.Admin, "")
	wantFunnel(t, "county", conv.Funnel, all)
	wantFunnel(t, "township", conv.ByTownship[v.ParentID], all)
	wantFunnel(t, "poverty", conv.ByGroup["poverty"], all)
	off := e.NewCaller("officer", v.ParentID)
	wantFunnel(t, "officer", e.conversion(off, "").Funnel, all)
	e.recountOK()
}
