package enrollment

import (
	"fmt"
	"sort"
	"testing"

	"nongxun/server"
)

// List pages the roster from the villages' lists: the same trainees, in
// the same order (newest first), as the records say, for every filter,
// and it follows a trainee who moves village and a merge.
func TestListFollowsTheRecords(t *testing.T) {
	f := newFixture(t)
	var all []*Trainee
	for n := 0; n < 24; n++ {
		var groups []string
		if n%3 == 0 {
			groups = []string{"woman"}
		}
		tr, _ := f.trainee(t, n%2, n/2%2, groups...)
		all = append(all, tr)
	}
	want := func(fl ListFilter) []string {
		var out []string
		for _, x := range all {
			if x.Status == StatusMerged || (fl.TownshipID != "" && x.TownshipID != fl.TownshipID) ||
				(fl.RegionID != "" && x.RegionID != fl.RegionID) || (fl.Group != "" && !x.HasGroup(fl.Group)) {
				continue
			}
			out = append(out, x.ID)
		}
		sort.Sort(sort.Reverse(sort.StringSlice(out)))
		lo := min(int(fl.Skip), len(out))
		return out[lo:min(lo+int(fl.Limit), len(out))]
	}
	check := func(what string) {
		t.Helper()
		for _, fl := range []ListFilter{
			{Limit: 10}, {Limit: 10, Skip: 10}, {Limit: 10, Skip: 20}, {Limit: 100},
			{TownshipID: f.Township(1).ID, Limit: 5, Skip: 2},
			{RegionID: f.Village(0, 1).ID, Limit: 100},
			{Group: "woman", Limit: 3, Skip: 2},
			{TownshipID: f.Township(0).ID, Group: "woman", Limit: 100},
		} {
			got, err := f.s.List(f.Ctx, fl)
			if err != nil {
				t.Fatal(err)
			}
			ids := make([]string, len(got))
			for i, x := range got {
				ids[i] = x.ID
			}
			if w := want(fl); fmt.Sprint(ids) != fmt.Sprint(w) {
				t.Errorf("%s: List(%+v) = %v, want %v", what, fl, ids, w)
			}
		}
	}
	check("registered")

	admin := &server.Principal{UserID: "admin", Role: server.RoleAdmin}
	moved := f.Village(1, 0).ID
	up, err := f.s.UpdateTrainee(f.Ctx, all[0].ID, TraineePatch{RegionID: &moved}, admin)
	if err != nil {
		t.Fatal(err)
	}
	*all[0] = *up
	check("after a move")

	if _, err := f.s.Merge(f.Ctx, all[1].ID, all[2].ID, admin); err != nil {
		t.Fatal(err)
	}
	all[2].Status = StatusMerged
	check("after a merge")

	if _, err := f.s.Compact(f.Ctx); err != nil {
		t.Fatal(err)
	}
	check("after the journal is folded")
}
