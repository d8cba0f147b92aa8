package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/op"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/stack"
)

// inflateRefreshToken makes the provider's refresh token 200 KB: more than any cookie budget.
// (An access token cannot be inflated in flight: the ID token's at_hash binds it.)
func inflateRefreshToken(m map[string]any) { m["refresh_token"] = strings.Repeat("A", 200<<10) }

// Tokens that cannot fit the session cookies: a 502 page that says so at login (never a 500),
// and at a refresh the session ends cleanly instead of keeping a cookie it cannot update.
func TestOversizedTokens(t *testing.T) {
	t.Run("login", func(t *testing.T) {
		s := start(t, stack.Options{})
		s.OP.SetFault(op.EndpointCode, op.Fault{Kind: op.FaultEditJSON, Edit: inflateRefreshToken})
		_, final := newBrowser(t).login(s, "/app1/")
		if final.status != http.StatusBadGateway || !strings.Contains(final.body, "too large") {
			t.Fatalf("login with a 200 KB refresh token: %d %.300s; want a 502 saying the tokens are too large", final.status, final.body)
		}
		if n := rfMetric(s, "oidc_proxy.login.failed.session_too_large"); n != 1 {
			t.Errorf("login.failed.session_too_large = %d, want 1", n)
		}
	})
	t.Run("refresh", func(t *testing.T) {
		s, b, w := rfLoggedIn(t, stack.Options{})
		rfWaitPast(w)
		s.OP.SetFault(op.EndpointRefresh, op.Fault{Kind: op.FaultEditJSON, Edit: inflateRefreshToken})
		r := b.api(s.URL + "/api/whoami")
		if r.status != http.StatusUnauthorized || !rfClears(r.header, "_oidc_session") {
			t.Fatalf("after a refresh with a 200 KB refresh token: %d %q %.200s; want 401 ending the session", r.status, r.header.Values("Set-Cookie"), r.body)
		}
		if !strings.Contains(logText(s), "too large") {
			t.Errorf("the session did not end for its size:\n%s", logText(s))
		}
	})
}
