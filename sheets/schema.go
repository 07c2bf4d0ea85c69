package sheets

import (
	"strings"
	"unicode"
)

// Field is one column a Schema knows.
type Field struct {
	// Key names the field in Row.Cells ("id_number").
	Key string
	// Label is the field's name in messages ("身份证号").
	Label string
	// Synonyms are the header texts that mean this field. They are
	// compared after the normalisation headers get (spaces, *, line breaks
	// and a trailing 号/号码 removed, full-width folded, ASCII lowercased,
	// and, failing an exact match, bracketed parts dropped), so "身份证号"
	// also matches "身份证号码*" and "身份证号（18位）". Key and Label
	// match too.
	Synonyms []string
	// Required fields must all be in a header row for it to count as one.
	Required bool
	// Text marks a column that must hold text: number cells in it are
	// counted and the sheet report says so once, at the top (ID numbers).
	Text bool
}

// Schema tells the reader which columns a kind of table has.
type Schema struct {
	// Name is what the table is called in messages ("花名册").
	Name string
	// Fields lists the columns the table may have.
	Fields []Field
	// AnyOf, when set, also asks that a header row hold every field of at
	// least one of these groups of keys (the sign-in sheet: the ID number,
	// or the name and the phone).
	AnyOf [][]string
}

// field returns the field of key.
func (s *Schema) field(key string) *Field {
	for i := range s.Fields {
		if s.Fields[i].Key == key {
			return &s.Fields[i]
		}
	}
	return nil
}

// Needs describes in Chinese what a header row must hold: "姓名、身份证号、手机号、村".
func (s *Schema) Needs() string {
	var req []string
	for _, f := range s.Fields {
		if f.Required {
			req = append(req, f.Label)
		}
	}
	out := strings.Join(req, "、")
	if len(s.AnyOf) > 0 {
		var alts []string
		for _, g := range s.AnyOf {
			var ls []string
			for _, k := range g {
				if f := s.field(k); f != nil {
					ls = append(ls, f.Label)
				}
			}
			alts = append(alts, strings.Join(ls, "和"))
		}
		if out != "" {
			out += "，以及 "
		}
		out += strings.Join(alts, " 或 ")
	}
	return out
}

// missing lists in Chinese what the mapped header lacks ("" when it is complete).
func (s *Schema) missing(have map[string]int) string {
	var miss []string
	for _, f := range s.Fields {
		if _, ok := have[f.Key]; f.Required && !ok {
			miss = append(miss, f.Label)
		}
	}
	if len(s.AnyOf) > 0 {
		ok := false
		var alts []string
		for _, g := range s.AnyOf {
			all := true
			var ls []string
			for _, k := range g {
				if _, in := have[k]; !in {
					all = false
				}
				if f := s.field(k); f != nil {
					ls = append(ls, f.Label)
				}
			}
			ok = ok || all
			alts = append(alts, strings.Join(ls, "和"))
		}
		if !ok {
			miss = append(miss, strings.Join(alts, " 或 "))
		}
	}
	return strings.Join(miss, "、")
}

// matcher maps normalised header texts to field keys.
type matcher struct {
	exact, loose map[string]string
}

func (s *Schema) matcher() *matcher {
	m := &matcher{exact: map[string]string{}, loose: map[string]string{}}
	add := func(key, text string) {
		k1, k2 := headerKeys(text)
		if k1 == "" {
			return
		}
		if _, ok := m.exact[k1]; !ok {
			m.exact[k1] = key
		}
		if _, ok := m.loose[k2]; !ok && k2 != "" {
			m.loose[k2] = key
		}
	}
	for _, f := range s.Fields {
		for _, syn := range f.Synonyms {
			add(f.Key, syn)
		}
		add(f.Key, f.Label)
		add(f.Key, f.Key)
	}
	return m
}

// match returns the field key a header text names, or "".
func (m *matcher) match(header string) string {
	k1, k2 := headerKeys(header)
	if k1 == "" {
		return ""
	}
	if f, ok := m.exact[k1]; ok {
		return f
	}
	if f, ok := m.exact[k2]; ok {
		return f
	}
	return m.loose[k2]
}

// headerKeys normalises a header text: k1 keeps bracketed parts, k2 drops
// them ("所在村（社区）" → "所在村(社区)", "所在村").
func headerKeys(h string) (k1, k2 string) {
	var b strings.Builder
	for _, r := range h {
		r = foldHeaderRune(r)
		switch {
		case invisible(r), unicode.IsSpace(r), r == '*', r == '※':
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	k := strings.TrimRight(b.String(), ":：")
	return trimNumberSuffix(k), trimNumberSuffix(dropBrackets(k))
}

// foldHeaderRune folds every full-width ASCII form (brackets and the
// asterisk too) and the odd spaces.
func foldHeaderRune(r rune) rune {
	if r >= '！' && r <= '～' {
		return r - 0xfee0
	}
	return foldRune(r)
}

// dropBrackets removes bracketed parts: (…) […] 【…】 〔…〕.
func dropBrackets(s string) string {
	var b strings.Builder
	depth := 0
	for _, r := range s {
		switch r {
		case '(', '[', '【', '〔':
			depth++
			continue
		case ')', ']', '】', '〕':
			if depth > 0 {
				depth--
			}
			continue
		}
		if depth == 0 {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func trimNumberSuffix(s string) string {
	for _, suf := range []string{"号码", "号"} {
		if t, ok := strings.CutSuffix(s, suf); ok && t != "" {
			return t
		}
	}
	return s
}

// headerDisplay is a header text as messages quote it: spaces, line
// breaks and * removed, brackets kept ("姓  名" → "姓名").
func headerDisplay(h string) string {
	var b strings.Builder
	for _, r := range h {
		if invisible(r) || unicode.IsSpace(r) || r == '*' || r == '＊' || r == '\u3000' {
			continue
		}
		b.WriteRune(r)
	}
	return strings.TrimRight(b.String(), ":：")
}
