package clock

import (
	"testing"
	"time"
)

func TestMonthAndDayInShanghai(t *testing.T) {
	// 2026-05-31 17:30 UTC is already June 1st in Shanghai.
	at := time.Date(2026, 5, 31, 17, 30, 0, 0, time.UTC)
	if Month(at) != "2026-06" || Day(at) != "2026-06-01" || Show(at) != "2026-06-01 01:30" {
		t.Fatalf("month %s day %s show %s", Month(at), Day(at), Show(at))
	}
	m, err := ParseMonth("2026-06")
	if err != nil || !m.Equal(time.Date(2026, 5, 31, 16, 0, 0, 0, time.UTC)) {
		t.Fatalf("ParseMonth: %v %v", m, err)
	}
	if _, err := ParseMonth("2026-6"); err == nil {
		t.Fatal("2026-6 accepted")
	}
	if NextMonth("2026-12") != "2027-01" {
		t.Fatal(NextMonth("2026-12"))
	}
	if _, err := ParseDay("2026-02-30"); err == nil {
		t.Fatal("2026-02-30 accepted")
	}
}

func TestBounds(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	if InProgrammeRange(time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)) || InProgrammeRange(time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatal("year 1 or 9999 in the programme range")
	}
	if !Recent(now.AddDate(-1, 0, 0), now) || Recent(now.AddDate(6, 0, 0), now) {
		t.Fatal("Recent")
	}
}
