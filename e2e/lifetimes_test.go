package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/op"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/stack"
)

// Token lifetimes, one rule at login and refresh: expires_in, else the JWT's exp, else
// session.default_access_token_lifetime; never "no expiry".

func dropExpiresIn(m map[string]any) { delete(m, "expires_in") }
func zeroExpiresIn(m map[string]any) { m["expires_in"] = 0 }

// A login answer without expires_in: the access token's own exp is its expiry, so once it
// passes the session refreshes instead of forwarding the expired token for ever.
func TestLoginWithoutExpiresInRefreshesAtTheTokensExp(t *testing.T) {
	// The ID token outlives the test, so only the access token's expiry can ask for a refresh.
	s := start(t, stack.Options{AccessTTL: rfTTL, IDTTL: time.Hour, Configure: rfConfigure()})
	s.OP.SetFault(op.EndpointCode, op.Fault{Kind: op.FaultEditJSON, Edit: dropExpiresIn, Times: 1})
	b := newBrowser(t)
	if _, final := b.login(s, "/app1/"); final.status != http.StatusFound {
		t.Fatalf("login: %d %.300s\n%s", final.status, final.body, logText(s))
	}
	at := rfWhoAmI(t, b, s, "/app1/api/whoami").Tokens["X-Forwarded-Access-Token"]
	if at == nil || at.ExpiresAt == nil {
		t.Fatalf("the app got no access token with an exp: %+v", at)
	}
	time.Sleep(time.Until(at.ExpiresAt.Add(1100 * time.Millisecond)))
	rfLongLived(s)
	before := s.OP.Counts().Refresh
	rfFresh(t, rfWhoAmI(t, b, s, "/app1/api/whoami"), "X-Forwarded-Access-Token")
	if n := s.OP.Counts().Refresh - before; n != 1 {
		t.Errorf("refreshes after the access token's exp passed: %d, want 1", n)
	}
}

// expires_in 0 at login: a clear 502 naming the provider, once, not a loop of logins.
func TestLoginWithExpiredAccessTokenIs502(t *testing.T) {
	s := start(t, stack.Options{})
	s.OP.SetFault(op.EndpointCode, op.Fault{Kind: op.FaultEditJSON, Edit: zeroExpiresIn})
	b := newBrowser(t)
	_, final := b.login(s, "/app1/")
	if final.status != http.StatusBadGateway || !strings.Contains(final.body, "already expired") {
		t.Fatalf("login with expires_in 0: %d %.400s; want a 502 saying the token had expired", final.status, final.body)
	}
	if !strings.Contains(logText(s), "event=login_failed") || !strings.Contains(logText(s), "token_expired") {
		t.Errorf("no login_failed audit line with reason token_expired:\n%s", logText(s))
	}
	if n := s.OP.Counts().Code; n != 1 {
		t.Errorf("code exchanges: %d, want 1 (no loop)", n)
	}
}

// A refresh that returns an already expired token ends the session cleanly.
func TestRefreshReturningExpiredTokenEndsSession(t *testing.T) {
	s, b, w := rfLoggedIn(t, stack.Options{})
	rfWaitPast(w)
	s.OP.SetFault(op.EndpointRefresh, op.Fault{Kind: op.FaultEditJSON, Edit: zeroExpiresIn})
	r := b.api(s.URL + "/api/whoami")
	if r.status != http.StatusUnauthorized || !rfClears(r.header, "_oidc_session") {
		t.Fatalf("API call after a refresh gave an expired token: %d %q %.200s; want 401 clearing the session", r.status, r.header.Values("Set-Cookie"), r.body)
	}
	if n := s.OP.Counts().Refresh; n != 1 {
		t.Errorf("refreshes: %d, want 1", n)
	}
}
