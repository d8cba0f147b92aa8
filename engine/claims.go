package engine

import (
	"strings"

	"github.com/tidwall/gjson"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/config"
)

// MaxClaimHeaderLen bounds a claim header's value.
const MaxClaimHeaderLen = 4096

// ClaimHeaders computes the configured claim headers (header name -> claim path) from a
// session's or token's claims JSON: strings as they are, numbers and booleans as JSON, arrays
// of strings joined with ",". Values with control characters are dropped, and so are values longer than MaxClaimHeaderLen: cutting one
// could turn a group list's last entry into a prefix of another group's name. An array with an
// element that a reader splitting on "," would not get back (one holding a ",", an empty one,
// or one with a space or tab at either end, which readers trim) is dropped too: ["eng,admins"]
// must not reach the app as eng,admins, which is also what ["eng","admins"] gives.
func ClaimHeaders(forward map[string]string, claims []byte) [][2]string {
	out := make([][2]string, 0, len(forward))
	for header, claim := range forward {
		v := ClaimValue(config.LookupClaim(claims, claim))
		if v == "" {
			continue
		}
		out = append(out, [2]string{header, v})
	}
	return out
}

// listElement reports whether s survives a comma-separated list unchanged: split on ","
// and trimmed, as apps read X-Auth-Request-Groups, it comes back as itself.
func listElement(s string) bool {
	if s == "" || strings.IndexByte(s, ',') >= 0 {
		return false
	}
	first, last := s[0], s[len(s)-1]
	return first != ' ' && first != '\t' && last != ' ' && last != '\t'
}

// ClaimValue renders one claim as a header value, or "" when it must not be forwarded.
func ClaimValue(r gjson.Result) string {
	var v string
	switch {
	case !r.Exists():
		return ""
	case r.IsArray():
		parts := make([]string, 0, 4)
		ok := true
		r.ForEach(func(_, e gjson.Result) bool {
			if e.Type == gjson.String || e.Type == gjson.Number {
				s := e.String()
				if ok = listElement(s); !ok {
					return false
				}
				parts = append(parts, s)
			}
			return true
		})
		if !ok {
			return ""
		}
		v = strings.Join(parts, ",")
	case r.Type == gjson.String, r.Type == gjson.Number, r.Type == gjson.True, r.Type == gjson.False:
		v = r.String()
	default:
		return ""
	}
	if len(v) > MaxClaimHeaderLen {
		return ""
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c == 0x7f {
			return ""
		}
	}
	return v
}
