package engine

import (
	"testing"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/config"
)

// Keycloak's nested roles reach claim headers and claim rules by claim path, with the same
// header safety as top-level claims.
func TestNestedClaimHeadersAndRules(t *testing.T) {
	claims := []byte(`{"sub":"u1","realm_access":{"roles":["app-user","app-admin"]},
	  "resource_access":{"apps-gateway":{"roles":["viewer"]}},"https://example.com/roles":["x","y"],
	  "bad":{"v":"a\u0001b"}}`)
	forward := map[string]string{
		"x-roles":        "realm_access.roles",
		"x-client-roles": "resource_access.apps-gateway.roles",
		"x-url-roles":    `https://example\.com/roles`,
		"x-missing":      "resource_access.other.roles",
		"x-bad":          "bad.v",
		"x-object":       "realm_access",
	}
	got := map[string]string{}
	for _, kv := range ClaimHeaders(forward, claims) {
		got[kv[0]] = kv[1]
	}
	want := map[string]string{"x-roles": "app-user,app-admin", "x-client-roles": "viewer", "x-url-roles": "x,y"}
	if len(got) != len(want) {
		t.Errorf("headers %v, want %v", got, want)
	}
	for h, v := range want {
		if got[h] != v {
			t.Errorf("%s = %q, want %q", h, got[h], v)
		}
	}

	rule := func(claim, value string) *config.Authorization {
		return &config.Authorization{Combine: config.CombineAll, Claims: []config.ClaimRule{{Claim: claim, Op: config.ClaimContains, Value: value}}}
	}
	for _, tc := range []struct {
		a    *config.Authorization
		want bool
	}{
		{rule("realm_access.roles", "app-admin"), true},
		{rule("realm_access.roles", "app"), false},
		{rule("resource_access.apps-gateway.roles", "viewer"), true},
		{rule("resource_access.reports-api.roles", "viewer"), false},
		{rule(`https://example\.com/roles`, "y"), true},
		{rule("https://example.com/roles", "y"), false},
	} {
		if got := tc.a.Allows(nil, ClaimLookup(claims)); got != tc.want {
			t.Errorf("rule %+v: allowed %v, want %v", tc.a.Claims[0], got, tc.want)
		}
	}
}
