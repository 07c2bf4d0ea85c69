package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"

	"github.com/gofiber/fiber/v2"
	"nongxun/store"
)

// MaxJSON is the largest JSON body any endpoint reads.
const MaxJSON = 1 << 20

// Bind decodes the JSON body into v. Malformed JSON, a field of the wrong
// type or a body over MaxJSON become API errors naming the problem.
func Bind(c *fiber.Ctx, v any) error {
	var r io.Reader
	if s := c.Context().RequestBodyStream(); s != nil {
		r = s
	} else {
		r = bytes.NewReader(c.Body())
	}
	body, err := io.ReadAll(io.LimitReader(r, MaxJSON+1))
	if err != nil {
		return Invalid("无法读取请求内容")
	}
	if len(body) > MaxJSON {
		return TooLarge("请求内容过大")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			field := te.Field
			if field == "" {
				return Invalid("请求内容格式错误：应为 JSON 对象")
			}
			return Invalid("字段类型错误："+field, field, "应为 "+jsonKind(te.Type.Kind().String()))
		}
		return Invalid("请求内容不是有效的 JSON")
	}
	if dec.More() {
		return Invalid("请求内容不是有效的 JSON")
	}
	return nil
}

func jsonKind(k string) string {
	switch {
	case strings.HasPrefix(k, "int"), strings.HasPrefix(k, "uint"), strings.HasPrefix(k, "float"):
		return "数字"
	case k == "string":
		return "字符串"
	case k == "bool":
		return "true 或 false"
	case k == "slice", k == "array":
		return "数组"
	}
	return "对象"
}

// ID reads a route parameter that must be a document id; a malformed one is invalid.
func ID(c *fiber.Ctx, name string) (string, error) {
	v := c.Params(name)
	if !store.ValidID(v) {
		return "", Invalid("编号格式错误", name, "应为 24 位十六进制编号")
	}
	return v, nil
}

// Fields collects per-field validation failures and turns them into one error.
type Fields map[string]string

// Add records a reason for field when bad is true.
func (f Fields) Add(bad bool, field, reason string) {
	if bad {
		if _, ok := f[field]; !ok {
			f[field] = reason
		}
	}
}

// Err is nil when nothing was added, else an invalid error listing the fields.
func (f Fields) Err() error {
	if len(f) == 0 {
		return nil
	}
	return InvalidFields("请检查填写的内容", f)
}
