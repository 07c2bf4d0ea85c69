package server

import (
	"errors"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/golang-jwt/jwt/v5"
)

// The six roles of API.md.
const (
	RoleAdmin   = "admin"
	RoleOfficer = "officer"
	RoleTrainer = "trainer"
	RoleTrainee = "trainee"
	RoleStation = "station"
	RoleAuditor = "auditor"
)

// Roles lists every role.
var Roles = []string{RoleAdmin, RoleOfficer, RoleTrainer, RoleTrainee, RoleStation, RoleAuditor}

// AccessTTL is how long an access token lives.
const AccessTTL = 15 * time.Minute

// Principal is who is calling: read from a verified access token.
type Principal struct {
	UserID     string `json:"id"`
	Role       string `json:"role"`
	Name       string `json:"name"`
	TownshipID string `json:"township_id,omitempty"`
	StationID  string `json:"station_id,omitempty"`
}

// Is reports whether the principal has one of roles.
func (p *Principal) Is(roles ...string) bool {
	for _, r := range roles {
		if p.Role == r {
			return true
		}
	}
	return false
}

// Township is the township the principal is confined to: the officer's
// own, or "" for roles that see the whole county.
func (p *Principal) Township() string {
	if p.Role == RoleOfficer {
		return p.TownshipID
	}
	return ""
}

// SeesTownship reports whether the principal may see records of township tid.
func (p *Principal) SeesTownship(tid string) bool {
	t := p.Township()
	return t == "" || t == tid
}

type claims struct {
	Role       string `json:"role"`
	Name       string `json:"name,omitempty"`
	TownshipID string `json:"twp,omitempty"`
	StationID  string `json:"stn,omitempty"`
	jwt.RegisteredClaims
}

// Tokens signs and verifies access tokens (HS256 only).
type Tokens struct {
	secret []byte
	now    func() time.Time
}

// NewTokens makes a signer with secret.
func NewTokens(secret []byte) *Tokens { return &Tokens{secret: secret, now: time.Now} }

// Issue signs an access token for p.
func (t *Tokens) Issue(p Principal) (string, error) { return t.IssueFor(p, AccessTTL) }

// IssueFor signs a token for p that lives ttl (the CLI's local token).
func (t *Tokens) IssueFor(p Principal, ttl time.Duration) (string, error) {
	now := t.now()
	c := claims{Role: p.Role, Name: p.Name, TownshipID: p.TownshipID, StationID: p.StationID,
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   p.UserID,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
			Issuer:    "nongxun",
		}}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(t.secret)
}

// Verify checks a token's signature (HS256 pinned), expiry and issuer.
func (t *Tokens) Verify(tok string) (*Principal, error) {
	var c claims
	_, err := jwt.ParseWithClaims(tok, &c, func(*jwt.Token) (any, error) { return t.secret, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithIssuer("nongxun"), jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(t.now))
	if err != nil {
		return nil, err
	}
	if c.Subject == "" || !validRole(c.Role) {
		return nil, errors.New("token lacks subject or role")
	}
	return &Principal{UserID: c.Subject, Role: c.Role, Name: c.Name, TownshipID: c.TownshipID, StationID: c.StationID}, nil
}

func validRole(r string) bool {
	for _, x := range Roles {
		if x == r {
			return true
		}
	}
	return false
}

// ValidRole reports whether r is one of the six roles.
func ValidRole(r string) bool { return validRole(r) }

const principalKey = "nx.principal"

// PublicAPI lists the API path prefixes that need no token (login,
// refresh, logout, certificate verification, the public disclosure data,
// self-registration through a session's live check-in code).
var PublicAPI = []string{"/api/v1/auth/", "/api/v1/verify/", "/api/v1/public/", "/api/v1/join/"}

// IsPublicAPI reports whether path needs no token.
func IsPublicAPI(path string) bool {
	for _, p := range PublicAPI {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// Authenticate requires a valid bearer access token on every API path but
// the public ones, and stores the caller's principal.
func (t *Tokens) Authenticate() fiber.Handler {
	optional := t.OptionalAuth()
	return func(c *fiber.Ctx) error {
		if IsPublicAPI(c.Path()) {
			return optional(c)
		}
		h := c.Get(fiber.HeaderAuthorization)
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || tok == "" {
			return Unauthorized("请先登录")
		}
		p, err := t.Verify(strings.TrimSpace(tok))
		if err != nil {
			if errors.Is(err, jwt.ErrTokenExpired) {
				return Unauthorized("登录已过期，请重新登录")
			}
			return Unauthorized("登录凭证无效")
		}
		c.Locals(principalKey, p)
		return c.Next()
	}
}

// OptionalAuth stores the principal when a valid token is sent, and lets
// the request through without one (for pages that are public but show more to staff).
func (t *Tokens) OptionalAuth() fiber.Handler {
	return func(c *fiber.Ctx) error {
		if tok, ok := strings.CutPrefix(c.Get(fiber.HeaderAuthorization), "Bearer "); ok {
			if p, err := t.Verify(strings.TrimSpace(tok)); err == nil {
				c.Locals(principalKey, p)
			}
		}
		return c.Next()
	}
}

// Require lets through only the given roles. Use it on every route.
func Require(roles ...string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		p := Who(c)
		if p == nil {
			return Unauthorized("请先登录")
		}
		if !p.Is(roles...) {
			return Forbidden("您的角色无权执行此操作")
		}
		return c.Next()
	}
}

// Who is the caller's principal, nil when none.
func Who(c *fiber.Ctx) *Principal {
	p, _ := c.Locals(principalKey).(*Principal)
	return p
}

// Staff are the roles that run training: admin, officer, trainer.
var Staff = []string{RoleAdmin, RoleOfficer, RoleTrainer}

// Readers are the staff roles plus the read-only auditor.
var Readers = []string{RoleAdmin, RoleOfficer, RoleTrainer, RoleAuditor}
