package oidc

import "testing"

// TestIsIDToken: the rule that keeps ID tokens off bearer routes, on the token shapes real
// providers issue.
func TestIsIDToken(t *testing.T) {
	for _, tt := range []struct {
		name, typ, payload string
		id                 bool
	}{
		{"RFC 9068 access token", "at+jwt", `{"iss":"i","sub":"u","aud":"api","client_id":"c","scope":"read"}`, false},
		{"RFC 9068 access token with a stray nonce", "application/AT+JWT", `{"nonce":"n"}`, false},
		{"Keycloak access token", "JWT", `{"typ":"Bearer","azp":"app","auth_time":1,"nonce":"n","scope":"openid"}`, false},
		{"Keycloak ID token", "JWT", `{"typ":"ID","azp":"app","aud":"app"}`, true},
		{"Keycloak ID token without nonce", "JWT", `{"typ":"ID","aud":"app"}`, true},
		{"Entra v2 access token", "JWT", `{"aud":"api://x","azp":"c","scp":"read","ver":"2.0","tid":"t"}`, false},
		{"Entra ID token", "JWT", `{"aud":"c","nonce":"n","ver":"2.0","tid":"t"}`, true},
		{"Okta access token", "", `{"aud":"api://default","cid":"c","scp":["read"]}`, false},
		{"ID token with at_hash", "JWT", `{"aud":"c","at_hash":"x"}`, true},
		{"ID token with c_hash", "", `{"aud":"c","c_hash":"x"}`, true},
		{"ID token with s_hash", "", `{"aud":"c","s_hash":"x"}`, true},
		{"typ claim of another type", "JWT", `{"typ":1,"nonce":"n"}`, true},
		{"ID token without nonce or hashes", "JWT", `{"aud":"c","sub":"u"}`, false}, // documented limit
	} {
		if got := IsIDToken(tt.typ, []byte(tt.payload)); got != tt.id {
			t.Errorf("%s: IsIDToken = %v, want %v", tt.name, got, tt.id)
		}
	}
}
