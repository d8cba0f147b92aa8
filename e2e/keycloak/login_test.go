package keycloak_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/demoapp"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/keycloak"
)

// TestRealmServed: the harness started Keycloak with the test realm imported.
func TestRealmServed(t *testing.T) {
	needSuite(t)
	resp, err := http.Get(suite.kc.Issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var d struct {
		Issuer                        string   `json:"issuer"`
		GrantTypes                    []string `json:"grant_types_supported"`
		EndSession                    string   `json:"end_session_endpoint"`
		Revocation                    string   `json:"revocation_endpoint"`
		BackchannelLogoutSupported    bool     `json:"backchannel_logout_supported"`
		CodeChallengeMethodsSupported []string `json:"code_challenge_methods_supported"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil || d.Issuer != suite.kc.Issuer {
		t.Fatalf("discovery issuer %q (%v), want %q", d.Issuer, err, suite.kc.Issuer)
	}
	if !slices.Contains(d.GrantTypes, "urn:ietf:params:oauth:grant-type:token-exchange") || d.EndSession == "" ||
		d.Revocation == "" || !d.BackchannelLogoutSupported || !slices.Contains(d.CodeChallengeMethodsSupported, "S256") {
		t.Fatalf("discovery lacks what the suite needs: %+v", d)
	}
	t.Logf("Keycloak %s started in %s", keycloak.Version, suite.kc.Startup.Round(100*time.Millisecond))
}

// TestBrowserLoginDeepLink: a deep link logs in through Keycloak's own form in Chromium and
// lands on the exact URL; the app receives the groups, the realm roles and the client roles
// (nested claims) in headers; the admin route's rule on a realm role lets alice in.
func TestBrowserLoginDeepLink(t *testing.T) {
	needSuite(t)
	p := suite.shared
	b := newTab(t, p)
	const deep = "/app1/some/page?x=1&y=%C3%A9"
	b.navigate(deep)
	b.login("alice")
	if got := b.location(); got != p.URL+deep {
		t.Fatalf("after login the browser is at %q, want the deep link %q", got, p.URL+deep)
	}
	var w demoapp.WhoAmI
	if st := b.fetchJSON("/app1/api/whoami", &w); st != 200 {
		t.Fatalf("whoami: %d", st)
	}
	want := map[string]string{
		"X-Auth-Request-Email":              "alice@example.com",
		"X-Auth-Request-Preferred-Username": "alice",
	}
	for h, v := range want {
		if got := w.Headers[h]; got != v {
			t.Errorf("%s = %q, want %q (headers %v)", h, got, v, w.Headers)
		}
	}
	// Keycloak lists roles (and groups) in no fixed order.
	for h, v := range map[string][]string{
		"X-Auth-Request-Groups":       {"/admins", "/staff"},
		"X-Auth-Request-Roles":        {"app-admin", "app-user", "offline_access"},
		"X-Auth-Request-Client-Roles": {"editor", "viewer"},
	} {
		if got := sorted(strings.Split(w.Headers[h], ",")); !slices.Equal(got, v) {
			t.Errorf("%s = %q, want %v in any order", h, w.Headers[h], v)
		}
	}
	if sub := w.Headers["X-Auth-Request-User"]; sub == "" || sub != w.Tokens["X-Forwarded-Id-Token"].Claims["sub"] {
		t.Errorf("X-Auth-Request-User %q is not the ID token's sub", sub)
	}
	if st := b.fetchJSON("/admin/api/whoami", nil); st != 200 {
		t.Errorf("alice (realm role app-admin) at /admin/: %d, want 200", st)
	}
}

// TestRealmRoleRule: bob, without the realm role app-admin, gets 403 at the admin route, and
// his headers carry only his own roles.
func TestRealmRoleRule(t *testing.T) {
	needSuite(t)
	p := suite.shared
	u := newUser(t, p, "bob")
	if pg := u.login("/app2/"); pg.url != p.URL+"/app2/" {
		t.Fatalf("bob landed on %s", pg.url)
	}
	w, pg := u.whoami("/app2/api/whoami")
	if pg.status != 200 {
		t.Fatalf("whoami: %d %.300s", pg.status, pg.body)
	}
	if g, r, c := w.Headers["X-Auth-Request-Groups"], w.Headers["X-Auth-Request-Roles"], w.Headers["X-Auth-Request-Client-Roles"]; g != "/staff" ||
		r != "app-user" || c != "viewer" {
		t.Errorf("bob's headers: groups %q, roles %q, client roles %q", g, r, c)
	}
	if pg := u.api("/admin/api/whoami"); pg.status != http.StatusForbidden {
		t.Errorf("bob at /admin/: %d, want 403; %.300s", pg.status, pg.body)
	}
	if pg := u.get(p.URL + "/admin/"); pg.status != http.StatusForbidden || strings.Contains(pg.url, suite.kc.URL) {
		t.Errorf("bob's navigation to /admin/: %d at %s, want 403 (no login loop)", pg.status, pg.url)
	}
}
