package jwt

import (
	"fmt"
	"strings"
)

// Well-known typ values (RFC 7519 5.1, RFC 9068 2.1).
const (
	TypeJWT         = "JWT"    // a JWT of no particular kind; what ID tokens carry
	TypeAccessToken = "at+jwt" // an RFC 9068 JWT access token
)

// TypeIs reports whether typ, a JOSE header typ value, names the media type
// want. Media types compare case-insensitively, and RFC 7515 4.1.9 lets
// "application/" be left out when the rest holds no other "/": "JWT",
// "jwt" and "application/jwt" are one type, and so are "at+jwt" and
// "application/AT+JWT"; "text/jwt" is not "jwt".
func TypeIs(typ, want string) bool {
	return typ != "" && strings.EqualFold(shortType(typ), shortType(want))
}

// shortType drops the optional "application/" prefix.
func shortType(t string) string {
	const app = "application/"
	if len(t) > len(app) && strings.EqualFold(t[:len(app)], app) && !strings.Contains(t[len(app):], "/") {
		return t[len(app):]
	}
	return t
}

// CheckType checks the header's typ against the types allowed (TypeIs). An
// absent typ passes unless required. The error wraps ErrType and quotes
// the typ found (it is not a secret).
func (h *Header) CheckType(required bool, allowed ...string) error {
	if h.Type == "" {
		if required {
			return fmt.Errorf("%w: no typ, want %s", ErrType, strings.Join(allowed, " or "))
		}
		return nil
	}
	for _, a := range allowed {
		if TypeIs(h.Type, a) {
			return nil
		}
	}
	return fmt.Errorf("%w: typ %s, want %s", ErrType, quote(h.Type), strings.Join(allowed, " or "))
}
