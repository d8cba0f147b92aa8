package oidc

import (
	"crypto/subtle"
	"errors"
	"slices"
	"strings"

	"github.com/tidwall/gjson"
)

// ErrInactive: an introspection answer says the token is not active (RFC 7662 2.2).
// ErrIntrospection: an active answer does not match what the login requires
// ([IntrospectionRequirements]); its message names the member, never a token.
var (
	ErrInactive      = errors.New("oidc: token is not active")
	ErrIntrospection = errors.New("oidc: introspection answer does not match the login")
)

// Introspection is the part of an RFC 7662 answer the login checks.
type Introspection struct {
	Active   bool
	Subject  string   // sub
	ClientID string   // client_id
	Issuer   string   // iss
	Scopes   []string // scope, split at spaces
}

// Introspect builds an RFC 7662 introspection request for token, authenticated as c the way
// the token endpoint is (the same form POST helper). hint is "access_token",
// "refresh_token" or empty.
func Introspect(endpoint string, c Client, token, hint string) Request {
	return c.post(endpoint, []queryParam{
		{"token", token},
		{"token_type_hint", hint},
	})
}

// ParseIntrospectionResponse checks an RFC 7662 answer: a 2xx JSON object whose "active" is
// a boolean; sub, client_id, iss and scope, when present, strings (scope a space-separated
// list of scope tokens). A non-2xx answer is a [*TokenEndpointError] when the body is an
// RFC 6749 error, else an [*HTTPError]. An inactive token is not an error here: check
// Active (or call [Introspection.Check]).
func ParseIntrospectionResponse(status int, contentType string, body []byte, maxBytes int) (*Introspection, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxResponseBytes
	}
	if len(body) > maxBytes {
		return nil, errorf(ErrTooLarge, "introspection response of %d bytes (max %d)", len(body), maxBytes)
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
	var v [8]gjson.Result
	names := []string{"active", "sub", "client_id", "iss", "scope", "error", "error_description", "error_uri"}
	if err := pick(obj, names, v[:]); err != nil {
		return nil, err
	}
	if !ok {
		if e := endpointError(status, v[5], v[6], v[7]); e != nil {
			return nil, e
		}
		return nil, &HTTPError{Status: status}
	}
	if v[0].Type != gjson.True && v[0].Type != gjson.False {
		return nil, errorf(ErrMissingParam, "introspection member active (a boolean)")
	}
	in := &Introspection{Active: v[0].Type == gjson.True}
	var err error
	for i, dst := range []*string{&in.Subject, &in.ClientID, &in.Issuer} {
		if *dst, err = stringMember(v[i+1], names[i+1]); err != nil {
			return nil, err
		}
	}
	scope, err := stringMember(v[4], "scope")
	if err != nil {
		return nil, err
	}
	for _, s := range strings.Fields(scope) {
		if !validScopeToken(s) {
			return nil, errorf(ErrMalformed, "introspection scope holds an invalid scope token")
		}
		in.Scopes = append(in.Scopes, s)
	}
	return in, nil
}

// IntrospectionRequirements are what a login requires of the introspection answer for its
// access token, beyond "active": Subject (when not empty) must equal sub, which must be
// present; ClientID (when not empty) must equal client_id, which must be present; every
// scope in Scopes must be in scope; Issuer (when not empty) must equal iss when the answer
// has one.
type IntrospectionRequirements struct {
	Subject  string
	ClientID string
	Issuer   string
	Scopes   []string
}

// Check applies r to the answer: [ErrInactive] when it is not active, else [ErrIntrospection]
// wrapped with the member that does not match.
func (in *Introspection) Check(r IntrospectionRequirements) error {
	switch {
	case !in.Active:
		return ErrInactive
	case r.Subject != "" && subtle.ConstantTimeCompare([]byte(in.Subject), []byte(r.Subject)) != 1:
		if in.Subject == "" {
			return errorf(ErrIntrospection, "no sub in the answer")
		}
		return errorf(ErrIntrospection, "sub is another subject's")
	case r.ClientID != "" && in.ClientID != r.ClientID:
		return errorf(ErrIntrospection, "client_id %s, expected %s", detail(in.ClientID), detail(r.ClientID))
	case r.Issuer != "" && in.Issuer != "" && in.Issuer != r.Issuer:
		return errorf(ErrIntrospection, "iss %s, expected %s", detail(in.Issuer), detail(r.Issuer))
	}
	for _, s := range r.Scopes {
		if !slices.Contains(in.Scopes, s) {
			return errorf(ErrIntrospection, "scope %s not granted", detail(s))
		}
	}
	return nil
}
