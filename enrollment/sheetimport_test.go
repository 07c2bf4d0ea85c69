package enrollment

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"
	"nongxun/courses"
	"nongxun/server"
	"nongxun/sheets/sheetstest"
	"nongxun/testkit"
)

// signInHeader is a sign-in sheet's header laid over the roster
// generator's columns: the village column carries the 签到 mark.
var signInHeader = []string{"姓名", "身份证号", "手机号", "乡镇", "签到", "性别", "人群类别"}

// register adds the people as trainees of township 0 and returns their ids.
func (f *fixture) register(t *testing.T, people []sheetstest.Trainee) []string {
	t.Helper()
	var ids []string
	for _, p := range people {
		r, err := f.s.AddTrainee(f.Ctx, NewTrainee{Name: p.Name, IDNumber: p.IDNumber, Phone: p.Phone, RegionID: f.Village(0, 0).ID}, false, "staff", "test")
		if err != nil {
			t.Fatalf("%s: %v %v", p.Name, err, server.ToError(err).Fields)
		}
		ids = append(ids, r.ID)
	}
	return ids
}

func (f *fixture) importSheet(t *testing.T, c *testkit.Caller, sess *courses.Session, q, name string, file []byte, fields map[string]string, want int) *SheetImport {
	t.Helper()
	r := f.Upload(c, "/api/v1/sessions/"+sess.ID+"/attendance/import"+q, name, file, fields).Want(t, want)
	var out SheetImport
	if want == 200 {
		if err := json.Unmarshal(r.Body, &out); err != nil {
			t.Fatal(err)
		}
	} else {
		var e struct{ Error server.Error }
		_ = json.Unmarshal(r.Body, &e)
		out.Notes = []string{e.Error.Message}
	}
	return &out
}

func sheetStatuses(res *SheetImport) string {
	var b strings.Builder
	for _, r := range res.Rows {
		b.WriteString(r.Status[:2])
		b.WriteByte(' ')
	}
	return strings.TrimSpace(b.String())
}

// An Excel/WPS sheet with a title and a 填报单位 row: preview writes
// nothing, the import records the marked through the roll call's path
// (counters, method sheet, the photo), and importing it again changes
// nothing.
func TestSheetImportXLSX(t *testing.T) {
	f := newFixture(t)
	trainer := f.NewCaller(server.RoleTrainer, "")
	sess := f.session(trainer, 0, nil)
	people := sheetstest.Trainees(8)
	ids := f.register(t, people[:6])
	if _, err := f.s.RollCall(f.Ctx, sess, []string{ids[5]}, "test"); err != nil {
		t.Fatal(err)
	}
	marks := []string{"√", "", "是", people[3].Name, "？", "√", "√", "×"}
	for i := range people {
		people[i].Village = marks[i]
	}
	file := sheetstest.RosterXLSX(t, people, sheetstest.XLSXOptions{Title: "会泽县电商培训签到表", Unit: true, Header: signInHeader, SerialTo: 15})
	before := f.progress(t)

	res := f.importSheet(t, trainer, sess, "?preview=1", "签到表.xlsx", file, nil, 200)
	if got := sheetStatuses(res); got != "pr ab pr pr re al un ab" {
		t.Fatalf("preview statuses %s: %+v", got, res.Rows)
	}
	for i, r := range res.Rows {
		if r.Row != 4+i {
			t.Errorf("row %d numbered %d, want %d as Excel shows it", i, r.Row, 4+i)
		}
	}
	if !strings.Contains(res.Rows[4].Reason, "签到") || !strings.Contains(res.Rows[4].Reason, "看不懂") {
		t.Errorf("refusal %q", res.Rows[4].Reason)
	}
	if res.Rows[6].Reason == "" || res.Rows[0].TraineeID != ids[0] || strings.Contains(res.Rows[0].IDNumber, people[0].IDNumber[6:14]) {
		t.Errorf("rows %+v", res.Rows)
	}
	if res.Recorded != 0 || res.Counts[SheetPresent] != 3 || f.progress(t).PersonTimes != before.PersonTimes {
		t.Fatalf("the preview wrote: %+v", res)
	}

	png := []byte("\x89PNG\r\n\x1a\n" + strings.Repeat("x", 100))
	f.Upload(trainer, "/api/v1/sessions/"+sess.ID+"/signin-photos", "sheet.png", png, nil).Want(t, 201)
	photos, _ := f.s.SignInPhotos(f.Ctx, sess.ID)
	res = f.importSheet(t, trainer, sess, "", "签到表.xlsx", file, map[string]string{"photo_id": photos[0]}, 200)
	if got := sheetStatuses(res); got != "pr ab pr pr re al un ab" || res.Recorded != 3 {
		t.Fatalf("import %s recorded %d", got, res.Recorded)
	}
	after := f.progress(t)
	if after.PersonTimes != before.PersonTimes+3 || after.Trainees != before.Trainees+3 {
		t.Fatalf("progress %+v → %+v", before, after)
	}
	var a Attendance
	if err := f.s.attendance.Get(f.Ctx, attendanceID(sess.ID, ids[3]), &a); err != nil || a.Method != MethodSheet || a.SheetPhoto != photos[0] || a.By != trainer.User.ID {
		t.Fatalf("record %+v %v", a, err)
	}
	f.noDrift(t)

	res = f.importSheet(t, trainer, sess, "", "签到表.xlsx", file, nil, 200)
	if got := sheetStatuses(res); got != "al ab al al re al un ab" || res.Recorded != 0 {
		t.Fatalf("re-import %s recorded %d", got, res.Recorded)
	}
	if p := f.progress(t); p.PersonTimes != after.PersonTimes || p.Trainees != after.Trainees {
		t.Fatalf("the re-import changed the counts: %+v", p)
	}
	f.noDrift(t)
}

// A CSV saved by Excel on Chinese Windows (GB18030) with a title line,
// people named by name and phone only.
func TestSheetImportGB18030NamePhone(t *testing.T) {
	f := newFixture(t)
	trainer := f.NewCaller(server.RoleTrainer, "")
	sess := f.session(trainer, 0, nil)
	people := sheetstest.Trainees(3)
	f.register(t, people)
	text := "会泽县电商培训签到表（娜姑镇）,,,\r\n序号,学员姓名,联系电话,是否签到\r\n" +
		"1," + people[0].Name + "," + people[0].Phone + ",√\r\n" + // present
		"2," + people[1].Name + ",13900000000,√\r\n" + // the phone is nobody's
		"3,张冒名," + people[2].Phone + ",√\r\n" + // the phone is someone else's
		"4," + people[2].Name + ",,√\r\n" + // no phone
		"5," + people[2].Name + ",1.39123E+10,√\r\n" + // lost digits
		"6," + people[1].Name + "," + people[1].Phone + ",\r\n" // absent
	gb, err := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	res := f.importSheet(t, trainer, sess, "", "签到表.csv", gb, nil, 200)
	if got := sheetStatuses(res); got != "pr un un re re ab" || res.Recorded != 1 {
		t.Fatalf("%s recorded %d: %+v", got, res.Recorded, res.Rows)
	}
	if res.Rows[0].Row != 3 || !strings.Contains(res.Rows[4].Reason, "科学计数法") || !strings.Contains(res.Rows[3].Reason, "手机号") {
		t.Errorf("rows %+v", res.Rows)
	}
	if !strings.Contains(res.Rows[0].Phone, "****") {
		t.Errorf("phone shown %q", res.Rows[0].Phone)
	}
	f.noDrift(t)
}

// ID numbers Excel stored as numbers have lost digits: those rows are
// refused, one by one; IDs ending in X stayed text and are read.
func TestSheetImportNumericIDs(t *testing.T) {
	f := newFixture(t)
	trainer := f.NewCaller(server.RoleTrainer, "")
	sess := f.session(trainer, 0, nil)
	people := sheetstest.Trainees(7)
	f.register(t, people)
	for i := range people {
		people[i].Village = "√"
	}
	file := sheetstest.RosterXLSX(t, people, sheetstest.XLSXOptions{Title: "签到表", Header: signInHeader, IDs: sheetstest.IDNumber})
	res := f.importSheet(t, trainer, sess, "", "签到表.xlsx", file, nil, 200)
	x := 0
	for i, r := range res.Rows {
		if people[i].IDNumber[17] == 'X' {
			x++
			if r.Status != SheetPresent {
				t.Errorf("row %d (…X) %+v", r.Row, r)
			}
		} else if r.Status != SheetRefused || !strings.Contains(r.Reason, "Excel 把身份证号存成了数字") {
			t.Errorf("row %d %+v", r.Row, r)
		}
	}
	if x == 0 || res.Recorded != x || len(res.Notes) == 0 {
		t.Fatalf("recorded %d of %d X rows; notes %q", res.Recorded, x, res.Notes)
	}
}

// Sessions not held, cancelled or another trainer's; photos of another
// session; files that are no sign-in sheet.
func TestSheetImportRefusals(t *testing.T) {
	f := newFixture(t)
	trainer := f.NewCaller(server.RoleTrainer, "")
	sess := f.session(trainer, 0, nil)
	people := sheetstest.Trainees(2)
	f.register(t, people)
	people[0].Village, people[1].Village = "√", "√"
	file := sheetstest.RosterXLSX(t, people, sheetstest.XLSXOptions{Header: signInHeader})

	other := f.NewCaller(server.RoleTrainer, "")
	if e := f.importSheet(t, other, sess, "", "a.xlsx", file, nil, 403); !strings.Contains(e.Notes[0], "讲师") {
		t.Errorf("another trainer: %q", e.Notes)
	}
	f.importSheet(t, f.NewCaller(server.RoleOfficer, f.Township(0).ID), sess, "", "a.xlsx", file, nil, 403)
	f.importSheet(t, f.NewCaller(server.RoleTrainee, ""), sess, "", "a.xlsx", file, nil, 403)

	later := f.mc.AddSession(courses.Session{CourseID: sess.CourseID, StartsAt: f.now.Add(24 * time.Hour), EndsAt: f.now.Add(26 * time.Hour),
		RegionID: sess.RegionID, TownshipID: sess.TownshipID, TrainerID: trainer.User.ID})
	if e := f.importSheet(t, trainer, later, "", "a.xlsx", file, nil, 400); !strings.Contains(e.Notes[0], "还没有开始") {
		t.Errorf("future session: %q", e.Notes)
	}
	f.mc.Update(later.ID, func(s *courses.Session) { s.StartsAt, s.Cancelled = f.now.Add(-time.Hour), true })
	if e := f.importSheet(t, trainer, later, "", "a.xlsx", file, nil, 400); !strings.Contains(e.Notes[0], "已取消") {
		t.Errorf("cancelled session: %q", e.Notes)
	}
	png := []byte("\x89PNG\r\n\x1a\n" + strings.Repeat("y", 100))
	f.Upload(trainer, "/api/v1/sessions/"+later.ID+"/signin-photos", "sheet.png", png, nil).Want(t, 201)
	theirs, _ := f.s.SignInPhotos(f.Ctx, later.ID)
	if e := f.importSheet(t, trainer, sess, "", "a.xlsx", file, map[string]string{"photo_id": theirs[0]}, 400); !strings.Contains(e.Notes[0], "照片") {
		t.Errorf("another session's photo: %q", e.Notes)
	}
	if e := f.importSheet(t, trainer, sess, "", "a.png", png, nil, 400); e.Notes[0] == "" {
		t.Errorf("a photo as the sheet: %q", e.Notes)
	}
	roster := sheetstest.RosterXLSX(t, people, sheetstest.XLSXOptions{})
	if e := f.importSheet(t, trainer, sess, "", "花名册.xlsx", roster, nil, 400); !strings.Contains(e.Notes[0], "签到") {
		t.Errorf("a roster without marks: %q", e.Notes)
	}
	if n := f.records(t); n != 0 {
		t.Fatalf("%d records written by refused imports", n)
	}
	// admin may import for any trainer's session
	res := f.importSheet(t, f.Admin, sess, "", "a.xlsx", file, nil, 200)
	if res.Recorded != 2 {
		t.Fatalf("admin import %+v", res)
	}
}

// BenchmarkSheetImport60 previews and then imports a 60-row XLSX sign-in
// sheet (ID numbers, as typed) into a fresh session each time, through the
// handler; it reports the milliseconds of each step.
func BenchmarkSheetImport60(b *testing.B) {
	f := newFixture(b)
	trainer := f.NewCaller(server.RoleTrainer, "")
	people := sheetstest.Trainees(60)
	for _, p := range people {
		if _, err := f.s.AddTrainee(f.Ctx, NewTrainee{Name: p.Name, IDNumber: p.IDNumber, Phone: p.Phone, RegionID: f.Village(0, 0).ID}, false, "staff", "test"); err != nil {
			b.Fatal(err)
		}
	}
	for i := range people {
		people[i].Village = "√"
	}
	file := sheetstest.RosterXLSX(b, people, sheetstest.XLSXOptions{Title: "签到表", Unit: true, Header: signInHeader})
	var preview, write time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sess := f.session(trainer, 0, nil)
		t0 := time.Now()
		f.Upload(trainer, "/api/v1/sessions/"+sess.ID+"/attendance/import?preview=1", "a.xlsx", file, nil).Want(b, 200)
		t1 := time.Now()
		r := f.Upload(trainer, "/api/v1/sessions/"+sess.ID+"/attendance/import", "a.xlsx", file, nil).Want(b, 200)
		write += time.Since(t1)
		preview += t1.Sub(t0)
		var res SheetImport
		if err := json.Unmarshal(r.Body, &res); err != nil || res.Recorded != 60 {
			b.Fatalf("recorded %d %v", res.Recorded, err)
		}
	}
	b.ReportMetric(float64(preview.Milliseconds())/float64(b.N), "preview-ms")
	b.ReportMetric(float64(write.Milliseconds())/float64(b.N), "import-ms")
}

// A trainee marked excused who signed the paper sheet after all is
// recorded present, as the roll call does.
func TestSheetImportExcusedBecomesPresent(t *testing.T) {
	f := newFixture(t)
	trainer := f.NewCaller(server.RoleTrainer, "")
	sess := f.session(trainer, 0, nil)
	people := sheetstest.Trainees(1)
	ids := f.register(t, people)
	if _, err := f.s.Mark(f.Ctx, sess, ids[0], StatusExcused, "", "test"); err != nil {
		t.Fatal(err)
	}
	people[0].Village = "√"
	file := sheetstest.RosterXLSX(t, people, sheetstest.XLSXOptions{Header: signInHeader})
	res := f.importSheet(t, trainer, sess, "?preview=1", "a.xlsx", file, nil, 200)
	if res.Rows[0].Status != SheetPresent || !strings.Contains(res.Rows[0].Reason, "请假") || f.progress(t).PersonTimes != 0 {
		t.Fatalf("preview %+v", res.Rows)
	}
	if res = f.importSheet(t, trainer, sess, "", "a.xlsx", file, nil, 200); res.Recorded != 1 || f.progress(t).PersonTimes != 1 {
		t.Fatalf("import %+v, progress %+v", res, f.progress(t))
	}
	f.noDrift(t)
}
