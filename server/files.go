package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"nongxun/store"
)

// SendBlob streams a stored file with ETag/If-None-Match and single byte
// ranges (206, or 416 for a range outside the file), so a phone on a weak
// signal can resume a download. etag is the blob's SHA-256.
func SendBlob(c *fiber.Ctx, b store.Blob, etag, contentType, filename string, inline bool) error {
	size := b.Size()
	tag := `"` + etag + `"`
	h := &c.Response().Header
	h.Set("ETag", tag)
	h.Set("Accept-Ranges", "bytes")
	h.Set("Cache-Control", "private, max-age=3600")
	h.SetContentType(contentType)
	disp := "attachment"
	if inline {
		disp = "inline"
	}
	if filename != "" {
		h.Set("Content-Disposition", disp+"; filename*=UTF-8''"+url.PathEscape(filename))
	}
	if inm := c.Get(fiber.HeaderIfNoneMatch); inm != "" && (inm == tag || inm == "*" || strings.Contains(inm, tag)) {
		b.Close()
		return c.SendStatus(fiber.StatusNotModified)
	}
	start, end := int64(0), size-1
	status := fiber.StatusOK
	if rh := c.Get(fiber.HeaderRange); rh != "" {
		ir := c.Get(fiber.HeaderIfRange)
		if ir == "" || ir == tag {
			s, e, err := parseRange(rh, size)
			if err != nil {
				b.Close()
				h.Set("Content-Range", fmt.Sprintf("bytes */%d", size))
				return c.Status(fiber.StatusRequestedRangeNotSatisfiable).JSON(fiber.Map{"error": Invalid("请求的范围无效")})
			}
			start, end, status = s, e, fiber.StatusPartialContent
			h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end, size))
		}
	}
	if start > 0 {
		if _, err := b.Seek(start, io.SeekStart); err != nil {
			b.Close()
			return err
		}
	}
	n := end - start + 1
	c.Status(status)
	if c.Method() == fiber.MethodHead {
		b.Close()
		h.SetContentLength(int(n))
		return nil
	}
	return c.SendStream(&limitedCloser{r: io.LimitReader(b, n), c: b}, int(n))
}

type limitedCloser struct {
	r io.Reader
	c io.Closer
}

func (l *limitedCloser) Read(p []byte) (int, error) { return l.r.Read(p) }
func (l *limitedCloser) Close() error               { return l.c.Close() }

// parseRange reads one "bytes=a-b", "bytes=a-" or "bytes=-n" range.
func parseRange(h string, size int64) (int64, int64, error) {
	spec, ok := strings.CutPrefix(h, "bytes=")
	bad := errors.New("bad range")
	if !ok || strings.Contains(spec, ",") || size == 0 {
		return 0, 0, bad
	}
	a, b, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return 0, 0, bad
	}
	if a == "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n <= 0 {
			return 0, 0, bad
		}
		if n > size {
			n = size
		}
		return size - n, size - 1, nil
	}
	s, err := strconv.ParseInt(a, 10, 64)
	if err != nil || s < 0 || s >= size {
		return 0, 0, bad
	}
	e := size - 1
	if b != "" {
		e, err = strconv.ParseInt(b, 10, 64)
		if err != nil || e < s {
			return 0, 0, bad
		}
		if e > size-1 {
			e = size - 1
		}
	}
	return s, e, nil
}

// Upload is one file part of a streamed multipart upload.
type Upload struct {
	Field    string
	Filename string
	Body     io.Reader
}

// Bounds of the parts of an upload other than its file: a form sends a
// handful of short fields, and every byte of them is held in memory.
const (
	MaxUploadFields    = 32       // text fields and ignored parts, all told
	MaxUploadFieldText = 64 << 10 // bytes of text fields, all told
)

// StreamUpload reads a multipart body part by part without buffering it:
// text fields go into the returned map, and fn is called once for the
// file part named field, with the part's content to stream onward.
// A request without that file is invalid; one with more than
// MaxUploadFields other parts or MaxUploadFieldText bytes of text is too large.
func StreamUpload(c *fiber.Ctx, field string, fn func(Upload) error) (map[string]string, error) {
	ct := c.Get(fiber.HeaderContentType)
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return nil, Invalid("请以 multipart/form-data 上传文件", field, "缺少文件")
	}
	var body io.Reader
	if s := c.Context().RequestBodyStream(); s != nil {
		body = s
	} else {
		body = bytes.NewReader(c.Body())
	}
	mr := multipart.NewReader(body, params["boundary"])
	values := map[string]string{}
	seen := false
	parts, text := 0, 0
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, Invalid("上传内容不完整或格式错误")
		}
		name := part.FormName()
		if name == field && part.FileName() != "" && !seen {
			seen = true
			if err := fn(Upload{Field: name, Filename: part.FileName(), Body: part}); err != nil {
				return nil, err
			}
			continue
		}
		if parts++; parts > MaxUploadFields {
			return nil, TooLarge(fmt.Sprintf("上传的表单字段过多（最多 %d 个）", MaxUploadFields))
		}
		if part.FileName() == "" && name != "" {
			v, err := io.ReadAll(io.LimitReader(part, int64(MaxUploadFieldText-text+1)))
			if err != nil {
				return nil, Invalid("上传内容不完整或格式错误")
			}
			if text += len(v); text > MaxUploadFieldText {
				return nil, TooLarge(fmt.Sprintf("上传的表单字段文本过长（合计最多 %d KB）", MaxUploadFieldText>>10))
			}
			values[name] = string(v)
		}
	}
	if !seen {
		return nil, Invalid("没有收到文件", field, "缺少文件")
	}
	return values, nil
}

// BlobError maps the blob store's refusals to API errors.
func BlobError(err error, limit int64) error {
	switch {
	case errors.Is(err, store.ErrTooLarge):
		return TooLarge(fmt.Sprintf("文件超过大小上限（%d MB）", limit>>20))
	case errors.Is(err, store.ErrEmpty):
		return Invalid("文件为空", "file", "文件为空")
	case errors.Is(err, store.ErrNoBlob):
		return NotFound("文件不存在")
	}
	return err
}
