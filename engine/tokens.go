package engine

import (
	"strconv"
	"strings"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/config"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/state"
)

// TokenJSON is the body of {prefix}/token: the session's access token with its expiry, the
// ID token while it is valid, the refresh token only when withRefresh.
func TokenJSON(s *state.Session, now time.Time, withRefresh bool) []byte {
	var b strings.Builder
	b.Grow(len(s.AccessToken) + len(s.IDToken) + len(s.RefreshToken) + 192)
	b.WriteString(`{"token_type":"Bearer","access_token":`)
	b.WriteString(JSONString(s.AccessToken))
	if !s.AccessTokenExpiry.IsZero() {
		b.WriteString(`,"expires_in":`)
		b.WriteString(strconv.FormatInt(int64(max(s.AccessTokenExpiry.Sub(now), 0)/time.Second), 10))
		b.WriteString(`,"expires_at":`)
		b.WriteString(strconv.FormatInt(s.AccessTokenExpiry.Unix(), 10))
	}
	if s.IDToken != "" && now.Before(s.IDTokenExpiry) {
		b.WriteString(`,"id_token":`)
		b.WriteString(JSONString(s.IDToken))
		b.WriteString(`,"id_token_expires_at":`)
		b.WriteString(strconv.FormatInt(s.IDTokenExpiry.Unix(), 10))
	}
	if withRefresh && s.RefreshToken != "" {
		b.WriteString(`,"refresh_token":`)
		b.WriteString(JSONString(s.RefreshToken))
	}
	b.WriteByte('}')
	return []byte(b.String())
}

// SameOrigin reports whether a request comes from a page of its own origin: the browser
// says so (Sec-Fetch-Site: same-origin), or, from a browser that does not send Fetch
// Metadata, its Origin is the request's own (scheme://authority). Anything else
// (cross-site, same-site, a navigation typed by the user, or no evidence at all) is not.
func SameOrigin(secFetchSite, origin, scheme, authority string) bool {
	switch secFetchSite {
	case "same-origin":
		return true
	case "":
		return origin != "" && origin != "null" && strings.EqualFold(origin, scheme+"://"+authority)
	}
	return false
}

// CrossSite reports whether a request evidently comes from another site: the browser says
// so (Sec-Fetch-Site: cross-site), or, from a browser that sends no Fetch Metadata, its
// Origin is not the request's own (scheme://authority; "null" included: without a public
// suffix list the plugin cannot tell a sibling of the same site from another site). Without
// either header there is no evidence, and it is not.
func CrossSite(secFetchSite, origin, scheme, authority string) bool {
	if secFetchSite != "" {
		return secFetchSite == "cross-site"
	}
	return origin != "" && !strings.EqualFold(origin, scheme+"://"+authority)
}

// RefreshDue reports whether the session should be refreshed before use: refresh is on, it
// has a refresh token, and the access token (or, when wantID, a renewable ID token) expires
// within the margin. For access tokens that live less than twice the margin the margin is
// half their lifetime, so that a provider issuing tokens shorter than refresh_margin does not
// cause a refresh on every request.
func RefreshDue(sc config.Session, s *state.Session, now time.Time, wantID bool) bool {
	if !sc.Refresh || s.RefreshToken == "" {
		return false
	}
	if exp := s.AccessTokenExpiry; !exp.IsZero() {
		margin := min(sc.RefreshMargin, exp.Sub(s.IssuedAt)/2)
		if !now.Add(margin).Before(exp) {
			return true
		}
	}
	return wantID && IDTokenDue(s, now.Add(sc.RefreshMargin), sc.RefreshMargin)
}

// IDTokenDue reports whether the session's ID token expires by soon and could be renewed:
// it was not already within the margin when the session was issued.
func IDTokenDue(s *state.Session, soon time.Time, margin time.Duration) bool {
	return s.IDToken != "" && !soon.Before(s.IDTokenExpiry) && s.IDTokenExpiry.Add(-margin).After(s.IssuedAt)
}

// WithExchanged adds a route's exchanged token to a TokenJSON answer: "exchanged_token", and
// "exchanged_expires_at" when its expiry is known.
func WithExchanged(body []byte, token string, exp time.Time) []byte {
	if len(body) < 2 || body[len(body)-1] != '}' {
		return body
	}
	var b strings.Builder
	b.Grow(len(body) + len(token) + 64)
	b.Write(body[:len(body)-1])
	b.WriteString(`,"exchanged_token":`)
	b.WriteString(JSONString(token))
	if !exp.IsZero() {
		b.WriteString(`,"exchanged_expires_at":`)
		b.WriteString(strconv.FormatInt(exp.Unix(), 10))
	}
	b.WriteByte('}')
	return []byte(b.String())
}
