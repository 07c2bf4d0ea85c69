package enrollment

import (
	"strings"
	"testing"
	"time"

	"nongxun/server"
)

// FuzzParseIDNumber: no input panics; whatever is accepted is a canonical
// 18-character number with a correct check digit, a plausible birth date and
// gender, and parses again to itself.
func FuzzParseIDNumber(f *testing.F) {
	for _, s := range []string{"53032619900101123X", "530326900101123", "53032619900101123x", "11010519491231002X", "530326199002301234",
		"", "X", "５３０３２６１９９００１０１１２３Ｘ", "530326 19900101 123X", "99032619900101123X", "530326299901011234", strings.Repeat("9", 18)} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseIDNumber(s, now)
		if err != nil {
			return
		}
		n := id.Number
		if len(n) != 18 || checkDigit(n[:17]) != n[17] {
			t.Fatalf("accepted %q as %q", s, n)
		}
		if id.Gender != GenderMale && id.Gender != GenderFemale || len(id.BirthDate) != 10 {
			t.Fatalf("derived %+v from %q", id, s)
		}
		again, err := ParseIDNumber(n, now)
		if err != nil || again != id {
			t.Fatalf("%q does not parse to itself: %+v %v", n, again, err)
		}
		if m := MaskID(n); len(m) != 18 || strings.Contains(m, n[4:14]) {
			t.Fatalf("mask %q shows the middle of %q", m, n)
		}
	})
}

// FuzzParseCode: no check-in payload panics the parser, and an accepted one
// names a session id of the right form or six digits.
func FuzzParseCode(f *testing.F) {
	for _, s := range []string{"6b0a00000000000000000000.59000000.abcdefabcdef", "123456", "", ".", "..", "a.b.c", "http://x/c?code=1.2.3",
		"6b0a00000000000000000000.-1.00", "6b0a00000000000000000000.99999999999999999999.zz", "１２３４５６", strings.Repeat("9", 10000)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parseCode(s)
		if err != nil {
			return
		}
		if p.window == -1 {
			if len(p.digits) != 6 {
				t.Fatalf("typed code %q parsed as %+v", s, p)
			}
			return
		}
		if len(p.sessionID) != 24 {
			t.Fatalf("payload %q parsed as %+v", s, p)
		}
	})
}

// FuzzImportRows: any roster, however broken, yields a row report and no
// panic, and importing it a second time creates nothing new.
func FuzzImportRows(f *testing.F) {
	f.Add("姓名,身份证号,手机号,乡镇,村,类别", "张三,53032619900101123X,13912345678,古城街道,红岩一村（演示）,贫困户")
	f.Add("name,id_number,phone", "李四,530326900101123,139")
	f.Add("", "")
	f.Add("姓名,身份证号", ",,,,,,,,")
	f.Add("姓名,身份证号,手机号", "王五,11010519491231002X,13800000000\n王五,11010519491231002X,13800000000")
	fx := newFixture(f)
	p := &server.Principal{UserID: "fuzz", Role: server.RoleAdmin, Name: "fuzz"}
	f.Fuzz(func(t *testing.T, header, body string) {
		h := strings.Split(header, ",")
		var rows [][]string
		for _, line := range strings.Split(body, "\n") {
			rows = append(rows, strings.Split(line, ","))
		}
		first, err := fx.s.ImportRows(fx.Ctx, h, rows, 2, p)
		if err != nil {
			return // a refused header is an error, not a panic
		}
		again, err := fx.s.ImportRows(fx.Ctx, h, rows, 2, p)
		if err != nil {
			t.Fatal(err)
		}
		if again.Created != 0 {
			t.Fatalf("re-import created %d (first created %d)", again.Created, first.Created)
		}
	})
}
