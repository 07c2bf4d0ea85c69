package certificates

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"net/http"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
	"nongxun/server"
	"nongxun/testkit"
)

// issued makes a course with two certified trainees (townships 0 and 1)
// and returns the certificates' ids and the trainees' callers.
func issued(t *testing.T, f *fixture) (ids []string, callers map[string]*testkit.Caller) {
	t.Helper()
	c, ss, _ := f.course("网店美工", 1, 2)
	a, ca := f.trainee("欧阳小玥", 0)
	b, cb := f.trainee("李堃", 1)
	f.enrol(c, ss, []int{0}, a, b)
	res := f.issueAll(c.ID)
	if len(res.Issued) != 2 {
		t.Fatalf("%+v", res)
	}
	callers = map[string]*testkit.Caller{}
	for _, x := range res.Issued {
		ids = append(ids, x.ID)
		if x.TraineeID == a.ID {
			callers[x.ID] = ca
		} else {
			callers[x.ID] = cb
		}
	}
	return ids, callers
}

func TestVerify(t *testing.T) {
	f := newFixture(t)
	ids, _ := issued(t, f)
	cert, _ := f.svc.cert(f.Ctx, ids[0])

	v := f.Do(nil, "GET", "/api/v1/verify/"+cert.Code, nil).Want(t, 200).JSON()
	if v["status"] != "valid" || v["serial"] != cert.Serial || v["course"] != "网店美工" || v["issued_at"] == nil {
		t.Fatalf("verify %v", v)
	}
	if v["name"] == cert.Name || !strings.Contains(v["name"].(string), "*") {
		t.Fatalf("name not masked: %v", v["name"])
	}
	if _, ok := v["code"]; ok {
		t.Fatal("verification echoes fields it should not")
	}

	page := f.Do(nil, "GET", "/verify/"+cert.Code, nil).Want(t, 200)
	body := string(page.Body)
	if !strings.Contains(body, "证书有效") || !strings.Contains(body, MaskName(cert.Name)) || strings.Contains(body, cert.Name) || !strings.Contains(body, cert.Serial) {
		t.Fatalf("page:\n%s", body)
	}
	if !strings.Contains(body, `name="viewport"`) || !strings.Contains(body, `lang="zh-CN"`) {
		t.Fatal("page is not a mobile Chinese page")
	}

	// Unknown and malformed codes.
	f.Do(nil, "GET", "/api/v1/verify/ABCDEFGHJKLMNPQR", nil).Want(t, 404)
	f.Do(nil, "GET", "/api/v1/verify/bad-code", nil).Want(t, 400)
	for _, code := range []string{"ABCDEFGHJKLMNPQR", "%3Cscript%3E"} {
		r := f.Do(nil, "GET", "/verify/"+code, nil).Want(t, 404)
		if !strings.Contains(string(r.Body), "未找到该证书") || strings.Contains(string(r.Body), "<script>") {
			t.Fatalf("unknown page: %s", r.Body)
		}
	}

	// Revoked: status, reason and date, on both.
	f.Do(f.Admin, "POST", "/api/v1/certificates/"+cert.ID+"/revoke", map[string]any{"reason": "<b>重复颁发</b>"}).Want(t, 200)
	v = f.Do(nil, "GET", "/api/v1/verify/"+strings.ToLower(cert.Code), nil).Want(t, 200).JSON()
	if v["status"] != "revoked" || v["revoked_reason"] != "<b>重复颁发</b>" || v["revoked_at"] == nil {
		t.Fatalf("revoked verify %v", v)
	}
	body = string(f.Do(nil, "GET", "/verify/"+cert.Code, nil).Want(t, 200).Body)
	if !strings.Contains(body, "证书已撤销") || !strings.Contains(body, "&lt;b&gt;重复颁发&lt;/b&gt;") {
		t.Fatalf("revoked page:\n%s", body)
	}
}

func TestVerifyRateLimit(t *testing.T) {
	f := newFixture(t)
	codes := 0
	for i := 0; i < 40; i++ {
		r := f.Do(nil, "GET", "/api/v1/verify/ABCDEFGHJKLMNPQ"+string("ABCDEFGHJKLMNPQRSTUVWXYZ23456789"[i%32]), nil)
		if r.Status == http.StatusTooManyRequests {
			if r.ErrCode() != server.CodeRateLimited {
				t.Fatalf("429 body %s", r.Body)
			}
			codes = i
			break
		}
	}
	if codes == 0 || codes > 31 {
		t.Fatalf("no 429 within 40 guesses (first at %d)", codes)
	}
	f.Do(nil, "GET", "/verify/ABCDEFGHJKLMNPQR", nil).Want(t, 429)
}

func TestAccess(t *testing.T) {
	f := newFixture(t)
	ids, tokens := issued(t, f)
	mine := &struct{ Items []Certificate }{}
	for _, id := range ids {
		other := ids[0]
		if other == id {
			other = ids[1]
		}
		owner := tokens[id]
		f.Do(owner, "GET", "/api/v1/certificates/"+id, nil).Want(t, 200)
		f.Do(owner, "GET", "/api/v1/certificates/"+other, nil).Want(t, 404)
		f.Do(owner, "GET", "/api/v1/certificates/"+other+"/pdf", nil).Want(t, 404)
		f.Do(owner, "POST", "/api/v1/certificates/"+id+"/revoke", map[string]any{"reason": "x"}).Want(t, 403)
		f.Do(owner, "GET", "/api/v1/my/certificates", nil).Want(t, 200).Decode(t, mine)
		if len(mine.Items) != 1 || mine.Items[0].ID != id {
			t.Fatalf("my certificates %+v", mine.Items)
		}
	}
	officer := f.NewCaller(server.RoleOfficer, f.Township(0).ID)
	var list struct{ Items []Certificate }
	cert0, err := f.svc.cert(f.Ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	f.Do(officer, "GET", "/api/v1/courses/"+cert0.CourseID+"/certificates", nil).Want(t, 200).Decode(t, &list)
	if len(list.Items) != 1 || list.Items[0].TownshipID != f.Township(0).ID {
		t.Fatalf("officer list %+v", list.Items)
	}
	for _, id := range ids {
		c, _ := f.svc.cert(f.Ctx, id)
		want := 200
		if c.TownshipID != f.Township(0).ID {
			want = 403
		}
		f.Do(officer, "GET", "/api/v1/certificates/"+id, nil).Want(t, want)
	}
	station := f.NewCaller(server.RoleStation, "")
	f.Do(station, "GET", "/api/v1/certificates/"+ids[0], nil).Want(t, 403)
	f.Do(station, "GET", "/api/v1/my/certificates", nil).Want(t, 403)
	auditor := f.NewCaller(server.RoleAuditor, "")
	f.Do(auditor, "GET", "/api/v1/certificates/"+ids[0], nil).Want(t, 200)
	f.Do(auditor, "POST", "/api/v1/certificates/"+ids[0]+"/revoke", map[string]any{"reason": "x"}).Want(t, 403)
	f.Do(f.Admin, "GET", "/api/v1/certificates/nothex", nil).Want(t, 400)
	f.Do(f.Admin, "GET", "/api/v1/certificates/0123456789abcdef01234567", nil).Want(t, 404)
}

func TestZipAndRegister(t *testing.T) {
	f := newFixture(t)
	ids, _ := issued(t, f)
	cert, _ := f.svc.cert(f.Ctx, ids[0])
	f.Do(f.Admin, "POST", "/api/v1/certificates/"+ids[1]+"/revoke", map[string]any{"reason": "信息有误"}).Want(t, 200)

	if f.svc.font != nil {
		r := f.Do(f.Admin, "GET", "/api/v1/courses/"+cert.CourseID+"/certificates/zip", nil).Want(t, 200)
		zr, err := zip.NewReader(bytes.NewReader(r.Body), int64(len(r.Body)))
		if err != nil {
			t.Fatalf("zip: %v", err)
		}
		if len(zr.File) != 2 {
			t.Fatalf("%d files in zip", len(zr.File))
		}
		for _, zf := range zr.File {
			rc, _ := zf.Open()
			head := make([]byte, 5)
			_, _ = rc.Read(head)
			rc.Close()
			if string(head) != "%PDF-" || !strings.HasSuffix(zf.Name, ".pdf") {
				t.Fatalf("zip entry %s starts %q", zf.Name, head)
			}
		}
	}
	f.Do(f.Admin, "GET", "/api/v1/courses/0123456789abcdef01234567/certificates/zip", nil).Want(t, 404)

	r := f.Do(f.Admin, "GET", "/api/v1/certificates/register?format=csv", nil).Want(t, 200)
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(r.Body, []byte("\ufeff")))).ReadAll()
	if err != nil || len(rows) != 3 || rows[0][0] != "证书编号" {
		t.Fatalf("csv %v %v", rows, err)
	}
	statuses := rows[1][9] + rows[2][9]
	if !strings.Contains(statuses, "有效") || !strings.Contains(statuses, "已撤销") {
		t.Fatalf("statuses %q", statuses)
	}

	r = f.Do(f.Admin, "GET", "/api/v1/certificates/register?format=xlsx&course_id="+cert.CourseID, nil).Want(t, 200)
	x, err := excelize.OpenReader(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatalf("xlsx: %v", err)
	}
	xrows, err := x.GetRows(x.GetSheetName(0))
	if err != nil || len(xrows) != 4 || xrows[2][0] == "" {
		t.Fatalf("xlsx rows %v %v", xrows, err)
	}

	officer := f.NewCaller(server.RoleOfficer, f.Township(0).ID)
	r = f.Do(officer, "GET", "/api/v1/certificates/register", nil).Want(t, 200)
	if rows, _ := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(r.Body, []byte("\ufeff")))).ReadAll(); len(rows) != 2 {
		t.Fatalf("officer register %v", rows)
	}
	f.Do(f.Admin, "GET", "/api/v1/certificates/register?format=doc", nil).Want(t, 400)
	f.Do(f.Admin, "GET", "/api/v1/certificates/register?course_id=x", nil).Want(t, 400)
	f.Do(f.NewCaller(server.RoleTrainer, ""), "GET", "/api/v1/certificates/register", nil).Want(t, 403)
}
