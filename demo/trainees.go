package demo

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
)

// importChunk is how many roster rows go in one import request.
const importChunk = 200

// loadTrainees imports the county's roster: each officer imports their
// township's villagers, the office the rest (POST /trainees/import, the
// bulk path the roster page uses), then reads the trainees back to learn
// their ids.
func (l *loader) loadTrainees(ctx context.Context) error {
	l.people = l.makePeople(l.scale(2400, 200))
	type chunk struct {
		by   *actor
		rows []int // indexes into l.people
	}
	var chunks []chunk
	byImporter := map[*actor][]int{}
	var order []*actor
	for i, p := range l.people {
		a := l.officerOf(p.Township)
		if a == nil {
			a = l.admin
		}
		if _, ok := byImporter[a]; !ok {
			order = append(order, a)
		}
		byImporter[a] = append(byImporter[a], i)
	}
	for _, a := range order {
		idx := byImporter[a]
		for k := 0; k < len(idx); k += importChunk {
			chunks = append(chunks, chunk{a, idx[k:min(k+importChunk, len(idx))]})
		}
	}
	header := []string{"姓名", "身份证号", "手机号", "村", "乡镇", "人群类别"}
	var done, created atomic.Int64
	var noPhone []int // rows refused for want of a phone (an API that requires one)
	var mu sync.Mutex
	err := parallel(2, len(chunks), func(ci int) error {
		ch := chunks[ci]
		rows := make([][]string, len(ch.rows))
		for k, i := range ch.rows {
			p := l.people[i]
			rows[k] = []string{p.Name, p.IDNumber, p.Phone, l.villages[p.Village].ID, l.townships[p.Township].Name, groupList(p.Groups)}
		}
		var res struct {
			Created int `json:"created"`
			Kept    int `json:"kept"`
			Refused []struct {
				Row    int    `json:"row"`
				Reason string `json:"reason"`
			} `json:"refused"`
		}
		if err := ch.by.must("导入花名册", "POST", "/trainees/import", map[string]any{"header": header, "rows": rows, "first_row": 2}, &res); err != nil {
			return err
		}
		for _, x := range res.Refused {
			k := x.Row - 2
			if k < 0 || k >= len(ch.rows) {
				return fmt.Errorf("导入花名册：第 %d 行被拒绝：%s", x.Row, x.Reason)
			}
			if l.people[ch.rows[k]].Phone == "" && strings.Contains(x.Reason, "手机") {
				mu.Lock()
				noPhone = append(noPhone, ch.rows[k])
				mu.Unlock()
				continue
			}
			return fmt.Errorf("导入花名册：%s 被拒绝：%s", l.people[ch.rows[k]].Name, x.Reason)
		}
		created.Add(int64(res.Created))
		l.progress("学员", int(done.Add(int64(len(ch.rows)))), len(l.people))
		return nil
	})
	if err != nil {
		return err
	}
	if len(noPhone) > 0 {
		// This server requires a phone number: those without one are given
		// the phone of a relative, as offices do.
		l.say("        服务器要求手机号：%d 名没有手机的学员登记了家人的手机号", len(noPhone))
		r := l.rand("relative phones")
		rows := make([][]string, len(noPhone))
		for k, i := range noPhone {
			p := &l.people[i]
			p.Phone = fmt.Sprintf("1%d%09d", 5+r.IntN(4), 100000000+r.IntN(899999999))
			rows[k] = []string{p.Name, p.IDNumber, p.Phone, l.villages[p.Village].ID, l.townships[p.Township].Name, groupList(p.Groups)}
		}
		if err := l.admin.must("导入花名册（补录手机号）", "POST", "/trainees/import", map[string]any{"header": header, "rows": rows, "first_row": 2}, nil); err != nil {
			return err
		}
	}
	if err := l.traineeIDs(); err != nil {
		return err
	}
	withPhone := 0
	for _, p := range l.people {
		if p.Phone != "" {
			withPhone++
		}
	}
	l.say("        %d 名学员，其中 %d 名没有手机", len(l.people), len(l.people)-withPhone)
	l.count("学员", len(l.people))
	return nil
}

// traineeIDs reads every trainee (GET /trainees, 500 at a time) and
// matches them to the roster by birth date and the unmasked end of the
// ID number, which the roster made distinct.
func (l *loader) traineeIDs() error {
	key := func(birth, masked string) string { return birth + "/" + masked[len(masked)-4:] }
	want := map[string]int{}
	for i, p := range l.people {
		want[key(p.Birth.Format("2006-01-02"), p.IDNumber)] = i
	}
	found := 0
	for skip := 0; ; skip += 500 {
		var page struct {
			Items []struct {
				ID        string `json:"id"`
				BirthDate string `json:"birth_date"`
				IDNumber  string `json:"id_number"`
				Name      string `json:"name"`
			} `json:"items"`
		}
		if err := l.admin.must("读取学员", "GET", fmt.Sprintf("/trainees?limit=500&skip=%d", skip), nil, &page); err != nil {
			return err
		}
		for _, t := range page.Items {
			if len(t.IDNumber) < 4 {
				continue
			}
			if i, ok := want[key(t.BirthDate, t.IDNumber)]; ok && l.people[i].Name == t.Name {
				l.people[i].ID = t.ID
				found++
			}
		}
		if len(page.Items) < 500 {
			break
		}
	}
	if found != len(l.people) {
		return fmt.Errorf("导入后只找到 %d / %d 名学员", found, len(l.people))
	}
	return nil
}
