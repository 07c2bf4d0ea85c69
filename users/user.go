// Package users holds accounts, passwords, login, token refresh and logout,
// and the admin's user management.
package users

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"
	"nongxun/server"
	"nongxun/store"
)

// User is an account of any role.
type User struct {
	ID           string    `bson:"_id" json:"id"`
	Username     string    `bson:"username,omitempty" json:"username,omitempty"`
	Phone        string    `bson:"phone,omitempty" json:"phone,omitempty"`
	Name         string    `bson:"name" json:"name"`
	Role         string    `bson:"role" json:"role"`
	TownshipID   string    `bson:"township_id,omitempty" json:"township_id,omitempty"`
	StationID    string    `bson:"station_id,omitempty" json:"station_id,omitempty"`
	PasswordHash string    `bson:"password_hash" json:"-"`
	Disabled     bool      `bson:"disabled,omitempty" json:"disabled,omitempty"`
	CreatedAt    time.Time `bson:"created_at" json:"created_at"`
	UpdatedAt    time.Time `bson:"updated_at,omitempty" json:"updated_at,omitzero"`
	// TokenVersion is carried in every token the account is given; raising
	// it (disable, password set or reset, role or scope change) refuses
	// every token issued before, access and refresh alike.
	TokenVersion int64 `bson:"token_version" json:"-"`
	// SessionVersion is carried in every refresh token; raising it (disable,
	// password set or reset) ends every session. An edit raises only
	// TokenVersion: the sessions refresh into tokens with the new role.
	SessionVersion int64 `bson:"session_version" json:"-"`
	// MustChangePassword is set by a reset: until the account sets a new
	// password it may call nothing but POST /api/v1/me/password.
	MustChangePassword bool `bson:"must_change_password,omitempty" json:"must_change_password,omitempty"`
	// Attempts counts login attempts in the current minute, reserved
	// before the password is checked (see reserveAttempt).
	Attempts loginWindow `bson:"login,omitempty" json:"-"`
}

type loginWindow struct {
	Start time.Time `bson:"start,omitempty"`
	N     int       `bson:"n,omitempty"`
}

// Principal is the user as a token carries them.
func (u *User) Principal() server.Principal {
	return server.Principal{UserID: u.ID, Role: u.Role, Name: u.Name, TownshipID: u.TownshipID, StationID: u.StationID, TokenVersion: u.TokenVersion}
}

// NewUser is what creating an account takes.
type NewUser struct {
	Username   string `json:"username"`
	Phone      string `json:"phone"`
	Password   string `json:"password"`
	Role       string `json:"role"`
	Name       string `json:"name"`
	TownshipID string `json:"township_id"`
	StationID  string `json:"station_id"`
}

var (
	usernameRe = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_.-]{2,31}$`)
	phoneRe    = regexp.MustCompile(`^1[3-9][0-9]{9}$`)
)

// ValidPhone reports whether s is an 11-digit mainland mobile number.
func ValidPhone(s string) bool { return phoneRe.MatchString(s) }

// Validate checks the fields; the township and station must be checked
// to exist by the caller.
func (n *NewUser) Validate() error {
	n.Username = strings.TrimSpace(n.Username)
	n.Phone = strings.TrimSpace(n.Phone)
	n.Name = strings.TrimSpace(n.Name)
	f := server.Fields{}
	f.Add(n.Username == "" && n.Phone == "", "username", "用户名和手机号至少填一个")
	f.Add(n.Username != "" && !usernameRe.MatchString(n.Username), "username", "3-32 位字母、数字、下划线，以字母开头")
	f.Add(n.Phone != "" && !ValidPhone(n.Phone), "phone", "应为 11 位手机号")
	if why := server.WeakPassword(n.Password, n.Username, n.Phone, n.Name); why != "" {
		f.Add(true, "password", why)
	}
	f.Add(!server.ValidRole(n.Role), "role", "角色无效")
	f.Add(!validName(n.Name), "name", "请填写姓名（50 字以内）")
	f.Add(n.Role == server.RoleOfficer && !store.ValidID(n.TownshipID), "township_id", "乡镇联络员须指定所属乡镇")
	f.Add(n.Role == server.RoleStation && !store.ValidID(n.StationID), "station_id", "服务站账号须指定服务站")
	return f.Err()
}

func validName(s string) bool {
	return s != "" && len([]rune(s)) <= 50 && !strings.ContainsAny(s, "\x00\r\n")
}

// argon2id parameters (OWASP: m=19 MiB, t=2, p=1).
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// HashPassword returns an argon2id hash in PHC string form.
func HashPassword(pw string) string {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		panic(err)
	}
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", argonMemory, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// CheckPassword compares pw with a hash made by HashPassword.
func CheckPassword(hash, pw string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m > 1<<20 || t > 10 || p == 0 {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash keeps a failed lookup as slow as a wrong password.
var dummyHash = HashPassword("nongxun-dummy-password")
