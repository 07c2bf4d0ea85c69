package demo

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"strings"
	"time"

	"nongxun/clock"
)

// roleNames are the roles as the login table shows them.
var roleNames = map[string]string{"admin": "管理员（县电商办）", "officer": "乡镇联络员", "trainer": "培训讲师",
	"trainee": "学员", "station": "服务站点", "auditor": "纪检审计"}

var (
	trainerNames = []string{"李春华", "王志刚", "赵丽萍", "杨文斌", "陈晓燕", "张永祥", "马云飞", "罗秀英"}
	officerNames = []string{"刘建国", "周丽华", "段海波", "普春梅", "孙明亮"}
	// officerTownships are the townships (by code order) with a liaison
	// officer account: the big market towns and the county seat.
	officerTownships = []int{3, 8, 7, 0, 4}
)

// strongPassword makes a 14-character password from a crypto source
// (the demo's data are seeded; its passwords are not).
func strongPassword() string {
	const alpha = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	var sb strings.Builder
	for i, x := range b {
		if i > 0 && i%4 == 0 {
			sb.WriteByte('-')
		}
		sb.WriteByte(alpha[int(x)%len(alpha)])
	}
	return sb.String()
}

// newUser makes an account through POST /users and logs in as it.
func (l *loader) newUser(role, username, name string, extra map[string]any) (*actor, error) {
	a := &actor{Role: role, Login: username, Name: marked(name), conn: &l.conn, Township: -1}
	for try := 0; ; try++ {
		a.Password = strongPassword()
		in := map[string]any{"username": username, "password": a.Password, "role": role, "name": a.Name}
		for k, v := range extra {
			in[k] = v
		}
		var out struct {
			ID string `json:"id"`
		}
		st, err := l.admin.do("POST", "/users", in, &out)
		if st == 400 && try < 3 && strings.Contains(err.Error(), "密码") {
			continue // the strength check refused this one: draw another
		}
		if err != nil {
			return nil, fmt.Errorf("建立账号 %s：%w", username, err)
		}
		a.ID = out.ID
		break
	}
	return a, a.login()
}

// loadStaff makes the trainers, the township officers and the auditor.
func (l *loader) loadStaff(ctx context.Context) error {
	nt := l.scale(6, 5)
	for i := 0; i < nt && i < len(trainerNames); i++ {
		a, err := l.newUser("trainer", fmt.Sprintf("demo_trainer%d", i+1), trainerNames[i], nil)
		if err != nil {
			return err
		}
		l.trainers = append(l.trainers, a)
	}
	no := l.scale(4, 3)
	for i := 0; i < no && i < len(officerNames); i++ {
		ti := officerTownships[i]
		a, err := l.newUser("officer", fmt.Sprintf("demo_officer%d", i+1), officerNames[i], map[string]any{"township_id": l.townships[ti].ID})
		if err != nil {
			return err
		}
		a.Township = ti
		l.officers = append(l.officers, a)
	}
	a, err := l.newUser("auditor", "demo_auditor", "何文清", nil)
	if err != nil {
		return err
	}
	l.auditor = a
	l.say("        %d 名培训讲师、%d 名乡镇联络员、1 名纪检审计", len(l.trainers), len(l.officers))
	return nil
}

// officerOf is the officer of township ti, or nil.
func (l *loader) officerOf(ti int) *actor {
	for _, o := range l.officers {
		if o.Township == ti {
			return o
		}
	}
	return nil
}

// loadSettings sets the programme period and targets (the admin's
// first-run checklist), the certificates' issuer and seal.
func (l *loader) loadSettings(ctx context.Context) error {
	in := map[string]any{
		"start_date":          l.programmeStart().Format("2006-01-02"),
		"end_date":            l.programmeEnd().Format("2006-01-02"),
		"summary":             "演示数据：一个实施到一半的示范县。通过不少于 10000 人次的电子商务培训，建设县级公共服务中心、仓储物流配送中心和乡村两级服务站点，培育龙头企业和地方品牌，带动农产品上行。",
		"person_times_target": 10000,
	}
	if err := l.admin.must("设置项目期限与目标", "PUT", "/reports/settings", in, nil); err != nil {
		return err
	}
	if err := l.admin.must("设置证书发证单位", "PUT", "/certificates/settings", map[string]any{"issuer": "会泽县电子商务进农村工作领导小组办公室" + demoMark}, nil); err != nil {
		return err
	}
	if err := l.admin.client().UploadBytes("/certificates/seal", "seal.png", sealPNG(), nil); err != nil {
		return fmt.Errorf("上传证书印章：%w", err)
	}
	l.say("        项目期限 %s 至 %s（第 %d 个月）", clock.Day(l.programmeStart()), clock.Day(l.programmeEnd()), monthsSince(l.programmeStart(), l.now)+1)
	return nil
}

// monthsSince counts whole calendar months from a to b (Shanghai).
func monthsSince(a, b time.Time) int {
	a, b = a.In(clock.Shanghai), b.In(clock.Shanghai)
	return (b.Year()-a.Year())*12 + int(b.Month()) - int(a.Month())
}

// sealPNG draws the demo seal: a red double ring around a star (no text,
// which would need a font), enough to show where the seal goes on a
// certificate.
func sealPNG() []byte {
	const n = 240
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	red := color.NRGBA{200, 30, 30, 230}
	c := float64(n) / 2
	// five-point star: inside test against its ten edges
	var pts [10][2]float64
	for i := 0; i < 10; i++ {
		r := 62.0
		if i%2 == 1 {
			r = 25
		}
		a := -math.Pi/2 + float64(i)*math.Pi/5
		pts[i] = [2]float64{c + r*math.Cos(a), c + r*math.Sin(a)}
	}
	inStar := func(x, y float64) bool {
		in := false
		for i, j := 0, 9; i < 10; j, i = i, i+1 {
			xi, yi, xj, yj := pts[i][0], pts[i][1], pts[j][0], pts[j][1]
			if (yi > y) != (yj > y) && x < (xj-xi)*(y-yi)/(yj-yi)+xi {
				in = !in
			}
		}
		return in
	}
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			dx, dy := float64(x)+0.5-c, float64(y)+0.5-c
			d := math.Hypot(dx, dy)
			if (d > 104 && d < 116) || (d > 92 && d < 95) || inStar(float64(x)+0.5, float64(y)+0.5) {
				img.Set(x, y, red)
			}
		}
	}
	var b bytes.Buffer
	_ = png.Encode(&b, img)
	return b.Bytes()
}

func sinDeg(d float64) float64 { return math.Sin(d * math.Pi / 180) }
func cosDeg(d float64) float64 { return math.Cos(d * math.Pi / 180) }
