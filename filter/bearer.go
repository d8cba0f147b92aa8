package filter

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
	"github.com/tidwall/gjson"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/config"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/engine"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/jwt"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/oidc"
)

// bearerRealm is the realm of every WWW-Authenticate challenge the filter sends.
const bearerRealm = "oidc-proxy"

// bearerState is a VM's bearer token machinery: the issuers' keys, the cache of verified
// tokens and the metrics.
type bearerState struct {
	issuers *issuers
	cache   *bearerCache
	rejects *engine.RejectCache
	m       *bearerMetrics
}

func newBearerState(cfg *config.Config, rootID uint32) *bearerState {
	m := newBearerMetrics()
	return &bearerState{issuers: newIssuers(cfg, m, rootID), cache: newBearerCache(bearerCacheEntries, bearerCacheBytes),
		rejects: engine.NewRejectCache(), m: m}
}

// bearer serves a request on a bearer or session_or_bearer route (RFC 6750). It returns
// handled false when the route also takes sessions and the request carries no bearer token:
// the session path serves it then. A request with more than one Authorization header is a
// 400 invalid_request, whatever they hold.
//
// A token is accepted when it is a JWS from one of the route's issuers, signed with a key
// of that issuer's JWKS under one of its algorithms, with an exp in the future, nbf and iat
// not in the future (within jwt.leeway) and an aud holding one of the issuer's audiences,
// of the kind the route takes (tokenKindAllowed: typ, and no ID tokens unless the route
// accepts them); then the route's authorization rules apply. Verified tokens are cached per
// VM by their exact bytes until their exp; refused ones by their hash for a minute
// (engine.RejectCache), so a forged token in a flood costs one verification a minute.
func (h *httpContext) bearer(route *config.Route) (action types.Action, handled bool) {
	if h.req.Authorizations > 1 {
		// Which one would count is up to each hop (the first, the last, all joined): a
		// credential that two parsers may read differently is refused (RFC 6750 3.1).
		h.p.bearer.m.reject("malformed")
		return h.respond(failure{challenge: true, status: 400, code: "invalid_request",
			msg: "The request has more than one Authorization header.", err: errBearerDuplicate}), true
	}
	token, present, ok := engine.BearerCredential(h.req.Authorization, h.p.cfg.Limits.MaxHeaderValueBytes)
	if ok {
		// A token verified before is found by its bytes first: it passed the token68 check
		// below when it was cached, and the same bytes pass it again.
		if v := h.p.bearer.cache.get(token, h.p.now()); v != nil {
			return h.cachedBearer(route, v), true
		}
		ok = engine.IsToken68(token)
	}
	switch {
	case !present && route.Auth == config.AuthSessionOrBearer:
		return types.ActionContinue, false
	case !present:
		h.p.bearer.m.reject("missing")
		return h.respond(failure{challenge: true, status: 401}), true
	case !ok:
		h.p.bearer.m.reject("malformed")
		return h.respond(failure{challenge: true, status: 400, code: "invalid_request",
			msg: "The Authorization header is not a well-formed Bearer token.", err: errBearerSyntax}), true
	}
	return h.checkBearer(route, token, false), true
}

var (
	errBearerSyntax    = errors.New("filter: malformed Authorization header")
	errBearerDuplicate = errors.New("filter: more than one Authorization header")
)

// checkBearer verifies a token (or finds it in the cache) and forwards or rejects the
// request. retried is set after a JWKS refetch for an unknown kid, which happens once.
func (h *httpContext) checkBearer(route *config.Route, token string, retried bool) types.Action {
	p := h.p
	now := p.now()
	if v := p.bearer.cache.get(token, now); v != nil {
		return h.cachedBearer(route, v)
	}
	if !retried {
		p.bearer.m.miss.Increment(1)
	}
	it, err := p.bearer.issuerFor(route, token)
	if err != nil {
		p.bearer.m.reject(rejectReason(err))
		return h.respond(invalidToken(err))
	}
	if !it.readyNow(p.now()) {
		p.bearer.m.reject("not_ready")
		return h.respond(failure{challenge: true, status: 503, code: "temporarily_unavailable", retryAfter: 2,
			msg: "The token issuer's keys are not available yet. Try again in a moment.", err: it.notReadyReason()})
	}
	key := engine.RejectKey(token)
	if err := p.bearer.rejects.Get(key, it.verifier, now); err != nil {
		// Refused less than a minute ago with these keys: the same answer, without the crypto.
		p.bearer.m.rejectHit.Increment(1)
		p.bearer.m.reject(rejectReason(err))
		return h.respond(invalidToken(err))
	}
	v, err := verifyBearer(it, token, now, p.cfg.JWT.Leeway)
	if errors.Is(err, jwt.ErrUnknownKey) && !retried {
		auditInfo("unknown_signing_key", "issuer", it.bi.Name, "corr", h.correlationID(), "action", "jwks_refetch")
		it.refetch(now, h.contextID, func(error) {
			if h.checkBearer(route, token, true) == types.ActionContinue {
				if err := proxywasm.ResumeHttpRequest(); err != nil {
					logAt(levelWarn, "resuming a request failed", "corr", h.correlationID(), "err", err)
				}
			}
		})
		return types.ActionPause
	}
	if err != nil {
		p.bearer.rejects.Put(key, it.verifier, err, now)
		p.bearer.m.reject(rejectReason(err))
		return h.respond(invalidToken(err))
	}
	v.headers = p.claimHeaders(v.claims)
	if now.Before(v.expiry) { // a token accepted within the leeway after its exp is not kept
		p.bearer.cache.put(v)
	}
	return h.acceptBearer(route, v)
}

// cachedBearer serves a request whose token is in the cache of verified tokens.
func (h *httpContext) cachedBearer(route *config.Route, v *verifiedToken) types.Action {
	p := h.p
	p.bearer.m.hit.Increment(1)
	if !acceptsIssuer(route, v.issuer) {
		p.bearer.m.reject("issuer")
		return h.respond(invalidToken(errForeignIssuer))
	}
	return h.acceptBearer(route, v)
}

var (
	errForeignIssuer = engine.ErrForeignIssuer
	errNoIssuer      = engine.ErrNoIssuer
)

// issuerFor picks the route's issuer that a token claims to be from. With one issuer there is
// nothing to choose (the signature and the iss check decide); with several the unverified iss
// claim selects the keys to verify with.
func (b *bearerState) issuerFor(route *config.Route, token string) (*issuer, error) {
	if len(route.BearerIssuers) == 1 {
		return b.issuers.of(route.BearerIssuers[0]), nil
	}
	t, err := jwt.Parse(token)
	if err != nil {
		return nil, err
	}
	iss := gjson.GetBytes(t.Payload, "iss")
	if iss.Type != gjson.String {
		return nil, errNoIssuer
	}
	for _, bi := range route.BearerIssuers {
		if bi.Issuer == iss.Str {
			return b.issuers.of(bi), nil
		}
	}
	return nil, errForeignIssuer
}

// verifyBearer checks a token's signature with the issuer's keys and its claims: iss equal to
// the issuer, aud holding one of its audiences, exp required and in the future, nbf and iat
// not in the future, all within leeway.
func verifyBearer(it *issuer, token string, now time.Time, leeway time.Duration) (*verifiedToken, error) {
	t, err := it.verifier.Verify(token)
	if err != nil {
		return nil, err
	}
	c, err := t.Claims()
	if err != nil {
		return nil, err
	}
	clock := func() time.Time { return now }
	for _, aud := range it.bi.Audiences {
		err = c.Validate(jwt.Expected{Issuer: it.bi.Issuer, Audience: aud, Now: clock, Leeway: leeway, RequireExpiry: true})
		if !errors.Is(err, jwt.ErrAudience) {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	return &verifiedToken{token: token, issuer: it.bi, expiry: c.Expiry, claims: c.Raw, scopes: engine.TokenScopes(c.Raw),
		typ: t.Header.Type, idToken: oidc.IsIDToken(t.Header.Type, c.Raw), cnf: engine.TokenConfirmation(c.Raw)}, nil
}

var errIDTokenAsBearer = engine.ErrIDTokenAsBearer

// tokenKindAllowed applies the route's rules on what kind of JWT it takes (RFC 8725 3.11):
// with require_typ, exactly that typ; without, no typ or JWT or at+jwt; and no ID token
// (oidc.IsIDToken) unless accept_id_tokens. It runs per request, after the cache, since
// routes sharing an issuer may differ.
func tokenKindAllowed(route *config.Route, v *verifiedToken) error {
	h := jwt.Header{Type: v.typ}
	var err error
	if route.RequireTyp != "" {
		err = h.CheckType(true, route.RequireTyp)
	} else {
		err = h.CheckType(false, jwt.TypeJWT, jwt.TypeAccessToken)
	}
	switch {
	case err != nil:
		return err
	case v.idToken && !route.AcceptIDTokens:
		return errIDTokenAsBearer
	}
	return nil
}

// senderConstraint refuses a sender-constrained token presented as a Bearer token (RFC 9449
// 7.2, RFC 8705 3): a DPoP-bound one (cnf.jkt) always, since the plugin verifies no DPoP
// proofs on its bearer routes; a certificate-bound one (cnf.x5t#S256) unless this connection's
// client certificate is the one it names (Envoy's connection.sha256_peer_certificate_digest,
// hex). The property is read only for such tokens: nothing is added to the common path.
func (h *httpContext) senderConstraint(v *verifiedToken) error {
	if !v.cnf.Bound() {
		return nil
	}
	var digest string
	if v.cnf.X5T != nil && !v.cnf.JKT {
		if b, err := proxywasm.GetProperty([]string{"connection", "sha256_peer_certificate_digest"}); err == nil {
			digest = string(b)
		}
	}
	return engine.CheckConfirmation(v.cnf, digest)
}

func acceptsIssuer(route *config.Route, bi *config.BearerIssuer) bool {
	for _, r := range route.BearerIssuers {
		if r == bi {
			return true
		}
	}
	return false
}

// acceptBearer applies the route's authorization rules to a verified token and forwards the
// request with the claim headers (and the access token header, when configured).
func (h *httpContext) acceptBearer(route *config.Route, v *verifiedToken) types.Action {
	p := h.p
	if err := tokenKindAllowed(route, v); err != nil {
		p.bearer.m.reject("type")
		return h.respond(invalidToken(err))
	}
	if err := h.senderConstraint(v); err != nil {
		p.bearer.m.reject("sender_constrained")
		return h.respond(invalidToken(err))
	}
	if a := route.Authorization; a != nil {
		if missing := engine.MissingScopes(a.Scopes, v.scopes); len(missing) > 0 {
			p.bearer.m.denied.Increment(1)
			return h.respond(failure{challenge: true, status: 403, code: "insufficient_scope", scope: strings.Join(a.Scopes, " "),
				msg: "The token lacks a scope this resource requires.", err: errInsufficientScope})
		}
		if !a.Allows(v.scopes, engine.ClaimLookup(v.claims)) {
			p.bearer.m.denied.Increment(1)
			return h.respond(failure{challenge: true, status: 403, code: "access_denied",
				msg: "The token's claims do not allow access to this resource.", err: errClaimsDenied})
		}
	}
	p.bearer.m.accepted.Increment(1)
	for _, kv := range v.headers {
		h.setRequestHeader(kv[0], kv[1])
	}
	if hdr := p.cfg.Forward.AccessTokenHeader; hdr != "" {
		h.setRequestHeader(hdr, v.token)
	}
	return types.ActionContinue
}

// invalidToken maps a verification error to a 401 invalid_token with a fixed description
// (tokenErrors): an RFC 6750 answer.
func invalidToken(err error) failure {
	_, desc := classifyTokenError(err)
	return failure{challenge: true, status: 401, code: "invalid_token", msg: desc, err: err}
}

// classifyTokenError: the metric reason and the fixed description of a verification error
// (engine.ClassifyTokenError's table).
var classifyTokenError = engine.ClassifyTokenError

func describeTokenError(err error) string { _, d := classifyTokenError(err); return d }

// rejectReason names a verification error for the metrics (tokenErrors).
func rejectReason(err error) string { r, _ := classifyTokenError(err); return r }

// bearerRespond is respond for a failure with a challenge: an RFC 6750 response as JSON: 401 with a challenge (and an error when
// a token was sent), 403 insufficient_scope with the scopes needed, or 400 / 503. It logs
// one audit line with the correlation id; the token is never in it.
func (h *httpContext) bearerRespond(f failure) types.Action {
	corr := h.correlationID()
	if f.status == 401 || f.status == 403 || f.status == 400 {
		kv := []any{"status", f.status, "error", orDash(f.code), "corr", corr, "method", h.req.Method, "path", h.req.PathOnly}
		if f.err != nil {
			kv = append(kv, "reason", f.err)
		}
		auditInfo("bearer_rejected", kv...)
	} else {
		logAt(levelWarn, f.code, "status", f.status, "corr", corr, "path", h.req.PathOnly, "err", f.err)
	}
	headers := [][2]string{{"cache-control", "no-store"}, {"x-correlation-id", corr}, {"content-type", "application/json"}}
	if f.status == 401 || f.status == 400 || f.status == 403 && f.code == "insufficient_scope" {
		challenge := oidc.WWWAuthenticate(bearerRealm, f.code, f.msg)
		if f.scope != "" {
			challenge += `, scope="` + f.scope + `"` // scope tokens: no '"' or '\' (config checks)
		}
		headers = append(headers, [2]string{"www-authenticate", challenge})
	}
	if f.retryAfter > 0 {
		headers = append(headers, [2]string{"retry-after", strconv.Itoa(f.retryAfter)})
	}
	headers = append(headers, h.setCookies...)
	code, desc := f.code, f.msg
	if code == "" {
		code, desc = "unauthorized", "A bearer token is required."
	}
	return h.sendLocal(f.status, headers, engine.ErrorJSON(code, desc, corr))
}

var (
	errInsufficientScope = errors.New("filter: token lacks a required scope")
	errClaimsDenied      = errors.New("filter: token claims do not satisfy the route's rules")
)

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
