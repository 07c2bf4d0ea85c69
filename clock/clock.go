// Package clock is nongxun's one time kit: times are stored in UTC and
// shown, counted by month and day, and checked in China Standard Time
// (Asia/Shanghai, UTC+8 all year; China keeps no summer time).
package clock

import (
	"fmt"
	"time"
)

// Shanghai is the zone months and days are counted and shown in.
var Shanghai = time.FixedZone("CST", 8*3600)

// Month is the "YYYY-MM" a time falls in, in Asia/Shanghai.
func Month(t time.Time) string { return t.In(Shanghai).Format("2006-01") }

// Day is the "YYYY-MM-DD" a time falls in, in Asia/Shanghai.
func Day(t time.Time) string { return t.In(Shanghai).Format("2006-01-02") }

// Show formats a time for people: "2006-01-02 15:04" in Asia/Shanghai.
func Show(t time.Time) string { return t.In(Shanghai).Format("2006-01-02 15:04") }

// ParseMonth reads "YYYY-MM" as the first instant of that month in Asia/Shanghai.
func ParseMonth(s string) (time.Time, error) {
	t, err := time.ParseInLocation("2006-01", s, Shanghai)
	if err != nil || len(s) != 7 {
		return time.Time{}, fmt.Errorf("月份格式应为 YYYY-MM")
	}
	return t, nil
}

// ParseDay reads "YYYY-MM-DD" as the first instant of that day in Asia/Shanghai.
func ParseDay(s string) (time.Time, error) {
	t, err := time.ParseInLocation("2006-01-02", s, Shanghai)
	if err != nil || len(s) != 10 {
		return time.Time{}, fmt.Errorf("日期格式应为 YYYY-MM-DD")
	}
	return t, nil
}

// NextMonth is the "YYYY-MM" after month m (which must be valid).
func NextMonth(m string) string {
	t, err := ParseMonth(m)
	if err != nil {
		return m
	}
	return Month(t.AddDate(0, 1, 0))
}

// Bounds of the dates a person may enter (docs/design.md, "Input bounds").
const (
	// ProgrammeMinYear and ProgrammeMaxYear bound programme dates.
	ProgrammeMinYear = 2000
	ProgrammeMaxYear = 2100
	// RecentYears is how far from today a session or entry date may lie.
	RecentYears = 5
)

// InProgrammeRange reports whether t lies in years 2000–2100.
func InProgrammeRange(t time.Time) bool {
	y := t.In(Shanghai).Year()
	return y >= ProgrammeMinYear && y <= ProgrammeMaxYear
}

// Recent reports whether t lies within RecentYears of now, either way.
func Recent(t, now time.Time) bool {
	return t.After(now.AddDate(-RecentYears, 0, 0)) && t.Before(now.AddDate(RecentYears, 0, 0))
}
