package filter

import (
	"strconv"
	"strings"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/config"
)

// setCookie renders a Set-Cookie header value with the configured attributes. maxAge < 0
// expires the cookie; 0 makes it a browser-session cookie.
func setCookie(c config.Cookie, name, value string, maxAge time.Duration) string {
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

// clearCookie expires a cookie.
func clearCookie(c config.Cookie, name string) string { return setCookie(c, name, "", -1) }
