package oidc

import (
	"github.com/tidwall/gjson"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/jwt"
)

// IsIDToken reports whether a verified JWT, given its header typ and its
// payload (a valid JSON object), is an ID token rather than an access
// token, so that a resource server can refuse ID tokens presented as
// bearer tokens. The first rule that applies decides:
//
//  1. typ at+jwt (RFC 9068 2.1, any case, "application/" optional): an
//     access token.
//  2. A string claim typ (Keycloak's own claim, not the header): "Bearer"
//     is an access token, "ID" an ID token.
//  3. A nonce, at_hash, c_hash or s_hash claim: an ID token. OIDC Core
//     (2, 3.1.3.6, 3.3.2.11) and FAPI 1.0 (s_hash) define these for ID
//     tokens only; RFC 9068 access tokens have none of them.
//  4. Anything else: an access token. This keeps plain JWT access tokens
//     (Entra ID, Okta, Auth0; typ JWT and none of the claims above)
//     working.
//
// An ID token issued without a nonce and without hashes passes rule 4: by
// content alone it cannot be told from a JWT access token, so the
// audience must tell them apart (see config/README.md, accept_id_tokens).
func IsIDToken(typ string, payload []byte) bool {
	if jwt.TypeIs(typ, jwt.TypeAccessToken) {
		return false
	}
	switch c := gjson.GetBytes(payload, "typ"); {
	case c.Type == gjson.String && c.Str == "Bearer":
		return false
	case c.Type == gjson.String && c.Str == "ID":
		return true
	}
	for _, name := range idTokenOnlyClaims {
		if gjson.GetBytes(payload, name).Exists() {
			return true
		}
	}
	return false
}

// idTokenOnlyClaims are claims defined for ID tokens and for no access
// token profile.
var idTokenOnlyClaims = []string{"nonce", "at_hash", "c_hash", "s_hash"}
