package enrollment

import (
	"context"
	"strings"
	"unicode"

	"nongxun/server"
)

// Trainee search (the roll call's "find a trainee"): by name, phone, the
// last 4 characters of the ID number, or the whole ID number. No query
// reaches the database as a pattern: the search reads bucket lists by _id
// (journal.go) and filters their members in Go, so a regular-expression
// character or a NUL in the query is just a character.
//
// Buckets, each a list of "traineeID|townshipID|text":
//
//	q/n/<rune>   every distinct letter of the name (text: the name)
//	q/p/<phone>  the whole phone number (text: the phone)
//	q/p4/<last4> the phone's last 4 digits (text: the phone)
//	q/i/<last4>  the ID number's last 4 characters (text: "")
//
// and, for the roster pages (List), v/<village> and t/<township>: the ids
// of the trainees of a village and of a township.
//
// A name query reads the bucket of its last letter (given names spread
// over more letters than surnames) and keeps names containing the query.
// The largest bucket is the commonest surname's when searched alone:
// about 7% of the county (~1,000 of 15,000 trainees).

func member(t *Trainee, text string) string {
	return t.ID + "|" + key(t.TownshipID) + "|" + text
}

func nameLetters(name string) []string {
	var out []string
	for _, r := range name {
		if unicode.IsSpace(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) || r < 0x80 && unicode.IsDigit(r) {
			continue
		}
		x := string(unicode.ToLower(r))
		if !contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

func last4(s string) string {
	if len(s) < 4 {
		return ""
	}
	return strings.ToUpper(s[len(s)-4:])
}

// searchBuckets lists the (list, member) pairs of a trainee record: its
// search buckets and its village's roster list.
func searchBuckets(t *Trainee) [][2]string {
	var out [][2]string
	for _, r := range nameLetters(t.Name) {
		out = append(out, [2]string{"q/n/" + r, member(t, t.Name)})
	}
	if t.Phone != "" {
		out = append(out, [2]string{"q/p/" + t.Phone, member(t, t.Phone)}, [2]string{"q/p4/" + last4(t.Phone), member(t, t.Phone)})
	}
	if l := last4(t.IDMasked); l != "" {
		out = append(out, [2]string{"q/i/" + l, member(t, "")})
	}
	return append(out, [2]string{villageList(t.RegionID), t.ID}, [2]string{townshipList(t.TownshipID), t.ID})
}

// townshipList is the list of a township's trainees (ids).
func townshipList(townshipID string) string { return "t/" + key(townshipID) }

// villageList is the list of a village's trainees (ids).
func villageList(regionID string) string { return "v/" + key(regionID) }

// searchAdd records a record's search entries in ch.
func (s *Service) searchAdd(ch *changes, t *Trainee) {
	for _, b := range searchBuckets(t) {
		ch.add(b[0], b[1])
	}
}

// searchDel records the removal of a record's search entries in ch.
func (s *Service) searchDel(ch *changes, t *Trainee) {
	for _, b := range searchBuckets(t) {
		ch.del(b[0], b[1])
	}
}

// SearchQuery checks a search string: at most 30 characters, no control
// characters (a NUL among them); it returns the query trimmed.
func SearchQuery(q string) (string, error) {
	q = strings.TrimSpace(q)
	if len([]rune(q)) > 30 {
		return "", server.Invalid("查询内容过长（30 字以内）", "q", "30 字以内")
	}
	for _, r := range q {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return "", server.Invalid("查询内容含有无效字符", "q", "含有无效字符")
		}
	}
	return q, nil
}

func allDigitsOrX(s string) bool {
	for i := 0; i < len(s); i++ {
		if !(s[i] >= '0' && s[i] <= '9') && !(i == len(s)-1 && s[i] == 'X') {
			return false
		}
	}
	return s != ""
}

// Search finds live trainees matching q (see the top of this file), at
// most limit, within township when it is not "".
func (s *Service) Search(ctx context.Context, q, township string, limit int) ([]Trainee, error) {
	q, err := SearchQuery(q)
	if err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 50 {
		limit = 20
	}
	out := []Trainee{}
	if q == "" {
		return out, nil
	}
	up := strings.ToUpper(q)
	if n := len(up); (n == 18 || n == 15) && allDigitsOrX(up) {
		if id, err := ParseIDNumber(up, s.now()); err == nil {
			d, err := s.byIDNumber(ctx, id.Number)
			if err != nil || d == nil || d.Merged() || (township != "" && d.TownshipID != township) {
				return out, err
			}
			return append(out, d.Trainee), nil
		}
	}
	var buckets []string
	keep := func(text string) bool { return true }
	switch {
	case allDigitsOrX(up) && len(up) == 4:
		buckets = []string{"q/i/" + up, "q/p4/" + up}
	case allDigits(q) && len(q) == 11:
		buckets = []string{"q/p/" + q}
	case allDigits(q) && len(q) > 4 && len(q) < 11:
		buckets = []string{"q/p4/" + last4(q)}
		keep = func(text string) bool { return strings.HasSuffix(text, q) }
	case allDigits(q):
		return out, nil // 1–3 digits say too little
	default:
		letters := nameLetters(q)
		if len(letters) == 0 {
			return out, nil
		}
		buckets = []string{"q/n/" + letters[len(letters)-1]}
		lq := strings.ToLower(q)
		keep = func(text string) bool { return strings.Contains(strings.ToLower(text), lq) }
	}
	lists, err := s.readLists(ctx, buckets...)
	if err != nil {
		return nil, err
	}
	var ids []string
	seen := map[string]bool{}
	for _, b := range buckets {
		for _, m := range lists[b] {
			if len(ids) >= limit {
				break
			}
			parts := strings.SplitN(m, "|", 3)
			if len(parts) != 3 || seen[parts[0]] || !keep(parts[2]) {
				continue
			}
			if township != "" && parts[1] != township {
				continue
			}
			seen[parts[0]] = true
			ids = append(ids, parts[0])
		}
	}
	ts, err := s.Trainees(ctx, ids)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if t, ok := ts[id]; ok && !t.Merged() {
			out = append(out, t)
		}
	}
	return out, nil
}
