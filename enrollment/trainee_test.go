package enrollment

import (
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/server"
	"nongxun/testkit"
)

func TestParseIDNumber(t *testing.T) {
	now := time.Date(2019, 5, 1, 0, 0, 0, 0, time.UTC)
	good := "11010519491231002X"
	cases := []struct {
		in, want, gender, birth string
		ok                      bool
	}{
		{good, good, GenderFemale, "1949-12-31", true},
		{strings.ToLower(good), good, GenderFemale, "1949-12-31", true},
		{"110105491231002", good, GenderFemale, "1949-12-31", true}, // 15 → 18
		{"110105194912310021", "", "", "", false},                   // wrong check digit
		{"110105194902300026", "", "", "", false},                   // 30 February
		{"110105203001010017", "", "", "", false},                   // born in the future
		{"990105194912310026", "", "", "", false},                   // no such province
		{"11010519491231002", "", "", "", false},                    // 17 characters
		{"1101051949123100AX", "", "", "", false},
		{"", "", "", "", false},
	}
	for _, c := range cases {
		got, err := ParseIDNumber(c.in, now)
		if (err == nil) != c.ok {
			t.Errorf("%q: err %v, want ok=%v", c.in, err, c.ok)
			continue
		}
		if c.ok && (got.Number != c.want || got.Gender != c.gender || got.BirthDate != c.birth) {
			t.Errorf("%q: got %+v", c.in, got)
		}
	}
	if m := MaskID(good); m != "1101**********002X" {
		t.Errorf("mask %s", m)
	}
}

func TestCreateTrainee(t *testing.T) {
	f := newFixture(t)
	officer := f.NewCaller(server.RoleOfficer, f.Township(0).ID)
	trainer := f.NewCaller(server.RoleTrainer, "")
	num := idnum()
	body := map[string]any{"name": "张三", "id_number": num, "phone": "13812345678", "region_id": f.Village(0, 1).ID, "groups": []string{"poverty", "返乡农民工"}, "password": "secret-123"}
	r := f.Do(officer, "POST", "/api/v1/trainees", body).Want(t, 201)
	var tr Registered
	r.Decode(t, &tr)
	if tr.IDMasked != MaskID(num) || strings.Contains(string(r.Body), num) || tr.UserID == "" || tr.TownshipID != f.Township(0).ID {
		t.Fatalf("created %s", r.Body)
	}
	// The database never holds the number in clear.
	var raw bson.M
	if err := f.s.trainees.Raw().FindOne(f.Ctx, bson.M{"_id": tr.ID}).Decode(&raw); err != nil {
		t.Fatal(err)
	}
	b, _ := bson.Marshal(raw)
	if strings.Contains(string(b), num) || strings.Contains(string(b), num[6:14]+num[14:]) {
		t.Fatal("ID number stored in clear")
	}
	// Admin reads it back; others may not.
	got := f.Do(f.Admin, "GET", "/api/v1/trainees/"+tr.ID+"/id-number", nil).Want(t, 200).JSON()
	if got["id_number"] != num {
		t.Fatalf("reveal %v", got)
	}
	f.Do(officer, "GET", "/api/v1/trainees/"+tr.ID+"/id-number", nil).Want(t, 403)

	_, traineeCaller := f.trainee(t, 0, 0)
	other := idnum()
	otherGender := GenderMale
	if id, _ := ParseIDNumber(other, f.now); id.Gender == GenderMale {
		otherGender = GenderFemale
	}
	bad := []struct {
		name   string
		caller *testkit.Caller
		patch  map[string]any
		status int
		field  string
	}{
		{"same number again", trainer, map[string]any{"phone": "13812345679"}, 409, ""},
		{"wrong check digit", trainer, map[string]any{"id_number": num[:17] + string("0123456789X"[(strings.Index("0123456789X", num[17:])+1)%11])}, 400, "id_number"},
		{"bad phone", trainer, map[string]any{"id_number": idnum(), "phone": "12345"}, 400, "phone"},
		{"gender contradicts", trainer, map[string]any{"id_number": other, "phone": "13912345678", "gender": otherGender}, 400, "gender"},
		{"not a village", trainer, map[string]any{"id_number": idnum(), "phone": "13912345678", "region_id": f.Township(0).ID}, 400, "region_id"},
		{"other township", f.NewCaller(server.RoleOfficer, f.Township(1).ID), map[string]any{"id_number": idnum(), "phone": "13912345670"}, 400, "region_id"},
		{"unknown group", trainer, map[string]any{"id_number": idnum(), "phone": "13912345671", "groups": []string{"vip"}}, 400, "groups"},
		{"trainee role", traineeCaller, map[string]any{"id_number": idnum()}, 403, ""},
	}
	for _, c := range bad {
		in := map[string]any{}
		for k, v := range body {
			in[k] = v
		}
		for k, v := range c.patch {
			in[k] = v
		}
		r := f.Do(c.caller, "POST", "/api/v1/trainees", in)
		if r.Status != c.status {
			t.Errorf("%s: status %d: %s", c.name, r.Status, r.Body)
			continue
		}
		if c.field != "" {
			e, _ := r.JSON()["error"].(map[string]any)
			if fs, _ := e["fields"].(map[string]any); fs[c.field] == nil {
				t.Errorf("%s: no field %s in %s", c.name, c.field, r.Body)
			}
		}
	}
	if p := f.progress(t); p.Registered != 2 {
		t.Fatalf("registered %d", p.Registered)
	}
	// Officer sees only their township.
	list := f.Do(f.NewCaller(server.RoleOfficer, f.Township(1).ID), "GET", "/api/v1/trainees", nil).Want(t, 200).JSON()
	if items, _ := list["items"].([]any); len(items) != 0 {
		t.Fatalf("officer of another township sees %v", items)
	}
	f.noDrift(t)
}
