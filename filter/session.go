package filter

import (
	"errors"
	"fmt"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/config"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/engine"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/oidc"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/state"
)

var (
	errNoSession      = errors.New("filter: no session cookie")
	errSessionExpired = errors.New("filter: session expired")
	// errMaxAgePassed: session.max_age has passed since the user authenticated (or the
	// session carries no auth_time to tell).
	errMaxAgePassed = fmt.Errorf("%w: session.max_age since auth_time passed", errSessionExpired)
	errSignedOut    = errors.New("filter: session signed out")
)

// identityHeaders is the set of request headers only the filter may set, in their normal
// form (engine.HeaderKey: a configured x_user also takes x-user and X-User off requests).
func (p *pluginContext) identityHeaders() map[string]bool {
	if p.identity != nil {
		return p.identity
	}
	m := make(map[string]bool, len(p.cfg.Forward.Remove))
	for _, n := range p.cfg.Forward.Remove { // config's one list
		m[engine.HeaderKey(n)] = true
	}
	p.identity = m
	return m
}

// authenticate serves a request that needs a logged-in user: the session's tokens are
// refreshed first when they are about to expire (see refresh.go), then forwarded, and the
// route's on-behalf-of exchange runs (see exchange.go).
func (h *httpContext) authenticate() types.Action {
	ls, err := h.loadSession()
	if err != nil {
		return h.signInRequired(err)
	}
	route := h.exchangeRoute()
	wantID := h.p.cfg.Forward.IDTokenHeader != "" || route != nil && route.Exchange.SubjectTokenType == oidc.TokenTypeIDToken
	if !engine.RefreshDue(h.p.cfg.Session, ls.s, h.p.now(), wantID) {
		// What freshen does first, without building its continuation (an allocation).
		return h.forwardSession(ls, route)
	}
	return h.freshen(ls, wantID, 0, func(ls *liveSession) types.Action { return h.forwardSession(ls, route) })
}

// forwardSession forwards a request with its session's (fresh) tokens.
func (h *httpContext) forwardSession(ls *liveSession, route *config.Route) types.Action {
	now := h.p.now()
	if !h.tokensUsable(ls, now) {
		return h.signInRequired(nil)
	}
	if f, denied := h.authorize(h.route, ls); denied {
		return h.respond(f)
	}
	if h.reauthenticate(ls.s, now) {
		count(h.p.broker.m.idToken, "reauthenticate")
		auditInfo("id_token_reauthenticate", "corr", h.correlationID(), "sub", ls.s.Subject)
		return h.startLogin(h.req.Path, "none")
	}
	h.forward(ls, now)
	if h.req.Upgrade != "" {
		h.p.sockets.opened(h.contextID, ls)
	}
	if route != nil {
		return h.exchange(ls, route)
	}
	return types.ActionContinue
}

// signInRequired answers a request without a usable session (err says why, nil when the
// session's tokens have expired and could not be refreshed): 401 for API calls, a login for
// navigations.
func (h *httpContext) signInRequired(err error) types.Action {
	if err != nil && !errors.Is(err, errNoSession) {
		auditInfo("session_rejected", "reason", err, "path", h.req.PathOnly)
	}
	if h.isAPI() {
		msg := "Authentication required."
		if err == nil || errors.Is(err, errSessionExpired) {
			msg = "The session has expired."
		}
		return h.respond(failure{status: 401, code: "unauthorized", msg: msg})
	}
	return h.startLogin(h.req.Path, "")
}

// tokensUsable reports whether the session can be forwarded as it is (after any refresh):
// its access token, when it has one with an expiry, has not expired. An expired access token
// is never forwarded: it means a new login.
func (h *httpContext) tokensUsable(ls *liveSession, now time.Time) bool {
	s := ls.s
	return s.AccessTokenExpiry.IsZero() || now.Before(s.AccessTokenExpiry)
}

// reauthenticate reports whether a navigation should do a silent login (prompt=none) to get
// a new ID token, under session.id_token_expired "reauthenticate": the forwarded ID token has
// expired, or is about to and no refresh can renew it.
func (h *httpContext) reauthenticate(s *state.Session, now time.Time) bool {
	cfg := h.p.cfg
	if cfg.Session.IDTokenExpired != config.IDTokenReauthenticate || cfg.Forward.IDTokenHeader == "" || s.IDToken == "" || h.isAPI() {
		return false
	}
	if !now.Before(s.IDTokenExpiry) {
		return true
	}
	canRefresh := cfg.Session.Refresh && s.RefreshToken != ""
	return !canRefresh && engine.IDTokenDue(s, now.Add(cfg.Session.RefreshMargin), cfg.Session.RefreshMargin)
}

// sessionEnd is when s stops being usable: its expiry, or sooner under session.max_age.
func (p *pluginContext) sessionEnd(s *state.Session) time.Time {
	return engine.SessionEnd(s, p.cfg.Session.MaxAge)
}

// loadSession reassembles the session cookie and returns the open session, from the per-VM
// cache when these exact cookie bytes were seen before.
func (h *httpContext) loadSession() (*liveSession, error) {
	p := h.p
	if h.req.Cookie == "" {
		return nil, errNoSession
	}
	if len(h.req.Cookie) > p.cfg.Limits.MaxCookieBytes {
		return nil, errors.New("filter: cookie header too large")
	}
	single, joined, err := p.cache.join(p.sessions, h.req.CookieValue)
	if err != nil {
		if errors.Is(err, state.ErrNoCookie) {
			return nil, errNoSession
		}
		return nil, err
	}
	now := p.now()
	var ls *liveSession
	if single != "" {
		ls = p.cache.get(single, now)
	} else {
		ls = p.cache.getBytes(joined, now)
	}
	if ls != nil {
		p.metrics.sessionHit.Increment(1)
		if p.signedOut.refuses(ls, now) {
			return nil, errSignedOut
		}
		return ls, nil
	}
	p.metrics.sessionMiss.Increment(1)
	sealed := single
	if sealed == "" {
		sealed = string(joined)
	}
	plain, err := p.sealer.Open(state.PurposeSession, p.cfg.Cookie.Name, sealed, now)
	if err != nil {
		return nil, err
	}
	s := new(state.Session)
	if err := s.UnmarshalBinary(plain); err != nil {
		return nil, err
	}
	end := p.sessionEnd(s)
	if !now.Before(end) {
		if end.Before(s.Expiry) {
			p.metrics.sessionMaxAge.Increment(1)
			return nil, errMaxAgePassed
		}
		return nil, errSessionExpired
	}
	ls = &liveSession{s: s, headers: p.claimHeaders(s.Claims), expiry: end}
	if p.signedOut.refuses(ls, now) {
		return nil, errSignedOut
	}
	p.cache.put(sealed, ls)
	return ls, nil
}

// forward sets the identity headers for the upstream: claims, and the tokens as configured.
// An ID token is forwarded only while it is valid: an expired one is left out (and counted).
func (h *httpContext) forward(ls *liveSession, now time.Time) {
	f := h.p.cfg.Forward
	for _, kv := range ls.headers {
		h.setRequestHeader(kv[0], kv[1])
	}
	s := ls.s
	if f.AccessTokenHeader != "" && s.AccessToken != "" {
		h.setRequestHeader(f.AccessTokenHeader, s.AccessToken)
	}
	if f.AuthorizationBearer && s.AccessToken != "" {
		h.setRequestHeader("authorization", "Bearer "+s.AccessToken)
	}
	if h.route != nil && h.route.UpstreamDPoP {
		h.upstreamDPoP(s.AccessToken, h.route.UpstreamURL) // dpop.go
	}
	if f.IDTokenHeader != "" && s.IDToken != "" {
		if now.Before(s.IDTokenExpiry) {
			h.setRequestHeader(f.IDTokenHeader, s.IDToken)
		} else {
			count(h.p.broker.m.idToken, "omitted")
		}
	}
}

func (h *httpContext) setRequestHeader(name, value string) {
	if err := proxywasm.ReplaceHttpRequestHeader(name, value); err != nil {
		logAt(levelWarn, "setting a header failed", "header", name, "err", err)
	}
}

// claimHeaders computes the configured claim headers from the session's claims JSON
// (engine.ClaimHeaders).
func (p *pluginContext) claimHeaders(claims []byte) [][2]string {
	return engine.ClaimHeaders(p.cfg.Forward.Claims, claims)
}
