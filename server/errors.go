// Package server holds the HTTP side every feature shares: configuration,
// the error type and its status map, authentication and roles, request
// binding, rate limits, file serving and the fiber app itself.
package server

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// Error codes of API.md.
const (
	CodeInvalid      = "invalid"
	CodeUnauthorized = "unauthorized"
	CodeForbidden    = "forbidden"
	CodeNotFound     = "not_found"
	CodeConflict     = "conflict"
	CodeTooLarge     = "too_large"
	CodeRateLimited  = "rate_limited"
	CodeInternal     = "internal"
)

var statusOf = map[string]int{
	CodeInvalid:      fiber.StatusBadRequest,
	CodeUnauthorized: fiber.StatusUnauthorized,
	CodeForbidden:    fiber.StatusForbidden,
	CodeNotFound:     fiber.StatusNotFound,
	CodeConflict:     fiber.StatusConflict,
	CodeTooLarge:     fiber.StatusRequestEntityTooLarge,
	CodeRateLimited:  fiber.StatusTooManyRequests,
	CodeInternal:     fiber.StatusInternalServerError,
}

// Error is the one error type handlers return; the ErrorHandler writes it
// as {"error":{"code","message","fields"}}. Message is shown to users, so
// it is Chinese where a person reads it. Rule names a broken business rule
// (fund ratios, tranches) so a client can tell which.
type Error struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
	Rule    string            `json:"rule,omitempty"`
	cause   error
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Unwrap is the error behind e, if any.
func (e *Error) Unwrap() error { return e.cause }

// Because keeps err behind e for the log (the ErrorHandler logs it with the
// request id) while the body carries only e's Chinese message: use it where
// a refusal has a technical cause a person should not read (a driver's or
// a decoder's text).
func (e *Error) Because(err error) *Error {
	cp := *e
	cp.cause = err
	return &cp
}

// Explain names, in Chinese and in a person's terms, what kind of failure
// err is: a file cut short, a damaged archive, a timeout. It never returns
// err's own text. For messages like "备份文件无法恢复：" + Explain(err).
func Explain(err error) string {
	var ae *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &ae):
		return ae.Message
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "文件不完整（可能没有传完），请重新上传"
	case errors.Is(err, gzip.ErrHeader), errors.Is(err, gzip.ErrChecksum), errors.Is(err, tar.ErrHeader),
		errors.Is(err, tar.ErrFieldTooLong), errors.Is(err, tar.ErrInsecurePath):
		return "文件已损坏或不是本系统导出的备份"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return "操作超时或被中断，请稍后再试"
	}
	return "文件内容无法读取，请确认文件完整、格式正确"
}

// Status is the HTTP status of the error's code.
func (e *Error) Status() int {
	if s, ok := statusOf[e.Code]; ok {
		return s
	}
	return fiber.StatusInternalServerError
}

// Invalid is a 400 with optional per-field reasons (name, reason, name, reason…).
func Invalid(msg string, fieldReasons ...string) *Error {
	e := &Error{Code: CodeInvalid, Message: msg}
	if len(fieldReasons) > 1 {
		e.Fields = map[string]string{}
		for i := 0; i+1 < len(fieldReasons); i += 2 {
			e.Fields[fieldReasons[i]] = fieldReasons[i+1]
		}
	}
	return e
}

// InvalidFields is a 400 carrying a field → reason map.
func InvalidFields(msg string, fields map[string]string) *Error {
	return &Error{Code: CodeInvalid, Message: msg, Fields: fields}
}

// RuleBroken is a refusal that names the business rule it breaks.
func RuleBroken(code, rule, msg string) *Error { return &Error{Code: code, Rule: rule, Message: msg} }

// NotFound is a 404.
func NotFound(msg string) *Error { return &Error{Code: CodeNotFound, Message: msg} }

// Conflict is a 409.
func Conflict(msg string) *Error { return &Error{Code: CodeConflict, Message: msg} }

// Forbidden is a 403.
func Forbidden(msg string) *Error { return &Error{Code: CodeForbidden, Message: msg} }

// Unauthorized is a 401.
func Unauthorized(msg string) *Error { return &Error{Code: CodeUnauthorized, Message: msg} }

// TooLarge is a 413.
func TooLarge(msg string) *Error { return &Error{Code: CodeTooLarge, Message: msg} }

// RateLimited is a 429.
func RateLimited(msg string) *Error { return &Error{Code: CodeRateLimited, Message: msg} }

// fiberCodes maps fiber's own errors (unknown route, body too large…) to ours.
var fiberCodes = map[int]string{
	fiber.StatusBadRequest:            CodeInvalid,
	fiber.StatusUnauthorized:          CodeUnauthorized,
	fiber.StatusForbidden:             CodeForbidden,
	fiber.StatusNotFound:              CodeNotFound,
	fiber.StatusMethodNotAllowed:      CodeNotFound,
	fiber.StatusConflict:              CodeConflict,
	fiber.StatusRequestEntityTooLarge: CodeTooLarge,
	fiber.StatusTooManyRequests:       CodeRateLimited,
	fiber.StatusUnprocessableEntity:   CodeInvalid,
}

// ToError turns any error into the API error written for it; unexpected
// errors become internal, with their text kept out of the body.
func ToError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var fe *fiber.Error
	if errors.As(err, &fe) {
		if code, ok := fiberCodes[fe.Code]; ok {
			msg := fe.Message
			if fe.Code == fiber.StatusNotFound {
				msg = "未找到"
			}
			if fe.Code == fiber.StatusRequestEntityTooLarge {
				msg = "请求内容过大"
			}
			return &Error{Code: code, Message: msg}
		}
	}
	return &Error{Code: CodeInternal, Message: "internal error"}
}

// ErrorHandler is fiber's ErrorHandler: one writer for every error.
func ErrorHandler(log *slog.Logger) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		e := ToError(err)
		if e.Code == CodeInternal {
			log.Error("request failed", "request_id", RequestID(c), "method", c.Method(), "path", c.Path(), "err", err.Error())
		} else if e.cause != nil {
			log.Warn("request refused", "request_id", RequestID(c), "method", c.Method(), "path", c.Path(), "code", e.Code, "cause", e.cause.Error())
		}
		if e.Code == CodeNotFound && wantsHTML(c) {
			return c.Status(fiber.StatusNotFound).Type("html").SendString(notFoundPage)
		}
		return c.Status(e.Status()).JSON(fiber.Map{"error": e})
	}
}

func wantsHTML(c *fiber.Ctx) bool {
	p := c.Path()
	if len(p) >= 5 && p[:5] == "/api/" {
		return false
	}
	return strings.Contains(c.Get(fiber.HeaderAccept), "text/html")
}

const notFoundPage = `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>未找到</title><link rel="stylesheet" href="/static/app.css"></head><body><main class="page"><h1>未找到</h1><p>您要找的页面不存在，或链接有误。</p><p><a href="/">返回首页</a></p></main></body></html>`
