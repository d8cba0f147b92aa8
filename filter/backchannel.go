package filter

import (
	"errors"
	"strconv"
	"strings"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/jwt"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/oidc"
)

// Back-channel logout (OpenID Connect Back-Channel Logout 1.0): the provider posts a logout
// token to {prefix}/backchannel_logout when a user's session there ends. The token is
// verified like an ID token (oidc.LogoutTokenValidator), its jti is used once on this Envoy
// (logoutJTIs, the login state's replay guard under another prefix), and the sessions it
// names go into the sign-out deny list by sid or sub (signedout.go addProviderLogout): from
// then on every VM of this Envoy refuses them. The answer is 200 with Cache-Control:
// no-store, or 400 with an RFC 6749 error JSON (section 2.8); 503 when the provider's keys
// are not loaded yet or shared data fails, so the provider may retry.

// Outcomes of a back-channel logout request (metric oidc_proxy.backchannel_logout.<outcome>).
var backchannelOutcomes = []string{"ok", "invalid", "replayed", "unavailable"}

// newLogoutJTIs is the single-use record of logout tokens' jti on this Envoy.
func newLogoutJTIs(issuer string) *replayGuard {
	return &replayGuard{prefix: sharedLogoutJTI.slots(issuer), set: replaySet}
}

// backchannelLogout starts serving the endpoint: only a POST with a body, which is read by
// OnHttpRequestBody into backchannelBody.
//
// With endpoints.allow_on_headers_stop_iteration the headers are held until the body is
// answered: nothing of the request reaches the upstream. Without it they must continue for
// the body to come (Envoy's default turns a pause of the request headers into a stop of the
// whole stream, body callbacks included: holdbody.go), so the router may already start the
// upstream request with these headers; the local answer given at the end of the body resets
// it before any body byte goes upstream. Every check that the headers can decide is made
// here first, so only a plausible request gets that far.
func (h *httpContext) backchannelLogout(endOfStream bool) types.Action {
	if h.req.Method != "POST" {
		h.p.metrics.backchannel("invalid")
		return h.logoutAnswer(405, errors.New("filter: back-channel logout needs a POST"), [2]string{"allow", "POST"})
	}
	if endOfStream {
		return h.logoutRejected(errors.New("filter: back-channel logout request without a body"))
	}
	// Read now: once the headers continue, Envoy no longer shows them to the body callbacks.
	ct, _ := proxywasm.GetHttpRequestHeader("content-type")
	if !oidc.FormContentType(ct) {
		return h.logoutRejected(errors.New("filter: back-channel logout request content type is not application/x-www-form-urlencoded"))
	}
	if cl, _ := proxywasm.GetHttpRequestHeader("content-length"); len(cl) > 9 || cl != "" && atoiOr(cl, 0) > h.p.cfg.Limits.MaxQueryBytes {
		return h.logoutRejected(errors.New("filter: back-channel logout request body over limits.max_query_bytes"))
	}
	h.onBody = func(size int, end bool) types.Action { return h.backchannelBody(ct, size, end) }
	return h.awaitBody()
}

func atoiOr(s string, def int) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return def
	}
	return n
}

// backchannelBody buffers the request body up to limits.max_query_bytes, then validates it.
func (h *httpContext) backchannelBody(contentType string, size int, endOfStream bool) types.Action {
	max := h.p.cfg.Limits.MaxQueryBytes
	if size > max {
		h.onBody = nil
		return h.logoutRejected(errors.New("filter: back-channel logout request body over limits.max_query_bytes"))
	}
	if !endOfStream {
		return types.ActionPause // Envoy buffers the body until its end
	}
	h.onBody = nil
	body, err := proxywasm.GetHttpRequestBody(0, size)
	if err != nil && size > 0 {
		return h.logoutRejected(err)
	}
	token, err := oidc.ParseLogoutRequest(contentType, body, max)
	if err != nil {
		return h.logoutRejected(err)
	}
	if !h.p.provider.readyNow(h.p.now()) {
		h.p.metrics.backchannel("unavailable")
		return h.logoutAnswer(503, errString(h.p.provider.notReadyReason()), [2]string{"retry-after", "2"})
	}
	h.endProviderSession(token, false)
	return types.ActionPause
}

// endProviderSession validates the logout token (refetching the provider's keys once when it
// names an unknown key), uses its jti once, records the logout and answers.
func (h *httpContext) endProviderSession(token string, retried bool) {
	p := h.p
	v := &oidc.LogoutTokenValidator{Issuer: p.cfg.Provider.Issuer, ClientID: p.cfg.Client.ID,
		Verifier: p.provider.verifier, Now: p.now, Leeway: p.cfg.JWT.Leeway}
	lt, err := v.Validate(token)
	if errors.Is(err, jwt.ErrUnknownKey) && !retried {
		auditInfo("unknown_signing_key", "corr", h.correlationID(), "action", "jwks_refetch")
		p.provider.refetch(p.now(), h.contextID, func(ferr error) {
			if ferr != nil {
				p.metrics.backchannel("unavailable")
				h.logoutAnswer(503, ferr, [2]string{"retry-after", "2"})
				return
			}
			h.endProviderSession(token, true)
		})
		return
	}
	if err != nil {
		h.logoutRejected(err)
		return
	}
	now := p.now()
	if err := p.logoutJTIs.use(lt.JTI, lt.ReplayUntil, now); err != nil {
		if errors.Is(err, errReplayed) {
			p.metrics.backchannel("replayed")
			h.logoutAnswer(400, errors.New("filter: logout token already used (jti)"))
			return
		}
		p.metrics.backchannel("unavailable")
		h.logoutAnswer(503, err)
		return
	}
	if err := p.signedOut.addProviderLogout(lt.SessionID, lt.Subject, p.cfg.Session.Lifetime, now); err != nil {
		p.metrics.backchannel("unavailable")
		h.logoutAnswer(503, err)
		return
	}
	if p.store != nil { // and every other replica, through the store
		for _, key := range providerLogoutKeys(lt.SessionID, lt.Subject) {
			p.store.deny(denyProviderLogout, key, now.Add(p.cfg.Session.Lifetime))
		}
	}
	p.metrics.backchannel("ok")
	scope := "subject"
	if lt.SessionID != "" {
		scope = "session"
	}
	auditInfo("backchannel_logout", "corr", h.correlationID(), "sub", lt.Subject, "scope", scope)
	h.sendLocal(200, [][2]string{{"cache-control", "no-store"}, {"x-correlation-id", h.correlationID()}}, nil)
}

// logoutRejected answers 400 for a request or logout token that is not valid.
func (h *httpContext) logoutRejected(err error) types.Action {
	h.p.metrics.backchannel("invalid")
	return h.logoutAnswer(400, err)
}

// logoutAnswer sends an error answer of the endpoint: JSON, never cached, with a correlation
// id; a 400 as section 2.8 says (error invalid_request with the reason as description; the
// reason never holds a token). One audit line per refusal.
func (h *httpContext) logoutAnswer(status int, err error, extra ...[2]string) types.Action {
	corr := h.correlationID()
	auditWarn("backchannel_logout_rejected", "status", status, "corr", corr, "reason", err)
	headers := append([][2]string{
		{"content-type", "application/json"},
		{"cache-control", "no-store"},
		{"x-correlation-id", corr},
	}, extra...)
	body := oidc.LogoutErrorJSON(strings.TrimPrefix(err.Error(), "filter: "))
	if status == 503 {
		body = []byte(`{"error":"temporarily_unavailable"}`)
	}
	return h.sendLocal(status, headers, body)
}
