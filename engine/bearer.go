package engine

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
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

// Confirmation is what a token's cnf claim binds it to (RFC 7800): a DPoP key's thumbprint
// (jkt, RFC 9449) or a client certificate's SHA-256 (x5t#S256, RFC 8705), decoded.
type Confirmation struct {
	JKT bool   // cnf.jkt is present: the token is DPoP-bound
	X5T []byte // cnf.x5t#S256 decoded (32 bytes when well formed), nil when absent
	// Unknown: cnf is there but holds neither member in a usable form (another method, a
	// malformed value): the token is bound to something the plugin cannot check.
	Unknown bool
}

// Bound reports whether the token is sender-constrained at all.
func (c Confirmation) Bound() bool { return c.JKT || c.X5T != nil || c.Unknown }

// TokenConfirmation reads a payload's cnf claim. A cnf that is not an object, or whose
// x5t#S256 is not the base64url of 32 bytes, is Unknown: refused like any binding the
// plugin cannot verify, never ignored.
func TokenConfirmation(claims []byte) Confirmation {
	cnf := gjson.GetBytes(claims, "cnf")
	if !cnf.Exists() || cnf.Type == gjson.Null {
		return Confirmation{}
	}
	if !cnf.IsObject() {
		return Confirmation{Unknown: true}
	}
	var c Confirmation
	if jkt := cnf.Get("jkt"); jkt.Exists() {
		c.JKT = true
	}
	if x5t := cnf.Get(`x5t#S256`); x5t.Exists() {
		d, err := base64.RawURLEncoding.DecodeString(x5t.Str)
		if x5t.Type != gjson.String || err != nil || len(d) != sha256.Size {
			c.Unknown = true
		} else {
			c.X5T = d
		}
	}
	if !c.JKT && c.X5T == nil {
		c.Unknown = true // cnf with only other members (jwk, kid, jku): a binding we cannot verify
	}
	return c
}

// CheckConfirmation decides whether a token presented as Bearer may be accepted on a
// connection whose client certificate has the given SHA-256 digest (hex, as Envoy's
// connection.sha256_peer_certificate_digest property; "" when there is none). An unbound
// token always may.
func CheckConfirmation(c Confirmation, peerCertSHA256Hex string) error {
	switch {
	case !c.Bound():
		return nil
	case c.JKT:
		return ErrDPoPBoundAsBearer
	case c.Unknown:
		return ErrUnknownBinding
	}
	got, err := hex.DecodeString(peerCertSHA256Hex)
	if err != nil || len(got) != sha256.Size || subtle.ConstantTimeCompare(got, c.X5T) != 1 {
		return ErrCertBoundMismatch
	}
	return nil
}
