package filter

import (
	"encoding/hex"
	"errors"
	"io"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
	"github.com/tidwall/gjson"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/config"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/jwt"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/oidc"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/state"
)

// callback serves {prefix}/callback: checks the authorization response and the sealed state,
// redeems the code, validates the ID token and sets the session cookie.
//
// Checks run cheapest and most hostile first: size caps, then the state's seal and window,
// then the browser binding, then single use, and only then a callout to the provider.
func (h *httpContext) callback() types.Action {
	if oidc.ResponseMode(h.p.cfg.Login.ResponseMode).IsFormPost() {
		h.classifyAsGet()
		return h.formPostCallback() // formpost.go: reads the body, then callbackParams
	}
	return h.callbackParams(h.req.Query, false)
}

// classifyAsGet decides isAPI for a form post callback as for a GET: the provider's
// auto-submitted form is a top-level navigation (Sec-Fetch-Mode navigate) although it is a
// POST, which oidc.IsAPIRequest takes for an API call; its failures are HTML pages for the
// user, not JSON.
func (h *httpContext) classifyAsGet() {
	cfg := h.p.cfg
	info := oidc.RequestInfo{Method: "GET", Path: h.req.PathOnly, Accept: h.req.Accept,
		SecFetchMode: h.req.SecFetchMode, XRequestedWith: h.req.XRequestedWith, Authorization: h.req.Authorization}
	h.api = -1
	if oidc.IsAPIRequest(info, cfg.API.Detect, cfg.API.Prefixes) {
		h.api = 1
	}
}

// callbackParams handles the authorization response parameters raw (the query, or a form
// post's body) in the configured response mode. retried is set after a JWKS refetch for a
// JARM response signed with an unknown key.
func (h *httpContext) callbackParams(raw string, retried bool) types.Action {
	p := h.p
	cfg := p.cfg
	now := p.now()
	if len(raw) > cfg.Limits.MaxQueryBytes {
		return h.respond(failure{status: 400, code: "invalid_request", reason: "bad_callback", msg: "The sign-in response is too large."})
	}
	if !p.provider.readyNow(now) {
		return h.respond(failure{status: 503, code: "provider_not_ready", reason: "not_ready", retryAfter: 2,
			msg: "The identity provider's configuration is not loaded yet. Try again in a moment.", err: errString(p.provider.notReadyReason())})
	}
	if !h.ownHost() {
		return h.respond(unknownHost())
	}
	cb, err := h.parseCallback(raw)
	if errors.Is(err, jwt.ErrUnknownKey) && !retried {
		auditInfo("unknown_signing_key", "corr", h.correlationID(), "action", "jwks_refetch")
		p.provider.refetch(now, h.contextID, func(ferr error) {
			if ferr != nil {
				h.respond(keysFailure(ferr))
				return
			}
			h.callbackParams(raw, true)
		})
		return types.ActionPause
	}
	if err != nil {
		var ae *oidc.AuthorizationError
		if errors.As(err, &ae) {
			if act, ok := h.interactiveAfterSilent(ae); ok {
				return act
			}
			return h.respond(failure{status: 403, code: "provider_error", reason: "provider_error", err: err,
				msg: "The identity provider did not sign you in (" + ae.Code + ")."})
		}
		if errors.Is(err, oidc.ErrJARM) {
			auditWarn("jarm_rejected", "corr", h.correlationID(), "reason", err)
			return h.respond(failure{status: 400, code: "invalid_request", reason: "jarm", err: err, msg: "The identity provider's signed sign-in response was rejected."})
		}
		return h.respond(failure{status: 400, code: "invalid_request", reason: "bad_callback", err: err, msg: "The sign-in response is malformed."})
	}
	if len(cb.State) > cfg.Limits.MaxStateBytes {
		return h.respond(failure{status: 400, code: "invalid_state", reason: "bad_state", msg: "The sign-in state is too large."})
	}
	bindName := cfg.BindingCookieName()
	plain, err := p.sealer.Open(state.PurposeState, bindName, cb.State, now)
	if err != nil {
		if errors.Is(err, state.ErrExpired) {
			return h.respond(failure{status: 400, code: "expired_state", reason: "expired_state", err: err, msg: "The sign-in took too long. Please sign in again."})
		}
		return h.respond(failure{status: 400, code: "invalid_state", reason: "bad_state", err: err, msg: "The sign-in state is invalid."})
	}
	ls := new(state.LoginState)
	if err := ls.UnmarshalBinary(plain); err != nil || ls.IssuedAt.After(now.Add(cfg.JWT.Leeway)) {
		return h.respond(failure{status: 400, code: "invalid_state", reason: "bad_state", err: err, msg: "The sign-in state is invalid."})
	}
	// The sealed expiry is the sealing replica's view of login.state_lifetime; the window is
	// checked here too, so a shortened lifetime applies at once (issued_at has 1 s precision).
	if now.Sub(ls.IssuedAt) > cfg.Login.StateLifetime+time.Second {
		return h.respond(failure{status: 400, code: "expired_state", reason: "expired_state",
			err: errors.New("filter: login state issued before login.state_lifetime"), msg: "The sign-in took too long. Please sign in again."})
	}
	binding, ok := h.req.CookieValue(bindName)
	if !ok || !state.EqualBindingHash(state.BindingHash(binding), ls.BindingHash) {
		return h.respond(failure{status: 400, code: "invalid_state", reason: "binding",
			msg: "This sign-in was started in another browser or its cookie is missing. Please sign in again."})
	}
	replayed := func(err error) types.Action {
		return h.respond(failure{status: 400, code: "invalid_state", reason: "replay", err: err, msg: "This sign-in response was already used. Please sign in again."})
	}
	if err := p.replay.use(cb.State, ls.IssuedAt.Add(cfg.Login.StateLifetime), now); err != nil {
		return replayed(err)
	}
	if p.store != nil { // used once across replicas too
		return p.store.useOnce(h, cb.State, func() types.Action { return h.exchangeCode(ls, cb.Code) },
			func() types.Action {
				return replayed(errors.New("filter: login state already used on another replica"))
			})
	}
	return h.exchangeCode(ls, cb.Code)
}

// exchangeCode redeems the authorization code at the token endpoint.
func (h *httpContext) exchangeCode(ls *state.LoginState, code string) types.Action {
	p := h.p
	build := func() (oidc.Request, error) {
		return oidc.CodeExchange(p.provider.md.TokenEndpoint, p.client, code, ls.Verifier, h.redirectURI()), nil
	}
	req, _ := build() // cannot fail; callAS builds again (a new client assertion) for a nonce retry
	// The answer belongs to this request even when this runs after a JWKS refetch (a JARM
	// response signed by a new key), from the root context's callout: without the owner it
	// would be handed to the root context, which cannot answer or resume the browser's request.
	t := p.provider.backchannelTarget()
	t.owner = h.contextID
	p.callAS(t, "token", req, build, func(r *calloutResponse, err error) {
		h.onCodeExchanged(ls, r, err)
	})
	return types.ActionPause
}

// onCodeExchanged handles the token endpoint's answer to the code exchange.
func (h *httpContext) onCodeExchanged(ls *state.LoginState, r *calloutResponse, err error) {
	p := h.p
	if err != nil {
		p.metrics.callout("token", err, r)
		h.respond(unreachable(err, "token"))
		return
	}
	tr, err := p.parseToken(r)
	if err == nil && tr.IDToken == "" {
		err = errors.New("filter: token response has no id_token (is the openid scope granted?)")
	}
	p.metrics.callout("token", err, r)
	if err != nil {
		h.respond(tokenEndpointFailure(err))
		return
	}
	h.finishLogin(ls, tr, false)
}

// finishLogin validates the ID token (refetching the provider's keys once if it names an
// unknown key), fetches userinfo when configured, and completes the login (introspect.go:
// login.introspect, then establish).
func (h *httpContext) finishLogin(ls *state.LoginState, tr *oidc.TokenResponse, retried bool) {
	p := h.p
	v := &oidc.IDTokenValidator{Issuer: p.cfg.Provider.Issuer, ClientID: p.cfg.Client.ID,
		Verifier: p.provider.verifier, Now: p.now, Leeway: p.cfg.JWT.Leeway, MaxAge: p.cfg.Session.MaxAge,
		ACRValues: p.cfg.Login.ACRValues}
	claims, err := v.Validate(tr.IDToken, ls.Nonce, tr.AccessToken)
	if errors.Is(err, jwt.ErrUnknownKey) && !retried {
		auditInfo("unknown_signing_key", "corr", h.correlationID(), "action", "jwks_refetch")
		p.provider.refetch(p.now(), h.contextID, func(ferr error) {
			if ferr != nil {
				h.respond(keysFailure(ferr))
				return
			}
			h.finishLogin(ls, tr, true)
		})
		return
	}
	if err != nil {
		auditWarn("id_token_rejected", "corr", h.correlationID(), "reason", err)
		h.respond(idTokenFailure(err))
		return
	}
	md := p.provider.md
	if p.cfg.Login.Userinfo && md.UserinfoEndpoint != "" && tr.AccessToken != "" {
		t := p.provider.backchannelTarget()
		t.owner = h.contextID
		req, err := p.userinfoRequest(md.UserinfoEndpoint, tr.AccessToken) // dpop.go
		if err != nil {
			h.respond(userinfoFailure(err))
			return
		}
		dispatch(t, req, p.cfg.Limits.MaxTokenResponseBytes, p.now, func(r *calloutResponse, err error) {
			var info []byte
			if err == nil {
				info, err = oidc.ParseUserinfoResponse(r.status, r.contentType, r.body, p.cfg.Limits.MaxTokenResponseBytes, claims.Subject)
			}
			p.metrics.callout("userinfo", err, r)
			if err != nil {
				h.respond(userinfoFailure(err))
				return
			}
			h.completeLogin(ls, tr, claims, info)
		})
		return
	}
	h.completeLogin(ls, tr, claims, nil)
}

// establish seals the session into cookies and sends the browser back where it started.
func (h *httpContext) establish(ls *state.LoginState, tr *oidc.TokenResponse, claims *jwt.Claims, userinfo []byte) {
	p := h.p
	now := p.now()
	accessExp, err := oidc.AccessTokenExpiry(tr, now, p.cfg.Session.DefaultAccessTokenLifetime)
	if err != nil {
		h.respond(failure{status: 502, code: "provider_error", reason: "token_expired", err: err,
			msg: "The identity provider issued an access token that had already expired (its expires_in or exp). This is a problem at the provider (a clock or token lifetime setting); signing in again will not help until it is fixed."})
		return
	}
	var loginID [16]byte
	if _, err := io.ReadFull(p.rand, loginID[:]); err != nil {
		h.respond(failure{status: 500, code: "internal_error", reason: "session", err: err, msg: "The session could not be created."})
		return
	}
	s := &state.Session{
		Version:           1,
		LoginID:           hex.EncodeToString(loginID[:]),
		Subject:           claims.Subject,
		SessionID:         gjson.GetBytes(claims.Raw, "sid").String(),
		Issuer:            claims.Issuer,
		Claims:            selectClaims(claims.Raw, p.cfg.Login.Claims, userinfo),
		IDToken:           tr.IDToken,
		AccessToken:       tr.AccessToken,
		RefreshToken:      tr.RefreshToken,
		IDTokenExpiry:     claims.Expiry,
		AccessTokenExpiry: accessExp,
		AuthTime:          unixClaim(claims.Raw, "auth_time"),
		IssuedAt:          now,
		Expiry:            now.Add(p.cfg.Session.Lifetime),
	}
	if err := h.setSessionCookies(s); err != nil {
		h.respond(sessionStoreFailure(p.cfg, err))
		return
	}
	// The loop guard's count is kept: a loop in which every login succeeds but the session
	// is not seen afterwards (a cookie the browser drops) is the loop it exists to stop.
	p.metrics.loginSucceeded.Increment(1)
	auditInfo("login_succeeded", "corr", h.correlationID(), "sub", s.Subject)
	h.redirect(ls.ReturnPath)
}

// selectClaims copies the claims at the configured paths, and always "sub", into a new JSON
// object with the same nesting (config.SelectClaims). Each claim is taken from the first source
// that has it: userinfo, when given, is the fresher view of the user (its sub was checked
// against the ID token's), then the ID token.
func selectClaims(raw []byte, names []string, userinfo ...[]byte) []byte {
	return config.SelectClaims(names, append(userinfo[:len(userinfo):len(userinfo)], raw)...)
}

func unixClaim(raw []byte, name string) time.Time {
	r := gjson.GetBytes(raw, name)
	if r.Type != gjson.Number {
		return time.Time{}
	}
	return time.Unix(r.Int(), 0)
}

// unreachable maps a failed callout to a 504 (timeout) or 502 page.
func unreachable(err error, what string) failure {
	if errors.Is(err, errTimeout) {
		return failure{status: 504, code: "provider_timeout", reason: "timeout", err: err,
			msg: "The identity provider did not answer in time (" + what + "). Try again in a moment."}
	}
	return failure{status: 502, code: "provider_unreachable", reason: "unreachable", err: err,
		msg: "The identity provider could not be reached (" + what + "). Try again in a moment."}
}

// tokenEndpointFailure maps a token endpoint error to a 502 page, or a 503 when the provider
// said it is unavailable. The provider's error code is shown (it is from a fixed vocabulary);
// its description only goes to the log.
func tokenEndpointFailure(err error) failure {
	var te *oidc.TokenEndpointError
	if errors.As(err, &te) {
		if te.Status == 503 || te.Code == "temporarily_unavailable" {
			return failure{status: 503, code: "provider_unavailable", reason: "token_endpoint", err: err, retryAfter: 5,
				msg: "The identity provider is temporarily unavailable (" + te.Code + "). Try again in a moment."}
		}
		return failure{status: 502, code: "token_endpoint", reason: "token_endpoint", err: err,
			msg: "The identity provider refused to complete the sign-in (" + te.Code + ")."}
	}
	var he *oidc.HTTPError
	if errors.As(err, &he) && he.Status == 503 {
		return failure{status: 503, code: "provider_unavailable", reason: "token_endpoint", err: err, retryAfter: 5,
			msg: "The identity provider is temporarily unavailable. Try again in a moment."}
	}
	return failure{status: 502, code: "token_endpoint", reason: "token_endpoint", err: err,
		msg: "The identity provider's token endpoint gave an invalid answer."}
}

// keysFailure maps a failed JWKS refetch to a page.
func keysFailure(err error) failure {
	if errors.Is(err, errUnreachable) {
		return unreachable(err, "jwks")
	}
	return failure{status: 502, code: "provider_keys", reason: "id_token", err: err,
		msg: "The identity provider's signing keys could not be loaded. Try again in a moment."}
}

// userinfoFailure maps a failed userinfo step to a page.
func userinfoFailure(err error) failure {
	if errors.Is(err, errUnreachable) {
		return unreachable(err, "userinfo")
	}
	return failure{status: 502, code: "userinfo", reason: "userinfo", err: err,
		msg: "The identity provider's userinfo endpoint gave an invalid answer."}
}

// idTokenFailure maps a rejected ID token at login to a 401 page; session.max_age's two
// refusals, and login.acr_values', say what the provider got wrong.
func idTokenFailure(err error) failure {
	f := failure{status: 401, code: "invalid_id_token", reason: "id_token", err: err, msg: "The identity provider's ID token was rejected."}
	switch {
	case errors.Is(err, oidc.ErrAuthTimeMissing):
		f.msg = "The identity provider's ID token does not say when you signed in (auth_time), which this site requires (session.max_age)."
	case errors.Is(err, oidc.ErrMaxAgeExceeded):
		f.msg = "The identity provider's ID token says you signed in longer ago than this site allows (session.max_age): the provider did not ask you to sign in again."
	case errors.Is(err, oidc.ErrACR):
		f.msg = "The identity provider's ID token does not show the kind of sign-in this site requires (login.acr_values): sign in again, with the method the provider asks for."
	}
	return f
}
