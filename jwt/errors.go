package jwt

import "errors"

// Sentinel errors. Every error returned by this package wraps exactly one of
// these (and ErrMissingClaim in addition where a required claim is absent),
// so callers branch with errors.Is and map them to responses. Error strings
// never contain a token, a signature or a secret; claim values that are not
// secrets (issuer, audience) are quoted and truncated.
var (
	// ErrMalformed: the token, a JSON document or a claim is not well formed.
	ErrMalformed = errors.New("jwt: malformed")
	// ErrTooLarge: the input exceeds the configured or built-in size cap.
	ErrTooLarge = errors.New("jwt: too large")
	// ErrAlgNotAllowed: the header's alg is unknown or not in the allowlist.
	ErrAlgNotAllowed = errors.New("jwt: algorithm not allowed")
	// ErrAlgNone: the header's alg is "none" (in any letter case).
	ErrAlgNone = errors.New("jwt: unsecured token (alg none)")
	// ErrDuplicateHeader: a JOSE header member name appears twice.
	ErrDuplicateHeader = errors.New("jwt: duplicate header member")
	// ErrCrit: the header has a crit member (malformed, or naming an
	// extension this package does not implement).
	ErrCrit = errors.New("jwt: unsupported critical header")
	// ErrKeyMismatch: keys with the token's kid exist but none may be used
	// with the token's alg (kty, crv, size, key alg or key use differ).
	ErrKeyMismatch = errors.New("jwt: key does not match algorithm")
	// ErrUnknownKey: no key in the set has the token's kid (or, without a
	// kid, no key fits the alg). The key set may be stale: the caller may
	// refetch the JWKS, rate limited, since anyone can send such a token.
	ErrUnknownKey = errors.New("jwt: unknown signing key")
	// ErrType: the header's typ is not the one the caller expects (RFC 8725
	// 3.11 explicit typing), for example an access token (typ at+jwt)
	// presented as an ID token. See TypeIs and Header.CheckType.
	ErrType = errors.New("jwt: unexpected typ")
	// ErrSignature: a key was found and the signature does not verify.
	ErrSignature = errors.New("jwt: invalid signature")

	// ErrInvalidKey: a JWK is malformed, unsupported or unsafe to use.
	ErrInvalidKey = errors.New("jwt: invalid key")

	// ErrExpired: exp is not after now - leeway.
	ErrExpired = errors.New("jwt: token expired")
	// ErrNotYetValid: nbf is after now + leeway.
	ErrNotYetValid = errors.New("jwt: token not yet valid")
	// ErrIssuedInFuture: iat is after now + leeway.
	ErrIssuedInFuture = errors.New("jwt: token issued in the future")
	// ErrTooOld: iat is older than Expected.MaxAge.
	ErrTooOld = errors.New("jwt: token too old")
	// ErrAuthTooOld: auth_time is older than Expected.MaxAuthAge.
	ErrAuthTooOld = errors.New("jwt: authentication too old")
	// ErrIssuer: iss differs from the expected issuer.
	ErrIssuer = errors.New("jwt: invalid issuer")
	// ErrAudience: aud does not contain the expected audience.
	ErrAudience = errors.New("jwt: invalid audience")
	// ErrAuthorizedParty: azp differs from the client id, or is missing
	// while aud has several entries.
	ErrAuthorizedParty = errors.New("jwt: invalid authorized party")
	// ErrNonce: nonce differs from the one sent in the request.
	ErrNonce = errors.New("jwt: invalid nonce")
	// ErrAtHash: at_hash does not match the access token.
	ErrAtHash = errors.New("jwt: invalid at_hash")
	// ErrMissingClaim: a required claim is absent. Wrapped together with
	// the claim's own sentinel where it has one (ErrIssuer, ErrNonce, ...).
	ErrMissingClaim = errors.New("jwt: missing claim")
)
