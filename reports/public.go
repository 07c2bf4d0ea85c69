package reports

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
)

// Public is the programme's public disclosure (政务公开): aggregates only,
// never a person's data.
type Public struct {
	Programme    string        `json:"programme"`
	Summary      string        `json:"summary"`
	StartDate    string        `json:"start_date"`
	EndDate      string        `json:"end_date"`
	GeneratedAt  time.Time     `json:"generated_at"`
	Target       int64         `json:"person_times_target"`
	PersonTimes  int64         `json:"person_times"`
	Trainees     int64         `json:"trainees"`
	Certificates int64         `json:"certificates"`
	Coverage     *Coverage     `json:"coverage"`
	Parcels      *PublicParcel `json:"parcels"`
	Funds        *PublicFunds  `json:"funds"`
	Targets      []PublicKPI   `json:"targets"`
}

// PublicParcel are the parcel totals.
type PublicParcel struct {
	Up   int64 `json:"up"`
	Down int64 `json:"down"`
}

// PublicFunds is fund use by category and tranche.
type PublicFunds struct {
	TotalFen     int64            `json:"total_fen"`
	AllocatedFen int64            `json:"allocated_fen"`
	PaidFen      int64            `json:"paid_fen"`
	ByCategory   map[string]int64 `json:"by_category"`
	Tranches     []FundTranche    `json:"tranches"`
}

// PublicKPI is a target as the public sees it.
type PublicKPI struct {
	Label  string `json:"label"`
	Target string `json:"target"`
	Actual string `json:"actual"`
	Status string `json:"status"`
}

// PublicSummary builds the disclosure from the county dashboard.
func (s *Service) PublicSummary(ctx context.Context) (*Public, *Dashboard, error) {
	d, err := s.Dashboard(ctx, "")
	if err != nil {
		return nil, nil, err
	}
	p := &Public{Programme: d.Settings.Programme, Summary: d.Settings.Summary, StartDate: d.Settings.StartDate, EndDate: d.Settings.EndDate,
		GeneratedAt: d.GeneratedAt, Target: d.Pace.Target, PersonTimes: d.Pace.Actual, Trainees: d.Trainees, Certificates: d.Certificates,
		Coverage: d.Coverage}
	if d.Parcels != nil {
		p.Parcels = &PublicParcel{Up: d.Parcels.Up, Down: d.Parcels.Down}
	}
	if f := d.Funds; f != nil {
		p.Funds = &PublicFunds{TotalFen: f.TotalFen, AllocatedFen: f.AllocatedFen, PaidFen: f.PaidFen, ByCategory: f.ByCategory, Tranches: f.Tranches}
	}
	for _, k := range d.KPIs {
		if k.Key == "monthly_reports" {
			continue
		}
		p.Targets = append(p.Targets, PublicKPI{Label: k.Label, Target: k.Goal, Actual: k.Text, Status: k.Status})
	}
	return p, d, nil
}

// RegisterPublic mounts GET /public (HTML, no login) on app and GET
// /api/v1/public/summary on api (a path server.PublicAPI lets through).
func (s *Service) RegisterPublic(app fiber.Router, api fiber.Router) {
	api.Get("/public/summary", func(c *fiber.Ctx) error {
		p, _, err := s.PublicSummary(c.UserContext())
		if err != nil {
			return err
		}
		c.Set("Cache-Control", "public, max-age=60")
		return c.JSON(p)
	})
	app.Get("/public", s.handlePublicPage)
}

var publicTmpl = template.Must(template.New("p").Funcs(template.FuncMap{
	"yuan":   func(f int64) string { return yuanText(f) },
	"wan":    func(f int64) string { return fmt.Sprintf("%.2f", float64(f)/1e6) },
	"pct":    pct,
	"status": func(s string) string { return StatusLabel[s] },
	"cat": func(k string) string {
		if CategoryLabel[k] != "" {
			return CategoryLabel[k]
		}
		return k
	},
	// tranche says where a tranche stands: 已拨付 only when paid in full.
	"tranche": func(t FundTranche) string {
		switch {
		case t.DueFen > 0 && t.PaidFen >= t.DueFen:
			return "已拨付"
		case t.PaidFen > 0:
			return "部分拨付"
		case t.Open:
			return "已到拨付节点，尚未拨付"
		}
		return "未到拨付节点"
	},
	"tclass": func(s string) string {
		switch s {
		case StatusMet:
			return "good"
		case StatusBehind:
			return "bad"
		case StatusOnTrack:
			return "warn"
		}
		return ""
	},
}).Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>政务公开 · {{.P.Programme}}</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/static/app.css"></head>
<body><header class="bar"><a href="/" class="brand">农训</a><span>政务公开</span></header>
<main class="page" id="public">
<h1>{{.P.Programme}}</h1>
<p>{{.P.Summary}}</p>
<p class="muted small">项目期限 {{.P.StartDate}} 至 {{.P.EndDate}} · 数据更新于 {{.Gen}}</p>
<h2>培训进度</h2>
<div class="grid">
<div class="kpi"><b>{{.P.PersonTimes}}</b>培训人次（目标 {{.P.Target}}）</div>
<div class="kpi"><b>{{.P.Trainees}}</b>参训学员</div>
<div class="kpi"><b>{{.P.Certificates}}</b>颁发证书</div>
{{with .P.Coverage}}<div class="kpi"><b>{{pct .Ratio}}</b>行政村服务点覆盖率</div><div class="kpi"><b>{{pct .PovertyRatio}}</b>贫困村服务点覆盖率</div>{{end}}
{{with .P.Parcels}}<div class="kpi"><b>{{.Up}}</b>上行包裹</div><div class="kpi"><b>{{.Down}}</b>下行包裹</div>{{end}}
</div>
<style>.chart-s{display:none}@media (max-width:600px){.chart-s{display:block}.chart-l{display:none}}
@media (max-width:480px){table.rows thead{display:none}table.rows,table.rows tbody,table.rows tr,table.rows td{display:block;width:100%}
table.rows tr{background:#fff;border-radius:8px;margin:.5rem 0;padding:.4rem .6rem;box-shadow:0 1px 2px rgba(0,0,0,.08)}
table.rows td{border:0;padding:.15rem 0;display:flex;gap:.5rem}table.rows td::before{content:attr(data-label);flex:0 0 4.5rem;color:#5c6a62}}</style>
<div class="card chart"><div class="chart-l">{{.Progress}}</div><div class="chart-s">{{.ProgressSmall}}</div></div>
<h2>目标完成情况</h2>
<table class="rows"><thead><tr><th>指标</th><th>目标</th><th>实际</th><th>状态</th></tr></thead><tbody>
{{range .P.Targets}}<tr><td data-label="指标">{{.Label}}</td><td data-label="目标">{{.Target}}</td><td data-label="实际">{{.Actual}}</td><td data-label="状态"><span class="tag {{tclass .Status}}">{{status .Status}}</span></td></tr>{{end}}
</tbody></table>
<h2>资金使用</h2>
{{with .P.Funds}}
<p>中央财政资金 {{wan .TotalFen}} 万元，已安排 {{wan .AllocatedFen}} 万元，已支付 {{wan .PaidFen}} 万元。</p>
<table class="rows"><thead><tr><th>类别</th><th>金额（元）</th></tr></thead><tbody>
{{range $k, $v := .ByCategory}}<tr><td data-label="类别">{{cat $k}}</td><td data-label="金额（元）">{{yuan $v}}</td></tr>{{end}}
</tbody></table>
{{if .Tranches}}<h2>分期拨付</h2><table class="rows"><thead><tr><th>批次</th><th>应拨（元）</th><th>已拨（元）</th><th>状态</th></tr></thead><tbody>
{{range .Tranches}}<tr><td data-label="批次">第 {{.Tranche}} 期</td><td data-label="应拨（元）">{{yuan .DueFen}}</td><td data-label="已拨（元）">{{yuan .PaidFen}}</td><td data-label="状态">{{tranche .}}</td></tr>{{end}}
</tbody></table>{{end}}
{{else}}<p class="muted">资金信息暂未公开。</p>{{end}}
<p class="muted small">本页仅公开汇总数据，不含任何个人信息。证书真伪请扫描证书上的二维码查验。</p>
</main></body></html>`))

func (s *Service) handlePublicPage(c *fiber.Ctx) error {
	p, d, err := s.PublicSummary(c.UserContext())
	if err != nil {
		return err
	}
	svg, err := s.Chart(d, "progress", 720)
	if err != nil {
		return err
	}
	small, err := s.Chart(d, "progress", 340) // a phone's width: text stays readable
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	err = publicTmpl.Execute(&buf, map[string]any{"P": p, "Gen": p.GeneratedAt.Format("2006-01-02 15:04"), "Progress": template.HTML(inlineSVG(svg)), "ProgressSmall": template.HTML(inlineSVG(small))})
	if err != nil {
		return err
	}
	c.Set("Cache-Control", "public, max-age=60")
	return c.Type("html").Send(buf.Bytes())
}

// inlineSVG drops an XML declaration so the SVG can sit inside HTML.
func inlineSVG(b []byte) string {
	s := string(b)
	if strings.HasPrefix(s, "<?xml") {
		if i := strings.Index(s, "?>"); i >= 0 {
			s = s[i+2:]
		}
	}
	return s
}
