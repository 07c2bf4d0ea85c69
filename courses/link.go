package courses

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"
)

// linkTTL is how long a material's playback link stays valid.
const linkTTL = 6 * time.Hour

func deriveKey(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// linkSig signs a material id, the user it was issued to and an expiry.
func (s *Service) linkSig(materialID, userID string, exp int64) string {
	m := hmac.New(sha256.New, s.linkKey)
	m.Write([]byte(materialID + "|" + userID + "|" + strconv.FormatInt(exp, 10)))
	return hex.EncodeToString(m.Sum(nil))
}

func (s *Service) linkValid(materialID, userID, expS, sig string) bool {
	exp, err := strconv.ParseInt(expS, 10, 64)
	if err != nil || s.now().Unix() > exp {
		return false
	}
	return hmac.Equal([]byte(sig), []byte(s.linkSig(materialID, userID, exp)))
}
