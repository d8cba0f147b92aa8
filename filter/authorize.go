package filter

import (
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/config"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/engine"
)

// authorize applies a route's authorization rules (routes[].authorization) to a session that
// is otherwise good. denied is true with the 403 to send: an HTML page for navigations, JSON
// for API requests. Bearer tokens are authorized in acceptBearer, with RFC 6750 answers.
//
// The claims are the session's kept claims (login.claims); the granted scopes are
// engine.SessionScopes'.
func (h *httpContext) authorize(route *config.Route, ls *liveSession) (f failure, denied bool) {
	if route == nil || route.Authorization == nil {
		return failure{}, false
	}
	a := route.Authorization
	var granted []string
	if len(a.Scopes) > 0 {
		granted = engine.SessionScopes(ls.s.AccessToken, h.p.cfg.Scopes)
	}
	if a.Allows(granted, engine.ClaimLookup(ls.s.Claims)) {
		return failure{}, false
	}
	auditInfo("access_denied", "route", route.Name, "sub", ls.s.Subject, "corr", h.correlationID(), "path", h.req.PathOnly)
	return failure{status: 403, code: "access_denied", msg: "You are signed in, but you do not have access to this page."}, true
}
