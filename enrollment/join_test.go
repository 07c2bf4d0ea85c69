package enrollment

import (
	"testing"
	"time"

	"nongxun/server"
)

func TestSelfRegistration(t *testing.T) {
	f := newFixture(t)
	trainer := f.NewCaller(server.RoleTrainer, "")
	sess := f.session(trainer, 0, nil)
	c := f.code(t, trainer, sess.ID)
	f.Do(nil, "GET", "/api/v1/join/forged", nil).Want(t, 400)
	info := f.Do(nil, "GET", "/api/v1/join/"+c.Code, nil).Want(t, 200).JSON()
	ticket, _ := info["ticket"].(string)
	if ticket == "" {
		t.Fatalf("info %v", info)
	}
	num := idnum()
	body := map[string]any{"ticket": ticket, "name": "赵六", "id_number": num, "phone": "13655550001", "region_id": f.Village(0, 0).ID, "password": "mima-1234", "client_id": "j1"}
	// Filling in the form takes minutes: the ticket outlives the code.
	f.now = f.now.Add(5 * time.Minute)
	r := f.Do(nil, "POST", "/api/v1/join/register", body).Want(t, 201).JSON()
	sessTok, _ := r["session"].(map[string]any)
	if sessTok["access_token"] == nil || r["checkin"] == nil {
		t.Fatalf("join %v", r)
	}
	if p := f.progress(t); p.PersonTimes != 1 || p.Registered != 1 {
		t.Fatalf("progress %+v", p)
	}
	// The same person again is a conflict; a forged or expired ticket is refused.
	f.Do(nil, "POST", "/api/v1/join/register", body).Want(t, 409)
	body["id_number"], body["phone"] = idnum(), "13655550002"
	body["ticket"] = ticket[:len(ticket)-3] + "AAA"
	f.Do(nil, "POST", "/api/v1/join/register", body).Want(t, 400)
	body["ticket"] = ticket
	f.now = f.now.Add(joinTTL)
	f.Do(nil, "POST", "/api/v1/join/register", body).Want(t, 400)
	// An expired code gives no ticket.
	f.Do(nil, "GET", "/api/v1/join/"+c.Code, nil).Want(t, 400)

	// An imported trainee claims their record with matching name and phone.
	c = f.code(t, trainer, sess.ID)
	ticket, _ = f.Do(nil, "GET", "/api/v1/join/"+c.Code, nil).Want(t, 200).JSON()["ticket"].(string)
	imp := idnum()
	if _, err := f.s.AddTrainee(f.Ctx, NewTrainee{Name: "钱七", IDNumber: imp, Phone: "13655550003", RegionID: f.Village(0, 1).ID}, false, "import", "x"); err != nil {
		t.Fatal(err)
	}
	claim := map[string]any{"ticket": ticket, "name": "钱七", "id_number": imp, "phone": "13655550099", "region_id": f.Village(0, 1).ID, "password": "mima-1234"}
	f.Do(nil, "POST", "/api/v1/join/register", claim).Want(t, 409) // wrong phone
	claim["phone"] = "13655550003"
	f.Do(nil, "POST", "/api/v1/join/register", claim).Want(t, 201)
	if p := f.progress(t); p.PersonTimes != 2 || p.Registered != 2 {
		t.Fatalf("progress %+v", p)
	}
	f.noDrift(t)
}
