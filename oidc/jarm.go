package oidc

import (
	"fmt"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/jwt"
)

// ResponseMode is how the provider returns the authorization response
// (OAuth 2.0 Multiple Response Types 2.1, Form Post Response Mode, JARM).
type ResponseMode string

// The response modes a code-flow client can ask for. ModeJWT is JARM's
// "default for the response type", which for code is query.jwt.
const (
	ModeQuery       ResponseMode = "query"
	ModeFormPost    ResponseMode = "form_post"
	ModeQueryJWT    ResponseMode = "query.jwt"
	ModeFormPostJWT ResponseMode = "form_post.jwt"
	ModeJWT         ResponseMode = "jwt"
)

// ResponseModes lists every supported mode, the default first.
var ResponseModes = []string{string(ModeQuery), string(ModeFormPost), string(ModeQueryJWT), string(ModeFormPostJWT), string(ModeJWT)}

// IsJWT reports whether the response is a JARM JWT.
func (m ResponseMode) IsJWT() bool {
	return m == ModeQueryJWT || m == ModeFormPostJWT || m == ModeJWT
}

// IsFormPost reports whether the response arrives as a POSTed form body.
func (m ResponseMode) IsFormPost() bool { return m == ModeFormPost || m == ModeFormPostJWT }

// JARMValidator turns a JWT Secured Authorization Response (JARM, OpenID
// Financial-grade API JARM 4.4) into a [Callback]. Build it with the
// provider's Verifier (its keys and alg allowlist); Now nil means time.Now.
type JARMValidator struct {
	Issuer   string
	ClientID string
	Verifier *jwt.Verifier
	Now      func() time.Time
	Leeway   time.Duration
}

// ParseJARMCallback parses the callback parameters (a query or a form body;
// size cap, unique names and form encoding as in [ParseCallback]), which must
// carry exactly one "response" parameter and none of the plain response
// parameters (code, state, error, iss): a response mixing a signed and an
// unsigned part is refused ([ErrMalformed]).
//
// The JWT must be signed (a JWE wraps [ErrJARMEncrypted]) by a key and alg
// the Verifier accepts; iss must equal Issuer, aud must contain ClientID and
// exp must be present and not passed (with Leeway). Every failure wraps
// [ErrJARM]; a key not in the set also wraps jwt.ErrUnknownKey, so the
// caller may refetch the JWKS and retry once. Only then are code and state
// (or error, error_description, error_uri and state, as an
// [*AuthorizationError]) read from the claims.
func (v *JARMValidator) ParseJARMCallback(raw string, maxBytes int) (*Callback, error) {
	if v == nil || v.Verifier == nil || v.Issuer == "" || v.ClientID == "" {
		return nil, ErrNotConfigured
	}
	if maxBytes <= 0 {
		maxBytes = DefaultMaxCallbackBytes
	}
	if len(raw) > maxBytes {
		return nil, errorf(ErrTooLarge, "callback parameters of %d bytes (max %d)", len(raw), maxBytes)
	}
	q, err := parseUniqueQuery(raw)
	if err != nil {
		return nil, err
	}
	for _, name := range []string{"code", "state", "error", "iss", "id_token", "access_token"} {
		if _, ok := q.get(name); ok {
			return nil, errorf(ErrMalformed, "JARM callback carries a plain %s parameter", detail(name))
		}
	}
	resp, ok := q.get("response")
	if !ok || resp == "" {
		return nil, errorf(ErrMissingParam, "callback response (JARM)")
	}
	if strings.Count(resp, ".") == 4 {
		return nil, jarmError(ErrJARMEncrypted)
	}
	tok, err := v.Verifier.Verify(resp)
	if err != nil {
		return nil, jarmError(err)
	}
	claims, err := tok.Claims()
	if err != nil {
		return nil, jarmError(err)
	}
	err = claims.Validate(jwt.Expected{Issuer: v.Issuer, Audience: v.ClientID, Now: v.Now, Leeway: v.Leeway, RequireExpiry: true})
	if err != nil {
		return nil, jarmError(err)
	}
	return jarmResult(claims.Raw)
}

// jarmResult reads the authorization response parameters from verified
// JARM claims. Each must be a string when present.
func jarmResult(raw []byte) (*Callback, error) {
	str := func(name string) (string, bool, error) {
		r := gjson.GetBytes(raw, name)
		if !r.Exists() {
			return "", false, nil
		}
		if r.Type != gjson.String {
			return "", true, jarmError(errorf(ErrMalformed, "JARM claim %s is not a string", detail(name)))
		}
		return r.Str, true, nil
	}
	var vals [6]string
	var has [6]bool
	for i, name := range []string{"error", "error_description", "error_uri", "state", "code", "iss"} {
		var err error
		if vals[i], has[i], err = str(name); err != nil {
			return nil, err
		}
	}
	if has[0] {
		e := &AuthorizationError{Code: sanitizeCode(vals[0]), State: vals[3],
			Description: sanitizeText(vals[1], maxDescriptionLen), URI: sanitizeText(vals[2], maxErrorURILen)}
		if e.Code == "" {
			return nil, jarmError(errorf(ErrMalformed, "JARM error code is empty or invalid"))
		}
		return nil, e
	}
	cb := &Callback{Code: vals[4], State: vals[3], Iss: vals[5]}
	switch {
	case cb.Code == "":
		return nil, jarmError(errorf(ErrMissingParam, "JARM claim code"))
	case cb.State == "":
		return nil, jarmError(errorf(ErrMissingParam, "JARM claim state"))
	}
	return cb, nil
}

func jarmError(err error) error {
	return fmt.Errorf("%w: %w", ErrJARM, err)
}
