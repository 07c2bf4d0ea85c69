package reports

import (
	"context"
	"net"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// Setup statuses.
const (
	SetupSet   = "set"
	SetupUnset = "unset"
	SetupWarn  = "warn" // set, but to something that will not work for the public (a loopback address)
)

// SetupItem is one line of the first-run checklist.
type SetupItem struct {
	Key    string `json:"key"`
	Label  string `json:"label"`
	Status string `json:"status"`
	Detail string `json:"detail"`
	Link   string `json:"link"`
}

// Setup is the GET /api/v1/setup body: every item, and how many are not yet set.
type Setup struct {
	Items []SetupItem `json:"items"`
	Unset int         `json:"unset"`
}

// loopback reports whether a URL's host is a loopback or unspecified address
// (localhost, 127.x, ::1, 0.0.0.0), which no one else can reach.
func loopback(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return true
	}
	h := strings.ToLower(u.Hostname())
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	if ip := net.ParseIP(h); ip != nil {
		return ip.IsLoopback() || ip.IsUnspecified()
	}
	return false
}

// SetupStatus answers the first-run checklist: the public address (from
// the configuration: a loopback PUBLIC_URL is a warning, certificate QR
// codes would point nowhere), the programme period and the targets (from
// the settings: set once an admin saved them), the certificate issuer and
// seal (certificates').
func (s *Service) SetupStatus(ctx context.Context) (*Setup, error) {
	set, err := s.Settings(ctx)
	if err != nil {
		return nil, err
	}
	out := &Setup{}
	add := func(it SetupItem) {
		if it.Status != SetupSet {
			out.Unset++
		}
		out.Items = append(out.Items, it)
	}
	pu := s.d.Config.PublicURL
	switch {
	case pu == "":
		add(SetupItem{"public_url", "对外访问地址", SetupUnset, "未设置 PUBLIC_URL：证书二维码和签到表二维码无法打开", "#/setup/public_url"})
	case loopback(pu):
		add(SetupItem{"public_url", "对外访问地址", SetupWarn, "PUBLIC_URL 为本机地址 " + pu + "，学员和公众无法访问证书二维码；请在启动参数中设为对外地址后重启", "#/setup/public_url"})
	default:
		add(SetupItem{"public_url", "对外访问地址", SetupSet, pu, "#/setup/public_url"})
	}
	period := SetupItem{"programme_period", "项目期限", SetupSet, set.StartDate + " 至 " + set.EndDate, "#/setup/programme_period"}
	if set.PeriodSetBy == "" {
		period.Status, period.Detail = SetupUnset, "默认为今年（"+set.StartDate+" 至 "+set.EndDate+"），请按实施方案确认"
	}
	add(period)
	issuer := SetupItem{"issuer", "证书发证单位", SetupUnset, "证书数据尚未接入", "#/setup/issuer"}
	if s.d.Issuer != nil {
		name, def := s.d.Issuer()
		switch {
		case name == "":
			issuer.Detail = "未设置 CERT_ISSUER"
		case def:
			issuer.Detail = "仍为默认值「" + name + "」，请确认或在启动参数 CERT_ISSUER 中修改"
		default:
			issuer.Status, issuer.Detail = SetupSet, name
		}
	}
	add(issuer)
	seal := SetupItem{"seal", "证书印章图片", SetupUnset, "尚未上传印章（PNG），证书上不显示印章", "#/setup/seal"}
	if s.d.SealSet != nil && s.d.SealSet() {
		seal.Status, seal.Detail = SetupSet, "已上传"
	}
	add(seal)
	targets := SetupItem{"targets", "目标值", SetupSet, "", "#/setup/targets"}
	var parts []string
	for _, d := range TargetDefs[:4] {
		parts = append(parts, d.Label+" "+targetText(d, set.Target(d.Key)))
	}
	targets.Detail = strings.Join(parts, "；")
	if set.TargetsSetBy == "" {
		targets.Status, targets.Detail = SetupUnset, "使用实施方案的默认目标（"+targets.Detail+"），请核对"
	}
	add(targets)
	return out, nil
}

func targetText(d TargetDef, v float64) string {
	if d.Unit == "比例" {
		return pctShort(v)
	}
	return trimFloat(v) + " " + d.Unit
}

func (s *Service) handleSetup(c *fiber.Ctx) error {
	st, err := s.SetupStatus(c.UserContext())
	if err != nil {
		return err
	}
	c.Set("Cache-Control", "private, no-cache")
	return c.JSON(st)
}
