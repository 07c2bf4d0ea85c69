package server

import (
	"strings"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn"
)

// Password length bounds, in bytes.
const (
	MinPassword = 8
	MaxPassword = 128
)

// commonCN are passwords and pieces of passwords common in China that the
// library's English dictionaries do not know (pinyin, lucky numbers), and
// this programme's own words: a password built on them is guessed early.
var commonCN = []string{
	"woaini", "woaini1314", "5201314", "1314520", "iloveyou", "qq123456", "a123456", "aa123456",
	"zhang", "wang", "li", "liu", "chen", "yang", "zhao", "huang", "zhou", "wu",
	"nongxun", "huize", "dianshang", "nongcun", "peixun", "mima", "admin",
}

// WeakPassword says, in Chinese, why pw is too easy to guess, or "" when it
// is strong enough: at least 8 characters and a zxcvbn score of 2 or more
// (about a million guesses; with the login limits that is years online).
// inputs are words of the account itself (username, phone, name) that a
// password must not lean on.
func WeakPassword(pw string, inputs ...string) string {
	switch {
	case len(pw) < MinPassword:
		return "密码至少 8 位"
	case len(pw) > MaxPassword:
		return "密码不能超过 128 位"
	case !utf8.ValidString(pw):
		return "密码含有无法识别的字符"
	}
	words := append([]string{}, commonCN...)
	for _, in := range inputs {
		if in = strings.TrimSpace(in); in != "" {
			words = append(words, in)
		}
	}
	if zxcvbn.PasswordStrength(pw, words).Score < 2 {
		return "密码太简单，容易被猜到：请避免连续或重复的字符、常见单词、姓名和手机号，可用两三个词加数字，例如 chaye-2019-hz"
	}
	return ""
}
