package keycloak_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/demoapp"
)

// TestSignOut: sign-out revokes the refresh token at Keycloak and ends Keycloak's session
// through RP-initiated logout, so the next visit shows the password form again.
func TestSignOut(t *testing.T) {
	needSuite(t)
	ctx := context.Background()
	p := suite.shared
	b := newTab(t, p)
	b.navigate("/app2/")
	b.login("alice")
	var w demoapp.WhoAmI
	if st := b.fetchJSON("/app2/api/whoami", &w); st != 200 {
		t.Fatalf("whoami: %d", st)
	}
	sid, _ := w.Tokens["X-Forwarded-Id-Token"].Claims["sid"].(string)
	if !hasSession(t, "alice", sid) {
		t.Fatalf("Keycloak has no session %s for alice after login", sid)
	}
	began := time.Now().Add(-time.Second)
	b.navigate("/oauth2/sign_out")
	// post_logout_redirect_url is the site's root, which needs a login: with Keycloak's
	// session gone, that is the password form, not an SSO bounce back into the app.
	if !b.onLoginForm() {
		t.Fatalf("after sign-out the browser is at %s, want Keycloak's password form", b.location())
	}
	if hasSession(t, "alice", sid) {
		t.Errorf("Keycloak still has session %s after sign-out", sid)
	}
	if n := countEvents(t, "REVOKE_GRANT", sid, began); n != 1 {
		t.Errorf("Keycloak logged %d revocations for the session, want 1", n)
	}
	// The revocation ended Keycloak's session already: the logout request that follows finds
	// none (docs/providers.md says so; this notices when Keycloak changes).
	if n, m := countEvents(t, "LOGOUT", sid, began), countEvents(t, "LOGOUT_ERROR", "", began); n != 0 || m != 1 {
		t.Errorf("Keycloak logged %d logouts and %d failed logouts, want 0 and 1 (session_expired)", n, m)
	}
	b.login("alice")
	if st := b.fetchJSON("/app2/api/whoami", nil); st != 200 {
		t.Errorf("after logging in again: %d", st)
	}

	// The same without JavaScript, hop by hop: the plugin sends the browser to Keycloak's
	// end_session_endpoint (RP-initiated logout) and Keycloak back to the site.
	u := newUser(t, p, "bob")
	u.login("/app1/")
	pg := u.get(p.URL + "/oauth2/sign_out")
	endSession := suite.kc.Issuer + "/protocol/openid-connect/logout?"
	if !slices.ContainsFunc(u.hops, func(h string) bool { return strings.HasPrefix(h, endSession) }) || !isLoginForm(pg) {
		t.Errorf("sign-out went %v and ended on %d %s; want a visit to %s and the password form", u.hops, pg.status, pg.url, endSession)
	}
	if ss, err := suite.kc.UserSessions(ctx, "bob"); err != nil {
		t.Fatal(err)
	} else if len(ss) != 0 {
		// Other scenarios' sessions of bob ended already or were signed out; none may stay.
		t.Logf("bob's sessions after sign-out: %d", len(ss))
	}
}

func hasSession(t testing.TB, username, sid string) bool {
	t.Helper()
	ss, err := suite.kc.UserSessions(context.Background(), username)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range ss {
		if s.ID == sid {
			return true
		}
	}
	return false
}
