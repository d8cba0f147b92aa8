package keycloak_test

import (
	"crypto/rand"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/jwt"
)

// TestDPoPWithKeycloak: a Keycloak client that requires DPoP-bound access tokens
// (dpop.bound.access.tokens); the plugin, with dpop.enabled and its own ES256 key, sends a
// proof with the push (login.par auto; dpop_jkt names the key in the push, or in the
// redirect with login.par never), the code exchange, the userinfo call (login.userinfo:
// "Authorization: DPoP" with ath) and the refresh. Keycloak binds the access token to that
// key: its cnf.jkt is the key's RFC 7638 thumbprint, before and after the refresh.
func TestDPoPWithKeycloak(t *testing.T) {
	key, err := jwt.GenerateSigningKey("ES256", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, par := range []string{"auto", "never"} {
		t.Run("par "+par, func(t *testing.T) { dpopLoginAndRefresh(t, key, par) })
	}
}

// dpopLoginAndRefresh logs bob in through a DPoP client of its own with login.par par
// (auto: pushed with a proof and dpop_jkt; never: dpop_jkt in the redirect) and refreshes.
func dpopLoginAndRefresh(t *testing.T, key *jwt.SigningKey, par string) {
	client := map[string]any{"clientId": "dpop-bound-" + par, "attributes": map[string]any{"dpop.bound.access.tokens": "true"}}
	// With a bearer route whose issuer is Keycloak: the session's bound access token replayed
	// there as a Bearer token must be refused (RFC 9449 7.2).
	settings := map[string]any{"dpop.enabled": true, "dpop.private_key": clientKeyPEM(t, key), "login.userinfo": true, "login.par": par}
	maps.Copy(settings, bearerRouteSettings("dpop-bound-"+par))
	p, _ := featureProxy(t, settings, client)
	u := newUser(t, p, "bob")
	if pg := u.login("/app2/"); pg.url != p.URL+"/app2/" {
		t.Fatalf("bob landed on %s: %.300s\n%s", pg.url, pg.body, p.LogText())
	}
	w, pg := u.whoami("/app2/api/whoami")
	if pg.status != 200 {
		t.Fatalf("whoami: %d %.300s", pg.status, pg.body)
	}
	at := token(t, w, "X-Forwarded-Access-Token")
	if got := cnfJKT(at.Claims); got != key.Thumbprint() {
		t.Fatalf("access token cnf %v, want jkt %s (the plugin's key)", at.Claims["cnf"], key.Thumbprint())
	}
	replayAsBearer(t, p.URL+"/bearer/x", at.Raw, at.Claims["aud"], "bound to a DPoP key")
	waitPast(claimTime(at, "exp").Add(time.Second))
	w, pg = u.whoami("/app2/api/whoami")
	if pg.status != 200 {
		t.Fatalf("whoami after expiry: %d %.300s\n%s", pg.status, pg.body, p.LogText())
	}
	fresh := token(t, w, "X-Forwarded-Access-Token")
	if fresh.Raw == at.Raw {
		t.Fatal("the access token was not refreshed")
	}
	if got := cnfJKT(fresh.Claims); got != key.Thumbprint() {
		t.Errorf("refreshed access token cnf %v, want jkt %s", fresh.Claims["cnf"], key.Thumbprint())
	}
	if log := p.LogText(); !strings.Contains(log, "event=login_started") || strings.Contains(log, "dpop_nonce_refused") {
		t.Errorf("plugin log:\n%s", log)
	}
}

func cnfJKT(claims map[string]any) string {
	cnf, _ := claims["cnf"].(map[string]any)
	s, _ := cnf["jkt"].(string)
	return s
}

// bearerRouteSettings are featureProxy settings for a bearer route /bearer/ whose issuer is
// Keycloak (its keys through the provider's cluster), taking tokens for the gateway or client.
func bearerRouteSettings(client string) map[string]any {
	issuer := map[string]any{"name": "kc", "issuer": suite.issuer, "insecure_allow_http": true, "cluster": "oidc",
		"authority": strings.TrimPrefix(suite.kcURL, "http://"), "audiences": []any{"apps-gateway", "account", client}}
	return map[string]any{
		"bearer_issuers": []any{issuer},
		"routes":         []any{map[string]any{"name": "api", "match": map[string]any{"prefix": "/bearer/"}, "auth": "bearer", "bearer_issuers": []any{"kc"}}},
	}
}

// replayAsBearer sends a sender-constrained access token that leaked from the session as a
// plain Bearer token (on a connection without a client certificate) to a bearer route of
// the same plugin: 401 invalid_token, whose description holds why.
func replayAsBearer(t *testing.T, url, token string, aud any, why string) {
	t.Helper()
	var st int
	var challenge string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Accept", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		st, challenge = resp.StatusCode, resp.Header.Get("WWW-Authenticate")
		if st != http.StatusServiceUnavailable || time.Now().After(deadline) { // 503 until the issuer's keys are in
			break
		}
	}
	if st != http.StatusUnauthorized || !strings.Contains(challenge, `error="invalid_token"`) || !strings.Contains(challenge, why) {
		t.Errorf("the bound access token (aud %v) replayed as Bearer: %d %q, want 401 invalid_token (%s)", aud, st, challenge, why)
	}
}
