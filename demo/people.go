package demo

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"nongxun/clock"
)

// person is one demo trainee as the county's roster lists them.
type person struct {
	Name     string
	IDNumber string
	Phone    string // "" for those without a phone (farmers often have none)
	Female   bool
	Birth    time.Time
	Village  int // index into the county's villages
	Township int // index into the townships
	Groups   []string
	// Shy trainees are registered but never come (every roster has them).
	Shy bool
	// Reliability is the chance they come to a session of a course they enrolled in.
	Reliability float64

	ID string // trainee id, once imported
}

// Surnames, weighted roughly by how common they are in north-east Yunnan.
var surnames = []struct {
	s string
	w int
}{
	{"张", 30}, {"王", 28}, {"李", 32}, {"刘", 18}, {"陈", 16}, {"杨", 22}, {"赵", 10}, {"黄", 9}, {"周", 9}, {"吴", 8},
	{"徐", 6}, {"孙", 5}, {"朱", 7}, {"马", 9}, {"胡", 6}, {"郭", 4}, {"林", 3}, {"何", 6}, {"高", 5}, {"罗", 8},
	{"郑", 3}, {"梁", 3}, {"谢", 4}, {"宋", 3}, {"唐", 4}, {"许", 3}, {"邓", 4}, {"韩", 2}, {"冯", 3}, {"曹", 3},
	{"彭", 3}, {"曾", 2}, {"肖", 3}, {"田", 3}, {"董", 3}, {"潘", 2}, {"袁", 3}, {"蔡", 2}, {"蒋", 2}, {"余", 3},
	{"杜", 2}, {"叶", 2}, {"程", 2}, {"魏", 2}, {"苏", 2}, {"吕", 2}, {"丁", 2}, {"任", 2}, {"卢", 2}, {"姚", 2},
	{"沈", 1}, {"钟", 2}, {"姜", 1}, {"崔", 1}, {"谭", 2}, {"陆", 1}, {"范", 2}, {"汪", 1}, {"廖", 2}, {"石", 3},
	{"金", 2}, {"韦", 1}, {"夏", 2}, {"付", 3}, {"方", 1}, {"邹", 1}, {"熊", 2}, {"白", 2}, {"孟", 1}, {"秦", 1},
	{"邱", 1}, {"侯", 1}, {"尹", 2}, {"段", 3}, {"雷", 2}, {"龙", 2}, {"黎", 1}, {"陶", 2}, {"毛", 1}, {"保", 2},
	{"普", 2}, {"禄", 1}, {"卯", 1}, {"陇", 1}, {"缪", 1}, {"浦", 1}, {"敖", 1}, {"孔", 1}, {"代", 2}, {"顾", 1},
}

var (
	maleChars   = []rune("建国华明军强伟勇平刚林海波涛斌辉鹏杰超龙发福贵富成德才兴荣祥春云山松文武忠正永志学金有顺昌坤宏洪家应开朝光俊")
	femaleChars = []rune("秀英兰芳丽红梅娟琼霞燕艳玲萍凤花珍敏静婷芬莲桂菊琴春慧云仙美翠娥润会丹雪蓉")
)

var surnameTotal = func() int {
	n := 0
	for _, s := range surnames {
		n += s.w
	}
	return n
}()

func surname(r *rand.Rand) string {
	k := r.IntN(surnameTotal)
	for _, s := range surnames {
		if k < s.w {
			return s.s
		}
		k -= s.w
	}
	return "李"
}

// personName makes a Chinese name: a surname and one or two given characters.
func personName(r *rand.Rand, female bool) string {
	chars := maleChars
	if female {
		chars = femaleChars
	}
	n := surname(r) + string(chars[r.IntN(len(chars))])
	if r.IntN(10) < 7 {
		n += string(chars[r.IntN(len(chars))])
	}
	return n
}

var phonePrefixes = []string{"139", "138", "137", "136", "135", "134", "150", "151", "152", "157", "158", "159", "182", "183",
	"187", "188", "147", "178", "198", "130", "131", "132", "155", "156", "185", "186", "176", "133", "153", "180", "181", "189", "177", "173", "199"}

// idChecks and idWeights are GB 11643-1999's check character (ISO 7064 MOD 11-2).
var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

const idChecks = "10X98765432"

// idNumber makes a resident ID number of the county (530326) for a
// birth date and a three-digit sequence (odd for men, even for women),
// with its check character.
func idNumber(birth time.Time, seq int) string {
	d17 := "530326" + birth.Format("20060102") + fmt.Sprintf("%03d", seq)
	sum := 0
	for i := 0; i < 17; i++ {
		sum += int(d17[i]-'0') * idWeights[i]
	}
	return d17 + string(idChecks[sum%11])
}

// ageBands are the trainees' ages: mostly working-age villagers.
var ageBands = []struct{ lo, hi, w int }{{18, 25, 12}, {26, 35, 25}, {36, 45, 28}, {46, 55, 25}, {56, 65, 10}}

func age(r *rand.Rand) int {
	k := r.IntN(100)
	for _, b := range ageBands {
		if k < b.w {
			return b.lo + r.IntN(b.hi-b.lo+1)
		}
		k -= b.w
	}
	return 40
}

// makePeople makes n trainees spread over the villages, more in some
// townships (weights), with the groups in plausible shares.
func (l *loader) makePeople(n int) []person {
	r := l.rand("people")
	today := clock.Day(l.now)
	year := l.now.In(clock.Shanghai).Year()
	seen := map[string]bool{}   // birth date + sequence: the masked ID tells trainees apart
	phones := map[string]bool{} // one phone, one person
	var tw []int
	for i := range l.townships {
		tw = append(tw, townshipWeight(i))
	}
	out := make([]person, 0, n)
	for len(out) < n {
		ti := pick(r, tw)
		t := l.townships[ti]
		v := t.villages[pickSkewed(r, len(t.villages))]
		p := person{Township: ti, Village: v, Female: r.IntN(100) < 48}
		a := age(r)
		for {
			birth := time.Date(year-a, time.Month(1+r.IntN(12)), 1+r.IntN(28), 0, 0, 0, 0, time.UTC)
			seq := r.IntN(500)*2 + 1
			if p.Female {
				seq--
			}
			key := birth.Format("20060102") + fmt.Sprint(seq)
			if seen[key] || birth.Format("2006-01-02") > today {
				a = age(r)
				continue
			}
			seen[key] = true
			p.Birth, p.IDNumber = birth, idNumber(birth, seq)
			break
		}
		p.Name = marked(personName(r, p.Female))
		if r.IntN(100) < 86 {
			for {
				ph := phonePrefixes[r.IntN(len(phonePrefixes))] + fmt.Sprintf("%08d", r.IntN(100000000))
				if !phones[ph] {
					phones[ph] = true
					p.Phone = ph
					break
				}
			}
		}
		poverty := l.villages[v].Poverty
		share := 18
		if poverty {
			share = 45
		}
		add := func(g string, ok bool) {
			if ok {
				p.Groups = append(p.Groups, g)
			}
		}
		add("poverty", r.IntN(100) < share)
		add("youth", a <= 35 && r.IntN(100) < 70)
		add("returnee_graduate", a >= 22 && a <= 32 && r.IntN(100) < 14)
		add("returnee_worker", a >= 25 && a <= 50 && r.IntN(100) < 16)
		add("veteran", !p.Female && a >= 22 && a <= 55 && r.IntN(100) < 6)
		add("disabled", r.IntN(100) < 2)
		p.Shy = r.IntN(100) < 8
		p.Reliability = 0.7 + r.Float64()*0.28
		out = append(out, p)
	}
	return out
}

// townshipWeight: the county seat's 街道 and the big market towns have
// more trainees than the mountain 乡.
func townshipWeight(i int) int {
	switch i {
	case 0, 1, 2: // 古城, 宝云, 金钟街道
		return 9
	case 3, 7, 8: // 娜姑镇, 者海镇, 大井镇
		return 12
	case 4, 5, 6, 9: // 迤车, 乐业, 矿山, 待补
		return 7
	}
	return 3 + i%3
}

// pick returns an index with probability proportional to its weight.
func pick(r *rand.Rand, w []int) int {
	total := 0
	for _, x := range w {
		total += x
	}
	k := r.IntN(total)
	for i, x := range w {
		if k < x {
			return i
		}
		k -= x
	}
	return len(w) - 1
}

// pickSkewed favours the first villages of a township (those near the
// road and the township seat send more people).
func pickSkewed(r *rand.Rand, n int) int {
	a, b := r.IntN(n), r.IntN(n)
	if b < a {
		return b
	}
	return a
}

// groupList is a person's groups as the roster writes them (Chinese, 、).
func groupList(gs []string) string {
	names := map[string]string{"poverty": "建档立卡贫困户", "youth": "青年", "returnee_graduate": "返乡大学生",
		"returnee_worker": "返乡农民工", "veteran": "退役军人", "disabled": "残疾人", "woman": "妇女"}
	var out []string
	for _, g := range gs {
		out = append(out, names[g])
	}
	return strings.Join(out, "、")
}
