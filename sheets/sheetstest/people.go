package sheetstest

import (
	"fmt"
	"strings"
)

// Trainee is one roster line.
type Trainee struct {
	Name, IDNumber, Phone, Township, Village, Gender, Groups string
}

// Cells returns the trainee in the order of RosterHeader.
func (t Trainee) Cells() []string {
	return []string{t.Name, t.IDNumber, t.Phone, t.Township, t.Village, t.Gender, t.Groups}
}

// RosterHeader is the usual header of a county roster (序号 comes first
// in files, see XLSXOptions).
var RosterHeader = []string{"姓名", "身份证号", "手机号", "乡镇", "村", "性别", "人群类别"}

// EnglishHeader is the header the import has always accepted in English.
var EnglishHeader = []string{"name", "id_number", "phone", "township", "village", "gender", "groups"}

var (
	surnames  = []rune("张王李赵刘陈杨黄周吴徐孙马朱胡郭何罗高林")
	given     = []string{"建华", "秀英", "国强", "丽", "伟", "芳", "志明", "春梅", "海燕", "文", "德荣", "玉兰", "明", "小红", "家兴", "桂芬"}
	townships = []string{"娜姑镇", "迤车镇", "待补镇", "金钟街道", "者海镇", "大井镇"}
	villages  = []string{"红岩村", "新田村", "龙潭村", "石桥村", "大坪村", "松林社区"}
	groups    = []string{"脱贫户", "返乡创业人员", "妇女", "", "退役军人"}
)

// CheckDigit is the GB 11643 check digit of the first 17 digits of an ID
// number ('0'…'9' or 'X').
func CheckDigit(first17 string) byte {
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i := 0; i < 17 && i < len(first17); i++ {
		sum += int(first17[i]-'0') * weights[i]
	}
	return "10X98765432"[sum%11]
}

// ValidID reports whether id is 18 characters with a correct check digit.
func ValidID(id string) bool {
	if len(id) != 18 {
		return false
	}
	for i := 0; i < 17; i++ {
		if id[i] < '0' || id[i] > '9' {
			return false
		}
	}
	return CheckDigit(id[:17]) == id[17]
}

// ID makes the i-th test ID number: 会泽县 (530326), born 1970-2004, with a
// valid check digit.
func ID(i int) string {
	y := 1970 + i%35
	m := 1 + i%12
	d := 1 + i%28
	s := fmt.Sprintf("530326%04d%02d%02d%03d", y, m, d, i%1000)
	return s + string(CheckDigit(s))
}

// Trainees returns n distinct plausible trainees. Their ID numbers are
// valid; every 7th ends in X, so lowercase-x handling gets exercised.
func Trainees(n int) []Trainee {
	out := make([]Trainee, 0, n)
	for k := 0; len(out) < n; k++ {
		id := ID(k)
		if len(out)%7 == 3 && id[17] != 'X' {
			continue // look for an X to keep one in seven
		}
		g := "男"
		if k%2 == 1 {
			g = "女"
		}
		out = append(out, Trainee{
			Name:     string(surnames[k%len(surnames)]) + given[(k/len(surnames))%len(given)],
			IDNumber: id,
			Phone:    fmt.Sprintf("1%d%09d", 3+k%7, 100000000+k*7919%900000000),
			Township: townships[k%len(townships)],
			Village:  villages[(k/3)%len(villages)],
			Gender:   g,
			Groups:   groups[k%len(groups)],
		})
	}
	return out
}

// FullWidth turns ASCII digits and letters into their full-width forms
// (５３０３２６…), as a Chinese input method in full-width mode types them.
func FullWidth(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' {
			return r + 0xfee0
		}
		return r
	}, s)
}
