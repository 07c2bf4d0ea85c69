package sheets

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/width"
)

// Kind of the values in an export column; it decides how both writers
// store and show them.
type ValueKind int

// The kinds of export values.
const (
	// Text is kept as text everywhere: names, ID numbers, phones, serials
	// like "00123", "1/5". Values: string (others are printed with fmt).
	Text ValueKind = iota
	// Number is a real number. Values: any int or float type, or a string
	// holding one.
	Number
	// Money is an amount in fen shown in yuan (#,##0.00). Values: int64 or int.
	Money
	// Date is a day in Asia/Shanghai (yyyy-mm-dd). Values: time.Time, or a
	// "2006-01-02" string.
	Date
	// DateTime is a moment in Asia/Shanghai (yyyy-mm-dd hh:mm). Values:
	// time.Time.
	DateTime
	// Percent is a ratio shown as a percentage (0.305 → 30.5%). Values: float64.
	Percent
)

// Col is one column of an export.
type Col struct {
	Label string
	Kind  ValueKind
	// Width is the XLSX column width in characters; 0 measures the header
	// and the first rows (Chinese characters count double).
	Width float64
}

// Shanghai is the time zone of every date the writers show (China has
// kept UTC+8 without summer time since 1991).
var Shanghai = time.FixedZone("CST", 8*3600)

// norm turns a value of a column into what both writers store: string,
// int64, float64 (numbers, yuan, ratios), time.Time (in Shanghai) or nil.
func norm(k ValueKind, v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case *time.Time:
		if x == nil {
			return nil
		}
		v = *x
	}
	switch k {
	case Number, Percent:
		switch x := v.(type) {
		case int:
			return int64(x)
		case int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
			n, _ := strconv.ParseInt(fmt.Sprint(x), 10, 64)
			return n
		case float32:
			return float64(x)
		case float64:
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return nil
			}
			return x
		case string:
			if n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64); err == nil {
				return n
			}
			if f, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
				return f
			}
			return x
		}
	case Money:
		switch x := v.(type) {
		case int64:
			return float64(x) / 100
		case int:
			return float64(x) / 100
		}
	case Date, DateTime:
		switch x := v.(type) {
		case time.Time:
			if x.IsZero() {
				return nil
			}
			return x.In(Shanghai)
		case string:
			if t, err := time.ParseInLocation("2006-01-02", strings.TrimSpace(x), Shanghai); err == nil {
				return t
			}
			return x
		}
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

// text is a normalised value as the CSV writer prints it (also used to
// measure widths).
func text(k ValueKind, v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		switch k {
		case Money:
			return strconv.FormatFloat(x, 'f', 2, 64)
		case Percent:
			return strconv.FormatFloat(x*100, 'f', -1, 64) + "%"
		}
		return strconv.FormatFloat(x, 'f', -1, 64)
	case time.Time:
		if k == DateTime {
			return x.Format("2006-01-02 15:04")
		}
		return x.Format("2006-01-02")
	}
	return fmt.Sprint(v)
}

// displayWidth is how many character widths s takes: Chinese and other
// wide characters count double.
func displayWidth(s string) float64 {
	w := 0.0
	for _, r := range s {
		switch width.LookupRune(r).Kind() {
		case width.EastAsianWide, width.EastAsianFullwidth:
			w += 2
		default:
			if !unicode.IsControl(r) {
				w++
			}
		}
	}
	return w
}
