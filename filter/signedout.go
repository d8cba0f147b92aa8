package filter

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"strconv"
	"time"
)

// Sign-out that sticks. Sessions are stateless (sealed cookies), so a copy of a cookie taken
// before sign-out would open as well afterwards. The plugin therefore keeps the signed-out
// sessions in a deny list in shared data, until each would have expired, and refuses them
// on every VM of this Envoy from the moment the sign-out was served.
//
// The list is a replayGuard under its own prefix: the same bounded slots (64 keys, at most
// 4,096 live entries each, oldest dropped first), CAS writes, expired entries dropped on each
// write. An entry is 12 bytes of a digest of the session's identity, sessionRef (its random
// login id), and its expiry: no token, no subject.
//
// Other replicas do not share this Envoy's shared data. There the signed-out session keeps
// working at most until its access token expires: sign-out revoked the refresh token, so the
// next refresh fails and ends the session (docs/operations.md, "Sign-out").

func newSignedOutList(issuer string) *replayGuard {
	return &replayGuard{prefix: "oidc-proxy/" + issuer + "/signed-out/"}
}

// sessionRef names one login's session across its refreshes: its random login id, sealed in
// the cookie at login and kept by every refresh. Sessions sealed before login ids existed
// are named by their issuer, subject, the provider's sid and the session's expiry (fixed
// at login, in seconds), hashed.
func sessionRef(loginID, iss, sub, sid string, expiry time.Time) string {
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

func (ls *liveSession) ref() string {
	if ls.sref == "" {
		s := ls.s
		ls.sref = sessionRef(s.LoginID, s.Issuer, s.Subject, s.SessionID, s.Expiry)
	}
	return ls.sref
}

// seen reports whether value was recorded (use) and has not expired. It reads one slot.
func (g *replayGuard) seen(value string, now time.Time) bool {
	sum := sha256.Sum256([]byte(value))
	v, _, err := getSharedData(g.prefix + strconv.Itoa(int(sum[replayDigestLen])%replaySlots))
	if err != nil {
		return false
	}
	nowN := now.UnixNano()
	for off := 0; off+replayEntryLen <= len(v); off += replayEntryLen {
		e := v[off : off+replayEntryLen]
		if bytes.Equal(e[:replayDigestLen], sum[:replayDigestLen]) && int64(binary.BigEndian.Uint64(e[replayDigestLen:])) > nowN {
			return true
		}
	}
	return false
}
