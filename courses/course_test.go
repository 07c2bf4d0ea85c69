package courses

import (
	"testing"
	"time"

	"nongxun/server"
	"nongxun/testkit"
)

func TestCreateCourseRules(t *testing.T) {
	f := newFixture(t)
	auditor := f.NewCaller(server.RoleAuditor, "")
	good := func() map[string]any {
		return map[string]any{"title": "直播带货实操", "category": "直播带货", "hours": 4, "pass_ratio": 0.75, "target_groups": []string{"woman", "youth"}}
	}
	with := func(k string, v any) map[string]any { m := good(); m[k] = v; return m }
	without := func(k string) map[string]any { m := good(); delete(m, k); return m }
	cases := []struct {
		name   string
		caller *testkit.Caller
		body   any
		status int
		field  string
	}{
		{"admin ok", f.Admin, good(), 201, ""},
		{"trainer ok", f.trainer, good(), 201, ""},
		{"trainee refused", f.trainee, good(), 403, ""},
		{"auditor refused", auditor, good(), 403, ""},
		{"missing title", f.Admin, without("title"), 400, "title"},
		{"blank title", f.Admin, with("title", "  "), 400, "title"},
		{"missing category", f.Admin, without("category"), 400, "category"},
		{"unknown category", f.Admin, with("category", "炒股"), 400, "category"},
		{"missing hours", f.Admin, without("hours"), 400, "hours"},
		{"hours wrong type", f.Admin, with("hours", "八"), 400, "hours"},
		{"hours zero", f.Admin, with("hours", 0), 400, "hours"},
		{"missing pass ratio", f.Admin, without("pass_ratio"), 400, "pass_ratio"},
		{"pass ratio above 1", f.Admin, with("pass_ratio", 1.5), 400, "pass_ratio"},
		{"pass ratio negative", f.Admin, with("pass_ratio", -0.1), 400, "pass_ratio"},
		{"unknown group", f.Admin, with("target_groups", []string{"aliens"}), 400, "target_groups"},
		{"groups wrong type", f.Admin, with("target_groups", "woman"), 400, "target_groups"},
		{"not json", f.Admin, "{title:", 400, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := f.Do(c.caller, "POST", "/api/v1/courses", c.body).Want(t, c.status)
			if c.field != "" && errField(r, c.field) == "" {
				t.Fatalf("no reason for field %s: %s", c.field, r.Body)
			}
		})
	}
	n, _ := f.svc.courses.Count(f.Ctx, map[string]any{})
	must(t, n == 2, "want 2 courses stored, have %d", n)
}

func TestCategories(t *testing.T) {
	f := newFixture(t)
	var cats []Category
	f.Do(f.trainee, "GET", "/api/v1/course-categories", nil).Want(t, 200).Decode(t, &cats)
	must(t, len(cats) == len(DefaultCategories) && cats[0].Name == "网店开设", "default categories: %v", cats)
	f.Do(f.trainer, "POST", "/api/v1/course-categories", map[string]any{"name": "跨境电商"}).Want(t, 403)
	f.Do(f.Admin, "POST", "/api/v1/course-categories", map[string]any{"name": ""}).Want(t, 400)
	f.Do(f.Admin, "POST", "/api/v1/course-categories", map[string]any{"name": "跨境电商"}).Want(t, 201)
	f.Do(f.Admin, "POST", "/api/v1/course-categories", map[string]any{"name": "跨境电商"}).Want(t, 409)
	f.Do(f.Admin, "POST", "/api/v1/courses", map[string]any{"title": "跨境入门", "category": "跨境电商", "hours": 2, "pass_ratio": 1}).Want(t, 201)
	f.Do(f.Admin, "GET", "/api/v1/course-categories", nil).Want(t, 200).Decode(t, &cats)
	must(t, cats[len(cats)-1].Name == "跨境电商", "new category last: %v", cats)
	// A second start of the service keeps the list as it is.
	if _, err := New(f.Ctx, f.svc.d); err != nil {
		t.Fatal(err)
	}
	f.Do(f.Admin, "GET", "/api/v1/course-categories", nil).Want(t, 200).Decode(t, &cats)
	must(t, len(cats) == len(DefaultCategories)+1, "categories after restart: %v", cats)
}

func TestCourseVisibilityAndEdit(t *testing.T) {
	f := newFixture(t)
	draft := f.course(f.trainer, false)
	pub := f.course(f.trainer, true)
	var list []Course
	f.Do(f.trainee, "GET", "/api/v1/courses", nil).Want(t, 200).Decode(t, &list)
	must(t, len(list) == 1 && list[0].ID == pub, "trainee sees only published: %v", list)
	f.Do(f.trainee, "GET", "/api/v1/courses/"+draft, nil).Want(t, 404)
	f.Do(f.trainee, "GET", "/api/v1/courses/"+draft+"/sessions", nil).Want(t, 404)
	f.Do(f.trainee, "GET", "/api/v1/courses/"+pub, nil).Want(t, 200)
	f.Do(f.Admin, "GET", "/api/v1/courses", nil).Want(t, 200).Decode(t, &list)
	must(t, len(list) == 2, "admin sees all: %v", list)
	f.Do(f.Admin, "GET", "/api/v1/courses?published=false", nil).Want(t, 200).Decode(t, &list)
	must(t, len(list) == 1 && list[0].ID == draft, "filter drafts: %v", list)
	f.Do(f.Admin, "GET", "/api/v1/courses?published=maybe", nil).Want(t, 400)
	f.Do(f.Admin, "GET", "/api/v1/courses/nothex", nil).Want(t, 400)
	f.Do(f.Admin, "GET", "/api/v1/courses/0123456789abcdef01234567", nil).Want(t, 404)

	other := f.NewCaller(server.RoleTrainer, "")
	f.Do(other, "PATCH", "/api/v1/courses/"+draft, map[string]any{"published": true}).Want(t, 403)
	f.Do(f.trainee, "PATCH", "/api/v1/courses/"+draft, map[string]any{"published": true}).Want(t, 403)
	f.Do(f.trainer, "PATCH", "/api/v1/courses/"+draft, map[string]any{"category": "不存在"}).Want(t, 400)
	f.Do(f.trainer, "PATCH", "/api/v1/courses/"+draft, map[string]any{"pass_ratio": 2}).Want(t, 400)
	var c Course
	f.Do(f.trainer, "GET", "/api/v1/courses/"+draft, nil).Want(t, 200).Decode(t, &c)
	must(t, !c.Published && c.PassRatio == 0.8, "a refused edit changes nothing: %+v", c)
	f.Do(f.trainer, "PATCH", "/api/v1/courses/"+draft, map[string]any{"published": true, "title": "新标题"}).Want(t, 200).Decode(t, &c)
	must(t, c.Published && c.Title == "新标题" && c.Category == "网店开设" && c.Hours == 8, "edit kept other fields: %+v", c)
	f.Do(f.Admin, "PATCH", "/api/v1/courses/"+draft, map[string]any{"published": false}).Want(t, 200)
	es, err := f.Audit.List(f.Ctx, "course:"+draft, "", time.Time{}, 10)
	must(t, err == nil && len(es) == 2, "publish and unpublish audited: %v %v", es, err)
	f.Do(f.trainee, "GET", "/api/v1/courses/"+draft, nil).Want(t, 404)

	mine := f.course(other, false)
	f.Do(other, "GET", "/api/v1/courses?mine=1", nil).Want(t, 200).Decode(t, &list)
	must(t, len(list) == 1 && list[0].ID == mine, "mine: %v", list)
}
