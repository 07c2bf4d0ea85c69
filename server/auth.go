package server

import (
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"sync"
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
	// TokenVersion is the account's token version when the token was
	// issued; a token of an older version is refused (see Guard).
	TokenVersion int64 `json:"-"`
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
	Version    int64  `json:"ver,omitempty"`
	jwt.RegisteredClaims
}

// Standing is what an account's record says of a verified token's holder.
type Standing int

// The standings a Guard reports.
const (
	// Good: the account may act.
	Good Standing = iota
	// MustChangePassword: the account's password was reset; every route
	// but POST /api/v1/me/password is forbidden until it sets a new one.
	MustChangePassword
)

// Guard checks, on every authenticated request, that the account behind a
// verified token may still act: it exists, is not disabled and the token
// is of its current token version. It returns an error (unauthorized) to
// refuse the token. The users package provides it.
type Guard func(ctx context.Context, p *Principal) (Standing, error)

// LocalSubject is the subject of the tokens IssueLocal makes (the CLI's).
const LocalSubject = "cli"

// Tokens signs and verifies access tokens (HS256 only).
type Tokens struct {
	secret []byte
	now    func() time.Time
	guard  Guard

	mu    sync.Mutex
	local map[[32]byte]time.Time // SHA-256 of a live local token's id → its expiry
}

// NewTokens makes a signer with secret.
func NewTokens(secret []byte) *Tokens {
	return &Tokens{secret: secret, now: time.Now, local: map[[32]byte]time.Time{}}
}

// SetGuard installs the account check every authenticated request passes
// (nil: none). Set it while wiring, before serving.
func (t *Tokens) SetGuard(g Guard) { t.guard = g }

// Guarded reports whether a guard is installed.
func (t *Tokens) Guarded() bool { return t.guard != nil }

// IssueLocal signs an admin token for this process's command line
// (principal LocalSubject) that lives ttl and is accepted only by this
// Tokens, in this process: its id is kept (hashed) in memory, so a restart
// or revoke ends it, whatever its expiry says. revoke is safe to call twice.
func (t *Tokens) IssueLocal(ttl time.Duration) (tok string, revoke func(), err error) {
	id := RandomToken(20)
	key := sha256.Sum256([]byte(id))
	now := t.now()
	c := claims{Role: RoleAdmin, Name: "命令行", RegisteredClaims: jwt.RegisteredClaims{
		Subject: LocalSubject, ID: id, Issuer: "nongxun",
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}}
	tok, err = jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(t.secret)
	if err != nil {
		return "", nil, err
	}
	t.mu.Lock()
	for k, exp := range t.local {
		if now.After(exp) {
			delete(t.local, k)
		}
	}
	t.local[key] = now.Add(ttl)
	t.mu.Unlock()
	return tok, func() {
		t.mu.Lock()
		delete(t.local, key)
		t.mu.Unlock()
	}, nil
}

func (t *Tokens) localLive(id string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	exp, ok := t.local[sha256.Sum256([]byte(id))]
	return ok && t.now().Before(exp)
}

// Issue signs an access token for p.
func (t *Tokens) Issue(p Principal) (string, error) { return t.IssueFor(p, AccessTTL) }

// IssueFor signs a token for p that lives ttl.
func (t *Tokens) IssueFor(p Principal, ttl time.Duration) (string, error) {
	if p.UserID == LocalSubject {
		return "", errors.New("tokens for the command line come from IssueLocal")
	}
	now := t.now()
	c := claims{Role: p.Role, Name: p.Name, TownshipID: p.TownshipID, StationID: p.StationID, Version: p.TokenVersion,
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
	if c.Subject == LocalSubject && !t.localLive(c.ID) {
		return nil, errors.New("local token not issued by this process, or revoked")
	}
	return &Principal{UserID: c.Subject, Role: c.Role, Name: c.Name, TownshipID: c.TownshipID, StationID: c.StationID, TokenVersion: c.Version}, nil
}

// admit verifies tok and asks the guard about its account. A token of the
// command line is not an account's: Verify alone decides it.
func (t *Tokens) admit(ctx context.Context, tok string) (*Principal, Standing, error) {
	p, err := t.Verify(tok)
	if err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) {
			return nil, Good, Unauthorized("登录已过期，请重新登录")
		}
		return nil, Good, Unauthorized("登录凭证无效")
	}
	if t.guard == nil || p.UserID == LocalSubject {
		return p, Good, nil
	}
	st, err := t.guard(ctx, p)
	if err != nil {
		return nil, Good, err
	}
	return p, st, nil
}

// PasswordChangePath is the one route an account that must change its
// password may call.
const PasswordChangePath = "/api/v1/me/password"

// RuleMustChangePassword names the refusal of an account that must first
// change its password, so the client can take the person there.
const RuleMustChangePassword = "must_change_password"

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
		p, st, err := t.admit(c.UserContext(), strings.TrimSpace(tok))
		if err != nil {
			return err
		}
		if st == MustChangePassword && !(c.Method() == fiber.MethodPost && c.Path() == PasswordChangePath) {
			return RuleBroken(CodeForbidden, RuleMustChangePassword, "密码已被重置，请先设置新密码")
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
			if p, st, err := t.admit(c.UserContext(), strings.TrimSpace(tok)); err == nil && st == Good {
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
