package filter

import (
	"errors"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/config"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/jwt"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/oidc"
)

// pushAuthorization starts a login with a pushed authorization request (RFC 9126): the
// request goes to the provider's PAR endpoint by callout, authenticated as at the token
// endpoint, and the browser is redirected with only client_id and the request_uri the
// provider answers with. The request is paused until then; a failed push is a 502/504 page,
// never a redirect.
//
// With a signed request object (login.request_object), the push carries only client_id and
// the object (RFC 9126 3).
func (h *httpContext) pushAuthorization(ap oidc.AuthParams, requestObject string) types.Action {
	p := h.p
	endpoint := p.provider.md.PushedAuthorizationRequestEndpoint
	build := func() (oidc.Request, error) {
		if requestObject != "" {
			return oidc.PushRequestObject(endpoint, p.client, requestObject)
		}
		return oidc.PushAuthorization(endpoint, p.client, ap)
	}
	req, err := build()
	if err != nil {
		return h.respond(failure{status: 500, code: "internal_error", msg: "The login could not be started.", err: err})
	}
	t := p.provider.backchannelTarget()
	t.owner = h.contextID
	// With DPoP on, the push carries a proof (RFC 9449 10.1): the provider binds the code to
	// the key as it would to a dpop_jkt.
	p.callAS(t, "par", req, build, h.onPushed)
	return types.ActionPause
}

// onPushed handles the PAR endpoint's answer: a redirect with the request_uri, or a page.
func (h *httpContext) onPushed(r *calloutResponse, err error) {
	p := h.p
	if err != nil {
		p.metrics.callout("par", err, r)
		f := unreachable(err, "pushed authorization request")
		f.reason = "par"
		h.respond(f)
		return
	}
	pa, err := oidc.ParsePushResponse(r.status, r.contentType, r.body, p.cfg.Limits.MaxTokenResponseBytes)
	p.metrics.callout("par", err, r)
	if err != nil {
		h.respond(parFailure(err))
		return
	}
	authURL, err := oidc.PushedAuthorizeURL(p.provider.md.AuthorizationEndpoint, p.cfg.Client.ID, pa.RequestURI)
	if err != nil {
		h.respond(failure{status: 500, code: "internal_error", reason: "par", msg: "The login could not be started.", err: err})
		return
	}
	p.metrics.loginStarted.Increment(1)
	p.metrics.loginPushed.Increment(1)
	auditInfo("login_started", "corr", h.correlationID(), "par", true)
	h.redirect(authURL)
}

// parFailure maps a refused or unusable answer of the PAR endpoint to a 502 page (503 when
// the provider says it is unavailable). The provider's error code is shown; its description
// only goes to the log.
func parFailure(err error) failure {
	f := failure{status: 502, code: "par_endpoint", reason: "par", err: err,
		msg: "The identity provider's pushed authorization request endpoint gave an invalid answer."}
	var te *oidc.TokenEndpointError
	var he *oidc.HTTPError
	switch {
	case errors.As(err, &te) && (te.Status == 503 || te.Code == "temporarily_unavailable"):
		f.status, f.code, f.retryAfter = 503, "provider_unavailable", 5
		f.msg = "The identity provider is temporarily unavailable (" + te.Code + "). Try again in a moment."
	case errors.As(err, &te):
		f.msg = "The identity provider refused the sign-in request (" + te.Code + ")."
	case errors.As(err, &he) && he.Status == 503:
		f.status, f.code, f.retryAfter = 503, "provider_unavailable", 5
		f.msg = "The identity provider is temporarily unavailable. Try again in a moment."
	}
	return f
}

// requestObjectLifetime is how long a signed request object is valid (its exp): the push or
// the browser's redirect uses it at once.
const requestObjectLifetime = 60 * time.Second

// signRequestObject returns the authorization request as a request object (RFC 9101) signed
// with the client's key under login.request_object signed, or "" when it is off.
func (h *httpContext) signRequestObject(ap oidc.AuthParams, now time.Time) (string, error) {
	p := h.p
	if p.cfg.Login.RequestObject != config.RequestObjectSigned {
		return "", nil
	}
	jti, err := randomString(p.rand, 16)
	if err != nil {
		return "", err
	}
	claims, err := oidc.RequestObjectClaims(ap, p.cfg.Provider.Issuer, now, requestObjectLifetime, jti)
	if err != nil {
		return "", err
	}
	return p.cfg.Client.SigningKey.Sign(jwt.SignHeader{Type: oidc.RequestObjectType}, claims, p.rand)
}
