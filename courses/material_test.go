package courses

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"image"
	"image/gif"
	"image/png"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"nongxun/server"
	"nongxun/testkit"
)

func zipWith(t *testing.T, names ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range names {
		w, _ := zw.Create(n)
		_, _ = w.Write([]byte("<xml/>"))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func pad(b []byte, n int) []byte { return append(b, bytes.Repeat([]byte{0x20}, n)...) }

func TestUploadTypes(t *testing.T) {
	f := newFixture(t)
	cid := f.course(f.trainer, true)
	var pngBuf, gifBuf bytes.Buffer
	_ = png.Encode(&pngBuf, image.NewRGBA(image.Rect(0, 0, 4, 4)))
	_ = gif.Encode(&gifBuf, image.NewRGBA(image.Rect(0, 0, 4, 4)), nil)
	xl, err := excelize.NewFile().WriteToBuffer()
	if err != nil {
		t.Fatal(err)
	}
	ole := pad([]byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1"), 600)
	cases := []struct {
		name, file string
		content    []byte
		status     int
		ctype      string
	}{
		{"pdf", "讲义.pdf", pad([]byte("%PDF-1.4\n%âãÏÓ\n1 0 obj"), 100), 201, typePDF},
		{"docx", "教案.docx", zipWith(t, "[Content_Types].xml", "word/document.xml"), 201, typeDOCX},
		{"xlsx by excelize", "表.xlsx", xl.Bytes(), 201, typeXLSX},
		{"pptx", "课件.pptx", zipWith(t, "_rels/.rels", "ppt/presentation.xml"), 201, typePPTX},
		{"doc", "旧教案.doc", ole, 201, typeDOC},
		{"xls", "旧表.xls", ole, 201, typeXLS},
		{"ppt", "旧课件.ppt", ole, 201, typePPT},
		{"jpeg", "照片.jpg", pad([]byte("\xFF\xD8\xFF\xE0\x00\x10JFIF\x00"), 50), 201, typeJPEG},
		{"png", "图.png", pngBuf.Bytes(), 201, typePNG},
		{"gif", "动图.gif", gifBuf.Bytes(), 201, typeGIF},
		{"webp", "图.webp", pad([]byte("RIFF\x24\x00\x00\x00WEBPVP8 "), 40), 201, typeWEBP},
		{"mp3 id3", "录音.mp3", pad([]byte("ID3\x03\x00\x00\x00\x00\x00\x00"), 100), 201, typeMP3},
		{"mp3 frame", "录音2.mp3", pad([]byte("\xFF\xFB\x90\x64\x00"), 100), 201, typeMP3},
		{"mp4", "视频.mp4", pad([]byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"), 100), 201, typeMP4},
		{"pdf with a wrong name", "notes.txt", pad([]byte("%PDF-1.7\n"), 10), 201, typePDF},
		{"exe renamed pdf", "讲义.pdf", pad([]byte("MZ\x90\x00\x03\x00\x00\x00"), 300), 400, ""},
		{"elf renamed mp4", "视频.mp4", pad([]byte("\x7FELF\x02\x01\x01"), 300), 400, ""},
		{"zip renamed pdf", "讲义.pdf", zipWith(t, "[Content_Types].xml"), 400, ""},
		{"plain zip renamed docx", "教案.docx", zipWith(t, "virus.exe"), 400, ""},
		{"ole renamed msi", "setup.msi", ole, 400, ""},
		{"html renamed pdf", "讲义.pdf", []byte("<html><script>alert(1)</script></html>"), 400, ""},
		{"text", "说明.txt", []byte("hello"), 400, ""},
		{"bad mp3 sync", "x.mp3", pad([]byte("\xFF\xFF\xFF\xFF"), 10), 400, ""},
		{"empty", "空.pdf", []byte{}, 400, ""},
	}
	accepted := 0
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := f.Upload(f.trainer, "/api/v1/courses/"+cid+"/materials", c.file, c.content, nil).Want(t, c.status)
			if c.status != 201 {
				if r.ErrCode() != "invalid" || errField(r, "file") == "" {
					t.Fatalf("want invalid with fields.file: %s", r.Body)
				}
				return
			}
			accepted++
			m := r.JSON()
			must(t, m["id"] != "" && m["name"] == c.file && m["size"] == float64(len(c.content)) && m["content_type"] == c.ctype,
				"response %v", m)
		})
	}
	ms, _ := f.svc.Materials(f.Ctx, cid)
	must(t, len(ms) == accepted, "only accepted files are materials: %d of %d", len(ms), accepted)
	must(t, len(f.tmpFiles()) == 0, "no temp files left: %v", f.tmpFiles())
	// The refused files never reached the blob store: only the accepted contents are there.
	distinct := map[string]bool{}
	for _, m := range ms {
		distinct[m.SHA256] = true
	}
	must(t, len(f.files()) == len(distinct), "blob files %d, distinct accepted contents %d", len(f.files()), len(distinct))
}

func TestUploadRefusals(t *testing.T) {
	f := newFixture(t)
	cid := f.course(f.trainer, true)
	pdf := pad([]byte("%PDF-1.4\n"), 2000)
	path := "/api/v1/courses/" + cid + "/materials"
	other := f.NewCaller(server.RoleTrainer, "")

	f.Upload(f.trainee, path, "a.pdf", pdf, nil).Want(t, 403)
	f.Upload(f.NewCaller(server.RoleAuditor, ""), path, "a.pdf", pdf, nil).Want(t, 403)
	f.Upload(other, path, "a.pdf", pdf, nil).Want(t, 403)
	f.Upload(nil, path, "a.pdf", pdf, nil).Want(t, 401)
	f.Upload(f.trainer, "/api/v1/courses/xyz/materials", "a.pdf", pdf, nil).Want(t, 400)
	f.Upload(f.trainer, "/api/v1/courses/0123456789abcdef01234567/materials", "a.pdf", pdf, nil).Want(t, 404)
	r := f.Upload(f.trainer, path, "", nil, map[string]string{"note": "x"}).Want(t, 400)
	must(t, errField(r, "file") != "", "no file names the field: %s", r.Body)
	f.Do(f.trainer, "POST", path, map[string]any{"file": "x"}).Want(t, 400)

	f.svc.d.Config.MaxUpload = 1024
	r = f.Upload(f.trainer, path, "big.pdf", pdf, nil).Want(t, 413)
	must(t, r.ErrCode() == "too_large", "code: %s", r.Body)
	f.Upload(f.trainer, path, "just.pdf", pdf[:1024], nil).Want(t, 201)
	f.svc.d.Config.MaxUpload = 512 << 20

	// A trainer holding a session of the course may upload too.
	f.Do(f.Admin, "POST", "/api/v1/courses/"+cid+"/sessions", map[string]any{"starts_at": at(24), "ends_at": at(25), "location": "x",
		"region_id": f.Village(0, 0).ID, "trainer_id": other.User.ID, "capacity": 5}).Want(t, 201)
	f.Upload(other, path, "b.pdf", pdf, nil).Want(t, 201)

	ms, _ := f.svc.Materials(f.Ctx, cid)
	must(t, len(ms) == 2, "materials: %d", len(ms))
	must(t, len(f.tmpFiles()) == 0, "no temp files: %v", f.tmpFiles())
	must(t, len(f.files()) == 2, "blob files: %v", f.files())
}

// TestAbortedUpload cuts an upload off midway: as a body that ends before
// the multipart end, and as a client that closes its connection.
func TestAbortedUpload(t *testing.T) {
	f := newFixture(t)
	cid := f.course(f.trainer, true)
	path := "/api/v1/courses/" + cid + "/materials"
	body, ct := testkit.Multipart("video.mp4", pad([]byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00"), 1<<20), nil)
	full, _ := io.ReadAll(body)
	req := httptest.NewRequest("POST", path, bytes.NewReader(full[:len(full)/2]))
	req.Header.Set("Content-Type", ct)
	r := f.Send(f.trainer, req).Want(t, 400)
	must(t, r.ErrCode() == "invalid", "truncated: %s", r.Body)
	must(t, len(f.tmpFiles()) == 0 && len(f.files()) == 0, "nothing kept: %v", f.files())

	// A real connection that goes away after 3 MiB of a declared 64 MiB.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = f.App.Listener(ln) }()
	defer f.App.Shutdown()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	boundary := "xxBOUNDARYxx"
	head := "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"v.mp4\"\r\nContent-Type: video/mp4\r\n\r\n"
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: multipart/form-data; boundary=%s\r\nContent-Length: %d\r\n\r\n%s",
		path, f.trainer.Token, boundary, 64<<20, head)
	_, _ = conn.Write([]byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00"))
	chunk := bytes.Repeat([]byte{1}, 64<<10)
	sawTemp := false
	for i := 0; i < 48; i++ {
		if _, err := conn.Write(chunk); err != nil {
			t.Fatal(err)
		}
		if !sawTemp && len(f.tmpFiles()) > 0 {
			sawTemp = true
		}
	}
	// Wait until the server is writing the temp file, then hang up.
	deadline := time.Now().Add(10 * time.Second)
	for !sawTemp && time.Now().Before(deadline) {
		sawTemp = len(f.tmpFiles()) > 0
		time.Sleep(10 * time.Millisecond)
	}
	must(t, sawTemp, "the upload should have reached the blob store's temp directory")
	conn.Close()
	for len(f.tmpFiles()) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	must(t, len(f.tmpFiles()) == 0, "temp file left after an aborted upload: %v", f.tmpFiles())
	must(t, len(f.files()) == 0, "blob left after an aborted upload: %v", f.files())
	ms, _ := f.svc.Materials(f.Ctx, cid)
	must(t, len(ms) == 0, "no material from an aborted upload")
}

func (f *fixture) uploadPDF(caller *testkit.Caller, cid string, size int, public bool) (*Material, []byte) {
	f.T.Helper()
	content := make([]byte, size)
	copy(content, "%PDF-1.5\n")
	for i := 9; i < size; i++ {
		content[i] = byte(i * 7 % 251)
	}
	path := "/api/v1/courses/" + cid + "/materials"
	if public {
		path += "?public=true"
	}
	var m Material
	f.Upload(caller, path, "讲义 第一章.pdf", content, nil).Want(f.T, 201).Decode(f.T, &m)
	return &m, content
}

func TestDownloadRanges(t *testing.T) {
	f := newFixture(t)
	cid := f.course(f.trainer, true)
	m, content := f.uploadPDF(f.trainer, cid, 10000, false)
	get := func(hdr ...string) *testkit.Response {
		req := httptest.NewRequest("GET", "/api/v1/materials/"+m.ID, nil)
		for i := 0; i < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		return f.Send(f.trainer, req)
	}
	r := get().Want(t, 200)
	must(t, bytes.Equal(r.Body, content), "full body differs")
	etag := r.Header.Get("ETag")
	must(t, etag == `"`+m.SHA256+`"` && len(m.SHA256) == 64, "etag %s sha %s", etag, m.SHA256)
	must(t, r.Header.Get("Content-Type") == typePDF && strings.HasPrefix(r.Header.Get("Content-Disposition"), "inline"), "headers %v", r.Header)
	must(t, r.Header.Get("Accept-Ranges") == "bytes", "accept-ranges")

	cases := []struct {
		name, rng  string
		status     int
		start, end int
	}{
		{"first bytes", "bytes=0-99", 206, 0, 99},
		{"middle", "bytes=4000-5999", 206, 4000, 5999},
		{"last bytes", "bytes=-100", 206, 9900, 9999},
		{"open end", "bytes=9990-", 206, 9990, 9999},
		{"end past size", "bytes=9000-20000", 206, 9000, 9999},
		{"single byte", "bytes=5000-5000", 206, 5000, 5000},
		{"start past end", "bytes=10000-10010", 416, 0, 0},
		{"reversed", "bytes=500-100", 416, 0, 0},
		{"garbage", "bytes=abc", 416, 0, 0},
		{"several ranges", "bytes=0-1,5-6", 416, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := get("Range", c.rng).Want(t, c.status)
			if c.status == 416 {
				must(t, r.Header.Get("Content-Range") == "bytes */10000", "416 content-range %q", r.Header.Get("Content-Range"))
				return
			}
			must(t, bytes.Equal(r.Body, content[c.start:c.end+1]), "range body differs")
			must(t, r.Header.Get("Content-Range") == fmt.Sprintf("bytes %d-%d/10000", c.start, c.end), "content-range %q", r.Header.Get("Content-Range"))
		})
	}
	get("If-None-Match", etag).Want(t, 304)
	get("If-None-Match", `"other"`).Want(t, 200)
	r = get("Range", "bytes=0-9", "If-Range", `"stale"`).Want(t, 200)
	must(t, len(r.Body) == 10000, "a stale If-Range gets the whole file")

	f.Do(f.trainer, "GET", "/api/v1/materials/nothex", nil).Want(t, 400)
	f.Do(f.trainer, "GET", "/api/v1/materials/0123456789abcdef01234567", nil).Want(t, 404)

	// A second upload of the same content shares the blob.
	m2, _ := f.uploadPDF(f.trainer, cid, 10000, false)
	must(t, m2.ID != m.ID && m2.SHA256 == m.SHA256 && len(f.files()) == 1, "shared blob: %v", f.files())
}

func TestDownloadPermissions(t *testing.T) {
	f := newFixture(t)
	cid := f.course(f.trainer, true)
	draft := f.course(f.trainer, false)
	private, _ := f.uploadPDF(f.trainer, cid, 2000, false)
	public, _ := f.uploadPDF(f.trainer, cid, 2100, true)
	draftPublic, _ := f.uploadPDF(f.trainer, draft, 2200, true)
	must(t, public.Public && !private.Public, "public flag from the upload")
	station := f.NewCaller(server.RoleStation, "")
	officer := f.NewCaller(server.RoleOfficer, "")
	auditor := f.NewCaller(server.RoleAuditor, "")
	other := f.NewCaller(server.RoleTrainer, "")
	dl := func(c *testkit.Caller, m *Material) int {
		return f.Do(c, "GET", "/api/v1/materials/"+m.ID, nil).Status
	}
	farOfficer := f.NewCaller(server.RoleOfficer, f.Township(4).ID)
	f.session(cid, 24, 26) // in township 0, the officer's
	f.session(draft, 30, 32)
	for _, c := range []*testkit.Caller{f.Admin, officer, auditor, f.trainer} {
		must(t, dl(c, private) == 200 && dl(c, draftPublic) == 200, "staff %s download", c.User.Role)
	}
	// A trainer of another course and an officer of another township: public materials of published courses only.
	for _, c := range []*testkit.Caller{other, farOfficer} {
		must(t, dl(c, private) == 403 && dl(c, draftPublic) == 403 && dl(c, public) == 200, "%s outside the course: %d %d %d", c.User.Role, dl(c, private), dl(c, draftPublic), dl(c, public))
	}
	must(t, dl(f.trainee, private) == 403, "not enrolled: private refused")
	must(t, dl(f.trainee, public) == 200, "public allowed")
	must(t, dl(f.trainee, draftPublic) == 403, "draft course refused")
	must(t, dl(station, public) == 200 && dl(station, private) == 403, "station: public only")
	var list []Material
	f.Do(f.trainee, "GET", "/api/v1/courses/"+cid+"/materials", nil).Want(t, 200).Decode(t, &list)
	must(t, len(list) == 1 && list[0].ID == public.ID, "not enrolled lists public only: %v", list)
	f.Do(f.trainee, "GET", "/api/v1/courses/"+draft+"/materials", nil).Want(t, 404)

	f.svc.Enrolled = func(_ context.Context, userID, courseID string) (bool, error) {
		return userID == f.trainee.User.ID && courseID == cid, nil
	}
	must(t, dl(f.trainee, private) == 200, "enrolled trainee downloads")
	must(t, dl(f.trainee, draftPublic) == 403, "still not a draft course")
	f.Do(f.trainee, "GET", "/api/v1/courses/"+cid+"/materials", nil).Want(t, 200).Decode(t, &list)
	must(t, len(list) == 2, "enrolled lists all: %v", list)
	f.Do(f.Admin, "GET", "/api/v1/courses/"+cid+"/materials", nil).Want(t, 200).Decode(t, &list)
	must(t, len(list) == 2, "admin lists all: %v", list)

	// Signed links for <video> and the PDF viewer: no token needed, Range works.
	f.svc.Enrolled = nil
	f.Do(f.trainee, "GET", "/api/v1/materials/"+private.ID+"/link", nil).Want(t, 403)
	var link struct{ URL string }
	f.Do(f.trainee, "GET", "/api/v1/materials/"+public.ID+"/link", nil).Want(t, 200).Decode(t, &link)
	req := httptest.NewRequest("GET", link.URL, nil)
	req.Header.Set("Range", "bytes=0-4")
	r := f.Send(nil, req).Want(t, 206)
	must(t, string(r.Body) == "%PDF-", "link range body %q", r.Body)
	f.Send(nil, httptest.NewRequest("GET", strings.Replace(link.URL, "sig=", "sig=0", 1), nil)).Want(t, 403)
	f.Send(nil, httptest.NewRequest("GET", strings.Replace(link.URL, public.ID, private.ID, 1), nil)).Want(t, 403)
	f.Send(nil, httptest.NewRequest("GET", "/api/v1/public/materials/"+public.ID, nil)).Want(t, 403)
	f.svc.now = func() time.Time { return time.Now().Add(linkTTL + time.Minute) }
	f.Send(nil, httptest.NewRequest("GET", link.URL, nil)).Want(t, 403)
	f.svc.now = time.Now
	f.Send(nil, httptest.NewRequest("GET", link.URL, nil)).Want(t, 200)
	f.Do(f.trainer, "DELETE", "/api/v1/materials/"+public.ID, nil).Want(t, 204)
	f.Send(nil, httptest.NewRequest("GET", link.URL, nil)).Want(t, 404)
}

func TestEditAndDeleteMaterial(t *testing.T) {
	f := newFixture(t)
	cid := f.course(f.trainer, true)
	m, _ := f.uploadPDF(f.trainer, cid, 3000, false)
	other := f.NewCaller(server.RoleTrainer, "")
	url := "/api/v1/materials/" + m.ID

	f.Do(other, "PATCH", url, map[string]any{"public": true}).Want(t, 403)
	f.Do(f.trainee, "PATCH", url, map[string]any{"public": true}).Want(t, 403)
	f.Do(f.trainer, "PATCH", url, map[string]any{"public": "yes"}).Want(t, 400)
	f.Do(f.trainer, "PATCH", url, map[string]any{"name": " "}).Want(t, 400)
	var got Material
	f.Do(f.trainer, "PATCH", url, map[string]any{"public": true, "name": "../第二章.pdf"}).Want(t, 200).Decode(t, &got)
	must(t, got.Public && got.Name == "第二章.pdf", "patched: %+v", got)
	must(t, f.Do(f.trainee, "GET", url, nil).Status == 200, "public now")

	f.Do(other, "DELETE", url, nil).Want(t, 403)
	f.Do(f.trainee, "DELETE", url, nil).Want(t, 403)
	f.Do(f.trainer, "DELETE", "/api/v1/materials/bad", nil).Want(t, 400)
	f.Do(f.trainer, "DELETE", url, nil).Want(t, 204)
	f.Do(f.trainer, "DELETE", url, nil).Want(t, 404)
	f.Do(f.Admin, "GET", url, nil).Want(t, 404)
	var list []Material
	f.Do(f.Admin, "GET", "/api/v1/courses/"+cid+"/materials", nil).Want(t, 200).Decode(t, &list)
	must(t, len(list) == 0, "deleted not listed: %v", list)
	es, _ := f.Audit.List(f.Ctx, "material:"+m.ID, "material.delete", time.Time{}, 10)
	must(t, len(es) == 1 && es[0].UserID == f.trainer.User.ID && es[0].Detail["sha256"] == m.SHA256, "delete audited: %+v", es)
	// Soft: the record and the file stay.
	var raw Material
	must(t, f.svc.materials.FindOne(f.Ctx, map[string]any{"_id": m.ID}, &raw) == nil && raw.Deleted && raw.DeletedBy == f.trainer.User.ID, "kept: %+v", raw)
	must(t, len(f.files()) == 1, "file kept")
	_ = http.StatusOK
}

func TestTrainersAndPDFHeaders(t *testing.T) {
	f := newFixture(t)
	var ts []trainer
	f.Do(f.NewCaller(server.RoleOfficer, ""), "GET", "/api/v1/trainers", nil).Want(t, 200).Decode(t, &ts)
	must(t, len(ts) == 1 && ts[0].ID == f.trainer.User.ID, "trainers: %v", ts)
	f.Do(f.trainee, "GET", "/api/v1/trainers", nil).Want(t, 403)

	cid := f.course(f.trainer, true)
	m, _ := f.uploadPDF(f.trainer, cid, 1000, true)
	r := f.Do(f.trainee, "GET", "/api/v1/materials/"+m.ID, nil).Want(t, 200)
	must(t, r.Header.Get("Content-Security-Policy") == "" && r.Header.Get("X-Content-Type-Options") == "nosniff", "pdf headers: %v", r.Header)
	must(t, strings.Contains(r.Header.Get("Content-Disposition"), "UTF-8''"), "disposition: %v", r.Header.Get("Content-Disposition"))
	png := pad([]byte("\x89PNG\r\n\x1A\n"), 100)
	var img Material
	f.Upload(f.trainer, "/api/v1/courses/"+cid+"/materials?public=1", "a.png", png, nil).Want(t, 201).Decode(t, &img)
	r = f.Do(f.trainee, "GET", "/api/v1/materials/"+img.ID, nil).Want(t, 200)
	must(t, r.Header.Get("Content-Security-Policy") != "" && r.Header.Get("Content-Type") == typePNG, "image keeps the CSP: %v", r.Header)
}

// TestBrokenAfterFile: a body whose file part is whole but whose next part
// breaks off still records the file, so its blob is never left unreferenced.
func TestBrokenAfterFile(t *testing.T) {
	f := newFixture(t)
	cid := f.course(f.trainer, true)
	content := pad([]byte("%PDF-1.4\n"), 5000)
	body := "--BB\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n\r\n" + string(content) +
		"\r\n--BB\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhalf a no"
	req := httptest.NewRequest("POST", "/api/v1/courses/"+cid+"/materials", strings.NewReader(body))
	req.Header.Set("Content-Type", "multipart/form-data; boundary=BB")
	f.Send(f.trainer, req).Want(t, 201)
	ms, _ := f.svc.Materials(f.Ctx, cid)
	must(t, len(ms) == 1 && ms[0].Size == int64(len(content)), "materials: %v", ms)
	must(t, len(f.files()) == 1 && len(f.tmpFiles()) == 0, "files: %v", f.files())
}
