package reports

import (
	"strings"
	"unicode/utf8"
)

// MaskName keeps a name's first character (张三 → 张*, 欧阳小三 → 欧***),
// as every list and export shows a person's name (docs/api.md).
func MaskName(n string) string {
	n = strings.TrimSpace(n)
	if utf8.RuneCountInString(n) <= 1 {
		return n
	}
	r, size := utf8.DecodeRuneInString(n)
	return string(r) + strings.Repeat("*", utf8.RuneCountInString(n[size:]))
}

// MaskID shows a resident ID number as 5303**********123X: the first four
// and last four characters. An ID number already masked is left as it is.
func MaskID(id string) string {
	if id == "" || strings.Contains(id, "*") {
		return id
	}
	r := []rune(id)
	if len(r) <= 8 {
		return strings.Repeat("*", len(r))
	}
	return string(r[:4]) + strings.Repeat("*", len(r)-8) + string(r[len(r)-4:])
}

// MaskPhone keeps a mobile number's first 3 and last 4 digits.
func MaskPhone(p string) string {
	if len(p) == 11 && !strings.Contains(p, "*") {
		return p[:3] + "****" + p[7:]
	}
	return p
}
