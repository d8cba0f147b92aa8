package keycloak_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/demoapp"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/proxy"
)

// bclClient is a Keycloak client of the scenario's own for featureProxy: its access tokens
// carry its own id in aud (Keycloak 26 introspects a token only for a client in its
// audience, docs/providers.md), and its logout tokens a sid.
func bclClient(clientID string) map[string]any {
	return map[string]any{
		"clientId": clientID,
		"protocolMappers": []any{map[string]any{
			"name": "own audience", "protocol": "openid-connect", "protocolMapper": "oidc-audience-mapper",
			"config": map[string]string{"included.client.audience": clientID, "access.token.claim": "true",
				"id.token.claim": "false", "introspection.token.claim": "true"},
		}},
		"attributes": map[string]any{"backchannel.logout.session.required": "true"},
	}
}

// TestBackchannelLogoutFromKeycloak: with login.introspect on, a login through Keycloak is
// introspected and succeeds; when an administrator ends the user's Keycloak session,
// Keycloak posts a logout token to the plugin, and the plugin session ends with it (the next
// API call 401, the next navigation Keycloak's password form). A logout token signed with a
// key Keycloak does not publish is refused (after one JWKS refetch).
func TestBackchannelLogoutFromKeycloak(t *testing.T) {
	needSuite(t)
	p, _ := featureProxy(t, map[string]any{
		"login.introspect.enabled":        true,
		"login.introspect.require_scopes": []string{"openid", "email"},
		"endpoints.backchannel_logout":    true,
	}, bclClient("bcl-gateway"))
	began := time.Now()
	u := newUser(t, p, "alice")
	if pg := u.login("/app1/"); pg.status != 200 {
		t.Fatalf("login: %d at %s\n%s", pg.status, pg.url, p.LogText())
	}
	if n, _ := p.Metric("oidc_proxy.callout.introspection.ok"); n != 1 {
		t.Errorf("introspection callouts ok: %d, want 1", n)
	}
	if n := countEvents(t, "INTROSPECT_TOKEN", "", began); n < 1 {
		t.Errorf("Keycloak logged %d introspections, want at least 1", n)
	}
	w, pg := u.whoami("/app1/api/whoami")
	if pg.status != 200 {
		t.Fatalf("whoami: %d", pg.status)
	}
	sid := idTokenSID(t, w)

	// A forged logout token for that session: 400, and the session goes on.
	forged := forgedLogoutToken(t, "bcl-gateway", sid)
	if st, body := postLogout(t, p, forged); st != 400 || !strings.Contains(body, "invalid_request") {
		t.Errorf("forged logout token: %d %s, want 400", st, body)
	}
	if pg := u.api("/app1/api/whoami"); pg.status != 200 {
		t.Fatalf("after a forged logout token: %d", pg.status)
	}

	// An administrator ends alice's session at Keycloak: Keycloak calls the plugin.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := suite.kc.Admin(ctx, "DELETE", "/sessions/"+url.PathEscape(sid), nil, nil); err != nil {
		t.Fatalf("ending the Keycloak session: %v", err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for n, _ := p.Metric("oidc_proxy.backchannel_logout.ok"); n < 1; n, _ = p.Metric("oidc_proxy.backchannel_logout.ok") {
		if time.Now().After(deadline) {
			t.Fatalf("Keycloak did not post a logout token the plugin accepted\n%s", p.LogText())
		}
		time.Sleep(100 * time.Millisecond)
	}
	for i := range 4 { // both workers
		if pg := u.api("/app1/api/whoami"); pg.status != http.StatusUnauthorized {
			t.Fatalf("API call %d after the back-channel logout: %d, want 401", i, pg.status)
		}
	}
	if pg := u.get(p.URL + "/app1/"); !isLoginForm(pg) {
		t.Errorf("navigation after the back-channel logout: %d at %s, want Keycloak's password form", pg.status, pg.url)
	}
	if !strings.Contains(p.LogText(), "event=backchannel_logout ") {
		t.Errorf("no backchannel_logout audit line")
	}
	// Signing in again works.
	if pg := u.submit(u.get(p.URL + "/app1/")); pg.status != 200 {
		t.Errorf("signing in again: %d at %s", pg.status, pg.url)
	}
}

// TestIntrospectionRefusesLoginAtKeycloak: a required scope Keycloak did not grant (phone is
// an optional scope the plugin does not ask for) ends the login on a 403 page.
func TestIntrospectionRefusesLoginAtKeycloak(t *testing.T) {
	needSuite(t)
	p, _ := featureProxy(t, map[string]any{
		"login.introspect.enabled":        true,
		"login.introspect.require_scopes": []string{"phone"},
	}, bclClient("bcl-gateway-2"))
	u := newUser(t, p, "bob")
	u.expectStatus = http.StatusForbidden
	pg := u.login("/app1/")
	if pg.status != http.StatusForbidden || !strings.Contains(pg.body, "does not match") {
		t.Fatalf("login: %d %.300s, want 403", pg.status, pg.body)
	}
	if n, _ := p.Metric("oidc_proxy.login.failed.introspection"); n != 1 {
		t.Errorf("login.failed.introspection %d, want 1", n)
	}
}

func idTokenSID(t *testing.T, w demoapp.WhoAmI) string {
	t.Helper()
	ti := w.Tokens["X-Forwarded-Id-Token"]
	if ti == nil {
		t.Fatal("the app got no ID token")
	}
	sid, _ := ti.Claims["sid"].(string)
	if sid == "" {
		t.Fatalf("the ID token has no sid: %v", ti.Claims)
	}
	return sid
}

// forgedLogoutToken is a well-formed logout token for sid signed with a key of the test's own.
func forgedLogoutToken(t *testing.T, clientID, sid string) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key},
		(&jose.SignerOptions{}).WithType("logout+jwt").WithHeader("kid", "not-keycloaks"))
	if err != nil {
		t.Fatal(err)
	}
	claims, _ := json.Marshal(map[string]any{"iss": suite.issuer, "aud": clientID, "iat": time.Now().Unix(), "jti": randomSecret(),
		"sid": sid, "events": map[string]any{"http://schemas.openid.net/event/backchannel-logout": map[string]any{}}})
	jws, err := signer.Sign(claims)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := jws.CompactSerialize()
	return s
}

func postLogout(t *testing.T, p *proxy.Proxy, token string) (int, string) {
	t.Helper()
	resp, err := http.PostForm(p.URL+"/oauth2/backchannel_logout", url.Values{"logout_token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	n, _ := resp.Body.Read(buf)
	b.Write(buf[:n])
	return resp.StatusCode, b.String()
}
