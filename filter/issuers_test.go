package filter

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

// With provider.discovery off the configured endpoints are the metadata: the first fetch is
// the configured JWKS, and logins go to the configured authorization endpoint.
func TestProviderStaticMetadata(t *testing.T) {
	l := newLH(t, func(c map[string]any) {
		c["provider"] = map[string]any{"issuer": lhIssuer, "cluster": "oidc", "timeout": "2s", "discovery": false,
			"authorization_endpoint": lhIssuer + "/oauth/auth", "token_endpoint": lhIssuer + "/oauth/token",
			"jwks_uri": lhIssuer + "/oauth/keys"}
	})
	l.answer(l.expectCallout("/oauth/keys"), "200", "application/json", l.jwksJSON())
	if !l.p.provider.ready() {
		t.Fatalf("not ready: %s", l.p.provider.notReadyReason())
	}
	lg := l.startLogin("/")
	r := l.navigate("/")
	if loc := r.header("location"); !strings.HasPrefix(loc, lhIssuer+"/oauth/auth?") {
		t.Errorf("login sent to %q", loc)
	}
	_, c := l.callback(lg, "code")
	if c == nil || lhHeader(c.Headers, ":path") != "/oauth/token" {
		t.Fatalf("token request not sent to the configured endpoint")
	}
}

// A bearer issuer without jwks_uri is discovered: its document must name the issuer, and
// the JWKS fetched is the one it names; then its tokens are accepted.
func TestBearerIssuerDiscovery(t *testing.T) {
	for _, tc := range []struct {
		name, docIssuer string
		ok              bool
	}{
		{"document of the issuer", bhIssuer, true},
		{"document of another issuer", "https://evil.example.com", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLH(t, func(c map[string]any) {
				c["bearer_issuers"] = []any{map[string]any{"name": "api", "issuer": bhIssuer, "cluster": "issuer", "audiences": []any{"api://x"}}}
				c["routes"] = []any{map[string]any{"name": "api", "match": map[string]any{"prefix": "/api/"}, "auth": "bearer", "bearer_issuers": []any{"api"}}}
			})
			l.ready()
			s := newBearerSigner(t, "api-1")
			l.host.Tick() // the bearer issuers' first fetch
			d := l.expectCallout("/.well-known/openid-configuration")
			if d.Upstream != "issuer" {
				t.Errorf("discovery sent to cluster %q", d.Upstream)
			}
			doc, _ := json.Marshal(map[string]any{"issuer": tc.docIssuer, "jwks_uri": bhIssuer + "/discovered/keys",
				"authorization_endpoint": bhIssuer + "/auth", "token_endpoint": bhIssuer + "/token", "response_types_supported": []string{"code"},
				"subject_types_supported": []string{"public"}, "id_token_signing_alg_values_supported": []string{"RS256"}})
			l.answer(d, "200", "application/json", string(doc))
			cs := l.rootCallouts()
			if !tc.ok {
				if len(cs) != 0 {
					t.Fatalf("fetched keys named by another issuer's document")
				}
				if got := l.counter("oidc_proxy.bearer.discovery.invalid"); got != 1 {
					t.Errorf("bearer.discovery.invalid = %d", got)
				}
				if r := l.request("GET", "/api/x", "authorization", "Bearer "+s.token(nil)); r.status() != 503 {
					t.Errorf("a token with the issuer not loaded: %d, want 503", r.status())
				}
				return
			}
			if len(cs) != 1 || lhHeader(cs[0].Headers, ":path") != "/discovered/keys" {
				t.Fatalf("after discovery: %d callouts; logs %v", len(cs), l.host.GetWarnLogs())
			}
			l.answer(cs[0], "200", "application/json", s.jwks())
			r := l.request("GET", "/api/x", "authorization", "Bearer "+s.token(nil))
			if r.local != nil || r.action != types.ActionContinue {
				t.Fatalf("a token of the discovered issuer: %d", r.status())
			}
		})
	}
}
