// Package web serves the UI: a Chinese, mobile-first shell (login, menu by
// role) and the feature pages, plain HTML, CSS and JS embedded in the
// binary. Each feature adds one static/<feature>.js that registers its
// views with NX.view; the shell loads every such file.
package web

import (
	"embed"
	"html"
	"io/fs"
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

// Register serves the shell at /, the static files and the service worker.
func Register(app *fiber.App) {
	raw, _ := files.ReadFile("index.html")
	var tags strings.Builder
	for _, m := range Modules() {
		tags.WriteString(`<script src="/static/` + html.EscapeString(m) + `" defer></script>`)
	}
	index := strings.Replace(string(raw), "<!--modules-->", tags.String(), 1)
	shell := func(c *fiber.Ctx) error {
		c.Set("Cache-Control", "no-cache")
		return c.Type("html").SendString(index)
	}
	app.Get("/", shell)
	app.Get("/app", shell)
	// No icon file: answer browsers' favicon request without an error.
	app.Get("/favicon.ico", func(c *fiber.Ctx) error {
		c.Set("Cache-Control", "public, max-age=86400")
		return c.SendStatus(fiber.StatusNoContent)
	})
	app.Get("/sw.js", func(c *fiber.Ctx) error {
		b, err := fs.ReadFile(Static, "sw.js")
		if err != nil {
			return err
		}
		c.Set("Cache-Control", "no-cache")
		c.Set("Service-Worker-Allowed", "/")
		return c.Type("js").Send(b)
	})
	app.Get("/static/*", func(c *fiber.Ctx) error {
		name := path.Clean(c.Params("*"))
		b, err := fs.ReadFile(Static, name)
		if err != nil || strings.HasPrefix(name, "..") {
			return fiber.ErrNotFound
		}
		c.Set("Cache-Control", "public, max-age=300")
		return c.Type(path.Ext(name)).Send(b)
	})
}
