package filter

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/state"
)

// tokenEndpoint serves GET {prefix}/token (endpoints.token): the session's current tokens,
// refreshed first when they are about to expire, as JSON with their expiries. The answer is
// never cached (Cache-Control: no-store) and only same-origin requests get it: a page of
// another site must not read the user's tokens even where CORS is misconfigured upstream.
// The refresh token is included only with endpoints.token_include_refresh_token.
//
//	{"token_type":"Bearer","access_token":"…","expires_in":299,"expires_at":1700000000,
//	 "id_token":"…","id_token_expires_at":1700000000,"refresh_token":"…"}
//
// An ID token that has expired is left out, like from the forwarded headers.
func (h *httpContext) tokenEndpoint() types.Action {
	p := h.p
	h.api = 1
	if h.req.method != "GET" {
		return h.respond(failure{status: 405, code: "method_not_allowed", msg: "Use GET."})
	}
	if !h.sameOrigin() {
		count(p.broker.m.tokenEndpoint, "refused")
		proxywasm.LogWarnf("oidc-proxy: audit event=token_endpoint_refused corr=%s sec_fetch_site=%q origin=%q",
			h.correlationID(), h.req.secFetchSite, h.req.origin)
		return h.respond(failure{status: 403, code: "cross_origin", msg: "Tokens are only given to pages of this site."})
	}
	ls, err := h.loadSession()
	if err != nil {
		return h.signInRequired(err)
	}
	return h.freshen(ls, true, 0, func(ls *liveSession) types.Action {
		now := p.now()
		if !h.tokensUsable(ls, now) {
			return h.signInRequired(nil)
		}
		count(p.broker.m.tokenEndpoint, "served")
		proxywasm.LogInfof("oidc-proxy: audit event=token_endpoint corr=%s sub=%q", h.correlationID(), ls.s.Subject)
		withRefresh := p.cfg.Endpoints.TokenIncludeRefreshToken &&
			(!p.cfg.Endpoints.TokenRefreshOfflineOnly || grantsOffline(ls.s.AccessToken))
		return h.sendJSON(tokenJSON(ls.s, now, withRefresh))
	})
}

// sameOrigin reports whether the request comes from a page of its own origin: the browser
// says so (Sec-Fetch-Site: same-origin), or, from a browser that does not send Fetch
// Metadata, its Origin is the request's own. Anything else (cross-site, same-site, a
// navigation typed by the user, or no evidence at all) is refused.
func (h *httpContext) sameOrigin() bool {
	switch h.req.secFetchSite {
	case "same-origin":
		return true
	case "":
		o := h.req.origin
		return o != "" && o != "null" && strings.EqualFold(o, h.req.scheme+"://"+h.req.authority)
	}
	return false
}

// grantsOffline reports whether the session's access token says offline_access was granted
// (its "scope" or "scp", as sessionScopes reads them); an opaque access token says nothing.
func grantsOffline(accessToken string) bool {
	return slices.Contains(sessionScopes(accessToken, nil), "offline_access")
}

func tokenJSON(s *state.Session, now time.Time, withRefresh bool) []byte {
	var b strings.Builder
	b.Grow(len(s.AccessToken) + len(s.IDToken) + len(s.RefreshToken) + 192)
	b.WriteString(`{"token_type":"Bearer","access_token":`)
	b.WriteString(jsonString(s.AccessToken))
	if !s.AccessTokenExpiry.IsZero() {
		b.WriteString(`,"expires_in":`)
		b.WriteString(strconv.FormatInt(int64(max(s.AccessTokenExpiry.Sub(now), 0)/time.Second), 10))
		b.WriteString(`,"expires_at":`)
		b.WriteString(strconv.FormatInt(s.AccessTokenExpiry.Unix(), 10))
	}
	if s.IDToken != "" && now.Before(s.IDTokenExpiry) {
		b.WriteString(`,"id_token":`)
		b.WriteString(jsonString(s.IDToken))
		b.WriteString(`,"id_token_expires_at":`)
		b.WriteString(strconv.FormatInt(s.IDTokenExpiry.Unix(), 10))
	}
	if withRefresh && s.RefreshToken != "" {
		b.WriteString(`,"refresh_token":`)
		b.WriteString(jsonString(s.RefreshToken))
	}
	b.WriteByte('}')
	return []byte(b.String())
}
