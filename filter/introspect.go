package filter

import (
	"errors"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/jwt"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/oidc"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/state"
)

// completeLogin is the last step of a login before its session: with login.introspect on,
// the new access token is introspected (RFC 7662) at the provider, with the token endpoint's
// client authentication, and the login ends on an error page unless the answer is active and
// matches (its sub, client_id, scope as configured; its iss when it has one). Then establish.
func (h *httpContext) completeLogin(ls *state.LoginState, tr *oidc.TokenResponse, claims *jwt.Claims, userinfo []byte) {
	p := h.p
	in := p.cfg.Login.Introspect
	if !in.Enabled {
		h.establish(ls, tr, claims, userinfo)
		return
	}
	endpoint := p.provider.md.IntrospectionEndpoint
	switch {
	case endpoint == "":
		h.respond(failure{status: 502, code: "introspection", reason: "introspection",
			err: errors.New("filter: login.introspect is on, and the provider has no introspection endpoint (set provider.introspection_endpoint)"),
			msg: "The identity provider has no introspection endpoint, which this sign-in requires."})
		return
	case tr.AccessToken == "":
		h.respond(failure{status: 502, code: "introspection", reason: "introspection",
			err: errors.New("filter: login.introspect is on, and the token response has no access token"),
			msg: "The identity provider issued no access token to check."})
		return
	}
	t := p.provider.backchannelTarget()
	t.owner = h.contextID
	req := oidc.Introspect(endpoint, p.client, tr.AccessToken, "access_token")
	dispatch(t, req, p.cfg.Limits.MaxTokenResponseBytes, p.now, func(r *calloutResponse, err error) {
		if err != nil {
			p.metrics.callout("introspection", err, r)
			h.respond(unreachable(err, "introspection"))
			return
		}
		answer, err := oidc.ParseIntrospectionResponse(r.status, r.contentType, r.body, p.cfg.Limits.MaxTokenResponseBytes)
		p.metrics.callout("introspection", err, r)
		if err != nil {
			h.respond(failure{status: 502, code: "introspection", reason: "introspection", err: err,
				msg: "The identity provider's introspection endpoint gave an invalid answer."})
			return
		}
		want := oidc.IntrospectionRequirements{Issuer: p.cfg.Provider.Issuer, Scopes: in.RequireScopes}
		if in.RequireSub {
			want.Subject = claims.Subject
		}
		if in.RequireClientID {
			want.ClientID = p.cfg.Client.ID
		}
		if err := answer.Check(want); err != nil {
			msg := "The identity provider says this sign-in's access token is not active. Please sign in again."
			if !errors.Is(err, oidc.ErrInactive) {
				msg = "The identity provider's record of this sign-in's access token does not match the sign-in (subject, client or scope)."
			}
			h.respond(failure{status: 403, code: "introspection_refused", reason: "introspection", err: err, msg: msg})
			return
		}
		h.establish(ls, tr, claims, userinfo)
	})
}
