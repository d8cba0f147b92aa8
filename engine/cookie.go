package engine

import (
	"strconv"
	"strings"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/config"
)

// SetCookie renders a Set-Cookie header value with the configured attributes. maxAge < 0
// expires the cookie; 0 makes it a browser-session cookie.
func SetCookie(c config.Cookie, name, value string, maxAge time.Duration) string {
	var b strings.Builder
	b.Grow(len(name) + len(value) + 96)
	b.WriteString(name)
	b.WriteByte('=')
	b.WriteString(value)
	b.WriteString("; Path=")
	b.WriteString(c.Path)
	if c.Domain != "" {
		b.WriteString("; Domain=")
		b.WriteString(c.Domain)
	}
	switch {
	case maxAge < 0:
		b.WriteString("; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT")
	case maxAge > 0:
		b.WriteString("; Max-Age=")
		b.WriteString(strconv.FormatInt(int64(maxAge/time.Second), 10))
	}
	b.WriteString("; HttpOnly")
	if c.Secure {
		b.WriteString("; Secure")
	}
	b.WriteString("; SameSite=")
	b.WriteString(c.SameSite)
	return b.String()
}

// ClearCookie expires a cookie.
func ClearCookie(c config.Cookie, name string) string { return SetCookie(c, name, "", -1) }

// CookieValue returns the value of the named cookie in a Cookie header, without allocating
// a map: the filter looks up few names per request.
func CookieValue(header, name string) (string, bool) {
	for header != "" {
		var part string
		part, header, _ = strings.Cut(header, ";")
		if v, ok := CookieIn(trimLeftSpace(part), name); ok {
			return v, true
		}
	}
	return "", false
}

// SplitCookies appends the "name=value" parts of a Cookie header to buf, leading spaces and
// tabs trimmed, for repeated CookieIn lookups: a session cookie comes in chunks looked up
// under up to eight names, and scanning a header of several KB for each costs more than one
// split.
func SplitCookies(header string, buf []string) []string {
	for header != "" {
		var part string
		part, header, _ = strings.Cut(header, ";")
		buf = append(buf, trimLeftSpace(part))
	}
	return buf
}

// CookieIn returns the value of one "name=value" part (without leading spaces) if it is the
// named cookie's, trailing spaces and tabs trimmed.
func CookieIn(part, name string) (string, bool) {
	if len(part) > len(name) && part[len(name)] == '=' && part[:len(name)] == name {
		v := part[len(name)+1:]
		for len(v) > 0 && (v[len(v)-1] == ' ' || v[len(v)-1] == '\t') {
			v = v[:len(v)-1]
		}
		return v, true
	}
	return "", false
}

// trimLeftSpace is strings.TrimLeft(s, " \t") without building a cutset per call.
func trimLeftSpace(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	return s
}
