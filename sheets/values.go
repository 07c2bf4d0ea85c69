package sheets

import (
	"regexp"
	"strings"
)

// lostIDProblem is what IDNumberCell says of an ID number Excel rounded.
const lostIDProblem = "Excel 把身份证号存成了数字，后几位已丢失；请把该列设为文本格式后重新填写"

// sciNotation matches a number Excel wrote in scientific notation: 5.30326E+17.
var sciNotation = regexp.MustCompile(`^[+-]?\d+(\.\d*)?[eE][+-]?\d+$`)

// squeeze removes what clerks and Excel put inside digit strings: spaces
// of every width, invisible characters and apostrophes (a literal ' typed
// to force text, or ’ from a word processor).
func squeeze(s string) string {
	var b strings.Builder
	for _, r := range s {
		r = foldRune(r)
		switch {
		case r == ' ', r == '\t', r == '\n', r == '\r', invisible(r),
			r == '\'', r == '‘', r == '’', r == '＇', r == '`':
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// lostDigits reports whether c is an ID-like value that went through
// Excel's number type: a number cell, or scientific notation.
func lostDigits(c Cell) bool {
	if c.Text == "" {
		return false
	}
	return c.Numeric || sciNotation.MatchString(squeeze(c.Text))
}

// IDNumberCell returns the ID number (居民身份证号) in c ready for the
// GB 11643 check, which is the caller's: spaces, invisible characters and
// apostrophes removed, full-width digits folded, a lowercase x made X.
// An empty cell gives "" and no error.
//
// A value that went through Excel's number type is refused, because Excel
// keeps 15 significant digits and the rest is gone (530326200111144569
// becomes 530326200111145000): a number cell, scientific notation
// (5.30326E+17), or 18 digits ending in zeros from a number cell. The
// error reads exactly
// "第 N 行 身份证号：Excel 把身份证号存成了数字，后几位已丢失；请把该列设为文本格式后重新填写"
// (with the column as the file's header names it).
func IDNumberCell(c Cell) (string, error) {
	if c.Text == "" {
		return "", nil
	}
	if lostDigits(c) {
		return "", c.Errorf("%s", lostIDProblem)
	}
	s := squeeze(c.Text)
	if strings.HasSuffix(s, "x") {
		s = s[:len(s)-1] + "X"
	}
	return s, nil
}

// PhoneCell returns the phone number in c: digits only, spaces, dashes,
// apostrophes and invisible characters removed, full-width digits folded.
// A number cell is fine (an 11-digit number is kept whole) but scientific
// notation (1.38123E+10) has lost digits and is refused. An empty cell
// gives "" and no error; whether the rest is a valid number is the
// caller's to check.
func PhoneCell(c Cell) (string, error) {
	if c.Text == "" {
		return "", nil
	}
	s := squeeze(c.Text)
	if sciNotation.MatchString(s) {
		return "", c.Errorf("Excel 把电话号码存成了科学计数法（%s），号码已丢失；请把该列设为文本格式后重新填写", c.Text)
	}
	if c.Numeric {
		s = strings.TrimSuffix(s, ".0")
	}
	s = strings.NewReplacer("-", "", "－", "", "—", "", "(", "", ")", "", "（", "", "）", "").Replace(s)
	return s, nil
}

// CodeCell returns a code or serial (区划代码, 证书编号) in c with spaces,
// apostrophes and invisible characters removed. A number cell is fine up
// to 15 digits (Excel keeps those whole; a trailing ".0" is dropped);
// scientific notation, or more than 15 digits from a number cell, has lost
// digits and is refused.
func CodeCell(c Cell) (string, error) {
	if c.Text == "" {
		return "", nil
	}
	s := squeeze(c.Text)
	if sciNotation.MatchString(s) {
		return "", c.Errorf("Excel 把代码存成了科学计数法（%s），后几位已丢失；请把该列设为文本格式后重新填写", c.Text)
	}
	if c.Numeric {
		s = strings.TrimSuffix(s, ".0")
		if len(s) > 15 {
			return "", c.Errorf("Excel 把代码存成了数字，后几位已丢失；请把该列设为文本格式后重新填写")
		}
	}
	return s, nil
}

// Sign-in marks: what clerks write for present and for absent.
var (
	presentMarks = []string{"√", "✓", "✔", "☑", "v", "y", "yes", "1", "是", "到", "已到", "已签", "签到", "已签到", "出勤", "有", "○", "〇", "o", "true"}
	absentMarks  = []string{"×", "✗", "✘", "x", "n", "no", "0", "否", "未到", "缺", "缺勤", "缺席", "未签到", "没到", "无", "请假", "假", "-", "—", "/", "false"}
)

// MarkCell reads a sign-in mark: √ ✓ 是 到 1 (or a signature, that is,
// any Chinese name written in the cell) mean present; an empty cell,
// × 否 未到 缺勤 请假 0 mean absent. Anything else is refused with a
// message saying what to write.
func MarkCell(c Cell) (present bool, err error) {
	s := strings.ToLower(squeeze(c.Text))
	if s == "" {
		return false, nil
	}
	for _, m := range presentMarks {
		if s == m {
			return true, nil
		}
	}
	for _, m := range absentMarks {
		if s == m {
			return false, nil
		}
	}
	if isSignature(s) {
		return true, nil
	}
	return false, c.Errorf("看不懂“%s”；已签到请填 √ 或 是，未到请填 × 或留空", c.Text)
}

// isSignature reports a name signed in the cell: 2 to 6 Han characters
// (a middle dot allowed), none of them a word for absence.
func isSignature(s string) bool {
	n := 0
	for _, r := range s {
		switch {
		case r == '·' || r == '•':
		case r >= 0x4e00 && r <= 0x9fff, r >= 0x3400 && r <= 0x4dbf:
			n++
		default:
			return false
		}
	}
	return n >= 2 && n <= 6 && !strings.ContainsAny(s, "未缺假否无没")
}
