package engine

import (
	"errors"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/oidc"
)

// ClassifyRefresh says what a failed refresh means for the session: invalid_grant ends it
// (FlightEnded); an unreachable provider, a timeout, a 5xx or a malformed success answer may
// pass (FlightTransient: the current tokens are used while they last), and so may a DPoP
// nonce the server refused again after the one retry (its problem, not the refresh
// token's: the session stays); any other error answer fails the request (FlightFailed:
// 502). code is the provider's error code, if any.
func ClassifyRefresh(err error) (status FlightStatus, code string) {
	var te *oidc.TokenEndpointError
	switch {
	case oidc.IsInvalidGrant(err):
		return FlightEnded, "invalid_grant"
	case oidc.IsUseDPoPNonce(err):
		return FlightTransient, oidc.ErrorUseDPoPNonce
	case oidc.IsTransient(err):
		if errors.As(err, &te) {
			code = te.Code
		}
		return FlightTransient, code
	case errors.As(err, &te):
		return FlightFailed, te.Code
	}
	return FlightTransient, ""
}

// exchangeDenied are exchange errors that say this user may not have the token: 403.
var exchangeDenied = map[string]bool{
	"invalid_grant": true, "access_denied": true, "consent_required": true,
	"interaction_required": true, "invalid_scope": true, "invalid_target": true,
	"unauthorized_client": true,
}

// ClassifyExchange says what a failed token exchange means: a refusal (invalid_grant,
// consent or scope problems) is FlightDenied (403), an unreachable or failing provider
// FlightTransient, anything else FlightFailed (502). code is the provider's error code.
func ClassifyExchange(err error) (status FlightStatus, code string) {
	var te *oidc.TokenEndpointError
	if !errors.As(err, &te) {
		return FlightFailed, ""
	}
	switch {
	case exchangeDenied[te.Code]:
		return FlightDenied, te.Code
	case oidc.IsTransient(err):
		return FlightTransient, te.Code
	}
	return FlightFailed, te.Code
}
