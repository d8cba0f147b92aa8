package oidc

import (
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"
)

// DefaultMaxResponseBytes is the body cap ParseTokenResponse applies when
// maxBytes <= 0. Tokens with many group claims reach tens of KB.
const DefaultMaxResponseBytes = 256 << 10

// maxExpiresIn bounds expires_in (larger values are clamped) so that
// Expiry never overflows.
const maxExpiresIn = 10 * 365 * 24 * 3600

// TokenResponse is a successful token endpoint response (RFC 6749 5.1,
// OIDC Core 3.1.3.3, RFC 8693 2.2.1). Its fields are credentials.
type TokenResponse struct {
	AccessToken     string
	TokenType       string
	RefreshToken    string
	IDToken         string
	Scope           string
	IssuedTokenType string // RFC 8693 only
	ExpiresIn       int64  // seconds; meaningful only when HasExpiresIn
	HasExpiresIn    bool
}

// Expiry returns when the access token expires given the time the response
// was received, or the zero time when the provider did not say (the caller
// then falls back to the token's own exp, or to a configured default).
func (r *TokenResponse) Expiry(now time.Time) time.Time {
	if !r.HasExpiresIn {
		return time.Time{}
	}
	return now.Add(time.Duration(min(r.ExpiresIn, maxExpiresIn)) * time.Second)
}

// ParseTokenResponse parses a token endpoint response given the callout's
// HTTP status, Content-Type and body (RFC 6749 5.1 and 5.2).
//
// On success the body must be one JSON object with a non-empty access_token
// and token_type "Bearer" (any case); expires_in, when present, is a
// non-negative integer. Errors: [ErrTooLarge] over maxBytes
// ([DefaultMaxResponseBytes] when <= 0), [ErrNotJSON] for HTML or other
// non-JSON bodies, [*TokenEndpointError] for an RFC 6749 error body (with
// any status), [*HTTPError] for a non-2xx status without one,
// [ErrMissingParam], [ErrTokenType], [ErrMalformed], [ErrDuplicateParam].
// Classify failures with [IsInvalidGrant] and [IsTransient].
func ParseTokenResponse(status int, contentType string, body []byte, maxBytes int) (*TokenResponse, error) {
	return parseTokenResponse(status, contentType, body, maxBytes, false, false)
}

// ParseExchangeResponse parses an RFC 8693 token exchange response: as
// [ParseTokenResponse], but issued_token_type is required and token_type may
// also be "N_A" (the issued token is not an access token, RFC 8693 2.2.1).
func ParseExchangeResponse(status int, contentType string, body []byte, maxBytes int) (*TokenResponse, error) {
	return parseTokenResponse(status, contentType, body, maxBytes, true, false)
}

var tokenResponseNames = []string{
	"access_token", "token_type", "expires_in", "refresh_token", "id_token",
	"scope", "issued_token_type", "error", "error_description", "error_uri",
}

const (
	tAccess = iota
	tType
	tExpiresIn
	tRefresh
	tID
	tScope
	tIssuedType
	tError
	tErrorDescription
	tErrorURI
	tCount
)

func parseTokenResponse(status int, contentType string, body []byte, maxBytes int, exchange, dpop bool) (*TokenResponse, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxResponseBytes
	}
	if len(body) > maxBytes {
		return nil, errorf(ErrTooLarge, "token response of %d bytes (max %d)", len(body), maxBytes)
	}
	obj, jsonErr := jsonObject(body)
	if jsonErr == nil && !jsonContentType(contentType) {
		jsonErr = ErrNotJSON
	}
	ok := status >= 200 && status <= 299
	if jsonErr != nil {
		if !ok {
			return nil, &HTTPError{Status: status}
		}
		return nil, errorf(ErrNotJSON, "HTTP %d, content type %s", status, detail(mediaType(contentType)))
	}
	var v [tCount]gjson.Result
	if err := pick(obj, tokenResponseNames, v[:]); err != nil {
		return nil, err
	}
	if e := endpointError(status, v[tError], v[tErrorDescription], v[tErrorURI]); e != nil {
		return nil, e
	}
	if !ok {
		return nil, &HTTPError{Status: status}
	}
	return tokenFields(v[:], exchange, dpop)
}

// endpointError returns the RFC 6749 5.2 error a body carries, or nil when
// it has no string "error" member.
func endpointError(status int, code, desc, uri gjson.Result) *TokenEndpointError {
	if code.Type != gjson.String || sanitizeCode(code.Str) == "" {
		return nil
	}
	e := &TokenEndpointError{Status: status, Code: sanitizeCode(code.Str)}
	if desc.Type == gjson.String {
		e.Description = sanitizeText(desc.Str, maxDescriptionLen)
	}
	if uri.Type == gjson.String {
		e.URI = sanitizeText(uri.Str, maxErrorURILen)
	}
	return e
}

func tokenFields(v []gjson.Result, exchange, dpop bool) (*TokenResponse, error) {
	r := &TokenResponse{}
	var err error
	for _, f := range []struct {
		dst *string
		i   int
	}{
		{&r.AccessToken, tAccess}, {&r.TokenType, tType}, {&r.RefreshToken, tRefresh},
		{&r.IDToken, tID}, {&r.Scope, tScope}, {&r.IssuedTokenType, tIssuedType},
	} {
		if *f.dst, err = stringMember(v[f.i], tokenResponseNames[f.i]); err != nil {
			return nil, err
		}
		if *f.dst != "" && !isVSCHAR(*f.dst) {
			return nil, errorf(ErrMalformed, "member %s has characters outside %%x20-7E", tokenResponseNames[f.i])
		}
	}
	if r.AccessToken == "" {
		return nil, errorf(ErrMissingParam, "access_token")
	}
	if r.TokenType == "" {
		return nil, errorf(ErrMissingParam, "token_type")
	}
	if !tokenTypeOK(r.TokenType, exchange, dpop) {
		return nil, errorf(ErrTokenType, "token_type %s", detail(r.TokenType))
	}
	if exchange && r.IssuedTokenType == "" {
		return nil, errorf(ErrMissingParam, "issued_token_type")
	}
	if r.ExpiresIn, r.HasExpiresIn, err = expiresIn(v[tExpiresIn]); err != nil {
		return nil, err
	}
	return r, nil
}

// expiresIn reads a non-negative integer number of seconds. A string of
// digits is accepted too: Entra ID v1 and AD FS send "3599".
func expiresIn(v gjson.Result) (int64, bool, error) {
	if !present(v) {
		return 0, false, nil
	}
	raw := v.Raw
	switch v.Type {
	case gjson.Number:
	case gjson.String:
		raw = v.Str
	default:
		return 0, false, errorf(ErrMalformed, "expires_in is not a number")
	}
	if raw == "" || strings.Trim(raw, "0123456789") != "" {
		return 0, false, errorf(ErrMalformed, "expires_in is not a non-negative integer")
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || n > maxExpiresIn {
		n = maxExpiresIn // only a range error is left: clamp
	}
	return n, true, nil
}

// jsonContentType accepts application/json, application/*+json and, for
// providers behind misconfigured gateways, text/plain, text/json or no
// Content-Type at all (the body must still be a JSON object).
func jsonContentType(ct string) bool {
	mt := mediaType(ct)
	switch {
	case mt == "", mt == "application/json", mt == "text/json", mt == "text/plain":
		return true
	case strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"):
		return true
	}
	return false
}

// mediaType returns the lower-cased type/subtype of a Content-Type value.
func mediaType(ct string) string {
	mt, _, _ := strings.Cut(ct, ";")
	return strings.ToLower(strings.TrimSpace(mt))
}
