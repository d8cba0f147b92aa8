package keycloak_test

import (
	"crypto/rand"
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
	p, _ := featureProxy(t, map[string]any{"dpop.enabled": true, "dpop.private_key": clientKeyPEM(t, key), "login.userinfo": true, "login.par": par}, client)
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
