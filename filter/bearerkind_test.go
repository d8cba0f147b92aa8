package filter

import (
	"strings"
	"testing"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

// newKindHarness is the bearer harness with three routes on the one issuer: /api/ (the
// defaults), /at/ (require_typ at+jwt) and /id/ (accept_id_tokens).
func newKindHarness(t *testing.T) (*lh, *bearerSigner) {
	l := newLH(t, func(c map[string]any) {
		c["bearer_issuers"] = []any{map[string]any{"name": "api", "issuer": bhIssuer, "discovery": false,
			"jwks_uri": bhIssuer + "/keys", "cluster": "oidc", "audiences": []any{"api://x"}}}
		route := func(name string, extra map[string]any) map[string]any {
			r := map[string]any{"name": name, "match": map[string]any{"prefix": "/" + name + "/"}, "auth": "bearer", "bearer_issuers": []any{"api"}}
			for k, v := range extra {
				r[k] = v
			}
			return r
		}
		c["routes"] = []any{route("api", nil), route("at", map[string]any{"require_typ": "at+jwt"}),
			route("id", map[string]any{"accept_id_tokens": true})}
	})
	l.ready()
	s := newBearerSigner(t, "api-1")
	l.host.Tick()
	l.answer(l.expectCallout("/keys"), "200", "application/json", s.jwks())
	return l, s
}

// typed signs a token like bearerSigner.token, with a header typ ("" for none).
func (s *bearerSigner) typed(typ string, edit func(map[string]any)) string {
	c := map[string]any{"iss": bhIssuer, "aud": "api://x", "sub": "u1", "exp": time.Now().Add(time.Hour).Unix(), "scope": "read"}
	if edit != nil {
		edit(c)
	}
	return s.sign(typ, c)
}

// TestBearerTokenKind: require_typ, the default typ set, and ID tokens refused unless the
// route accepts them (RFC 8725 3.11, RFC 9068). The second request with each token is a
// cache hit, which must decide the same.
func TestBearerTokenKind(t *testing.T) {
	l, s := newKindHarness(t)
	nonce := func(c map[string]any) { c["nonce"] = "n" }
	keycloakAT := func(c map[string]any) { c["typ"] = "Bearer"; c["nonce"] = "n"; c["azp"] = "app" }
	keycloakID := func(c map[string]any) { c["typ"] = "ID"; c["azp"] = "app" }
	for _, tc := range []struct {
		name, path, token string
		ok                bool
	}{
		{"no typ", "/api/x", s.typed("", nil), true},
		{"typ JWT", "/api/x", s.typed("JWT", nil), true},
		{"typ at+jwt", "/api/x", s.typed("at+jwt", nil), true},
		{"typ logout+jwt", "/api/x", s.typed("logout+jwt", nil), false},
		{"typ dpop+jwt", "/api/x", s.typed("dpop+jwt", nil), false},
		{"require_typ: at+jwt", "/at/x", s.typed("at+jwt", nil), true},
		{"require_typ: application/AT+JWT", "/at/x", s.typed("application/AT+JWT", nil), true},
		{"require_typ: JWT", "/at/x", s.typed("JWT", nil), false},
		{"require_typ: none", "/at/x", s.typed("", nil), false},
		{"ID token (nonce)", "/api/x", s.typed("JWT", nonce), false},
		{"ID token (at_hash)", "/api/x", s.typed("", func(c map[string]any) { c["at_hash"] = "x" }), false},
		{"Keycloak ID token", "/api/x", s.typed("JWT", keycloakID), false},
		{"Keycloak access token", "/api/x", s.typed("JWT", keycloakAT), true},
		{"at+jwt with a nonce", "/at/x", s.typed("at+jwt", nonce), true},
		{"accept_id_tokens: ID token", "/id/x", s.typed("JWT", nonce), true},
		{"accept_id_tokens: Keycloak ID token", "/id/x", s.typed("JWT", keycloakID), true},
		{"accept_id_tokens: typ logout+jwt", "/id/x", s.typed("logout+jwt", nonce), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rejected := l.counter("oidc_proxy.bearer.rejected.type")
			for i := range 2 {
				r := l.request("GET", tc.path, "authorization", "Bearer "+tc.token)
				if tc.ok {
					if r.action != types.ActionContinue || r.local != nil {
						t.Fatalf("request %d: %d %q, want it forwarded", i, r.status(), r.header("www-authenticate"))
					}
					continue
				}
				want := `error="invalid_token", error_description="The token is not an access token for this resource."`
				if r.status() != 401 || !strings.Contains(r.header("www-authenticate"), want) {
					t.Fatalf("request %d: %d %q, want 401 %s", i, r.status(), r.header("www-authenticate"), want)
				}
			}
			if got := l.counter("oidc_proxy.bearer.rejected.type") - rejected; !tc.ok && got != 2 {
				t.Errorf("rejected.type counted %d, want 2", got)
			}
		})
	}
}
