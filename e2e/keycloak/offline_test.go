package keycloak_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// TestOfflineAccess: where offline_access is asked for and granted, the plugin's token
// endpoint (refresh token for offline grants only) gives the app alice's offline token, which
// Keycloak keeps as an offline session; where it is not asked for, the session's (online)
// refresh token stays with the plugin. Keycloak refuses the login of a user without the
// offline_access role when it is asked for (bob): a 502 with its error, no token.
func TestOfflineAccess(t *testing.T) {
	needSuite(t)
	ctx := context.Background()
	type tokens struct {
		AccessToken  string `json:"access_token"`
		IDToken      string `json:"id_token"`
		RefreshToken string `json:"refresh_token"`
		ExpiresIn    int    `json:"expires_in"`
	}
	get := func(u *user) tokens {
		t.Helper()
		pg := u.api("/oauth2/token")
		var tk tokens
		if pg.status != 200 || json.Unmarshal([]byte(pg.body), &tk) != nil || tk.AccessToken == "" {
			t.Fatalf("%s: {prefix}/token: %d at %s via %v: %.300s", u.name, pg.status, pg.url, u.hops, pg.body)
		}
		if pg.header.Get("Cache-Control") != "no-store" {
			t.Errorf("{prefix}/token Cache-Control %q", pg.header.Get("Cache-Control"))
		}
		return tk
	}
	scopes := func(tk tokens) []string {
		s, _ := jwtPayload(t, tk.AccessToken)["scope"].(string)
		return strings.Fields(s)
	}

	alice := newUser(t, suite.offline, "alice")
	alice.login("/app1/")
	ta := get(alice)
	if ta.RefreshToken == "" {
		t.Fatalf("alice, granted offline_access: no refresh token")
	}
	if typ := jwtPayload(t, ta.RefreshToken)["typ"]; typ != "Offline" {
		t.Errorf("alice's refresh token typ %v, want Offline", typ)
	}
	if s := scopes(ta); !slices.Contains(s, "offline_access") {
		t.Errorf("alice's access token scope %q lacks offline_access", s)
	}
	if ss, err := suite.kc.OfflineSessions(ctx, "alice", "apps-gateway"); err != nil || len(ss) == 0 {
		t.Errorf("Keycloak's offline sessions of alice: %d (%v), want at least 1", len(ss), err)
	}

	online := newUser(t, suite.shared, "alice")
	online.login("/app1/")
	to := get(online)
	if to.RefreshToken != "" {
		t.Errorf("without offline_access the token endpoint gave the app a refresh token (typ %v)", jwtPayload(t, to.RefreshToken)["typ"])
	}
	if s := scopes(to); slices.Contains(s, "offline_access") {
		t.Errorf("the online session's access token scope %q has offline_access", s)
	}

	bob := newUser(t, suite.offline, "bob")
	pg := bob.get(suite.offline.URL + "/app1/")
	if !isLoginForm(pg) {
		t.Fatalf("bob: no login form (%d at %s)", pg.status, pg.url)
	}
	bob.expectStatus = http.StatusBadGateway
	if pg := bob.submit(pg); !strings.Contains(pg.body, "not_allowed") && !strings.Contains(pg.body, "Offline tokens not allowed") {
		t.Logf("bob's failed login page: %.400s", pg.body)
	}

	// Cross-site pages never get tokens.
	req, _ := http.NewRequest("GET", suite.offline.URL+"/oauth2/token", nil)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if pg := alice.do(req); pg.status != http.StatusForbidden || strings.Contains(pg.body, ta.AccessToken) {
		t.Errorf("cross-site {prefix}/token: %d", pg.status)
	}
	assertNoSecrets(t, suite.offline.LogText(), ta.AccessToken, ta.RefreshToken, ta.IDToken)

	// Keycloak's rotation with no reuse, which the single-flight refresh exists for: the
	// refresh token works once, its second use is invalid_grant.
	refresh := func() (int, string) {
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {ta.RefreshToken},
			"client_id": {"apps-gateway"}, "client_secret": {suite.gatewaySecret}}
		resp, err := http.PostForm(suite.kc.Issuer+"/protocol/openid-connect/token", form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var e struct{ Error string }
		json.NewDecoder(resp.Body).Decode(&e)
		return resp.StatusCode, e.Error
	}
	if st, e := refresh(); st != 200 {
		t.Fatalf("refreshing alice's offline token at Keycloak: %d %s", st, e)
	}
	if st, e := refresh(); st != http.StatusBadRequest || e != "invalid_grant" {
		t.Errorf("reusing a rotated refresh token at Keycloak: %d %q, want 400 invalid_grant", st, e)
	}
	assertNoSecrets(t, suite.shared.LogText(), to.AccessToken, to.IDToken)
}
