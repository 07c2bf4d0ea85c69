package demo

import (
	"context"
	"fmt"
	"sync/atomic"
)

// loadEnrolments enrols each course's trainees: the township's officer
// for the courses still running, the office for the others (back-filling
// the paper sign-up sheets of courses already over).
func (l *loader) loadEnrolments(ctx context.Context) error {
	type job struct {
		c *course
		i int
	}
	var jobs []job
	for _, c := range l.courses {
		for _, i := range c.Enrolled {
			jobs = append(jobs, job{c, i})
		}
	}
	var done atomic.Int64
	err := parallel(l.workers, len(jobs), func(k int) error {
		j := jobs[k]
		p := l.people[j.i]
		by := l.admin
		if o := l.officerOf(p.Township); o != nil && !j.c.Finished(l.now) && p.Township == j.c.Township {
			by = o
		}
		if err := by.must("报名 "+p.Name+" → "+j.c.Title, "POST", "/courses/"+j.c.ID+"/enrollments", map[string]any{"trainee_id": p.ID}, nil); err != nil {
			return err
		}
		l.progress("报名", int(done.Add(1)), len(jobs))
		return nil
	})
	if err != nil {
		return err
	}
	l.count("报名", len(jobs))
	return nil
}

// loadAttendance records who came: the trainers' roll calls of the
// sessions held (with late arrivals and leave marked), and for today's
// session real check-ins by trainees on their phones with the rotating
// code, plus the trainer's ticks for those without a phone.
func (l *loader) loadAttendance(ctx context.Context) error {
	type job struct {
		c *course
		s *session
	}
	var jobs []job
	for _, c := range l.courses {
		for _, s := range c.Sessions {
			if len(s.Present) > 0 || len(s.Exc) > 0 {
				jobs = append(jobs, job{c, s})
			}
		}
	}
	var done, pt atomic.Int64
	err := parallel(l.workers, len(jobs), func(k int) error {
		j := jobs[k]
		tr := l.trainers[j.c.Trainer]
		ids := make([]string, 0, len(j.s.Present))
		for _, i := range j.s.Present {
			ids = append(ids, l.people[i].ID)
		}
		for a := 0; a < len(ids); a += 500 {
			var out struct {
				Recorded int `json:"recorded"`
			}
			if err := tr.must("点名 "+j.c.Title, "POST", "/sessions/"+j.s.ID+"/rollcall", map[string]any{"trainee_ids": ids[a:min(a+500, len(ids))]}, &out); err != nil {
				return err
			}
			pt.Add(int64(out.Recorded))
		}
		for _, i := range j.s.Late {
			in := map[string]any{"trainee_id": l.people[i].ID, "status": "late", "note": "迟到约 20 分钟"}
			if err := tr.must("标记迟到", "POST", "/sessions/"+j.s.ID+"/marks", in, nil); err != nil {
				return err
			}
		}
		for _, i := range j.s.Exc {
			in := map[string]any{"trainee_id": l.people[i].ID, "status": "excused", "note": "农忙请假"}
			if err := tr.must("标记请假", "POST", "/sessions/"+j.s.ID+"/marks", in, nil); err != nil {
				return err
			}
		}
		l.progress("点名", int(done.Add(1)), len(jobs))
		return nil
	})
	if err != nil {
		return err
	}
	if err := l.todayCheckins(); err != nil {
		return err
	}
	var pr struct {
		PersonTimes int `json:"person_times"`
		Trainees    int `json:"trainees"`
	}
	if err := l.admin.must("读取培训进度", "GET", "/progress", nil, &pr); err != nil {
		return err
	}
	l.say("        %d 人次，%d 名学员参加过培训", pr.PersonTimes, pr.Trainees)
	l.count("培训人次", pr.PersonTimes)
	return nil
}

// todayCheckins gives some of today's trainees a login, has them check
// in with the code on the trainer's screen, and keeps one trainee (the
// demo login) not yet checked in, so a newcomer can try it.
func (l *loader) todayCheckins() error {
	var c *course
	var s *session
	for _, x := range l.courses {
		if x.Today {
			c = x
			for _, y := range x.Sessions {
				if y.StartNow {
					s = y
				}
			}
		}
	}
	if c == nil || s == nil {
		return nil
	}
	tr := l.trainers[c.Trainer]
	var phones, none []int
	for _, i := range c.Enrolled {
		if l.people[i].Phone != "" {
			phones = append(phones, i)
		} else {
			none = append(none, i)
		}
	}
	if len(phones) < 2 {
		return fmt.Errorf("今天的班次没有带手机的学员")
	}
	nCheck := min(l.scale(14, 4), len(phones)-1)
	staff := l.officerOf(c.Township)
	if staff == nil {
		staff = l.admin
	}
	for k := 0; k <= nCheck; k++ {
		p := &l.people[phones[k]]
		a := &actor{Role: "trainee", Login: p.Phone, Password: strongPassword(), Name: p.Name, conn: &l.conn, Township: p.Township}
		if err := staff.must("为学员开通账号", "POST", "/trainees/"+p.ID+"/account", map[string]any{"password": a.Password}, nil); err != nil {
			return err
		}
		if k == nCheck {
			// The demo trainee: enrolled, with a phone and a login, not yet checked in.
			l.traineeLogin = &Login{Role: "trainee", RoleName: roleNames["trainee"], Name: p.Name, Login: p.Phone, Password: a.Password,
				Note: "今天的班次（" + unmarked(c.Title) + "）尚未签到，可试扫码或输入 6 位数字"}
			break
		}
		if err := a.login(); err != nil {
			return err
		}
		var code struct {
			Code string `json:"code"`
		}
		if err := tr.must("读取签到码", "GET", "/sessions/"+s.ID+"/checkin-code", nil, &code); err != nil {
			return err
		}
		in := map[string]any{"session_id": s.ID, "code": code.Code, "client_id": fmt.Sprintf("demo-%s-%d", s.ID[:8], k)}
		if err := a.must(p.Name+" 扫码签到", "POST", "/checkins", in, nil); err != nil {
			return err
		}
	}
	if len(none) > 0 {
		ids := []string{}
		for _, i := range none[:min(3, len(none))] {
			ids = append(ids, l.people[i].ID)
		}
		if err := tr.must("点名（没有手机的学员）", "POST", "/sessions/"+s.ID+"/rollcall", map[string]any{"trainee_ids": ids}, nil); err != nil {
			return err
		}
	}
	l.say("        今天的班次：%s，%d 人扫码签到，%d 人由讲师点名", unmarked(c.Title), nCheck, min(3, len(none)))
	return nil
}
