package filter

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
	"github.com/tidwall/gjson"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/engine"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/jwt"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/oidc"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/state"
)

// Proactive refresh.
//
// Before a request is forwarded (or the token endpoint answers), a session whose access token
// expires within session.refresh_margin, or whose forwarded ID token does, is refreshed at the
// token endpoint: one refresh per session per Envoy (a single flight), its result re-sealed
// into the session cookie on the response. The request waits; it is never given a token that
// has expired:
//
//   - invalid_grant, a refreshed ID token that fails validation (OIDC Core 12.2), or another
//     definite refusal end the session: cookies cleared, navigations log in again, API calls
//     get 401;
//   - a transient failure (timeout, unreachable, 5xx, garbage) forwards the current tokens if
//     they have not expired yet (they were only within the margin), else answers 503 with
//     Retry-After (a page that reloads itself, for navigations).
//
// Session.IssuedAt is when the session was last issued: at login, then at each refresh. An ID
// token that was already within the margin when its session was issued was not renewed by
// that refresh (the provider returns none on refresh): it is not refreshed for again, and the
// session.id_token_expired policy applies to it.

const (
	// refreshPark is how long a refresh result stays parked for requests that still carry
	// the old cookie (sent before the response with the new one arrived).
	refreshPark = 60 * time.Second
	// endedPark is how long a refusal (invalid_grant) stays parked.
	endedPark = 10 * time.Second
	// maxRefreshHops bounds the refreshes one request may chain (a parked result that is
	// itself due again: each is a later issue of the session, so a chain ends by itself; the
	// bound is a safety net). A cookie k refreshes old walks k parked results (short tokens,
	// parked for refreshPark) before its real refresh.
	maxRefreshHops = 8
	// retryAfter is the Retry-After of a 503 after a transient refresh failure, in seconds.
	retryAfter = 2
)

// freshen runs then with the session's tokens fresh: refreshed first when due. It returns
// Pause while a refresh is under way; the request resumes (or gets an answer) when it ends.
func (h *httpContext) freshen(ls *liveSession, wantID bool, hops int, then func(*liveSession) types.Action) types.Action {
	p := h.p
	if !engine.RefreshDue(p.cfg.Session, ls.s, p.now(), wantID) {
		return then(ls)
	}
	if hops >= maxRefreshHops {
		if h.tokensUsable(ls, p.now()) {
			return then(ls)
		}
		// Never forward an expired token: the browser tries again in a moment.
		return h.retryLater(&flightResult{status: engine.FlightTransient, err: errString("filter: too many parked refresh results in a row, the last one expired")})
	}
	// Keyed by the refresh token and when the session was issued: requests that carry the same
	// cookie share one refresh, and a session refreshed since (by a provider that does not
	// rotate refresh tokens, the same refresh token) is refreshed anew, not handed the parked
	// result it came from again.
	// IssuedAt in whole seconds, as the cookie keeps it: the session a VM parked in memory and
	// the same session opened from a cookie or from shared data name the same flight.
	key := engine.NewFlightKey("oidc-proxy refresh v3", p.cfg.Provider.Issuer, ls.s.RefreshToken,
		strconv.FormatInt(ls.s.IssuedAt.Unix(), 10))
	return p.broker.flights.join(h.contextID, key, p.broker.refreshSpec(ls.s, key), func(res *flightResult, fresh bool) types.Action {
		return h.onRefreshed(ls, res, fresh, wantID, hops, then)
	})
}

// onRefreshed continues a request with the outcome of its session's refresh.
func (h *httpContext) onRefreshed(ls *liveSession, res *flightResult, fresh, wantID bool, hops int, then func(*liveSession) types.Action) types.Action {
	p := h.p
	if !fresh {
		count(p.broker.m.refresh, "reused")
	}
	switch res.status {
	case engine.FlightOK:
		nls := res.value.(*liveSession)
		if nls.cookies == nil { // opened from another VM's parked result: sealed once per VM
			chunks, err := p.sealSession(nls.s)
			if err != nil {
				logAt(levelError, "re-sealing the refreshed session failed", "corr", h.correlationID(), "err", err)
			}
			nls.cookies = chunks
		}
		h.writeSessionCookies(nls.s, nls.cookies)
		if fresh {
			return then(nls) // just issued: as fresh as the provider makes them
		}
		// Parked a while ago: it may be due again itself (a chain of refreshes, bounded).
		return h.freshen(nls, wantID, hops+1, then)
	case engine.FlightTransient:
		if h.tokensUsable(ls, p.now()) {
			auditInfo("refresh_deferred", "corr", h.correlationID(), "reason", flightReason(res), "action", "forwarding_valid_tokens")
			return then(ls)
		}
		if res.code == oidc.ErrorUseDPoPNonce {
			return h.respond(failure{status: 502, code: "token_endpoint", err: errString(flightReason(res)),
				msg: "The identity provider refused the proof of possession's nonce twice (use_dpop_nonce) while renewing your sign-in."})
		}
		return h.retryLater(res)
	}
	return h.endSession(res)
}

// endSession answers a request whose session cannot go on: cookies cleared, then a new login
// for a navigation, 401 for an API call.
func (h *httpContext) endSession(res *flightResult) types.Action {
	h.clearSessionCookies()
	auditInfo("session_ended", "corr", h.correlationID(), "reason", flightReason(res))
	if h.isAPI() {
		return h.respond(failure{status: 401, code: "unauthorized", msg: "The session has ended. Sign in again."})
	}
	return h.startLogin(h.req.Path, "")
}

// retryLater answers 503: the tokens could not be renewed just now and the ones the session
// has have expired. Browsers get a page that reloads itself.
func (h *httpContext) retryLater(res *flightResult) types.Action {
	return h.respond(failure{status: 503, code: "refresh_unavailable", retryAfter: retryAfter, reload: true, err: errString(flightReason(res)),
		msg: "The identity provider could not renew your sign-in just now. Trying again in a moment."})
}

// flightReason describes a failed flight for the log: the provider's code and the error.
func flightReason(res *flightResult) string {
	var parts []string
	if res.code != "" {
		parts = append(parts, "provider error "+strconv.Quote(res.code))
	}
	if res.err != nil {
		parts = append(parts, res.err.Error())
	}
	if len(parts) == 0 {
		return "failed in another worker"
	}
	return strings.Join(parts, ": ")
}

// refreshSpec is the flight that refreshes old.
func (b *broker) refreshSpec(old *state.Session, key engine.FlightKey) *flightSpec {
	return &flightSpec{
		kind:  "refresh",
		store: b.refreshStore,
		lease: b.lease,
		run: func(finish func(*flightResult, []byte, time.Duration)) {
			b.refresh(old, key, finish)
		},
		decode:     b.openParkedSession,
		counters:   b.m.refresh,
		replicated: true,
	}
}

// refresh calls the token endpoint with the session's refresh token.
func (b *broker) refresh(old *state.Session, key engine.FlightKey, finish func(*flightResult, []byte, time.Duration)) {
	p := b.p
	md := p.provider.md
	if !p.provider.ready() || md.TokenEndpoint == "" {
		b.refreshDone(old, key, &flightResult{status: engine.FlightTransient, err: errString("provider not ready: " + p.provider.notReadyReason())}, nil, finish)
		return
	}
	build := func() (oidc.Request, error) {
		return oidc.Refresh(md.TokenEndpoint, p.client, old.RefreshToken, nil), nil
	}
	req, _ := build() // cannot fail; callAS builds again (a new client assertion) for a nonce retry
	p.callAS(p.provider.backchannelTarget(), "refresh", req, build, func(r *calloutResponse, err error) {
		var tr *oidc.TokenResponse
		if err == nil {
			tr, err = p.parseToken(r)
		}
		p.metrics.callout("refresh", err, r)
		if err != nil {
			b.refreshDone(old, key, refreshFailure(err), nil, finish)
			return
		}
		b.adoptRefreshed(old, key, tr, false, finish)
	})
}

// refreshFailure classifies a failed refresh: invalid_grant and other definite refusals end
// the session; timeouts, 5xx and garbage are transient.
func refreshFailure(err error) *flightResult {
	status, code := engine.ClassifyRefresh(err)
	return &flightResult{status: status, code: code, err: err}
}

// adoptRefreshed validates a refresh answer and builds the new session: a returned ID token
// gets full validation and must keep iss, sub, azp (and auth_time) of the session's; without
// a new refresh token the old one is kept.
func (b *broker) adoptRefreshed(old *state.Session, key engine.FlightKey, tr *oidc.TokenResponse, retried bool, finish func(*flightResult, []byte, time.Duration)) {
	p := b.p
	now := p.now()
	ns := *old
	ns.AccessToken = tr.AccessToken
	exp, err := oidc.AccessTokenExpiry(tr, now, p.cfg.Session.DefaultAccessTokenLifetime)
	if err != nil { // refreshing again would get the same: the session ends
		b.refreshDone(old, key, &flightResult{status: engine.FlightEnded, err: err}, nil, finish)
		return
	}
	ns.AccessTokenExpiry = exp
	if tr.RefreshToken != "" {
		ns.RefreshToken = tr.RefreshToken
	}
	ns.IssuedAt = now
	if tr.IDToken != "" {
		claims, err := b.validateRefreshedID(old, tr)
		if errors.Is(err, jwt.ErrUnknownKey) && !retried {
			// The provider may have rotated its keys: refetch them once (from the tick,
			// rate limited per Envoy) and validate again.
			p.provider.refetch(now, p.contextID, func(error) { b.adoptRefreshed(old, key, tr, true, finish) })
			return
		}
		if err != nil {
			b.refreshDone(old, key, &flightResult{status: engine.FlightEnded, err: err}, nil, finish)
			return
		}
		ns.IDToken, ns.IDTokenExpiry = tr.IDToken, claims.Expiry
		// The new ID token's claims win; claims it lacks (from userinfo at login) are kept.
		ns.Claims = selectClaims(old.Claims, p.cfg.Login.Claims, claims.Raw)
		if sid := gjson.GetBytes(claims.Raw, "sid").String(); sid != "" {
			ns.SessionID = sid
		}
		if at := unixClaim(claims.Raw, "auth_time"); !at.IsZero() {
			ns.AuthTime = at
		}
	}
	// Sealed into its cookie chunks once, here: every waiter of this VM sends these.
	chunks, err := p.sealSession(&ns)
	if errors.Is(err, state.ErrTooLarge) {
		// It could never be stored: the browser would keep the old cookie and spend the
		// rotated refresh token again. The session ends; a new login explains (a 502).
		b.refreshDone(old, key, &flightResult{status: engine.FlightEnded, err: err}, nil, finish)
		return
	}
	var sealed string
	if err == nil {
		var plain []byte
		if plain, err = ns.MarshalBinary(); err == nil {
			sealed, err = p.sealer.Seal(state.PurposeSession, p.parkName("refreshed", key), plain, minTime(now.Add(refreshPark), ns.Expiry))
		}
	}
	if err != nil {
		b.refreshDone(old, key, &flightResult{status: engine.FlightFailed, err: err}, nil, finish)
		return
	}
	res := &flightResult{status: engine.FlightOK, value: &liveSession{s: &ns, headers: p.claimHeaders(ns.Claims), expiry: p.sessionEnd(&ns), cookies: chunks}}
	auditInfo("token_refreshed", "key", key.String()[:8], "sub", ns.Subject, "id_token", renewed(tr.IDToken != ""), "refresh_token", renewed(tr.RefreshToken != ""))
	b.refreshDone(old, key, res, []byte(sealed), finish)
}

// validateRefreshed checks a refreshed ID token against the session's (OIDC Core 12.2).
func (b *broker) validateRefreshedID(old *state.Session, tr *oidc.TokenResponse) (*jwt.Claims, error) {
	p := b.p
	if !p.provider.ready() {
		return nil, errString("provider keys not loaded")
	}
	v := &oidc.IDTokenValidator{Issuer: p.cfg.Provider.Issuer, ClientID: p.cfg.Client.ID,
		Verifier: p.provider.verifier, Now: p.now, Leeway: p.cfg.JWT.Leeway}
	var prev *jwt.Claims
	if tok, err := jwt.Parse(old.IDToken); err == nil {
		prev, _ = tok.Claims()
	}
	return v.ValidateRefreshed(tr.IDToken, tr.AccessToken, prev)
}

// refreshDone counts and logs a refresh's outcome and finishes its flight.
func (b *broker) refreshDone(old *state.Session, key engine.FlightKey, res *flightResult, payload []byte, finish func(*flightResult, []byte, time.Duration)) {
	keep := refreshPark
	outcome := "ok"
	switch res.status {
	case engine.FlightEnded:
		keep, outcome = endedPark, "invalid_grant"
		switch {
		case res.code != "":
		case errors.Is(res.err, oidc.ErrTokenExpired):
			outcome = "token_expired"
		case errors.Is(res.err, state.ErrTooLarge):
			outcome = "session_too_large"
		default:
			outcome = "id_token_rejected"
		}
	case engine.FlightFailed:
		keep, outcome = endedPark, "failed"
	case engine.FlightTransient:
		keep, outcome = minPark, "transient"
	}
	count(b.m.refresh, outcome)
	if res.status != engine.FlightOK {
		auditWarn("refresh_failed", "key", key.String()[:8], "sub", old.Subject, "outcome", outcome, "reason", flightReason(res))
	}
	finish(res, payload, keep)
}

// openParkedSession opens a refresh result parked by another VM (or by this one earlier).
func (b *broker) openParkedSession(k engine.FlightKey, payload []byte, now time.Time) (any, error) {
	p := b.p
	plain, err := p.sealer.Open(state.PurposeSession, p.parkName("refreshed", k), string(payload), now)
	if err != nil {
		return nil, err
	}
	s := new(state.Session)
	if err := s.UnmarshalBinary(plain); err != nil {
		return nil, err
	}
	return &liveSession{s: s, headers: p.claimHeaders(s.Claims), expiry: p.sessionEnd(s)}, nil
}

func renewed(b bool) string {
	if b {
		return "renewed"
	}
	return "kept"
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
