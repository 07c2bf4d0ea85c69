package enrollment

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// IDNumber is a validated resident ID number (居民身份证号) in its 18-character form.
type IDNumber struct {
	Number    string // 18 characters, upper-case X
	BirthDate string // YYYY-MM-DD
	Gender    string // GenderMale or GenderFemale
}

// Genders derived from the ID number.
const (
	GenderMale   = "male"
	GenderFemale = "female"
)

var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

const idChecks = "10X98765432"

// provinces are the first two digits GB/T 2260 gives a province-level division.
var provinces = map[string]bool{
	"11": true, "12": true, "13": true, "14": true, "15": true,
	"21": true, "22": true, "23": true,
	"31": true, "32": true, "33": true, "34": true, "35": true, "36": true, "37": true,
	"41": true, "42": true, "43": true, "44": true, "45": true, "46": true,
	"50": true, "51": true, "52": true, "53": true, "54": true,
	"61": true, "62": true, "63": true, "64": true, "65": true,
	"71": true, "81": true, "82": true, "83": true,
}

// checkDigit is the ISO 7064 MOD 11-2 check character of 17 digits.
func checkDigit(d17 string) byte {
	sum := 0
	for i := 0; i < 17; i++ {
		sum += int(d17[i]-'0') * idWeights[i]
	}
	return idChecks[sum%11]
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ParseIDNumber validates an ID number under GB 11643-1999: 18 characters
// with a correct check digit and a real birth date not in the future, or
// the old 15-digit form, which is converted. now bounds the birth date.
// The error text is Chinese, for the form field.
func ParseIDNumber(s string, now time.Time) (IDNumber, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	s = strings.ReplaceAll(s, " ", "")
	switch len(s) {
	case 15:
		if !allDigits(s) {
			return IDNumber{}, errors.New("15 位身份证号应全为数字")
		}
		d17 := s[:6] + "19" + s[6:]
		s = d17 + string(checkDigit(d17))
	case 18:
		if !allDigits(s[:17]) || !(s[17] >= '0' && s[17] <= '9' || s[17] == 'X') {
			return IDNumber{}, errors.New("身份证号应为 17 位数字加 1 位数字或 X")
		}
		if checkDigit(s[:17]) != s[17] {
			return IDNumber{}, errors.New("身份证号校验位不正确，请核对")
		}
	default:
		return IDNumber{}, errors.New("身份证号应为 18 位")
	}
	if !provinces[s[:2]] {
		return IDNumber{}, errors.New("身份证号前两位不是有效的省份代码")
	}
	birth, err := time.Parse("20060102", s[6:14])
	if err != nil || birth.Year() < 1900 || birth.After(now) {
		return IDNumber{}, errors.New("身份证号中的出生日期无效")
	}
	g := GenderFemale
	if (s[16]-'0')%2 == 1 {
		g = GenderMale
	}
	return IDNumber{Number: s, BirthDate: birth.Format("2006-01-02"), Gender: g}, nil
}

// MakeIDNumber makes the i-th of a series of valid, distinct resident ID
// numbers (county 530326, born 1970-1997; distinct for i below ten million) for demo data, tests and the load
// generator; they belong to nobody.
func MakeIDNumber(i int) string {
	born := time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i/1000%10000)
	d17 := fmt.Sprintf("530326%s%03d", born.Format("20060102"), i%1000)
	return d17 + string(checkDigit(d17))
}

// MaskID shows the first and last four characters: 5303**********123X.
func MaskID(n string) string {
	if len(n) < 8 {
		return strings.Repeat("*", len(n))
	}
	return n[:4] + strings.Repeat("*", len(n)-8) + n[len(n)-4:]
}

// idCrypt hashes ID numbers for lookup and encrypts them for the admin
// view, with two keys derived from Config.DataKey.
type idCrypt struct {
	hashKey []byte
	aead    cipher.AEAD
	codeKey []byte // derives each session's check-in key
}

func derive(key []byte, purpose string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

func newIDCrypt(dataKey []byte) (*idCrypt, error) {
	if len(dataKey) < 16 {
		return nil, errors.New("enrollment: DataKey missing or too short")
	}
	block, err := aes.NewCipher(derive(dataKey, "nongxun id-number encryption"))
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &idCrypt{hashKey: derive(dataKey, "nongxun id-number lookup"), aead: aead,
		codeKey: derive(dataKey, "nongxun check-in codes")}, nil
}

// hash is the keyed hash an ID number is looked up and kept unique by.
func (c *idCrypt) hash(number string) string {
	m := hmac.New(sha256.New, c.hashKey)
	m.Write([]byte(number))
	return hex.EncodeToString(m.Sum(nil))
}

func (c *idCrypt) seal(number string) string {
	nonce := make([]byte, c.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(c.aead.Seal(nonce, nonce, []byte(number), nil))
}

func (c *idCrypt) open(sealed string) (string, error) {
	b, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil || len(b) < c.aead.NonceSize() {
		return "", errors.New("sealed id number is malformed")
	}
	n := c.aead.NonceSize()
	p, err := c.aead.Open(nil, b[:n], b[n:], nil)
	if err != nil {
		return "", err
	}
	return string(p), nil
}
