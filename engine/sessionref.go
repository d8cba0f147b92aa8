package engine

import (
	"strconv"
	"time"
)

// SessionRef names one login's session across its refreshes, for the sign-out deny list: its
// random login id, sealed in the cookie at login and kept by every refresh. Sessions sealed
// before login ids existed are named by their issuer, subject, the provider's sid and the
// session's expiry (fixed at login, in seconds), hashed as flight keys are.
func SessionRef(loginID, iss, sub, sid string, expiry time.Time) string {
	if loginID != "" {
		return "login:" + loginID
	}
	return "v1:" + NewFlightKey("oidc-proxy session ref", iss, sub, sid, strconv.FormatInt(expiry.UnixNano(), 10)).String()
}
