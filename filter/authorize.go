package filter

import (
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/config"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/engine"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/jwt"
)

// authorize applies a route's authorization rules (routes[].authorization) to a session that
// is otherwise good. denied is true with the 403 to send: an HTML page for navigations, JSON
// for API requests. Bearer tokens are authorized in acceptBearer, with RFC 6750 answers.
//
// The claims are the session's kept claims (login.claims). The granted scopes are the access
// token's scope or scp claim when it is a JWT, else the scopes requested at login (RFC 6749
// 5.1: a token response without scope granted what was asked).
func (h *httpContext) authorize(route *config.Route, ls *liveSession) (f failure, denied bool) {
	if route == nil || route.Authorization == nil {
		return failure{}, false
	}
	a := route.Authorization
	var granted []string
	if len(a.Scopes) > 0 {
		granted = sessionScopes(ls.s.AccessToken, h.p.cfg.Scopes)
	}
	if a.Allows(granted, jsonClaims(ls.s.Claims)) {
		return failure{}, false
	}
	auditInfo("access_denied", "route", route.Name, "sub", ls.s.Subject, "corr", h.correlationID(), "path", h.req.PathOnly)
	return failure{status: 403, code: "access_denied", msg: "You are signed in, but you do not have access to this page."}, true
}

// sessionScopes returns the scopes granted with a session's access token.
func sessionScopes(accessToken string, requested []string) []string {
	if t, err := jwt.Parse(accessToken); err == nil {
		if s := engine.TokenScopes(t.Payload); s != nil {
			return s
		}
	}
	return requested
}

// missingScopes returns the scopes a requires that granted lacks.
func missingScopes(a *config.Authorization, granted []string) []string {
	var out []string
	for _, s := range a.Scopes {
		found := false
		for _, g := range granted {
			if g == s {
				found = true
				break
			}
		}
		if !found {
			out = append(out, s)
		}
	}
	return out
}

// jsonClaims looks claims up by path (config.LookupClaim) in a JSON object for
// config.Authorization.Allows: decoded values as encoding/json would give them.
func jsonClaims(raw []byte) func(name string) (any, bool) {
	return func(name string) (any, bool) {
		r := config.LookupClaim(raw, name)
		if !r.Exists() {
			return nil, false
		}
		return r.Value(), true
	}
}
