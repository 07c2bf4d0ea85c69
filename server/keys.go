package server

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"strings"
)

func decodeKey(s string) ([]byte, error) {
	k, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil || len(k) != 32 {
		return nil, errors.New("must be 64 hex characters (32 bytes)")
	}
	return k, nil
}

// keepKey reads a 32-byte hex key from path, creating it when missing.
func keepKey(path string) ([]byte, error) {
	if b, err := os.ReadFile(path); err == nil {
		return decodeKey(string(b))
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, []byte(hex.EncodeToString(k)+"\n"), 0o600); err != nil {
		return nil, err
	}
	return k, nil
}

// RandomToken returns n random bytes as URL-safe base32 text (no padding).
func RandomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789" // no I, O, 0, 1: read aloud safely
	out := make([]byte, 0, n*8/5+1)
	var acc uint
	var bits uint
	for _, x := range b {
		acc = acc<<8 | uint(x)
		bits += 8
		for bits >= 5 {
			bits -= 5
			out = append(out, alphabet[(acc>>bits)&31])
		}
	}
	if bits > 0 {
		out = append(out, alphabet[(acc<<(5-bits))&31])
	}
	return string(out)
}
