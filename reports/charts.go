package reports

import (
	"fmt"
	"nongxun/clock"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-analyze/charts"
	"github.com/golang/freetype/truetype"
	"nongxun/server"
)

// ChartNames lists the dashboard's charts in page order.
var ChartNames = []string{"progress", "by_month", "by_township", "by_group", "funnel", "growth", "coverage", "parcels", "funds"}

// ChartTitle is each chart's Chinese title.
var ChartTitle = map[string]string{
	"progress": "累计培训人次与目标进度", "by_month": "每月培训人次", "by_township": "各乡镇培训人次", "by_group": "重点群体培训人次",
	"funnel": "学员转化漏斗", "growth": "网店销售额（元）", "coverage": "服务站点覆盖率（%）", "parcels": "包裹上行与下行", "funds": "资金安排（万元）",
}

var (
	fontOnce sync.Once
	cjkFont  *truetype.Font
)

// chartFont loads a CJK font once, so Chinese labels are measured right;
// without one the library's Latin font is used.
func chartFont(path string) *truetype.Font {
	fontOnce.Do(func() {
		cands := []string{path}
		if m, _ := filepath.Glob("/usr/share/fonts/truetype/lxgw*/LXGWWenKai-Regular.ttf"); len(m) > 0 {
			cands = append(cands, m...)
		}
		for _, p := range cands {
			if p == "" {
				continue
			}
			b, err := os.ReadFile(p)
			if err != nil {
				continue
			}
			if f, err := truetype.Parse(b); err == nil {
				cjkFont = f
				return
			}
		}
	})
	return cjkFont
}

// clampWidth keeps a requested chart width sensible (phones to desktops).
func clampWidth(w int) int {
	switch {
	case w <= 0:
		return 640
	case w < 280:
		return 280
	case w > 1200:
		return 1200
	}
	return w
}

// Chart renders one named chart of d as SVG, width w pixels.
func (s *Service) Chart(d *Dashboard, name string, w int) ([]byte, error) {
	w = clampWidth(w)
	small := w < 480
	fs := 12.0
	if small {
		fs = 11
	}
	font := chartFont(s.d.Config.FontPath)
	style := charts.FontStyle{FontSize: fs, Font: font}
	h := w * 3 / 5
	if h < 240 {
		h = 240
	}
	p := func(height int) *charts.Painter {
		return charts.NewPainter(charts.PainterOptions{OutputFormat: charts.ChartOutputSVG, Width: w, Height: height, Font: font})
	}
	noData := func() ([]byte, error) {
		pt := p(120)
		pt.Text("暂无数据", w/2-30, 60, 0, charts.FontStyle{FontSize: 14, Font: font, FontColor: charts.ColorGray})
		return svgBytes(pt)
	}
	switch name {
	case "progress":
		months, cum, pace := progressSeries(d)
		if len(months) == 0 {
			return noData()
		}
		opt := charts.NewLineChartOptionWithData([][]float64{cum, pace})
		short := make([]string, len(months))
		for i, m := range months {
			short[i] = m[2:4] + "/" + m[5:]
		}
		opt.XAxis.LabelFontStyle = style
		opt.XAxis.Labels, opt.XAxis.LabelCount, opt.XAxis.LabelRotation = fitLabels(pt0(w), short, w, style)
		opt.Legend = charts.LegendOption{SeriesNames: []string{"累计人次", "按期进度"}, FontStyle: style}
		opt.YAxis = []charts.YAxisOption{{LabelFontStyle: style, Min: charts.Ptr(0.0)}}
		opt.Symbol = charts.Symbol{Shape: charts.SymbolNone}
		pt := p(h)
		if err := pt.LineChart(opt); err != nil {
			return nil, err
		}
		return svgBytes(pt)
	case "by_month":
		if len(d.ByMonth) == 0 {
			return noData()
		}
		labels, vals := namedSeries(d.ByMonth)
		return s.bar(p(h), labels, [][]float64{vals}, nil, style, false, small)
	case "by_township", "by_group":
		list := d.ByTownship
		if name == "by_group" {
			list = d.ByGroup
		}
		if len(list) == 0 {
			return noData()
		}
		// the chart draws the first category at the bottom: largest on top
		sorted := append([]Named(nil), list...)
		sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Value < sorted[j].Value })
		labels, vals := namedSeries(sorted)
		height := 40 + len(list)*22
		if height < 160 {
			height = 160
		}
		return s.bar(p(height), labels, [][]float64{vals}, nil, style, true, small)
	case "funnel":
		c := d.Conversion
		if c == nil || c.Trained+c.Certified+c.FollowedUp+c.ShopOpened+c.Selling+c.Incubated == 0 {
			return noData()
		}
		vals := []float64{float64(c.Trained), float64(c.Certified), float64(c.FollowedUp), float64(c.ShopOpened), float64(c.Selling), float64(c.Incubated)}
		names := []string{"参训", "获证", "已回访", "开店", "有销售", "孵化"}
		for i := range names {
			names[i] = fmt.Sprintf("%s %d", names[i], int64(vals[i]))
		}
		opt := charts.NewFunnelChartOptionWithData(vals)
		opt.Legend = charts.LegendOption{SeriesNames: names, FontStyle: style}
		for i := range opt.SeriesList {
			opt.SeriesList[i].Name = names[i]
		}
		pt := p(h)
		if err := pt.FunnelChart(opt); err != nil {
			return nil, err
		}
		return svgBytes(pt)
	case "growth":
		g := d.Growth
		if g == nil || (len(g.ByMonth) == 0 && !g.Known) {
			return noData()
		}
		if len(g.ByMonth) > 0 {
			labels, vals := namedSeries(sortedNamed(g.ByMonth, nil, false))
			for i := range vals {
				vals[i] /= 100
			}
			return s.bar(p(h), labels, [][]float64{vals}, nil, style, false, small)
		}
		sg := d.Settings.Target("sales_growth")
		return s.bar(p(h), []string{"上期", "本期", "目标（+" + pctShort(sg) + "）"}, [][]float64{{float64(g.PreviousFen) / 100, float64(g.CurrentFen) / 100, float64(g.PreviousFen) * (1 + sg) / 100}}, nil, style, false, small)
	case "coverage":
		c := d.Coverage
		if c == nil {
			return noData()
		}
		vt, pvt := d.Settings.Target("village_coverage"), d.Settings.Target("poverty_village_coverage")
		return s.bar(p(h), []string{"行政村", "贫困村"}, [][]float64{{c.Ratio * 100, c.PovertyRatio * 100}, {vt * 100, pvt * 100}},
			[]string{"实际", "目标"}, style, false, small)
	case "parcels":
		v := d.Parcels
		if v == nil {
			return noData()
		}
		if len(v.UpByMonth)+len(v.DownByMonth) > 0 {
			keys := map[string]bool{}
			for k := range v.UpByMonth {
				keys[k] = true
			}
			for k := range v.DownByMonth {
				keys[k] = true
			}
			var months []string
			for k := range keys {
				months = append(months, k)
			}
			sort.Strings(months)
			up, down := make([]float64, len(months)), make([]float64, len(months))
			for i, m := range months {
				up[i], down[i] = float64(v.UpByMonth[m]), float64(v.DownByMonth[m])
			}
			return s.bar(p(h), months, [][]float64{up, down}, []string{"上行", "下行"}, style, false, small)
		}
		return s.bar(p(h), []string{"上行", "下行"}, [][]float64{{float64(v.Up), float64(v.Down)}}, nil, style, false, small)
	case "funds":
		f := d.Funds
		if f == nil || len(f.ByCategory) == 0 {
			return noData()
		}
		var labels []string
		var vals []float64
		for _, k := range []string{"upward", "public_service", "training", "other"} {
			if v, ok := f.ByCategory[k]; ok {
				labels = append(labels, CategoryLabel[k])
				vals = append(vals, float64(v)/1e6)
			}
		}
		for k, v := range f.ByCategory {
			if CategoryLabel[k] == "" {
				labels = append(labels, k)
				vals = append(vals, float64(v)/1e6)
			}
		}
		return s.bar(p(h), labels, [][]float64{vals}, nil, style, true, small)
	}
	return nil, server.NotFound("没有这个图表")
}

// bar draws a vertical or horizontal bar chart with value labels.
func (s *Service) bar(pt *charts.Painter, labels []string, vals [][]float64, names []string, style charts.FontStyle, horizontal, small bool) ([]byte, error) {
	opt := charts.NewBarChartOptionWithData(vals)
	opt.Horizontal = horizontal
	opt.CategoryAxis.Labels = labels
	opt.CategoryAxis.LabelFontStyle = style
	if !horizontal {
		opt.CategoryAxis.Labels, opt.CategoryAxis.LabelCount, opt.CategoryAxis.LabelRotation = fitLabels(pt, labels, pt.Width(), style)
	}
	opt.ValueAxis = []charts.ValueAxisOption{{LabelFontStyle: style, Min: charts.Ptr(0.0)}}
	if horizontal {
		// the values run across: at most one label per 48 px
		opt.ValueAxis[0].LabelCount = max(2, min(8, (pt.Width()-120)/48))
	}
	if names != nil {
		opt.Legend = charts.LegendOption{SeriesNames: names, FontStyle: style}
	}
	// value labels only where a bar has room for one (about 30 px)
	across := float64(pt.Width() - 70)
	if horizontal {
		across = float64(pt.Height() - 40)
	}
	if len(labels) > 0 && across/float64(len(labels)*len(vals)) >= 30 || horizontal && len(labels) <= 30 {
		for i := range opt.SeriesList {
			opt.SeriesList[i].Label = charts.SeriesLabel{Show: charts.Ptr(true), FontStyle: style,
				ValueFormatter: func(f float64) string { return trimFloat(f) }}
		}
	}
	if horizontal {
		opt.SeriesLabelPosition = "right"
		opt.Padding = charts.NewBox(10, 10, 40, 10)
	}
	if err := pt.BarChart(opt); err != nil {
		return nil, err
	}
	return svgBytes(pt)
}

var fontFamilyRe = regexp.MustCompile(`font-family:'[^']*',sans-serif`)

// svgBytes renders the painter and names fonts a browser has (the library
// writes the CJK font's Chinese family name as question marks).
func svgBytes(pt *charts.Painter) ([]byte, error) {
	b, err := pt.Bytes()
	if err != nil {
		return nil, err
	}
	return fontFamilyRe.ReplaceAll(b, []byte(`font-family:'LXGW WenKai','Noto Sans CJK SC','Microsoft YaHei',sans-serif`)), nil
}

func trimFloat(f float64) string {
	s := fmt.Sprintf("%.1f", f)
	return strings.TrimSuffix(s, ".0")
}

// fitLabels lays a category axis's labels out without overlap in width w
// pixels, measuring each label with the chart's (CJK) font: all of them
// when they fit, else every k-th one (the others blanked, so the spacing
// is even); labels too wide even for that (long Chinese names) are turned
// 45° and thinned to what then fits. It returns the labels to draw, how
// many, and the rotation.
func fitLabels(pt *charts.Painter, labels []string, w int, style charts.FontStyle) ([]string, int, float64) {
	n := len(labels)
	if n == 0 {
		return labels, 0, 0
	}
	plot := float64(w) - 70             // the value axis's labels and the padding
	style.FontColor = charts.ColorBlack // a transparent style measures as nothing
	widest, tall := 0.0, 0.0
	for _, l := range labels {
		b := pt.MeasureText(l, 0, style)
		widest = max(widest, float64(b.Width()))
		tall = max(tall, float64(b.Height()))
	}
	const gap = 10.0
	slot := plot / float64(n) // the space each category has along the axis
	rot := 0.0
	// the library pulls a label at the edge inwards by up to half its
	// width, so labels are spaced one and a half widths apart
	need := widest*1.5 + gap
	if widest > plot/3 {
		// a long name: turned 45°, a label needs about its height (times √2) along the axis
		rot, need = charts.DegreesToRadians(45), tall*1.5+gap
	}
	k := 1
	for float64(k)*slot < need && k < n {
		k++
	}
	if k == 1 {
		return labels, n, rot
	}
	out := make([]string, n)
	last := 0
	for i := 0; i < n; i += k {
		out[i], last = labels[i], i
	}
	// a label too close to the right edge would be cut off: leave it out
	if last > 0 && float64(n-1-last)*slot+slot/2 < widest/2 {
		out[last] = ""
	}
	return out, n, rot
}

// pt0 is a painter for measuring text at width w (no drawing).
func pt0(w int) *charts.Painter {
	return charts.NewPainter(charts.PainterOptions{OutputFormat: charts.ChartOutputSVG, Width: w, Height: 100})
}

func namedSeries(list []Named) ([]string, []float64) {
	labels := make([]string, len(list))
	vals := make([]float64, len(list))
	for i, n := range list {
		labels[i], vals[i] = n.Label, float64(n.Value)
	}
	return labels, vals
}

// progressSeries is cumulative person-times by month from the programme
// start to the later of the deadline and now, and the straight pace line.
func progressSeries(d *Dashboard) ([]string, []float64, []float64) {
	start, end := d.Settings.window()
	last := end.AddDate(0, 0, -1)
	if now := d.GeneratedAt; now.After(last) {
		last = now
	}
	// months before the start that have figures are folded into the first month.
	first := time.Date(start.Year(), start.Month(), 1, 0, 0, 0, 0, clock.Shanghai)
	var months []string
	for m := first; !m.After(last) && len(months) < 240; m = m.AddDate(0, 1, 0) {
		months = append(months, m.Format("2006-01"))
	}
	by := map[string]int64{}
	var before int64
	for _, n := range d.ByMonth {
		if len(months) > 0 && n.Key < months[0] {
			before += n.Value
		} else {
			by[n.Key] += n.Value
		}
	}
	cum := make([]float64, len(months))
	pace := make([]float64, len(months))
	total := end.Sub(start).Hours()
	run := before
	cur := d.GeneratedAt.In(clock.Shanghai).Format("2006-01")
	for i, m := range months {
		run += by[m]
		cum[i] = float64(run)
		if m > cur {
			cum[i] = charts.GetNullValue()
		}
		t, _ := time.ParseInLocation("2006-01", m, clock.Shanghai)
		endOfMonth := t.AddDate(0, 1, 0)
		f := endOfMonth.Sub(start).Hours() / total
		if f > 1 {
			f = 1
		}
		if f < 0 {
			f = 0
		}
		pace[i] = float64(d.Pace.Target) * f
	}
	return months, cum, pace
}
