// Package demo loads a living demo county through the HTTP API: a year of
// a programme half done — staff, stations at every stage, a roster of
// trainees, courses and their sessions (held, today's, upcoming), roll
// calls and check-ins, certificates, follow-ups, shops and their sales,
// incubation cohorts, enterprises and brands, parcels, the fund's ledger
// and township reports. Every write is a request a county office could
// make, in the order it would make them, so counters, funnels, events and
// audit entries are the real ones. Every name carries the 演示 mark.
//
// The data come from a seeded random source: the same seed gives the same
// county (ids and the day it is loaded aside).
package demo

import (
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"

	"nongxun/clock"
)

// Options size and seed the demo.
type Options struct {
	// Scale multiplies the county's size: 1 is a county mid-programme
	// (about 2,400 trainees, 48 courses, 160 village points, 400
	// parcels); tests load a small one (0.1) through the same code.
	Scale float64
	// Seed makes the data; the same seed gives the same county.
	Seed uint64
	// Out receives the progress lines (nil: none).
	Out io.Writer
	// Workers is how many requests run at once (default 6).
	Workers int
	// Now is the moment the county's year ends at (default time.Now()).
	Now time.Time
}

// Login is one demo account the loader made.
type Login struct {
	Role     string `json:"role"`
	RoleName string `json:"role_name"`
	Name     string `json:"name"`
	Login    string `json:"login"`
	Password string `json:"password"`
	Note     string `json:"note,omitempty"`
}

// Result says what was loaded.
type Result struct {
	// Already is set when the demo was loaded before (nothing was written);
	// Message says so in Chinese.
	Already bool
	Message string
	Logins  []Login
	Counts  []Count
	Elapsed time.Duration
}

// Count is one figure of what the demo wrote.
type Count struct {
	Label string
	N     int
}

// programmeName is the programme's name in the settings; the last step
// writes it, so finding it means a demo was loaded to the end.
const programmeName = "会泽县电子商务进农村综合示范项目" + demoMark

type loader struct {
	conn    Conn
	opt     Options
	now     time.Time
	start   time.Time
	admin   *actor
	workers int

	county    region
	townships []township
	villages  []region

	trainers, officers, operators []*actor
	auditor                       *actor
	traineeLogin                  *Login

	stations stationSet
	people   []person
	courses  []*course
	certs    map[int]*certified // by person
	products map[string]string  // name → id
	shops    []*shop

	counts []Count
	outMu  sync.Mutex
	tenths map[string]int // progress lines: the last tenth shown per label
}

type region struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Code     string `json:"code"`
	ParentID string `json:"parent_id"`
	Level    string `json:"level"`
	Poverty  bool   `json:"poverty"`
	Demo     bool   `json:"demo"`
}

type township struct {
	region
	villages []int // indexes into loader.villages
	// Lat, Lng place the township seat (for stations and session geofences).
	Lat, Lng float64
}

// Load loads the demo county through c. When a county exists it writes
// nothing: a demo loaded before is reported as such, a real county is
// left alone.
func Load(ctx context.Context, c Conn, opt Options) (*Result, error) {
	if opt.Scale <= 0 {
		opt.Scale = 1
	}
	if opt.Seed == 0 {
		opt.Seed = 2019
	}
	if opt.Workers <= 0 {
		opt.Workers = 6
	}
	if opt.Out == nil {
		opt.Out = io.Discard
	}
	if opt.Now.IsZero() {
		opt.Now = time.Now()
	}
	l := &loader{conn: c, opt: opt, now: opt.Now, start: time.Now(), workers: opt.Workers,
		admin: &actor{Role: "admin", Login: "admin", conn: &c, api: c.Admin, admin: true, Township: -1}}
	if msg, err := l.existing(); err != nil || msg != "" {
		return &Result{Already: msg != "", Message: msg}, err
	}
	steps := []struct {
		name string
		fn   func(ctx context.Context) error
	}{
		{"地区", l.loadRegions},
		{"项目设置", l.loadSettings},
		{"工作人员账号", l.loadStaff},
		{"站点建设", l.loadStations},
		{"资金台账", l.loadFunds},
		{"学员花名册", l.loadTrainees},
		{"课程与班次", l.loadCourses},
		{"报名", l.loadEnrolments},
		{"点名与签到", l.loadAttendance},
		{"证书", l.loadCertificates},
		{"跟踪回访与网店", l.loadIncubation},
		{"孵化、龙头企业与品牌", l.loadRegistry},
		{"站点服务与包裹", l.loadLogistics},
		{"乡镇月报", l.loadWritten},
		{"完成", l.finish},
	}
	for i, s := range steps {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		l.say("(%d/%d) %s", i+1, len(steps), s.name)
		if err := s.fn(ctx); err != nil {
			return nil, fmt.Errorf("%s：%w", s.name, err)
		}
	}
	return &Result{Logins: l.logins(), Counts: l.counts, Elapsed: time.Since(l.start)}, nil
}

// say prints one progress line with the time since the start.
func (l *loader) say(format string, args ...any) {
	l.outMu.Lock()
	defer l.outMu.Unlock()
	el := time.Since(l.start).Round(time.Second)
	fmt.Fprintf(l.opt.Out, "[%2d:%02d] %s\n", int(el.Minutes()), int(el.Seconds())%60, fmt.Sprintf(format, args...))
}

// progress prints a step's running count on one line.
func (l *loader) progress(label string, done, total int) {
	if total <= 0 {
		return
	}
	l.outMu.Lock()
	defer l.outMu.Unlock()
	tenth := done * 10 / total
	if l.tenths == nil {
		l.tenths = map[string]int{}
	}
	if last, ok := l.tenths[label]; ok && last >= tenth {
		return // a line each tenth
	}
	l.tenths[label] = tenth
	w := 24
	n := done * w / total
	fmt.Fprintf(l.opt.Out, "\r        %s [%s%s] %d/%d", label, strings.Repeat("#", n), strings.Repeat(".", w-n), done, total)
	if done >= total {
		fmt.Fprintln(l.opt.Out)
	}
}

func (l *loader) count(label string, n int) { l.counts = append(l.counts, Count{label, n}) }

// rand is the random source of one step: the seed and the step's name,
// so that one step's draws do not shift another's.
func (l *loader) rand(step string) *rand.Rand {
	h := fnv.New64a()
	_, _ = h.Write([]byte(step))
	return rand.New(rand.NewPCG(l.opt.Seed, h.Sum64()))
}

// scale is n times the demo's scale, at least min.
func (l *loader) scale(n, min int) int {
	x := int(float64(n)*l.opt.Scale + 0.5)
	if x < min {
		return min
	}
	return x
}

// existing reports a county already there: a finished demo, an unfinished
// one, or a real county. "" means the database has no county (or only the
// demo's regions, from an older demo command) and the demo may load.
func (l *loader) existing() (string, error) {
	var regions []region
	if _, err := l.admin.do("GET", "/regions?level=county", nil, &regions); err != nil {
		return "", fmt.Errorf("读取地区：%w", err)
	}
	if len(regions) == 0 {
		return "", nil
	}
	c := regions[0]
	if !c.Demo {
		return fmt.Sprintf("已有县「%s」的数据：演示数据只装入空的数据库，未做任何改动", c.Name), nil
	}
	var set struct {
		Programme string `json:"programme"`
	}
	if _, err := l.admin.do("GET", "/reports/settings", nil, &set); err != nil {
		return "", fmt.Errorf("读取项目设置：%w", err)
	}
	if set.Programme == programmeName {
		return "演示县已经装入（" + c.Name + "），未重复装入。演示账号的密码只在首次装入时显示；忘记了请以 admin 登录，在“账号”页重置。", nil
	}
	var users struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	if _, err := l.admin.do("GET", "/users?q=demo_&limit=5", nil, &users); err != nil {
		return "", fmt.Errorf("读取账号：%w", err)
	}
	if len(users.Items) > 0 {
		return "", fmt.Errorf("上次装入演示数据没有完成（已有演示账号，但没有完成标记）：请停止服务，换一个空的 DATA_DIR 重新装入")
	}
	return "", nil // only the demo regions (the older `nongxun demo`): load the rest
}

// loadRegions loads the demo county's regions (POST /regions/demo is a
// no-op when they are there) and reads the tree.
func (l *loader) loadRegions(ctx context.Context) error {
	var out struct {
		Created int `json:"created"`
	}
	if err := l.admin.must("装入演示县的地区", "POST", "/regions/demo", map[string]any{}, &out); err != nil {
		return err
	}
	var all []region
	if err := l.admin.must("读取地区", "GET", "/regions", nil, &all); err != nil {
		return err
	}
	byID := map[string]int{}
	for _, r := range all {
		switch r.Level {
		case "county":
			l.county = r
		case "township":
			l.townships = append(l.townships, township{region: r})
		}
	}
	sort.Slice(l.townships, func(i, j int) bool { return l.townships[i].Code < l.townships[j].Code })
	for i := range l.townships {
		byID[l.townships[i].ID] = i
		// The county lies around 26.4°N 103.3°E; townships on a rough ring.
		l.townships[i].Lat = 26.42 + 0.32*sinDeg(float64(i)*360/23)
		l.townships[i].Lng = 103.30 + 0.36*cosDeg(float64(i)*360/23)
		if i < 3 {
			l.townships[i].Lat, l.townships[i].Lng = 26.417+0.01*float64(i), 103.297+0.008*float64(i)
		}
	}
	for _, r := range all {
		if r.Level == "village" {
			l.villages = append(l.villages, r)
		}
	}
	sort.Slice(l.villages, func(i, j int) bool { return l.villages[i].Code < l.villages[j].Code })
	for i, v := range l.villages {
		t, ok := byID[v.ParentID]
		if !ok {
			continue
		}
		l.townships[t].villages = append(l.townships[t].villages, i)
	}
	if l.county.ID == "" || len(l.townships) == 0 || len(l.villages) == 0 {
		return fmt.Errorf("演示县的地区不完整")
	}
	if out.Created > 0 {
		l.say("        %s：%d 个乡镇（街道）、%d 个行政村", l.county.Name, len(l.townships), len(l.villages))
	}
	l.count("乡镇（街道）", len(l.townships))
	l.count("行政村", len(l.villages))
	return nil
}

// Programme dates: the programme started on the first of the month eleven
// months ago and runs two years, so the demo county is mid-way.
func (l *loader) programmeStart() time.Time {
	t := l.now.In(clock.Shanghai)
	return time.Date(t.Year(), t.Month()-11, 1, 0, 0, 0, 0, clock.Shanghai)
}

func (l *loader) programmeEnd() time.Time {
	return l.programmeStart().AddDate(2, 0, -1)
}

// today is midnight of today in Shanghai.
func (l *loader) today() time.Time {
	t := l.now.In(clock.Shanghai)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, clock.Shanghai)
}

// day is a date d days after the programme's start, at hh:mm Shanghai time.
func (l *loader) day(d int, hh, mm int) time.Time {
	s := l.programmeStart()
	return time.Date(s.Year(), s.Month(), s.Day()+d, hh, mm, 0, 0, clock.Shanghai)
}

// past clamps t to an hour before now (a record is never dated later).
func (l *loader) past(t time.Time) time.Time {
	if lim := l.now.Add(-time.Hour); t.After(lim) {
		return lim
	}
	return t
}

func rfc(t time.Time) string { return t.In(clock.Shanghai).Format(time.RFC3339) }

func (l *loader) finish(ctx context.Context) error {
	in := map[string]any{"programme": programmeName}
	return l.admin.must("写入完成标记", "PUT", "/reports/settings", in, nil)
}

// logins lists the demo accounts for the table printed at the end.
func (l *loader) logins() []Login {
	out := []Login{{Role: "admin", RoleName: roleNames["admin"], Name: "管理员", Login: "admin", Password: "（启动服务时的 ADMIN_PASSWORD）"}}
	add := func(a *actor, note string) {
		out = append(out, Login{Role: a.Role, RoleName: roleNames[a.Role], Name: a.Name, Login: a.Login, Password: a.Password, Note: note})
	}
	for i, a := range l.trainers {
		note := ""
		for _, c := range l.courses {
			if c.Today && c.Trainer == i {
				note = "今天有班次：" + unmarked(c.Title) + "（签到二维码、点名）"
			}
		}
		add(a, note)
	}
	for _, a := range l.officers {
		add(a, unmarked(l.townships[a.Township].Name))
	}
	for _, a := range l.operators {
		note := ""
		for _, s := range l.stations.villages {
			if s.Operator == a {
				note = unmarked(s.Name)
			}
		}
		add(a, note)
	}
	if l.auditor != nil {
		add(l.auditor, "只读，可查审计日志")
	}
	if l.traineeLogin != nil {
		out = append(out, *l.traineeLogin)
	}
	return out
}
