package engine

import (
	"errors"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/jwt"
)

// Bearer token refusals the filter finds besides jwt's own. The texts are as they were in
// filter/ (they appear in audit lines).
var (
	ErrForeignIssuer   = errors.New("filter: token issuer not accepted on this route")
	ErrNoIssuer        = errors.New("filter: token has no iss claim")
	ErrIDTokenAsBearer = errors.New("filter: an ID token is not accepted as a bearer token on this route")
	// ErrDPoPBoundAsBearer: a token with cnf.jkt (RFC 9449 6.1) sent as a Bearer token; a
	// resource server must not accept it so (RFC 9449 7.2), and the plugin verifies no DPoP
	// proofs on its bearer routes.
	ErrDPoPBoundAsBearer = errors.New("filter: a DPoP-bound token (cnf.jkt) is not accepted as a bearer token")
	// ErrCertBoundMismatch: a token with cnf.x5t#S256 (RFC 8705 3.1) sent on a connection
	// without that client certificate (or without one at all).
	ErrCertBoundMismatch = errors.New("filter: a certificate-bound token (cnf.x5t#S256) was not sent with its client certificate")
	// ErrUnknownBinding: a cnf claim with neither jkt nor a well-formed x5t#S256.
	ErrUnknownBinding = errors.New("filter: a token bound by a cnf the plugin cannot verify")
)

// tokenErrors is the one table from a bearer token's verification error to the metric reason
// it is counted under (bearer.rejected.<reason>, a closed set) and the fixed description the
// client is told (never anything from the token). The first row whose errors match wins;
// anything else is "malformed".
var tokenErrors = []struct {
	errs         []error
	reason, desc string
}{
	{[]error{jwt.ErrExpired}, "expired", "The token has expired."},
	{[]error{jwt.ErrNotYetValid, jwt.ErrIssuedInFuture}, "not_yet_valid", "The token is not valid yet."},
	{[]error{jwt.ErrAudience}, "audience", "The token is not meant for this resource."},
	{[]error{jwt.ErrIssuer, ErrForeignIssuer, ErrNoIssuer}, "issuer", "The token's issuer is not accepted here."},
	{[]error{jwt.ErrAlgNone, jwt.ErrAlgNotAllowed}, "algorithm", "The token's signing algorithm is not accepted."},
	{[]error{jwt.ErrSignature, jwt.ErrUnknownKey, jwt.ErrKeyMismatch}, "signature", "The token's signature could not be verified."},
	{[]error{jwt.ErrMissingClaim}, "claims", "The token lacks a required claim."},
	{[]error{jwt.ErrTooLarge}, "malformed", "The token is too large."},
	{[]error{jwt.ErrType, ErrIDTokenAsBearer}, "type", "The token is not an access token for this resource."},
	{[]error{ErrDPoPBoundAsBearer}, "sender_constrained", "The token is bound to a DPoP key; this resource does not accept it as a Bearer token."},
	{[]error{ErrCertBoundMismatch}, "sender_constrained", "The token is bound to a client certificate that this connection did not present."},
	{[]error{ErrUnknownBinding}, "sender_constrained", "The token is bound to a key this resource cannot verify."},
}

// ClassifyTokenError names a bearer token's verification error: the metric reason and the
// RFC 6750 error description (fixed text, nothing from the token).
func ClassifyTokenError(err error) (reason, desc string) {
	for _, row := range tokenErrors {
		for _, e := range row.errs {
			if errors.Is(err, e) {
				return row.reason, row.desc
			}
		}
	}
	return "malformed", "The token is malformed."
}
