package certificates

import (
	"bytes"
	"html/template"
	"time"

	"github.com/gofiber/fiber/v2"
	"nongxun/server"
)

// Verification is what the public sees of a certificate.
type Verification struct {
	Status        string     `json:"status"`
	Serial        string     `json:"serial"`
	Name          string     `json:"name"` // masked
	Course        string     `json:"course"`
	Hours         float64    `json:"hours"`
	From          string     `json:"from,omitempty"`
	To            string     `json:"to,omitempty"`
	IssuedAt      time.Time  `json:"issued_at"`
	Issuer        string     `json:"issuer"`
	RevokedReason string     `json:"revoked_reason,omitempty"`
	RevokedAt     *time.Time `json:"revoked_at,omitempty"`
}

func (s *Service) verification(c *Certificate) Verification {
	return Verification{Status: c.Status, Serial: c.Serial, Name: MaskName(c.Name), Course: c.CourseTitle,
		Hours: c.Hours, From: c.From, To: c.To, IssuedAt: c.IssuedAt, Issuer: s.d.Config.Issuer,
		RevokedReason: c.RevokedReason, RevokedAt: c.RevokedAt}
}

// limit counts one verification from the caller's address and refuses it
// past the allowance, against enumeration of codes.
func (s *Service) limit(c *fiber.Ctx) error {
	if s.limiter.Hit(c.IP()) {
		return server.RateLimited("查询过于频繁，请稍后再试")
	}
	return nil
}

// verifyJSON serves GET /api/v1/verify/:code (public).
func (s *Service) verifyJSON(c *fiber.Ctx) error {
	if err := s.limit(c); err != nil {
		return err
	}
	cert, err := s.ByCode(c.UserContext(), c.Params("code"))
	if err != nil {
		return err
	}
	c.Set("Cache-Control", "no-store")
	return c.JSON(s.verification(cert))
}

// verifyPage serves GET /verify/:code (public): a small Chinese page for a phone.
func (s *Service) verifyPage(c *fiber.Ctx) error {
	c.Set("Cache-Control", "no-store")
	if err := s.limit(c); err != nil {
		return c.Status(fiber.StatusTooManyRequests).Type("html").SendString(pageTooMany)
	}
	cert, err := s.ByCode(c.UserContext(), c.Params("code"))
	if err != nil {
		if e := server.ToError(err); e.Code == server.CodeInvalid || e.Code == server.CodeNotFound {
			return c.Status(fiber.StatusNotFound).Type("html").SendString(pageUnknown)
		}
		return err
	}
	v := s.verification(cert)
	data := map[string]any{
		"V": v, "Valid": v.Status == StatusValid, "Hours": hoursText(v.Hours),
		"Issued": cnDate(day(v.IssuedAt)), "From": cnDate(v.From), "To": cnDate(v.To), "Revoked": "",
	}
	if v.RevokedAt != nil {
		data["Revoked"] = cnDate(day(*v.RevokedAt))
	}
	var buf bytes.Buffer
	if err := verifyTmpl.Execute(&buf, data); err != nil {
		return err
	}
	return c.Type("html").Send(buf.Bytes())
}

const pageHead = `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex"><title>证书验证</title><style>
body{margin:0;font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;background:#f6f3ea;color:#2a1f19}
main{max-width:30rem;margin:0 auto;padding:1rem}
.card{background:#fff;border-radius:.6rem;padding:1.2rem;box-shadow:0 1px 4px rgba(0,0,0,.12)}
h1{font-size:1.3rem;margin:.2rem 0 1rem}
.ok{color:#0a7a2f}.bad{color:#b01e23}
.badge{display:inline-block;padding:.3rem .8rem;border-radius:1rem;font-weight:bold;font-size:1.1rem}
.ok.badge{background:#e3f6e9}.bad.badge{background:#fbe5e5}
dl{display:grid;grid-template-columns:5.5em 1fr;gap:.5rem .8rem;margin:1rem 0 0}
dt{color:#6b5d52}dd{margin:0;word-break:break-all}
footer{color:#6b5d52;font-size:.85rem;margin-top:1rem;text-align:center}
</style></head><body><main>`

const pageFoot = `<footer>电子商务进农村综合示范项目 · 农训平台</footer></main></body></html>`

var verifyTmpl = template.Must(template.New("verify").Parse(pageHead + `<div class="card"><h1>培训结业证书验证</h1>
{{if .Valid}}<p class="ok badge">✔ 证书有效</p>{{else}}<p class="bad badge">✘ 证书已撤销</p>
<p class="bad">撤销日期：{{.Revoked}}<br>撤销原因：{{.V.RevokedReason}}</p>{{end}}
<dl><dt>证书编号</dt><dd>{{.V.Serial}}</dd>
<dt>姓名</dt><dd>{{.V.Name}}</dd>
<dt>培训课程</dt><dd>{{.V.Course}}</dd>
<dt>学时</dt><dd>{{.Hours}} 学时</dd>
{{if .V.From}}<dt>培训日期</dt><dd>{{.From}}{{if ne .V.To .V.From}} 至 {{.To}}{{end}}</dd>{{end}}
<dt>颁发日期</dt><dd>{{.Issued}}</dd>
<dt>颁发单位</dt><dd>{{.V.Issuer}}</dd></dl></div>` + pageFoot))

const pageUnknown = pageHead + `<div class="card"><h1>未找到该证书</h1><p class="bad">没有与此二维码或验证码对应的证书。请核对链接是否完整，或联系颁证单位。</p></div>` + pageFoot

const pageTooMany = pageHead + `<div class="card"><h1>查询过于频繁</h1><p>请一分钟后再试。</p></div>` + pageFoot
