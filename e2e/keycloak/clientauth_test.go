package keycloak_test

import (
	"crypto/rand"
	"encoding/pem"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/jwt"
)

func clientKeyPEM(t *testing.T, k *jwt.SigningKey) string {
	t.Helper()
	der, err := k.MarshalPKCS8()
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// TestPrivateKeyJWT: a Keycloak client with the "Signed JWT" authenticator and a stored
// JWKS; the plugin has no secret, only the key. bob logs in and his session refreshes
// (both token requests carry assertions). With another key the login fails on a 502 page.
func TestPrivateKeyJWT(t *testing.T) {
	key, _ := jwt.GenerateSigningKey(jwt.ES256, rand.Reader)
	client := map[string]any{
		"clientId": "pkjwt", "clientAuthenticatorType": "client-jwt",
		"attributes": map[string]any{
			"use.jwks.string": "true", "jwks.string": string(key.PublicJWKS()),
			"token.endpoint.auth.signing.alg": "ES256",
		},
	}
	p, _ := featureProxy(t, map[string]any{
		"client.auth_method": "private_key_jwt", "client.private_key": clientKeyPEM(t, key), "client.secret": nil,
	}, client)
	u := newUser(t, p, "bob")
	if pg := u.login("/app2/"); pg.url != p.URL+"/app2/" {
		t.Fatalf("bob landed on %s", pg.url)
	}
	w, pg := u.whoami("/app2/api/whoami")
	if pg.status != 200 {
		t.Fatalf("whoami: %d %.300s", pg.status, pg.body)
	}
	at := token(t, w, "X-Forwarded-Access-Token")
	waitPast(claimTime(at, "exp").Add(time.Second))
	w, pg = u.whoami("/app2/api/whoami")
	if pg.status != 200 {
		t.Fatalf("whoami after expiry: %d %.300s\n%s", pg.status, pg.body, p.LogText())
	}
	if fresh := token(t, w, "X-Forwarded-Access-Token"); fresh.Raw == at.Raw {
		t.Fatal("the access token was not refreshed")
	}

	other, _ := jwt.GenerateSigningKey(jwt.ES256, rand.Reader)
	client["clientId"] = "pkjwt-wrong"
	bad, _ := featureProxy(t, map[string]any{
		"client.auth_method": "private_key_jwt", "client.private_key": clientKeyPEM(t, other), "client.secret": nil,
	}, client)
	eve := newUser(t, bad, "bob")
	lp := eve.get(bad.URL + "/app2/")
	if !isLoginForm(lp) {
		t.Fatalf("no login form: %d at %s", lp.status, lp.url)
	}
	eve.expectStatus = http.StatusBadGateway
	out := eve.submit(lp)
	if corr := out.header.Get("x-correlation-id"); corr == "" || !strings.Contains(out.body, corr) {
		t.Errorf("502 page without its correlation id: %v %.400s", out.header, out.body)
	}
}
