package enrollment

import (
	"context"
	"fmt"
	"sync"
	"time"

	"nongxun/clock"
	"nongxun/courses"
	"nongxun/server"
	"nongxun/store"
)

// MemCourses is an in-memory Courses for tests and benchmarks that need
// sessions without the courses package's rules (past sessions, any trainer).
type MemCourses struct {
	mu       sync.RWMutex
	courses  map[string]*courses.Course
	sessions map[string]*courses.Session
}

// NewMemCourses makes an empty MemCourses.
func NewMemCourses() *MemCourses {
	return &MemCourses{courses: map[string]*courses.Course{}, sessions: map[string]*courses.Session{}}
}

// AddCourse adds a published course and returns it.
func (m *MemCourses) AddCourse(title string) *courses.Course {
	c := &courses.Course{ID: store.NewID(), Title: title, Published: true, PassRatio: 0.8, CreatedAt: time.Now().UTC()}
	m.mu.Lock()
	m.courses[c.ID] = c
	m.mu.Unlock()
	return c
}

// AddSession adds a session (its ID is filled in when empty) and returns it.
func (m *MemCourses) AddSession(x courses.Session) *courses.Session {
	if x.ID == "" {
		x.ID = store.NewID()
	}
	m.mu.Lock()
	m.sessions[x.ID] = &x
	m.mu.Unlock()
	return &x
}

// Update changes a stored session.
func (m *MemCourses) Update(id string, fn func(*courses.Session)) {
	m.mu.Lock()
	fn(m.sessions[id])
	m.mu.Unlock()
}

// Course implements Courses.
func (m *MemCourses) Course(_ context.Context, id string) (*courses.Course, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if c, ok := m.courses[id]; ok {
		x := *c
		return &x, nil
	}
	return nil, server.NotFound("课程不存在")
}

// Session implements Courses.
func (m *MemCourses) Session(_ context.Context, id string) (*courses.Session, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if s, ok := m.sessions[id]; ok {
		x := *s
		return &x, nil
	}
	return nil, server.NotFound("班次不存在")
}

// Sessions implements Courses.
func (m *MemCourses) Sessions(_ context.Context, courseID string) ([]courses.Session, error) {
	return m.filter(func(s *courses.Session) bool { return s.CourseID == courseID }), nil
}

// SessionsOn implements Courses.
func (m *MemCourses) SessionsOn(_ context.Context, day string) ([]courses.Session, error) {
	start, err := clock.ParseDay(day)
	if err != nil {
		return nil, err
	}
	end := start.AddDate(0, 0, 1)
	return m.filter(func(s *courses.Session) bool { return s.StartsAt.Before(end) && s.EndsAt.After(start) }), nil
}

// SessionsByTrainer implements Courses.
func (m *MemCourses) SessionsByTrainer(_ context.Context, trainerID string) ([]courses.Session, error) {
	return m.filter(func(s *courses.Session) bool { return s.TrainerID == trainerID }), nil
}

func (m *MemCourses) filter(keep func(*courses.Session) bool) []courses.Session {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := []courses.Session{}
	for _, s := range m.sessions {
		if keep(s) {
			out = append(out, *s)
		}
	}
	return out
}

// Seeded is what SeedCounty made.
type Seeded struct {
	Trainees []Trainee
	Courses  []*courses.Course
	Sessions []*courses.Session
	Today    []*courses.Session // held at now
}

// SeedCounty fills a county's worth of records fast (batched inserts,
// then a recount to build the counters, lists and keys): trainees spread over the demo
// villages (each with a login id "seed-user-<i>" that has no user
// account: tokens can be issued for it), sessions (10 per course, no capacity limit), and
// attendance records spread over them. A tenth of the sessions are held
// at now (Seeded.Today), the others over the past twelve months. The trainees have no accounts.
// mc must be the Courses the service was built with.
func SeedCounty(ctx context.Context, s *Service, mc *MemCourses, trainees, sessions, attendance int, now time.Time) (*Seeded, error) {
	vs := s.d.Regions.Villages(ctx)
	if len(vs) == 0 {
		return nil, fmt.Errorf("seed: no villages (load the demo county first)")
	}
	out := &Seeded{}
	docs := make([]any, 0, trainees)
	for i := 0; i < trainees; i++ {
		d17 := fmt.Sprintf("530326%04d%02d%02d%03d", 1960+i%40, 1+i%12, 1+i%28, i%1000)
		num := d17 + string(checkDigit(d17))
		v := vs[i%len(vs)]
		groups := []string{}
		if i%3 == 0 {
			groups = append(groups, GroupPoverty)
		}
		if i%2 == 0 {
			groups = append(groups, GroupWoman)
		}
		t := Trainee{ID: store.NewID(), Name: DemoName(i), Gender: GenderFemale, BirthDate: "1980-01-01",
			Phone: fmt.Sprintf("137%08d", i), RegionID: v.ID, TownshipID: v.ParentID, Groups: groups, UserID: fmt.Sprintf("seed-user-%d", i),
			IDMasked: MaskID(num), CreatedAt: now.UTC()}
		// ID numbers repeat past 1,000 × 40 × 12 × 28 trainees; the salt keeps hashes unique.
		docs = append(docs, traineeDoc{Trainee: t, IDHash: s.crypt.hash(num + fmt.Sprint(i)), IDSealed: s.crypt.seal(num), Source: "seed"})
		out.Trainees = append(out.Trainees, t)
	}
	if err := insertChunks(ctx, s.trainees, docs); err != nil {
		return nil, err
	}
	nCourses := max(1, sessions/10)
	for i := 0; i < nCourses; i++ {
		out.Courses = append(out.Courses, mc.AddCourse(fmt.Sprintf("课程%03d", i)))
	}
	today := max(1, sessions/10)
	for i := 0; i < sessions; i++ {
		c := out.Courses[i%nCourses]
		v := vs[(i*7)%len(vs)]
		// A tenth are held today; the rest spread over the past year.
		start := now.Add(-time.Hour)
		if i >= today {
			start = now.AddDate(0, -1-(i%12), 0).Add(-time.Hour)
		}
		x := mc.AddSession(courses.Session{CourseID: c.ID, StartsAt: start, EndsAt: start.Add(3 * time.Hour),
			Location: "村活动室", RegionID: v.ID, TownshipID: v.ParentID, TrainerID: "seed", Capacity: 0})
		out.Sessions = append(out.Sessions, x)
		if i < today {
			out.Today = append(out.Today, x)
		}
	}
	enrol := map[string]bool{}
	var edocs, adocs []any
	for i := 0; i < attendance && trainees > 0 && sessions > 0; i++ {
		t := out.Trainees[(i*7919)%trainees]
		x := out.Sessions[i%sessions]
		if i/sessions >= trainees {
			break
		}
		t = out.Trainees[(i/sessions+i*31)%trainees]
		a := s.newAttendance(x, &t, StatusPresent, MethodQR)
		a.ClientID = fmt.Sprintf("seed-%d", i)
		adocs = append(adocs, a)
		ek := x.CourseID + "/" + t.ID
		if !enrol[ek] {
			enrol[ek] = true
			edocs = append(edocs, Enrollment{ID: ek, CourseID: x.CourseID, TraineeID: t.ID, TownshipID: t.TownshipID, At: now.UTC()})
		}
	}
	if err := insertChunks(ctx, s.enrollments, edocs); err != nil {
		return nil, err
	}
	if err := insertChunks(ctx, s.attendance, adocs); err != nil {
		return nil, err
	}
	if _, err := s.Recount(ctx, true); err != nil {
		return nil, err
	}
	return out, nil
}

// insertChunks inserts documents 1,000 at a time; duplicates are skipped.
func insertChunks(ctx context.Context, c *store.Collection, docs []any) error {
	for len(docs) > 0 {
		n := min(len(docs), 1000)
		if _, err := c.InsertMany(ctx, docs[:n]); err != nil && !store.IsDup(err) {
			return err
		}
		docs = docs[n:]
	}
	return nil
}

// Demo names: common surnames, most frequent first (王 about 7%), and
// given-name characters; DemoName(i) spreads them as a county's roster does.
var (
	demoSurnames = []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
	demoGiven    = []rune("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华红玉梅飞鹏辉建文云海波斌宇浩凯俊帆琳雪晶燕萍玲倩婷兵春林国庆荣福贵山水花金银德成志永新春秋冬月星")
)

// DemoName is the i-th name of a generated roster: surnames follow a
// skewed (Zipf-like) frequency, given names one or two characters.
func DemoName(i int) string {
	h := uint32(i)*2654435761 + 12345
	// Skew: the first surnames come up far more often than the last.
	r := float64(h%10000) / 10000
	k := int(r * r * float64(len(demoSurnames)))
	name := []rune{demoSurnames[k]}
	g1 := demoGiven[int(h>>8)%len(demoGiven)]
	name = append(name, g1)
	if h%3 != 0 {
		name = append(name, demoGiven[int(h>>16)%len(demoGiven)])
	}
	return string(name)
}
