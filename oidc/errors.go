package oidc

import (
	"errors"
	"fmt"
	"strconv"
)

// Sentinel errors. Every error this package returns wraps one of these (or
// is one of the typed errors below, which match [ErrTokenEndpoint],
// [ErrAuthorization] and [ErrHTTPStatus] with errors.Is).
var (
	// ErrTooLarge: an input is over its size cap (checked first).
	ErrTooLarge = errors.New("oidc: input too large")
	// ErrNotJSON: a response that must be a JSON object is not one (HTML
	// from a proxy, garbage, a non-JSON content type). Transient.
	ErrNotJSON = errors.New("oidc: response is not a JSON object")
	// ErrMalformed: a member has the wrong type or characters, a query is
	// not form-encoded, a scope is not a scope token.
	ErrMalformed = errors.New("oidc: malformed input")
	// ErrIssuerMismatch: discovery issuer, callback iss (RFC 9207) or a
	// refreshed ID token's iss differs from the expected issuer.
	ErrIssuerMismatch = errors.New("oidc: issuer mismatch")
	// ErrMissingParam: a required parameter, member or argument is absent.
	ErrMissingParam = errors.New("oidc: missing parameter")
	// ErrDuplicateParam: a parameter or JSON member appears twice.
	ErrDuplicateParam = errors.New("oidc: duplicate parameter")
	// ErrTokenType: token_type is not Bearer (or N_A for an exchange).
	ErrTokenType = errors.New("oidc: unsupported token type")
	// ErrInvalidURL: an endpoint is not an absolute https URL (http only
	// when allowed) without user info and fragment.
	ErrInvalidURL = errors.New("oidc: invalid URL")
	// ErrUnsupported: the provider lacks the code flow or PKCE S256.
	ErrUnsupported = errors.New("oidc: provider lacks a required capability")
	// ErrSubjectChanged, ErrAuthTimeChanged, ErrAuthorizedParty: a
	// refreshed ID token breaks OIDC Core 12.2.
	ErrSubjectChanged  = errors.New("oidc: refreshed id token changed subject")
	ErrAuthTimeChanged = errors.New("oidc: refreshed id token changed auth_time")
	ErrAuthorizedParty = errors.New("oidc: id token authorized party mismatch")
	// ErrAudienceChanged: a refreshed ID token's aud is not the original's
	// (OIDC Core 12.2), though it holds the client.
	ErrAudienceChanged = errors.New("oidc: refreshed id token changed audience")
	// ErrAuthTimeMissing: a maximum authentication age was requested and the ID
	// token has no auth_time (OIDC Core 3.1.2.1: it is then REQUIRED).
	// ErrMaxAgeExceeded: its auth_time is older than the maximum age.
	ErrAuthTimeMissing = errors.New("oidc: id token has no auth_time, which max_age requires")
	ErrMaxAgeExceeded  = errors.New("oidc: id token auth_time is older than max_age")
	// ErrACR: acr_values were requested and the ID token's acr is missing or
	// not one of them (OIDC Core 3.1.3.7 item 12).
	ErrACR = errors.New("oidc: id token acr is not one of the requested acr_values")
	// ErrTimeout is for the caller to wrap when a callout to the provider
	// times out, so that [IsTransient] sees it.
	ErrTimeout = errors.New("oidc: request to the provider timed out")
	// ErrTokenEndpoint, ErrAuthorization and ErrHTTPStatus are matched by
	// [*TokenEndpointError], [*AuthorizationError] and [*HTTPError].
	ErrTokenEndpoint = errors.New("oidc: token endpoint error")
	ErrAuthorization = errors.New("oidc: authorization error")
	ErrHTTPStatus    = errors.New("oidc: unexpected HTTP status")
	// ErrUserinfoSubject: a UserInfo response is for another subject.
	ErrUserinfoSubject = errors.New("oidc: userinfo subject does not match the id token")
	// ErrNoPreviousIDToken: ValidateRefreshed was given no original claims.
	ErrNoPreviousIDToken = errors.New("oidc: no previous id token to compare with")
	// ErrIDToken is wrapped by every ID token validation failure, together
	// with the jwt sentinel where the jwt package found the problem
	// (jwt.ErrSignature, jwt.ErrExpired, jwt.ErrUnknownKey, ...).
	ErrIDToken = errors.New("oidc: invalid id token")
	// ErrNotConfigured: an IDTokenValidator lacks Issuer, ClientID or
	// Verifier.
	ErrNotConfigured = errors.New("oidc: id token validator not configured")
	// ErrJARM is wrapped by every failure to verify a JWT Secured
	// Authorization Response (JARM), together with the jwt sentinel where
	// the jwt package found the problem (jwt.ErrUnknownKey, ...).
	ErrJARM = errors.New("oidc: invalid JARM authorization response")
	// ErrJARMEncrypted: the JARM response is a JWE; only signed responses
	// are accepted (the client has no decryption key).
	ErrJARMEncrypted = errors.New("oidc: encrypted JARM response (JWE) is not supported")
)

// TokenEndpointError is an RFC 6749 section 5.2 error response from a token,
// revocation or exchange endpoint. Code is the "error" member; Description
// and URI are sanitized (printable ASCII, bounded) and safe to log; they
// still need HTML escaping on an error page.
type TokenEndpointError struct {
	Status      int
	Code        string
	Description string
	URI         string
}

func (e *TokenEndpointError) Error() string {
	s := "oidc: token endpoint error " + strconv.Quote(e.Code) + " (HTTP " + strconv.Itoa(e.Status) + ")"
	if e.Description != "" {
		s += ": " + e.Description
	}
	return s
}

// Is reports whether target is [ErrTokenEndpoint].
func (e *TokenEndpointError) Is(target error) bool { return target == ErrTokenEndpoint }

// AuthorizationError is an error authorization response (RFC 6749 4.1.2.1)
// received at the callback. State is returned so the caller can still open
// its sealed state (for example to fall back from prompt=none to an
// interactive login with the same return path); it is never printed.
// Description and URI are sanitized like [TokenEndpointError]'s.
type AuthorizationError struct {
	Code        string
	Description string
	URI         string
	State       string
}

func (e *AuthorizationError) Error() string {
	s := "oidc: authorization error " + strconv.Quote(e.Code)
	if e.Description != "" {
		s += ": " + e.Description
	}
	return s
}

// Is reports whether target is [ErrAuthorization].
func (e *AuthorizationError) Is(target error) bool { return target == ErrAuthorization }

// InteractionRequired reports whether a silent (prompt=none) request failed
// because the user must interact with the provider (OIDC Core 3.1.2.6);
// the caller should then start an interactive login.
func (e *AuthorizationError) InteractionRequired() bool {
	switch e.Code {
	case "login_required", "interaction_required", "consent_required", "account_selection_required":
		return true
	}
	return false
}

// HTTPError is a non-2xx response without a usable RFC 6749 error body.
type HTTPError struct {
	Status int
}

func (e *HTTPError) Error() string {
	return "oidc: unexpected HTTP status " + strconv.Itoa(e.Status)
}

// Is reports whether target is [ErrHTTPStatus].
func (e *HTTPError) Is(target error) bool { return target == ErrHTTPStatus }

// IsInvalidGrant reports whether err says the grant (refresh token,
// authorization code, or OBO/exchange assertion) is permanently unusable: the
// session cannot be refreshed and the user must log in again. Retrying is
// pointless.
func IsInvalidGrant(err error) bool {
	var te *TokenEndpointError
	return errors.As(err, &te) && te.Code == "invalid_grant"
}

// IsTransient reports whether err is worth retrying later with the same
// grant: a timeout, a 5xx/429/408 status (with or without an error body, e.g.
// "temporarily_unavailable"), or a body that is not JSON (typically an HTML
// page from a proxy in front of the provider).
func IsTransient(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrTimeout) || errors.Is(err, ErrNotJSON) {
		return true
	}
	var he *HTTPError
	if errors.As(err, &he) {
		return transientStatus(he.Status)
	}
	var te *TokenEndpointError
	if errors.As(err, &te) {
		return transientStatus(te.Status) || te.Code == "temporarily_unavailable" || te.Code == "server_error"
	}
	return false
}

func transientStatus(s int) bool {
	return s >= 500 || s == 429 || s == 408
}

// detail bounds and quotes an untrusted, non-secret value (an issuer, a
// parameter name) for an error message.
func detail(s string) string {
	const max = 80
	if len(s) > max {
		s = s[:max] + "..."
	}
	return strconv.QuoteToASCII(s)
}

func errorf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)
}
