package demo

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"nongxun/enrollment"
	"nongxun/server"
	"nongxun/users"
)

// county is a loader with the demo county's shape (23 townships of 15-19
// villages, a third of them poor) and no API: enough to plan with.
func county(seed uint64) *loader {
	now := time.Date(2026, 12, 2, 8, 35, 0, 0, time.UTC)
	l := &loader{opt: Options{Scale: 1, Seed: seed}, now: now}
	k := 0
	for i := 0; i < 23; i++ {
		t := township{region: region{ID: fmt.Sprintf("t%02d", i), Name: fmt.Sprintf("乡镇%d", i), Level: "township"}}
		for v := 0; v < 15+i%5; v++ {
			l.villages = append(l.villages, region{ID: fmt.Sprintf("v%03d", k), Name: fmt.Sprintf("村%d（演示）", k), ParentID: t.ID, Poverty: k%3 == 0})
			t.villages = append(t.villages, k)
			k++
		}
		l.townships = append(l.townships, t)
	}
	return l
}

// TestPeople checks the roster: every ID number passes GB 11643 (check
// character, birth date, province), none twice, told apart by what the
// masked number shows; names marked 演示; phones valid and distinct; the
// groups in plausible shares; the same seed gives the same roster.
func TestPeople(t *testing.T) {
	l := county(7)
	ps := l.makePeople(2400)
	ids, keys, phones := map[string]bool{}, map[string]bool{}, map[string]bool{}
	groups := map[string]int{}
	noPhone, female := 0, 0
	for _, p := range ps {
		id, err := enrollment.ParseIDNumber(p.IDNumber, l.now)
		if err != nil {
			t.Fatalf("%s: %v", p.IDNumber, err)
		}
		if (id.Gender == enrollment.GenderFemale) != p.Female || id.BirthDate != p.Birth.Format("2006-01-02") {
			t.Errorf("%s: gender %s, birth %s; want female %v, %s", p.IDNumber, id.Gender, id.BirthDate, p.Female, p.Birth)
		}
		key := id.BirthDate + enrollment.MaskID(p.IDNumber)
		if ids[p.IDNumber] || keys[key] {
			t.Errorf("%s twice (or not told apart when masked)", p.IDNumber)
		}
		ids[p.IDNumber], keys[key] = true, true
		if !strings.HasSuffix(p.Name, "（演示）") || len([]rune(p.Name)) > 30 {
			t.Errorf("name %q: want the demo mark, at most 30 characters", p.Name)
		}
		switch {
		case p.Phone == "":
			noPhone++
		case !users.ValidPhone(p.Phone) || phones[p.Phone]:
			t.Errorf("phone %q invalid or twice", p.Phone)
		}
		phones[p.Phone] = true
		if p.Female {
			female++
		}
		for _, g := range p.Groups {
			groups[g]++
		}
	}
	share := func(n int) float64 { return float64(n) / float64(len(ps)) }
	for _, c := range []struct {
		what   string
		n      int
		lo, hi float64
	}{{"without a phone", noPhone, 0.08, 0.2}, {"women", female, 0.4, 0.56}, {"poverty", groups["poverty"], 0.2, 0.4},
		{"youth", groups["youth"], 0.15, 0.35}, {"returnee workers", groups["returnee_worker"], 0.03, 0.15},
		{"veterans", groups["veteran"], 0.003, 0.05}, {"disabled", groups["disabled"], 0.005, 0.04}} {
		if s := share(c.n); s < c.lo || s > c.hi {
			t.Errorf("%s: %.1f %%, want %.0f–%.0f %%", c.what, 100*s, 100*c.lo, 100*c.hi)
		}
	}
	if again := county(7).makePeople(2400); !reflect.DeepEqual(again, ps) {
		t.Error("the same seed made another roster")
	}
	if other := county(8).makePeople(10); reflect.DeepEqual(other, ps[:10]) {
		t.Error("another seed made the same roster")
	}
}

// TestPlan checks the county's plan without a server: stations at every
// stage in time order, courses in every category with a session today
// and upcoming ones, no trainer in two places on a day, enrolments
// within capacity.
func TestPlan(t *testing.T) {
	for _, scale := range []float64{1, 0.06} {
		l := county(2019)
		l.opt.Scale = scale
		l.people = l.makePeople(l.scale(2400, 200))
		for i := 0; i < l.scale(6, 5); i++ {
			l.trainers = append(l.trainers, &actor{Role: "trainer"})
		}
		for i := 0; i < l.scale(4, 3); i++ {
			l.officers = append(l.officers, &actor{Role: "officer", Township: officerTownships[i]})
		}
		l.planStations()
		by := map[string]int{}
		for _, s := range l.stations.all() {
			by[s.Status()]++
			steps := []time.Time{s.Built, s.Accepted, s.Operating, s.Closed}
			for i := 1; i < len(steps); i++ {
				if !steps[i].IsZero() && (steps[i-1].IsZero() || steps[i].Before(steps[i-1])) {
					t.Errorf("%s: steps out of order %v", s.Name, steps)
				}
			}
			if s.Closed.After(l.now) || s.Operating.After(l.now) || (!s.SubsidyAt.IsZero() && s.SubsidyAt.Before(s.Accepted)) {
				t.Errorf("%s: a step in the future or a subsidy before acceptance", s.Name)
			}
		}
		for _, st := range []string{"planned", "built", "accepted", "operating", "closed"} {
			if by[st] == 0 {
				t.Errorf("scale %v: no station %s: %v", scale, st, by)
			}
		}
		l.planCourses()
		cats := map[string]bool{}
		today, upcoming := 0, 0
		day := map[string]bool{}
		for _, c := range l.courses {
			cats[c.Category] = true
			if len(c.Enrolled) > c.capacity() {
				t.Errorf("%s: %d enrolled over capacity", c.Title, len(c.Enrolled))
			}
			for _, s := range c.Sessions {
				if s.StartNow {
					today++
				}
				if s.Start.After(l.now) {
					upcoming++
				}
				k := fmt.Sprint(c.Trainer, s.Start.In(time.FixedZone("", 8*3600)).Format("2006-01-02"))
				if day[k] {
					t.Errorf("trainer %d has two sessions on %s", c.Trainer, k)
				}
				day[k] = true
			}
		}
		if len(cats) != len(catalog) || today != 1 || upcoming == 0 {
			t.Errorf("scale %v: %d categories, %d sessions today, %d upcoming", scale, len(cats), today, upcoming)
		}
	}
}

// capacity is the course's capacity (its sessions share one).
func (c *course) capacity() int {
	if len(c.Sessions) == 0 {
		return 0
	}
	return c.Sessions[0].Capacity
}

func TestStrongPassword(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		p := strongPassword()
		if len(p) != 14 || seen[p] || server.WeakPassword(p, "demo_trainer1", "李春华（演示）") != "" {
			t.Fatalf("password %q: want 14 characters, never twice, strong enough for the server", p)
		}
		seen[p] = true
	}
}
