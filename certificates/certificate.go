// Package certificates issues training certificates: eligibility from
// attendance (and, when a course asks for it, an assessment), gap-free
// serial numbers, a Chinese PDF with a verification QR code, the public
// verification page, revocation, and bulk ZIP and register exports.
package certificates

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"nongxun/clock"
)

// Certificate statuses.
const (
	StatusValid   = "valid"
	StatusRevoked = "revoked"
)

// Certificate is one issued certificate. It is never deleted: revocation
// changes its status. The trainee's name, the course title, hours and dates
// are copied in at issuance so the certificate reads the same forever.
type Certificate struct {
	ID            string     `bson:"_id" json:"id"`
	Serial        string     `bson:"serial" json:"serial"`
	Code          string     `bson:"code" json:"code"`
	TraineeID     string     `bson:"trainee_id" json:"trainee_id"`
	CourseID      string     `bson:"course_id" json:"course_id"`
	IssuedAt      time.Time  `bson:"issued_at" json:"issued_at"`
	Status        string     `bson:"status" json:"status"`
	RevokedReason string     `bson:"revoked_reason,omitempty" json:"revoked_reason,omitempty"`
	RevokedAt     *time.Time `bson:"revoked_at,omitempty" json:"revoked_at,omitempty"`

	Year          int     `bson:"year" json:"-"`
	Seq           int64   `bson:"seq" json:"-"`
	TownshipID    string  `bson:"township_id" json:"township_id"`
	Name          string  `bson:"name" json:"name"`
	CourseTitle   string  `bson:"course_title" json:"course_title"`
	Hours         float64 `bson:"hours" json:"hours"`
	From          string  `bson:"from" json:"from"` // first session day, YYYY-MM-DD (Asia/Shanghai)
	To            string  `bson:"to" json:"to"`     // last session day
	Attended      int     `bson:"attended" json:"attended"`
	Held          int     `bson:"held" json:"held"`
	IssuedBy      string  `bson:"issued_by" json:"issued_by"`
	MissingGlyphs string  `bson:"missing_glyphs,omitempty" json:"missing_glyphs,omitempty"`
	RevokedBy     string  `bson:"revoked_by,omitempty" json:"revoked_by,omitempty"`
	// MergedFrom is the trainee record this certificate was moved from
	// when two records of one person were merged.
	MergedFrom string `bson:"merged_from,omitempty" json:"merged_from,omitempty"`
}

// pdfEntry is a cached rendering in certificate_pdfs: the blob holding the
// PDF, keyed by certificate id, status and a digest of everything else the
// page shows (public URL, issuer, seal), so a revoked certificate never
// finds its valid page and a page drawn for an old address is redrawn.
type pdfEntry struct {
	ID     string    `bson:"_id"` // certificate id + "/" + status + "/" + digest
	CertID string    `bson:"cert_id"`
	Status string    `bson:"status"`
	Blob   string    `bson:"blob"`
	Size   int64     `bson:"size"`
	At     time.Time `bson:"at"`
}

func pdfKey(id, status, digest string) string { return id + "/" + status + "/" + digest }

// certID is the certificate's natural id: one certificate per trainee and
// course, so a second issuance hits the duplicate key. It is derived from
// "courseID/traineeID" so it has the 24-hex form every API id has.
func certID(courseID, traineeID string) string {
	h := sha256.Sum256([]byte(courseID + "/" + traineeID))
	return hex.EncodeToString(h[:12])
}

// FormatSerial writes a serial number: PREFIX-YYYY-00001.
func FormatSerial(prefix string, year int, seq int64) string {
	return fmt.Sprintf("%s-%d-%05d", prefix, year, seq)
}

// codeLen is the length of a verification code (16 base32 characters, 80 bits).
const codeLen = 16

const codeAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// ValidCode reports whether s has the form of a verification code.
func ValidCode(s string) bool {
	if len(s) != codeLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(codeAlphabet, s[i]) < 0 {
			return false
		}
	}
	return true
}

// MaskName hides a name for the public: 张三 → 张*, 张小三 → 张*三,
// 欧阳小三 → 欧**三.
func MaskName(name string) string {
	r := []rune(strings.TrimSpace(name))
	switch len(r) {
	case 0:
		return ""
	case 1:
		return "*"
	case 2:
		return string(r[0]) + "*"
	}
	return string(r[0]) + strings.Repeat("*", len(r)-2) + string(r[len(r)-1])
}

// day formats t as YYYY-MM-DD in Asia/Shanghai.
func day(t time.Time) string { return clock.Day(t) }

// cnDate writes YYYY-MM-DD as 2026年5月3日.
func cnDate(d string) string {
	t, err := time.Parse("2006-01-02", d)
	if err != nil {
		return d
	}
	return fmt.Sprintf("%d年%d月%d日", t.Year(), int(t.Month()), t.Day())
}

// hoursText writes 24 → "24", 1.5 → "1.5".
func hoursText(h float64) string { return strings.TrimSuffix(fmt.Sprintf("%g", h), ".0") }

// percent writes 0.8 → "80%".
func percent(r float64) string { return fmt.Sprintf("%g%%", float64(int(r*1000+0.5))/10) }

// cleanReason trims a revocation reason and reports whether it is usable.
func cleanReason(s string) (string, bool) {
	s = strings.TrimSpace(s)
	return s, s != "" && utf8.RuneCountInString(s) <= 200
}
