package engine

import (
	"crypto/sha256"
	"encoding/binary"
	"time"
)

// SessionRef names one login's session across its refreshes, for the sign-out deny list: its
// random login id, sealed in the cookie at login and kept by every refresh. Sessions sealed
// before login ids existed are named by their issuer, subject, the provider's sid and the
// session's expiry (fixed at login, in seconds), hashed.
func SessionRef(loginID, iss, sub, sid string, expiry time.Time) string {
	if loginID != "" {
		return "login:" + loginID
	}
	h := sha256.New()
	for _, p := range []string{iss, sub, sid} {
		h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(p))))
		h.Write([]byte(p))
	}
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(expiry.UnixNano())))
	return string(h.Sum(nil))
}
