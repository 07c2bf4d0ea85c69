package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync/atomic"
	"time"

	"nongxun/clock"
)

// course is one course of the plan: a class of one township, its
// sessions, who enrolled and who came.
type course struct {
	ID, Title, Category, Desc string
	Groups                    []string
	PassRatio                 float64
	Township                  int
	Trainer                   int // index into l.trainers
	Sessions                  []*session
	Enrolled                  []int // people indexes
	Today                     bool  // holds today's session
	Draft                     bool
}

// Finished reports whether every session of the course has ended.
func (c *course) Finished(now time.Time) bool {
	for _, s := range c.Sessions {
		if !s.Cancelled && !s.End.Before(now) {
			return false
		}
	}
	return len(c.Sessions) > 0
}

type session struct {
	ID                 string
	Start, End         time.Time
	StartNow           bool // today's: the trainer opens it on the spot
	Location           string
	RegionID           string
	StationID          string
	Capacity           int
	Cancelled          bool
	Present, Late, Exc []int // people; Late ⊂ Present
	// WalkIns are present but not enrolled (roll call enrols them).
	WalkIns []int
}

// planCourses lays out the year's classes: every category, spread over
// the months, at township halls and village points, each with its
// trainer (one session a day at most); one course holds a session today,
// a few are under way or still to come.
func (l *loader) planCourses() {
	r := l.rand("courses")
	T := int(l.today().Sub(l.programmeStart()).Hours() / 24)
	n := l.scale(48, len(catalog))
	var tw []int
	for i := range l.townships {
		tw = append(tw, townshipWeight(i))
	}
	busy := map[string]bool{} // trainer/day
	free := func(tr int, day time.Time) bool { return !busy[fmt.Sprint(tr, clock.Day(day))] }
	take := func(tr int, day time.Time) { busy[fmt.Sprint(tr, clock.Day(day))] = true }
	seen := map[string]int{}
	nUpcoming, nRunning := l.scale(3, 1), l.scale(2, 1)
	todayIdx := 0
	for k := 0; k < n; k++ {
		cat := catalog[k%len(catalog)]
		sub := cat.Subjects[(k/len(catalog))%len(cat.Subjects)]
		ti := pick(r, tw)
		if k < len(l.officers) {
			ti = l.officers[k].Township // each officer's township has classes
		}
		if k == todayIdx && len(l.officers) > 0 {
			ti = l.officers[0].Township
		}
		t := l.townships[ti]
		base := sub.Title + "·" + unmarked(t.Name)
		seen[base]++
		title := base
		if seen[base] > 1 {
			title += "第" + cnOrdinal(seen[base]) + "期"
		}
		c := &course{Title: marked(title), Category: cat.Category, Desc: sub.Desc, Groups: sub.Groups, Township: ti,
			Trainer: k % len(l.trainers), PassRatio: 0.6}
		switch {
		case sub.Sessions >= 4:
			c.PassRatio = 0.75
		case sub.Sessions <= 2:
			c.PassRatio = 0.5
		}
		// The venue: the township hall, or a village point that is open.
		loc, region, stationID, capacity := unmarked(t.Name)+halls[r.IntN(len(halls))], t.ID, "", 50+5*r.IntN(7)
		if r.IntN(100) < 35 {
			var open []*station
			for _, vi := range t.villages {
				if s := l.stations.byVillage[vi]; s != nil && s.Status() == "operating" {
					open = append(open, s)
				}
			}
			if len(open) > 0 {
				s := open[r.IntN(len(open))]
				loc, region, stationID, capacity = s.Name, l.villages[s.Village].ID, s.ID, 30+5*r.IntN(4)
			}
		}
		// When: today's course has had two sessions and holds one today;
		// upcoming and running ones are near today; the rest are spread
		// over the months so far.
		var first int
		gap := 5 + r.IntN(5)
		ns := sub.Sessions
		switch {
		case k == todayIdx:
			c.Today, ns, gap, first = true, 4, 7, T-14
		case k <= nUpcoming:
			first = T + 4 + r.IntN(22)
		case k <= nUpcoming+nRunning:
			first = T - 8 - r.IntN(6)
			ns = 3
		default:
			m := pick(r, monthWeights[:min(len(monthWeights), monthsSince(l.programmeStart(), l.now))])
			ms := l.programmeStart().AddDate(0, m, 0)
			first = int(ms.Sub(l.programmeStart()).Hours()/24) + r.IntN(26)
			if lim := T - 12 - gap*ns; first > lim {
				first = lim - r.IntN(20)
			}
			if first < 10 {
				first = 10 + r.IntN(10)
			}
		}
		hh := 9
		if r.IntN(2) == 0 {
			hh = 14
		}
		for j := 0; j < ns; j++ {
			d := l.day(first+j*gap, hh, 0)
			if c.Today && j == 2 {
				c.Sessions = append(c.Sessions, &session{StartNow: true, Start: l.now, End: todayEnd(l.now), Location: loc,
					RegionID: region, StationID: stationID, Capacity: capacity})
				take(c.Trainer, l.now)
				continue
			}
			for !free(c.Trainer, d) || (c.Today && clock.Day(d) == clock.Day(l.now)) {
				d = d.AddDate(0, 0, 1)
			}
			if clock.Day(d) == clock.Day(l.now) && !c.Today {
				d = d.AddDate(0, 0, 1) // only today's course meets today
			}
			take(c.Trainer, d)
			c.Sessions = append(c.Sessions, &session{Start: d, End: d.Add(3 * time.Hour), Location: loc, RegionID: region,
				StationID: stationID, Capacity: capacity})
		}
		l.courses = append(l.courses, c)
	}
	// An upcoming session called off (flood-season duty), kept with its reason.
	for _, c := range l.courses {
		if !c.Today && c.Sessions[0].Start.After(l.now) && len(c.Sessions) >= 2 {
			c.Sessions[1].Cancelled = true
			break
		}
	}
	// A trainer's draft, not yet published.
	l.courses = append(l.courses, &course{Title: marked("电商数据分析基础（草稿）"), Category: "其他", Desc: "讲义整理中，暂不开班。",
		Groups: []string{"youth"}, PassRatio: 0.6, Township: 0, Trainer: 1 % len(l.trainers), Draft: true})
	l.planEnrolment(r)
}

// todayEnd is when today's session ends: late afternoon, or four hours
// from now when it is already evening (at most 12 hours).
func todayEnd(now time.Time) time.Time {
	t := now.In(clock.Shanghai)
	end := time.Date(t.Year(), t.Month(), t.Day(), 18, 0, 0, 0, clock.Shanghai)
	if end.Sub(now) < 4*time.Hour {
		end = now.Add(4 * time.Hour)
	}
	return end.Truncate(time.Minute)
}

// planEnrolment fills each course from its township (a neighbour's when
// short), people with fewer courses first and the target groups
// favoured, and decides who came to each session held.
func (l *loader) planEnrolment(r *rand.Rand) {
	taken := make([]int, len(l.people))
	byTownship := map[int][]int{}
	for i, p := range l.people {
		if !p.Shy {
			byTownship[p.Township] = append(byTownship[p.Township], i)
		}
	}
	for _, c := range l.courses {
		if c.Draft {
			continue
		}
		cap := c.Sessions[0].Capacity
		want := int(float64(cap) * (0.72 + 0.24*r.Float64()))
		pool := append([]int{}, byTownship[c.Township]...)
		for d := 1; len(pool) < want*2 && d < len(l.townships); d++ {
			pool = append(pool, byTownship[(c.Township+d)%len(l.townships)]...)
		}
		score := map[int]float64{}
		for _, i := range pool {
			s := float64(taken[i]) + r.Float64()*1.5
			if l.people[i].Township != c.Township {
				s += 2
			}
			for _, g := range c.Groups {
				if hasGroup(l.people[i].Groups, g) {
					s -= 0.8
				}
			}
			score[i] = s
		}
		sort.SliceStable(pool, func(a, b int) bool { return score[pool[a]] < score[pool[b]] })
		if want > len(pool) {
			want = len(pool)
		}
		c.Enrolled = append([]int{}, pool[:want]...)
		enrolled := map[int]bool{}
		for _, i := range c.Enrolled {
			taken[i]++
			enrolled[i] = true
		}
		for _, s := range c.Sessions {
			if s.Cancelled || s.StartNow || s.Start.After(l.now) {
				continue
			}
			for _, i := range c.Enrolled {
				switch {
				case r.Float64() < l.people[i].Reliability:
					s.Present = append(s.Present, i)
					if r.IntN(100) < 5 {
						s.Late = append(s.Late, i)
					}
				case r.IntN(100) < 30:
					s.Exc = append(s.Exc, i) // asked for leave
				}
			}
			// A few came without enrolling; the trainer ticks them in.
			for w := r.IntN(4); w > 0 && len(pool) > want; w-- {
				i := pool[want+r.IntN(len(pool)-want)]
				if !enrolled[i] && !containsInt(s.Present, i) {
					s.Present = append(s.Present, i)
					s.WalkIns = append(s.WalkIns, i)
				}
			}
		}
	}
}

func hasGroup(gs []string, g string) bool {
	for _, x := range gs {
		if x == g {
			return true
		}
	}
	return false
}

func containsInt(xs []int, x int) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// loadCourses creates the courses (the office, then assigns trainers) and
// their sessions: the office back-fills the sessions already held, the
// trainers schedule the coming ones and open today's on the spot.
func (l *loader) loadCourses(ctx context.Context) error {
	l.planCourses()
	var done atomic.Int64
	total := 0
	for _, c := range l.courses {
		total += 1 + len(c.Sessions)
	}
	err := parallel(l.workers, len(l.courses), func(k int) error {
		c := l.courses[k]
		tr := l.trainers[c.Trainer]
		in := map[string]any{"title": c.Title, "description": c.Desc, "category": c.Category, "hours": float64(3 * max(len(c.Sessions), 2)),
			"pass_ratio": c.PassRatio, "target_groups": c.Groups, "published": !c.Draft}
		var out struct {
			ID string `json:"id"`
		}
		if c.Draft {
			err := tr.must("建立课程 "+c.Title, "POST", "/courses", in, &out)
			c.ID = out.ID
			l.progress("课程与班次", int(done.Add(1)), total)
			return err
		}
		if err := l.admin.must("建立课程 "+c.Title, "POST", "/courses", in, &out); err != nil {
			return err
		}
		c.ID = out.ID
		if err := l.admin.must("指派讲师", "PUT", "/courses/"+c.ID+"/trainers", map[string]any{"trainer_ids": []string{tr.ID}}, nil); err != nil {
			return err
		}
		lines := []string{"类别：" + c.Category, "讲师：" + tr.Name, "内容：" + c.Desc, "", "班次安排："}
		for _, s := range c.Sessions {
			if !s.Cancelled {
				lines = append(lines, "  "+clock.Show(s.Start)+"  "+s.Location)
			}
		}
		lines = append(lines, "", "结业要求：出勤不少于班次的 "+fmt.Sprint(int(c.PassRatio*100))+"%，结业后发放电子证书。", "（本讲义为演示数据）")
		if err := tr.client().UploadBytes("/courses/"+c.ID+"/materials?public=true", "课程讲义.pdf", handout(unmarked(c.Title), lines), nil); err != nil {
			return fmt.Errorf("上传讲义 %s：%w", c.Title, err)
		}
		done.Add(1)
		for j, s := range c.Sessions {
			body := map[string]any{"ends_at": rfc(s.End), "location": s.Location, "region_id": s.RegionID, "capacity": s.Capacity}
			if s.StationID != "" {
				body["station_id"] = s.StationID
			}
			by := l.admin
			switch {
			case s.StartNow:
				body["start_now"] = true
				by = tr
			case s.Start.After(l.now):
				body["starts_at"] = rfc(s.Start)
				by = tr
				if o := l.officerOf(c.Township); o != nil && j%2 == 1 {
					by = o // the township's officer books some of the coming sessions
					body["trainer_id"] = tr.ID
				}
			default:
				body["starts_at"] = rfc(s.Start)
				body["trainer_id"] = tr.ID
			}
			var so struct {
				ID       string `json:"id"`
				StartsAt string `json:"starts_at"`
			}
			if err := by.must(fmt.Sprintf("安排班次（%s %s）", c.Title, clock.Show(s.Start)), "POST", "/courses/"+c.ID+"/sessions", body, &so); err != nil {
				return err
			}
			s.ID = so.ID
			if s.StartNow {
				if t, err := time.Parse(time.RFC3339, so.StartsAt); err == nil {
					s.Start = t
				}
			}
			if s.Cancelled {
				if err := tr.must("取消班次", "POST", "/sessions/"+s.ID+"/cancel", map[string]any{"reason": "乡镇集中开展防汛工作，本次培训改期举行"}, nil); err != nil {
					return err
				}
			}
			l.progress("课程与班次", int(done.Add(1)), total)
		}
		return nil
	})
	if err != nil {
		return err
	}
	held, coming := 0, 0
	for _, c := range l.courses {
		for _, s := range c.Sessions {
			if s.Start.After(l.now) {
				coming++
			} else if !s.Cancelled {
				held++
			}
		}
	}
	l.say("        %d 门课程（每个类别都有），%d 个班次已举办或正在举办，%d 个待举办", len(l.courses), held, coming)
	l.count("课程", len(l.courses))
	l.count("班次", held+coming)
	return nil
}
