package oidc

import (
	"net/url"
	"strings"
)

// parseEndpoint checks that raw is an absolute http(s) URL with a host, no
// user information and no fragment (RFC 6749 3.1, 3.2), and returns it
// parsed. http is accepted only when allowHTTP is set.
func parseEndpoint(raw string, allowHTTP bool) (*url.URL, error) {
	if raw == "" {
		return nil, errorf(ErrInvalidURL, "empty")
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] <= ' ' || raw[i] > '~' {
			return nil, errorf(ErrInvalidURL, "%s contains a space, control or non-ASCII character", detail(raw))
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errorf(ErrInvalidURL, "%s does not parse", detail(raw))
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && allowHTTP:
	default:
		return nil, errorf(ErrInvalidURL, "%s is not an https URL", detail(raw))
	}
	if u.Host == "" || u.Opaque != "" {
		return nil, errorf(ErrInvalidURL, "%s has no host", detail(raw))
	}
	if u.User != nil {
		return nil, errorf(ErrInvalidURL, "%s contains user information", detail(raw))
	}
	if strings.Contains(raw, "#") {
		return nil, errorf(ErrInvalidURL, "%s contains a fragment", detail(raw))
	}
	return u, nil
}

// queryParam is one name=value pair of a query or form body, in order.
type queryParam struct{ name, value string }

// appendQuery appends params to the URL endpoint (already checked by
// parseEndpoint), keeping any query the endpoint already has (RFC 6749 3.1:
// it MUST be retained) except for pairs whose name one of params sets.
// Params with an empty value are omitted. The order is deterministic:
// the endpoint's own pairs first, then params in order.
func appendQuery(endpoint string, params []queryParam) string {
	base, existing, _ := strings.Cut(endpoint, "?")
	var b strings.Builder
	b.Grow(len(endpoint) + 256)
	b.WriteString(base)
	sep := byte('?')
	if existing != "" {
		for _, pair := range strings.Split(existing, "&") {
			if pair == "" || setsName(params, pair) {
				continue
			}
			b.WriteByte(sep)
			b.WriteString(pair)
			sep = '&'
		}
	}
	for _, p := range params {
		if p.value == "" {
			continue
		}
		b.WriteByte(sep)
		b.WriteString(url.QueryEscape(p.name))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(p.value))
		sep = '&'
	}
	return b.String()
}

// setsName reports whether the raw query pair names a parameter in params.
func setsName(params []queryParam, pair string) bool {
	rawName, _, _ := strings.Cut(pair, "=")
	name, err := url.QueryUnescape(rawName)
	if err != nil {
		name = rawName
	}
	for _, p := range params {
		if p.name == name && p.value != "" {
			return true
		}
	}
	return false
}

// formEncode encodes params as application/x-www-form-urlencoded in order,
// omitting empty values.
func formEncode(params []queryParam) []byte {
	n := 0
	for _, p := range params {
		n += len(p.name) + len(p.value) + 2
	}
	b := make([]byte, 0, n+n/4)
	for _, p := range params {
		if p.value == "" {
			continue
		}
		if len(b) > 0 {
			b = append(b, '&')
		}
		b = append(b, url.QueryEscape(p.name)...)
		b = append(b, '=')
		b = append(b, url.QueryEscape(p.value)...)
	}
	return b
}
