package filter

import (
	"bytes"
	"net/url"
	"slices"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/config"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/engine"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
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
	if h.req.Method != "GET" {
		return h.respond(failure{status: 405, code: "method_not_allowed", msg: "Use GET."})
	}
	if !h.sameOrigin() {
		count(p.broker.m.tokenEndpoint, "refused")
		auditWarn("token_endpoint_refused", "corr", h.correlationID(), "sec_fetch_site", h.req.SecFetchSite, "origin", h.req.Origin)
		return h.respond(failure{status: 403, code: "cross_origin", msg: "Tokens are only given to pages of this site."})
	}
	route, f := h.tokenExchangeRoute()
	if f != nil {
		return h.respond(*f)
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
		if route != nil {
			if f, denied := h.authorize(route, ls); denied {
				return h.respond(f)
			}
		}
		count(p.broker.m.tokenEndpoint, "served")
		auditInfo("token_endpoint", "corr", h.correlationID(), "sub", ls.s.Subject)
		withRefresh := p.cfg.Endpoints.TokenIncludeRefreshToken &&
			(!p.cfg.Endpoints.TokenRefreshOfflineOnly || grantsOffline(ls.s.AccessToken))
		body := engine.TokenJSON(ls.s, now, withRefresh)
		if p.dpopKey != nil {
			// A DPoP-bound token is useless without the plugin's key: say so (RFC 9449 5).
			body = dpopTokenType(body)
		}
		if route != nil {
			return h.exchangeFor(ls, route, func(x *exchangedToken) types.Action {
				return h.sendJSON(engine.WithExchanged(body, x.token, x.exp))
			})
		}
		return h.sendJSON(body)
	})
}

// tokenExchangeRoute is the route named by ?exchange= (a route with an exchange), whose
// exchanged token the answer includes; nil without the parameter. An unknown name is a 400.
func (h *httpContext) tokenExchangeRoute() (*config.Route, *failure) {
	if h.req.Query == "" {
		return nil, nil
	}
	q, err := url.ParseQuery(h.req.Query) // as sign_in reads rd=
	if err != nil {
		return nil, &failure{status: 400, code: "invalid_request", msg: "The query could not be read.", err: err}
	}
	name := q.Get("exchange")
	if name == "" {
		return nil, nil
	}
	for i := range h.p.cfg.Routes {
		if r := &h.p.cfg.Routes[i]; r.Name == name && r.Exchange != nil {
			h.route = r
			return r, nil
		}
	}
	return nil, &failure{status: 400, code: "invalid_request", msg: "No route with an exchange has that name."}
}

// sameOrigin reports whether the request comes from a page of its own origin
// (engine.SameOrigin).
func (h *httpContext) sameOrigin() bool {
	return engine.SameOrigin(h.req.SecFetchSite, h.req.Origin, h.req.Scheme, h.req.Authority)
}

// grantsOffline reports whether the session's access token says offline_access was granted
// (its "scope" or "scp", as engine.SessionScopes reads them); an opaque access token says nothing.
func grantsOffline(accessToken string) bool {
	return slices.Contains(engine.SessionScopes(accessToken, nil), "offline_access")
}

// dpopTokenType makes engine.TokenJSON's answer say token_type DPoP.
func dpopTokenType(body []byte) []byte {
	const bearer, dpop = `{"token_type":"Bearer",`, `{"token_type":"DPoP",`
	if !bytes.HasPrefix(body, []byte(bearer)) {
		return body
	}
	return append([]byte(dpop), body[len(bearer):]...)
}
