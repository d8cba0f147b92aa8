package filter

import (
	"strings"
	"testing"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

// TestIdentityHeaderSpellings: a client's identity header in another spelling (underscores,
// upper case) never reaches the app, on a pass-through path, an auth none route and a bearer
// route whose token has no claim for it (the forged header would be all the app sees): WSGI, PHP and Rack apps read X_Groups as X-Groups.
func TestIdentityHeaderSpellings(t *testing.T) {
	l := newLH(t, func(c map[string]any) {
		c["bearer_issuers"] = []any{map[string]any{"name": "api", "issuer": bhIssuer, "discovery": false,
			"jwks_uri": bhIssuer + "/keys", "cluster": "oidc", "audiences": []any{"api://x"}}}
		c["routes"] = []any{
			map[string]any{"name": "api", "match": map[string]any{"prefix": "/api/"}, "auth": "bearer", "bearer_issuers": []any{"api"}},
			map[string]any{"name": "public", "match": map[string]any{"prefix": "/public/"}, "auth": "none"},
		}
		c["pass_through"] = []any{map[string]any{"path": "/healthz"}}
		c["forward"] = map[string]any{"access_token_header": "X-Forwarded-Access-Token", "claims": map[string]any{"X-User": "sub", "X-Groups": "groups"}}
		c["login"] = map[string]any{"claims": []any{"sub", "groups"}}
	})
	l.ready()
	s := newBearerSigner(t, "api-1")
	l.host.Tick()
	l.answer(l.expectCallout("/keys"), "200", "application/json", s.jwks())
	// Lower case, as Envoy passes every name (letter case is engine.TestReadRequestIdentitySpellings').
	forged := []string{"x_groups", "forged", "x-groups", "forged", "x_forwarded_access_token", "forged",
		"x-forwarded_access-token", "forged", "x_user", "forged"}
	noGroups := s.token(func(c map[string]any) { delete(c, "groups") })
	for _, tc := range []struct {
		name, path string
		hdrs       []string
	}{
		{"pass-through", "/healthz", forged},
		{"auth none", "/public/x", forged},
		{"bearer, no groups claim", "/api/x", append([]string{"authorization", "Bearer " + noGroups}, forged...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := l.request("GET", tc.path, tc.hdrs...)
			if r.action != types.ActionContinue || r.local != nil {
				t.Fatalf("action %v, local %+v", r.action, r.local)
			}
			for _, kv := range l.host.GetCurrentRequestHeaders(r.id) {
				if kv[1] == "forged" {
					t.Errorf("the app received the client's %s", kv[0])
				}
				if strings.Contains(kv[0], "_") {
					t.Errorf("the app received %s", kv[0])
				}
			}
		})
	}
}
