// Package web serves the UI: a Chinese, mobile-first shell (login, menu by
// role) and the feature pages, plain HTML, CSS and JS embedded in the
// binary. Each feature adds one static/<feature>.js that registers its
// views with NX.view; the shell loads every such file.
package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html"
	"io/fs"
	"mime"
	"path"
	"sort"
	"strings"

	"github.com/gofiber/fiber/v2"
)

//go:embed static index.html
var files embed.FS

// Static is the embedded static folder.
var Static, _ = fs.Sub(files, "static")

// Modules lists the feature scripts the shell loads, sorted by name.
func Modules() []string {
	ents, _ := fs.ReadDir(Static, ".")
	var out []string
	for _, e := range ents {
		n := e.Name()
		if strings.HasSuffix(n, ".js") && n != "app.js" && n != "sw.js" && !strings.HasSuffix(n, ".min.js") {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// asset is one file as served: its bytes, gzipped bytes and content hash.
type asset struct {
	ctype   string
	raw, gz []byte
	tag     string
}

func newAsset(name string, b []byte) *asset {
	h := sha256.Sum256(b)
	a := &asset{ctype: mime.TypeByExtension(path.Ext(name)), raw: b, tag: hex.EncodeToString(h[:8])}
	if a.ctype == "" {
		a.ctype = "application/octet-stream"
	}
	if path.Ext(name) == ".webmanifest" {
		a.ctype = "application/manifest+json"
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(b)
	_ = zw.Close()
	if buf.Len() < len(b) {
		a.gz = buf.Bytes()
	}
	return a
}

// send writes the asset, gzipped when the client accepts it, with an ETag.
func (a *asset) send(c *fiber.Ctx, cache string) error {
	etag := `"` + a.tag + `"`
	c.Set("Cache-Control", cache)
	c.Set("ETag", etag)
	c.Set("Vary", "Accept-Encoding")
	if c.Get(fiber.HeaderIfNoneMatch) == etag {
		return c.SendStatus(fiber.StatusNotModified)
	}
	c.Set(fiber.HeaderContentType, a.ctype)
	if a.gz != nil && strings.Contains(c.Get(fiber.HeaderAcceptEncoding), "gzip") {
		c.Set(fiber.HeaderContentEncoding, "gzip")
		return c.Send(a.gz)
	}
	return c.Send(a.raw)
}

// Register serves the shell at /, the static files and the service worker.
// Static files are compressed once at start; the shell names each with its
// content hash (?v=), so they may be cached a year and change when they do.
func Register(app *fiber.App) {
	assets := map[string]*asset{}
	_ = fs.WalkDir(Static, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := fs.ReadFile(Static, p)
			assets[p] = newAsset(p, b)
		}
		return nil
	})
	versioned := func(name string) string { return "/static/" + name + "?v=" + assets[name].tag }
	raw, _ := files.ReadFile("index.html")
	var tags strings.Builder
	for _, m := range Modules() {
		tags.WriteString(`<script src="` + html.EscapeString(versioned(m)) + `" defer></script>`)
	}
	index := strings.Replace(string(raw), "<!--modules-->", tags.String(), 1)
	for _, n := range []string{"app.css", "app.js", "manifest.webmanifest"} {
		index = strings.Replace(index, `"/static/`+n+`"`, `"`+versioned(n)+`"`, 1)
	}
	shell := newAsset("index.html", []byte(index))
	serveShell := func(c *fiber.Ctx) error { return shell.send(c, "no-cache") }
	app.Get("/", serveShell)
	app.Get("/app", serveShell)
	// No icon file: answer browsers' favicon request without an error.
	app.Get("/favicon.ico", func(c *fiber.Ctx) error {
		c.Set("Cache-Control", "public, max-age=86400")
		return c.SendStatus(fiber.StatusNoContent)
	})
	app.Get("/robots.txt", func(c *fiber.Ctx) error {
		c.Set("Cache-Control", "public, max-age=86400")
		return c.Type("txt").SendString("User-agent: *\nAllow: /$\nAllow: /public\nAllow: /verify/\nDisallow: /api/\n")
	})
	app.Get("/sw.js", func(c *fiber.Ctx) error {
		c.Set("Service-Worker-Allowed", "/")
		return assets["sw.js"].send(c, "no-cache")
	})
	app.Get("/static/*", func(c *fiber.Ctx) error {
		name := path.Clean(c.Params("*"))
		a, ok := assets[name]
		if !ok || strings.HasPrefix(name, "..") {
			return fiber.ErrNotFound
		}
		cache := "public, max-age=300"
		if c.Query("v") == a.tag {
			cache = "public, max-age=31536000, immutable"
		}
		return a.send(c, cache)
	})
}
