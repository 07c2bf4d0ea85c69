package server

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/gofiber/fiber/v2/middleware/requestid"
)

// Pinger checks the database for /readyz.
type Pinger interface {
	Ping(ctx context.Context) error
}

// New builds the fiber app with the middleware every route shares:
// request id, clean input (no NUL or invalid UTF-8 in the path or query), a request context cancelled when the client hangs up, panic recovery, access log, security headers, the error
// handler, and /healthz and /readyz.
func New(log *slog.Logger, db Pinger) *fiber.App {
	app := fiber.New(fiber.Config{
		AppName:           "nongxun",
		ErrorHandler:      ErrorHandler(log),
		BodyLimit:         4 << 20,
		StreamRequestBody: true, // uploads are streamed into the blob store, never buffered whole
		// Without this, fasthttp reads a whole multipart body (spilling files to
		// os.TempDir) before the handler runs, and Body() rebuilds it in memory.
		DisablePreParseMultipartForm: true,
		// Values from c.Params, c.Query and friends are otherwise views into
		// buffers fasthttp reuses for the next request: a cache that kept one
		// would be corrupted. Immutable makes them copies.
		Immutable:             true,
		ReadTimeout:           5 * time.Minute,
		WriteTimeout:          30 * time.Minute,
		IdleTimeout:           2 * time.Minute,
		DisableStartupMessage: true,
	})
	app.Use(requestid.New())
	app.Use(cleanInput)
	app.Use(requestContext)
	app.Use(recover.New(recover.Config{EnableStackTrace: true, StackTraceHandler: func(c *fiber.Ctx, e any) {
		log.Error("panic", "request_id", RequestID(c), "path", c.Path(), "panic", e)
	}}))
	app.Use(accessLog(log))
	app.Use(securityHeaders)
	app.Use(drainBody)
	app.Get("/healthz", func(c *fiber.Ctx) error { return c.JSON(fiber.Map{"status": "ok"}) })
	app.Get("/readyz", func(c *fiber.Ctx) error {
		if err := db.Ping(c.UserContext()); err != nil {
			return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"status": "unavailable"})
		}
		return c.JSON(fiber.Map{"status": "ok"})
	})
	return app
}

// RequestID is the request's id, as logged and sent in X-Request-ID.
func RequestID(c *fiber.Ctx) string {
	id, _ := c.Locals(requestid.ConfigDefault.ContextKey).(string)
	return id
}

// cleanInput refuses a request whose path or query parameters hold a NUL
// byte or invalid UTF-8, on every route: such bytes are never meant by a
// person, and they reach filters, logs and file names otherwise.
func cleanInput(c *fiber.Ctx) error {
	bad := !clean(c.Context().URI().Path())
	c.Context().QueryArgs().VisitAll(func(k, v []byte) {
		bad = bad || !clean(k) || !clean(v)
	})
	if bad {
		return Invalid("链接中含有无法识别的字符")
	}
	return c.Next()
}

func clean(b []byte) bool { return utf8.Valid(b) && bytes.IndexByte(b, 0) < 0 }

// accessLog logs one line per request: never bodies, queries or headers,
// so no secret or ID number reaches the log.
func accessLog(log *slog.Logger) fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		err := c.Next()
		status := c.Response().StatusCode()
		if err != nil {
			status = ToError(err).Status()
		}
		log.Info("request", "request_id", RequestID(c), "method", c.Method(), "path", c.Path(),
			"status", status, "ms", time.Since(start).Milliseconds())
		return err
	}
}

// drainBody reads what a handler left unread of a streamed request body
// (up to 8 MiB), so a request refused before its body was read (wrong
// role, malformed id) still leaves the connection in step for the next.
func drainBody(c *fiber.Ctx) error {
	err := c.Next()
	if s := c.Context().RequestBodyStream(); s != nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(s, 8<<20))
	}
	return err
}

func securityHeaders(c *fiber.Ctx) error {
	h := &c.Response().Header
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(self), geolocation=(self), microphone=()")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self' 'unsafe-inline'; script-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	return c.Next()
}
