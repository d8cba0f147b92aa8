package engine

import (
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/config"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/jwt"
)

// SessionScopes returns the scopes granted with a session's access token: its scope or scp
// claim when it is a JWT, else the scopes requested at login (RFC 6749 5.1: a token response
// without scope granted what was asked).
func SessionScopes(accessToken string, requested []string) []string {
	if t, err := jwt.Parse(accessToken); err == nil {
		if s := TokenScopes(t.Payload); s != nil {
			return s
		}
	}
	return requested
}

// MissingScopes returns the scopes of required that granted lacks, in required's order.
func MissingScopes(required, granted []string) []string {
	var out []string
	for _, s := range required {
		found := false
		for _, g := range granted {
			if g == s {
				found = true
				break
			}
		}
		if !found {
			out = append(out, s)
		}
	}
	return out
}

// ClaimLookup looks claims up by path (config.LookupClaim) in a JSON object, for
// config.Authorization.Allows: decoded values as encoding/json would give them.
func ClaimLookup(raw []byte) func(name string) (any, bool) {
	return func(name string) (any, bool) {
		r := config.LookupClaim(raw, name)
		if !r.Exists() {
			return nil, false
		}
		return r.Value(), true
	}
}
