package server_test

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/gofiber/fiber/v2"
	"nongxun/server"
	"nongxun/store"
	"nongxun/testkit"
)

// TestUploadAndRanges stores a file through StreamUpload and reads it back
// whole, by ranges, and conditionally.
func TestUploadAndRanges(t *testing.T) {
	st := store.MustOpenTest(t)
	app := server.New(slog.New(slog.NewTextHandler(io.Discard, nil)), st)
	const limit = 1 << 20
	app.Post("/up", func(c *fiber.Ctx) error {
		var info store.BlobInfo
		vals, err := server.StreamUpload(c, "file", func(u server.Upload) error {
			var err error
			info, err = st.Blobs.Put(c.UserContext(), u.Body, limit)
			return server.BlobError(err, limit)
		})
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"id": info.ID, "size": info.Size, "note": vals["note"]})
	})
	app.Get("/blob/:id", func(c *fiber.Ctx) error {
		b, err := st.Blobs.Open(c.UserContext(), c.Params("id"))
		if err != nil {
			return server.BlobError(err, limit)
		}
		return server.SendBlob(c, b, c.Params("id"), "application/octet-stream", "资料.bin", false)
	})
	data := make([]byte, 300_000)
	_, _ = rand.Read(data)
	post := func(name string, content []byte) (int, map[string]any) {
		body, ct := testkit.Multipart(name, content, map[string]string{"note": "备注"})
		req := httptest.NewRequest("POST", "/up", body)
		req.Header.Set("Content-Type", ct)
		resp, err := app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		r := &testkit.Response{Status: resp.StatusCode}
		r.Body, _ = io.ReadAll(resp.Body)
		return r.Status, r.JSON()
	}
	st1, got := post("a.bin", data)
	if st1 != 200 || got["note"] != "备注" || int(got["size"].(float64)) != len(data) {
		t.Fatalf("upload: %d %v", st1, got)
	}
	id := got["id"].(string)
	if s, _ := post("", nil); s != 400 {
		t.Fatalf("no file: %d", s)
	}
	if s, _ := post("empty.bin", []byte{}); s != 400 {
		t.Fatalf("empty file: %d", s)
	}
	if s, _ := post("big.bin", make([]byte, limit+1)); s != 413 {
		t.Fatalf("too large: %d", s)
	}
	get := func(hdr map[string]string) (int, []byte, map[string][]string) {
		req := httptest.NewRequest("GET", "/blob/"+id, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b, resp.Header
	}
	s, b, h := get(nil)
	if s != 200 || !bytes.Equal(b, data) || h["Etag"][0] != `"`+id+`"` || h["Accept-Ranges"][0] != "bytes" {
		t.Fatalf("whole: %d %d bytes %v", s, len(b), h)
	}
	n := len(data)
	for _, tc := range []struct {
		rng        string
		start, end int
	}{{"bytes=0-0", 0, 0}, {"bytes=1000-1999", 1000, 1999}, {"bytes=150000-", 150000, n - 1}, {"bytes=-10", n - 10, n - 1}, {fmt.Sprintf("bytes=%d-%d", n-1, n+100), n - 1, n - 1}} {
		s, b, h := get(map[string]string{"Range": tc.rng})
		want := fmt.Sprintf("bytes %d-%d/%d", tc.start, tc.end, n)
		if s != 206 || !bytes.Equal(b, data[tc.start:tc.end+1]) || h["Content-Range"][0] != want {
			t.Fatalf("%s: %d, %d bytes, %v", tc.rng, s, len(b), h["Content-Range"])
		}
	}
	for _, bad := range []string{fmt.Sprintf("bytes=%d-", n), "bytes=5-2", "bytes=a-b", "bytes=0-1,5-6", "items=0-1"} {
		if s, _, h := get(map[string]string{"Range": bad}); s != 416 || h["Content-Range"][0] != fmt.Sprintf("bytes */%d", n) {
			t.Fatalf("%s: %d", bad, s)
		}
	}
	if s, b, _ := get(map[string]string{"If-None-Match": `"` + id + `"`}); s != 304 || len(b) != 0 {
		t.Fatalf("If-None-Match: %d", s)
	}
	if s, b, _ := get(map[string]string{"Range": "bytes=0-9", "If-Range": `"other"`}); s != 200 || len(b) != n {
		t.Fatalf("stale If-Range must send the whole file: %d", s)
	}
}
