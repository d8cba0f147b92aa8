package engine

import (
	"strings"

	"github.com/tidwall/gjson"
)

// BearerToken reads "Bearer <token68>" (RFC 6750 2.1; the scheme in any case). present is
// false when there is no Authorization header or it uses another scheme; ok is false when
// it is a Bearer credential that is oversized or not a single token68.
func BearerToken(header string, maxLen int) (token string, present, ok bool) {
	token, present, ok = BearerCredential(header, maxLen)
	if !ok || !IsToken68(token) {
		return "", present, false
	}
	return token, true, true
}

// BearerCredential is BearerToken without the per-byte token68 check, for a caller that
// first looks the credential up among tokens it verified (which all passed it): ok is false
// only for an oversized header.
func BearerCredential(header string, maxLen int) (token string, present, ok bool) {
	const scheme = "bearer"
	if len(header) < len(scheme) || !strings.EqualFold(header[:len(scheme)], scheme) {
		return "", false, false
	}
	rest := header[len(scheme):]
	if rest != "" && rest[0] != ' ' {
		return "", false, false // "Bearerx ...": another scheme
	}
	if len(header) > maxLen {
		return "", true, false
	}
	return strings.Trim(rest, " "), true, true
}

// IsToken68 reports whether s is an RFC 7235 token68: 1*( ALPHA / DIGIT / "-" / "." / "_" /
// "~" / "+" / "/" ) *"=".
func IsToken68(s string) bool {
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/') {
			break
		}
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}

// TokenScopes reads the granted scopes of an access token: "scope", a space-separated string
// (RFC 8693, RFC 9068), or "scp", a string or an array of strings (Entra ID, Okta).
func TokenScopes(claims []byte) []string {
	var out []string
	if s := gjson.GetBytes(claims, "scope"); s.Type == gjson.String {
		out = append(out, strings.Fields(s.Str)...)
	}
	scp := gjson.GetBytes(claims, "scp")
	switch {
	case scp.Type == gjson.String:
		out = append(out, strings.Fields(scp.Str)...)
	case scp.IsArray():
		scp.ForEach(func(_, e gjson.Result) bool {
			if e.Type == gjson.String {
				out = append(out, e.Str)
			}
			return true
		})
	}
	return out
}
