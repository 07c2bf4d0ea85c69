package main

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"nongxun/store"
)

// POST /admin/repair rebuilds every package's counters from the records on
// either engine (on MongoDB start-up does not): a person-time counter moved
// behind the app's back is set back to what the attendance says.
func TestRepairCommandRebuildsCounters(t *testing.T) {
	app, tokens, st, _ := testApp(t, nil)
	toks := roleTokens(t, st, tokens, store.NewID())
	ctx := context.Background()
	if _, err := st.C("enrollment_counters").UpdateOne(ctx, bson.M{"_id": "county"}, bson.M{"$inc": bson.M{"person_times": 7}}, options.UpdateOne().SetUpsert(true)); err != nil {
		t.Fatal(err)
	}
	call := func(method, path, token string, out any) int {
		req := httptest.NewRequest(method, path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if out != nil {
			if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
				t.Fatal(err)
			}
		}
		return resp.StatusCode
	}
	if code := call("POST", "/api/v1/admin/repair", toks["officer"], nil); code != 403 {
		t.Fatalf("an officer ran the repair: %d", code)
	}
	var rep struct {
		Repairs []struct {
			Name    string `json:"name"`
			Drifted bool   `json:"drifted"`
			Error   string `json:"error"`
		} `json:"repairs"`
		Drifted int `json:"drifted"`
	}
	if code := call("POST", "/api/v1/admin/repair", toks["admin"], &rep); code != 200 {
		t.Fatalf("repair: %d %+v", code, rep)
	}
	found := false
	for _, r := range rep.Repairs {
		if r.Error != "" {
			t.Errorf("%s failed: %s", r.Name, r.Error)
		}
		if r.Name == "enrollment counters, lists and keys" {
			found = r.Drifted
		}
	}
	if !found || rep.Drifted < 1 || len(rep.Repairs) < 8 {
		t.Fatalf("the moved counter was not reported as drifted: %+v", rep)
	}
	var p struct {
		PersonTimes int64 `json:"person_times"`
	}
	if code := call("GET", "/api/v1/progress", toks["admin"], &p); code != 200 || p.PersonTimes != 0 {
		t.Fatalf("after the repair GET /progress says %d person-times (%d), want 0", p.PersonTimes, code)
	}
}
