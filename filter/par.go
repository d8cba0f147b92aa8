package filter

import (
	"errors"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/oidc"
)

// pushAuthorization starts a login with a pushed authorization request (RFC 9126): the
// request goes to the provider's PAR endpoint by callout, authenticated as at the token
// endpoint, and the browser is redirected with only client_id and the request_uri the
// provider answers with. The request is paused until then; a failed push is a 502/504 page,
// never a redirect.
func (h *httpContext) pushAuthorization(ap oidc.AuthParams) types.Action {
	p := h.p
	req, err := oidc.PushAuthorization(p.provider.md.PushedAuthorizationRequestEndpoint, p.client, ap)
	if err != nil {
		return h.respond(failure{status: 500, code: "internal_error", msg: "The login could not be started.", err: err})
	}
	t := p.provider.providerTarget()
	t.owner = h.contextID
	dispatch(t, req, p.cfg.Limits.MaxTokenResponseBytes, p.now, h.onPushed)
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
