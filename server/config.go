package server

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Config is the process configuration, read once from the environment.
type Config struct {
	Port          int
	DataDir       string
	MongoURI      string
	AdminPassword string
	JWTSecret     []byte
	// PublicURL is the address the public reaches nongxun at; it goes into certificate QR codes.
	PublicURL string
	// MaxUpload is the largest file a user may upload, in bytes.
	MaxUpload int64
	// FontPath is a TrueType font with Chinese and Latin glyphs for PDFs.
	FontPath string
	// DataKey encrypts and keys the hashes of resident ID numbers (32 bytes).
	DataKey []byte
	// CertPrefix starts every certificate serial number (e.g. HZDS).
	CertPrefix string
	// Issuer is the issuing body printed on certificates.
	Issuer string
	// FundTotalFen is the programme's central fund in fen.
	FundTotalFen int64
	// LogLevel is debug, info, warn or error.
	LogLevel string
}

// Var describes one environment variable, for the README and for errors.
type Var struct{ Name, Default, Meaning string }

// Vars lists every variable LoadConfig reads.
var Vars = []Var{
	{"PORT", "8080", "listen port"},
	{"DATA_DIR", "./data", "embedded database, blobs, generated keys"},
	{"MONGODB_URI", "", "use this MongoDB instead of the embedded engine"},
	{"ADMIN_PASSWORD", "", "password of user admin when none exists (generated and printed once when unset)"},
	{"JWT_SECRET", "", "token signing key, at least 32 bytes (generated and kept in DATA_DIR when unset)"},
	{"DATA_KEY", "", "64 hex characters; key for ID-number encryption (generated and kept in DATA_DIR when unset)"},
	{"PUBLIC_URL", "http://localhost:PORT", "public address, printed in certificate QR codes"},
	{"MAX_UPLOAD_MB", "512", "largest upload in MiB"},
	{"FONT_PATH", "/usr/share/fonts/truetype/lxgw-wenkai/LXGWWenKai-Regular.ttf", "TrueType font with Chinese glyphs, for PDFs"},
	{"CERT_PREFIX", "HZDS", "certificate serial prefix"},
	{"CERT_ISSUER", "会泽县电子商务进农村综合示范项目办公室", "issuer printed on certificates"},
	{"FUND_TOTAL_FEN", "1500000000", "central fund total in fen (15,000,000 yuan)"},
	{"LOG_LEVEL", "info", "debug, info, warn or error"},
}

// LoadConfig reads and validates the configuration; getenv is os.Getenv
// in production. Errors name the variable at fault.
func LoadConfig(getenv func(string) string) (Config, error) {
	get := func(name string) string {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			for _, d := range Vars {
				if d.Name == name {
					return d.Default
				}
			}
		}
		return v
	}
	var c Config
	var err error
	if c.Port, err = strconv.Atoi(get("PORT")); err != nil || c.Port < 0 || c.Port > 65535 {
		return c, fmt.Errorf("PORT: %q is not a port number (0-65535)", get("PORT"))
	}
	c.DataDir = get("DATA_DIR")
	c.MongoURI = get("MONGODB_URI")
	if c.MongoURI != "" && !strings.HasPrefix(c.MongoURI, "mongodb://") && !strings.HasPrefix(c.MongoURI, "mongodb+srv://") {
		return c, fmt.Errorf("MONGODB_URI: must start with mongodb:// or mongodb+srv://")
	}
	c.AdminPassword = getenv("ADMIN_PASSWORD")
	if c.AdminPassword != "" {
		if why := WeakPassword(c.AdminPassword, "admin"); why != "" {
			return c, fmt.Errorf("ADMIN_PASSWORD: %s", why)
		}
	}
	if s := getenv("JWT_SECRET"); s != "" {
		if len(s) < 32 {
			return c, fmt.Errorf("JWT_SECRET: must be at least 32 bytes")
		}
		c.JWTSecret = []byte(s)
	}
	if s := getenv("DATA_KEY"); s != "" {
		k, err := decodeKey(s)
		if err != nil {
			return c, fmt.Errorf("DATA_KEY: %v", err)
		}
		c.DataKey = k
	}
	c.PublicURL = strings.TrimRight(get("PUBLIC_URL"), "/")
	if c.PublicURL == "http://localhost:PORT" {
		c.PublicURL = fmt.Sprintf("http://localhost:%d", c.Port)
	}
	if !strings.HasPrefix(c.PublicURL, "http://") && !strings.HasPrefix(c.PublicURL, "https://") {
		return c, fmt.Errorf("PUBLIC_URL: must start with http:// or https://")
	}
	mb, err := strconv.ParseInt(get("MAX_UPLOAD_MB"), 10, 64)
	if err != nil || mb < 1 || mb > 1<<14 {
		return c, fmt.Errorf("MAX_UPLOAD_MB: %q is not a size in MiB (1-16384)", get("MAX_UPLOAD_MB"))
	}
	c.MaxUpload = mb << 20
	c.FontPath = get("FONT_PATH")
	c.CertPrefix = get("CERT_PREFIX")
	if !validPrefix(c.CertPrefix) {
		return c, fmt.Errorf("CERT_PREFIX: use 1-12 letters, digits or '-'")
	}
	c.Issuer = get("CERT_ISSUER")
	if c.FundTotalFen, err = strconv.ParseInt(get("FUND_TOTAL_FEN"), 10, 64); err != nil || c.FundTotalFen <= 0 {
		return c, fmt.Errorf("FUND_TOTAL_FEN: %q is not a positive amount in fen", get("FUND_TOTAL_FEN"))
	}
	c.LogLevel = get("LOG_LEVEL")
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return c, fmt.Errorf("LOG_LEVEL: %q is not one of debug, info, warn, error", c.LogLevel)
	}
	return c, nil
}

func validPrefix(s string) bool {
	if len(s) < 1 || len(s) > 12 {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// EnsureSecrets fills JWTSecret and DataKey from DATA_DIR, generating and
// keeping them there (mode 0600) on first start. With MongoDB and several
// app nodes, set both variables instead so every node shares them.
func (c *Config) EnsureSecrets() error {
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return fmt.Errorf("DATA_DIR: %w", err)
	}
	if c.JWTSecret == nil {
		k, err := keepKey(filepath.Join(c.DataDir, "jwt.key"))
		if err != nil {
			return fmt.Errorf("JWT_SECRET: %w", err)
		}
		c.JWTSecret = k
	}
	if c.DataKey == nil {
		k, err := keepKey(filepath.Join(c.DataDir, "data.key"))
		if err != nil {
			return fmt.Errorf("DATA_KEY: %w", err)
		}
		c.DataKey = k
	}
	return nil
}
