package oidc

import (
	"net/url"
	"strings"
)

// DefaultMaxCallbackBytes is the raw query cap ParseCallback applies when
// maxBytes <= 0.
const DefaultMaxCallbackBytes = 8 << 10

// maxCallbackParams bounds the number of parameters in a callback query.
// Real providers send fewer than ten.
const maxCallbackParams = 32

// Callback is a successful authorization response (RFC 6749 4.1.2). Code
// and State are credentials: never log them.
type Callback struct {
	Code  string
	State string
	Iss   string // RFC 9207; empty when the provider did not send one
}

// ParseCallback parses the raw query of the redirect URI request.
//
// The size cap is checked first ([ErrTooLarge]). Every parameter may
// appear at most once (RFC 6749 3.1, [ErrDuplicateParam]). When md is not
// nil, "iss" (RFC 9207) must equal md.Issuer if present
// ([ErrIssuerMismatch]) and is required if md advertises
// authorization_response_iss_parameter_supported ([ErrMissingParam]); this
// check runs before the error and success branches, so an error response
// from a mixed-up provider is not trusted either. An "error" parameter
// yields an [*AuthorizationError]; otherwise code and state are required.
func ParseCallback(rawQuery string, maxBytes int, md *Metadata) (*Callback, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxCallbackBytes
	}
	if len(rawQuery) > maxBytes {
		return nil, errorf(ErrTooLarge, "callback query of %d bytes (max %d)", len(rawQuery), maxBytes)
	}
	q, err := parseUniqueQuery(rawQuery)
	if err != nil {
		return nil, err
	}
	iss, hasIss := q.get("iss")
	if md != nil {
		switch {
		case hasIss && iss != md.Issuer:
			return nil, errorf(ErrIssuerMismatch, "callback iss %s, expected %s", detail(iss), detail(md.Issuer))
		case !hasIss && md.AuthorizationResponseIssParameterSupported:
			return nil, errorf(ErrMissingParam, "callback iss (RFC 9207)")
		}
	}
	if code, ok := q.get("error"); ok {
		e := &AuthorizationError{Code: sanitizeCode(code)}
		if e.Code == "" {
			return nil, errorf(ErrMalformed, "callback error code is empty or invalid")
		}
		e.Description, _ = q.get("error_description")
		e.Description = sanitizeText(e.Description, maxDescriptionLen)
		e.URI, _ = q.get("error_uri")
		e.URI = sanitizeText(e.URI, maxErrorURILen)
		e.State, _ = q.get("state")
		return nil, e
	}
	cb := &Callback{Iss: iss}
	cb.Code, _ = q.get("code")
	cb.State, _ = q.get("state")
	switch {
	case cb.Code == "":
		return nil, errorf(ErrMissingParam, "callback code")
	case cb.State == "":
		return nil, errorf(ErrMissingParam, "callback state")
	}
	return cb, nil
}

// uniqueQuery is a decoded query in which every name occurs once.
type uniqueQuery []queryParam

// parseUniqueQuery decodes an application/x-www-form-urlencoded query,
// rejecting bad escapes ([ErrMalformed]), repeated names
// ([ErrDuplicateParam]) and more than maxCallbackParams pairs. Empty pairs
// ("a=1&&b=2") are skipped.
func parseUniqueQuery(raw string) (uniqueQuery, error) {
	var q uniqueQuery
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" {
			continue
		}
		if len(q) == maxCallbackParams {
			return nil, errorf(ErrMalformed, "more than %d callback parameters", maxCallbackParams)
		}
		rawName, rawValue, _ := strings.Cut(pair, "=")
		name, err := url.QueryUnescape(rawName)
		if err != nil {
			return nil, errorf(ErrMalformed, "callback parameter name is not form-encoded")
		}
		value, err := url.QueryUnescape(rawValue)
		if err != nil {
			return nil, errorf(ErrMalformed, "callback parameter %s is not form-encoded", detail(name))
		}
		if _, dup := q.get(name); dup {
			return nil, errorf(ErrDuplicateParam, "callback parameter %s", detail(name))
		}
		q = append(q, queryParam{name, value})
	}
	return q, nil
}

func (q uniqueQuery) get(name string) (string, bool) {
	for _, p := range q {
		if p.name == name {
			return p.value, true
		}
	}
	return "", false
}
