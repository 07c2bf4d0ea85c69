package enrollment

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"time"

	"nongxun/courses"
	"nongxun/server"
	"nongxun/store"
)

// Window is how long one check-in code is shown.
const Window = 30 * time.Second

// slack is how long before its start and after its end a session accepts check-ins.
const slack = 15 * time.Minute

func windowOf(t time.Time) int64 { return t.Unix() / int64(Window/time.Second) }

func windowStart(w int64) time.Time { return time.Unix(w*int64(Window/time.Second), 0).UTC() }

// sessionKey is the per-session HMAC key, derived from the data key.
func (s *Service) sessionKey(sessionID string) []byte {
	m := hmac.New(sha256.New, s.crypt.codeKey)
	m.Write([]byte(sessionID))
	return m.Sum(nil)
}

func (s *Service) sig(sessionID string, w int64, purpose string) []byte {
	m := hmac.New(sha256.New, s.sessionKey(sessionID))
	m.Write([]byte(purpose + sessionID + "|" + strconv.FormatInt(w, 10)))
	return m.Sum(nil)
}

// Payload is the QR content for a session and window:
// sessionID.window.HMAC(sessionKey, sessionID|window), the HMAC cut to 96 bits.
func (s *Service) Payload(sessionID string, w int64) string {
	return sessionID + "." + strconv.FormatInt(w, 10) + "." + base64.RawURLEncoding.EncodeToString(s.sig(sessionID, w, "")[:12])
}

// Digits is the 6-digit code typed by hand for a session and window.
func (s *Service) Digits(sessionID string, w int64) string {
	b := s.sig(sessionID, w, "digits|")
	return fmt.Sprintf("%06d", binary.BigEndian.Uint32(b[:4])%1000000)
}

// CheckinCode is what the trainer's screen shows.
type CheckinCode struct {
	Code      string    `json:"code"`
	Digits    string    `json:"digits"`
	ExpiresAt time.Time `json:"expires_at"`
	QRPNG     string    `json:"qr_png"`
	Window    int64     `json:"window"`
	Seconds   int       `json:"refresh_seconds"`
}

// Code returns the current check-in code of a session.
func (s *Service) Code(sess *courses.Session) (*CheckinCode, error) {
	if sess.Cancelled {
		return nil, server.Conflict("该班次已取消，不能签到")
	}
	w := windowOf(s.now())
	p := s.Payload(sess.ID, w)
	return &CheckinCode{Code: p, Digits: s.Digits(sess.ID, w), ExpiresAt: windowStart(w + 1), Window: w,
		QRPNG: "/api/v1/sessions/" + sess.ID + "/checkin-qr.png?code=" + p, Seconds: int(Window / time.Second)}, nil
}

// parsed is a code read from a check-in.
type parsed struct {
	sessionID string
	window    int64 // -1 for typed digits
	digits    string
}

// parseCode reads a QR payload (also inside a URL) or 6 typed digits.
func parseCode(code string) (parsed, error) {
	code = strings.TrimSpace(code)
	if i := strings.LastIndexAny(code, "/#="); i >= 0 && strings.Count(code[i+1:], ".") == 2 {
		code = code[i+1:]
	}
	if len(code) == 6 && allDigits(code) {
		return parsed{window: -1, digits: code}, nil
	}
	parts := strings.Split(code, ".")
	if len(parts) != 3 || !store.ValidID(parts[0]) {
		return parsed{}, errBadCode
	}
	w, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || w <= 0 || len(parts[2]) != 16 {
		return parsed{}, errBadCode
	}
	return parsed{sessionID: parts[0], window: w, digits: parts[2]}, nil
}

var (
	errBadCode     = server.Invalid("签到码无效，请重新扫描", "code", "签到码无效")
	errForeignCode = server.Invalid("该签到码不属于这场培训", "code", "签到码不属于本场培训")
	errExpired     = server.Invalid("签到码已过期，请扫描讲师屏幕上的最新二维码", "code", "签到码已过期")
)

// verify checks a code for a session. Live, a code must be of the current
// or previous window. Offline (a batch upload), a QR payload is judged by
// the window it encodes, and typed digits by the phone's clock at scan
// time (one window either side); either must fall within the session's
// time, never in the future. It returns the window the code was shown in.
func (s *Service) verify(sess *courses.Session, p parsed, offline bool, scannedAt *time.Time) (int64, error) {
	now := s.now()
	cur := windowOf(now)
	if p.window >= 0 {
		if p.sessionID != sess.ID {
			return 0, errForeignCode
		}
		want := s.Payload(sess.ID, p.window)
		if !hmac.Equal([]byte(want[len(want)-16:]), []byte(p.digits)) {
			return 0, errBadCode
		}
		if p.window > cur {
			return 0, errBadCode
		}
		if !offline && p.window < cur-1 {
			return 0, errExpired
		}
		if offline && !s.inSession(sess, p.window) {
			return 0, errExpired
		}
		return p.window, nil
	}
	cands := []int64{cur, cur - 1}
	if offline && scannedAt != nil && !scannedAt.After(now) {
		w := windowOf(*scannedAt)
		cands = []int64{w + 1, w, w - 1}
	}
	for _, w := range cands {
		if w > cur || (offline && !s.inSession(sess, w)) {
			continue
		}
		if hmac.Equal([]byte(s.Digits(sess.ID, w)), []byte(p.digits)) {
			return w, nil
		}
	}
	return 0, errDigits
}

// inSession reports whether window w overlaps the session's time with slack.
func (s *Service) inSession(sess *courses.Session, w int64) bool {
	ws := windowStart(w)
	return ws.Add(Window).After(sess.StartsAt.Add(-slack)) && ws.Before(sess.EndsAt.Add(slack))
}
