package keycloak_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"maps"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/demoapp"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/envoy"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/proxy"
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
	loginAndRefresh(t, p)

	// Another key: Keycloak refuses the client's assertions. Logins push their request (PAR,
	// Keycloak advertises it), so the push is refused and the navigation gets a 502 page;
	// with PAR off, the login form comes and the code exchange is refused instead. (Keycloak
	// answers a push with a bad assertion invalid_request, the token endpoint invalid_client.)
	other, _ := jwt.GenerateSigningKey(jwt.ES256, rand.Reader)
	wrong := map[string]any{
		"client.auth_method": "private_key_jwt", "client.private_key": clientKeyPEM(t, other), "client.secret": nil,
	}
	client["clientId"] = "pkjwt-wrong"
	expectRefusedClient(t, wrong, client, "pkjwt-wrong-nopar")
}

// expectCorrelated: the page carries the x-correlation-id of its response.
func expectCorrelated(t *testing.T, pg page) {
	t.Helper()
	if corr := pg.header.Get("x-correlation-id"); corr == "" || !strings.Contains(pg.body, corr) {
		t.Errorf("%d page without its correlation id: %v %.400s", pg.status, pg.header, pg.body)
	}
}

// TestPrivateKeyJWTCertificate: the client registered as Entra ID registers certificate
// credentials: Keycloak holds the client's certificate (not a JWKS), the plugin has the key
// and client.certificate (its assertions carry x5t and x5t#S256) and names each endpoint as
// the assertion's aud (client.assertion_audience endpoint, as Entra ID and Okta want).
// bob's login pushes its request (PAR endpoint as aud), exchanges the code and refreshes
// (token endpoint as aud).
func TestPrivateKeyJWTCertificate(t *testing.T) {
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pkjwt-cert"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, priv.Public(), priv)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(priv)
	// Keycloak names a certificate's key by the SHA-256 of its SubjectPublicKeyInfo (its
	// KeyUtils.createKeyId), not by RFC 7638 thumbprint, and finds keys by kid only.
	spki, _ := x509.MarshalPKIXPublicKey(priv.Public())
	kid := sha256.Sum256(spki)
	client := map[string]any{
		"clientId": "pkjwt-cert", "clientAuthenticatorType": "client-jwt",
		"attributes": map[string]any{
			"jwt.credential.certificate":      base64.StdEncoding.EncodeToString(der),
			"token.endpoint.auth.signing.alg": "ES256",
		},
	}
	p, _ := featureProxy(t, map[string]any{
		"client.auth_method": "private_key_jwt", "client.secret": nil,
		"client.private_key":        string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})),
		"client.certificate":        string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		"client.assertion_audience": "endpoint",
		"client.key_id":             base64.RawURLEncoding.EncodeToString(kid[:]),
	}, client)
	loginAndRefresh(t, p)
}

// loginAndRefresh: bob logs in through p and his session refreshes once the access token has
// expired (access.token.lifespan is 10 s in featureProxy clients), each token request
// authenticated as p's client. It returns the access tokens the app got before and after.
func loginAndRefresh(t *testing.T, p *proxy.Proxy) (first, fresh *demoapp.TokenInfo) {
	t.Helper()
	u := newUser(t, p, "bob")
	if pg := u.login("/app2/"); pg.url != p.URL+"/app2/" {
		t.Fatalf("bob landed on %s\n%s", pg.url, p.LogText())
	}
	w, pg := u.whoami("/app2/api/whoami")
	if pg.status != 200 {
		t.Fatalf("whoami: %d %.300s", pg.status, pg.body)
	}
	first = token(t, w, "X-Forwarded-Access-Token")
	waitPast(claimTime(first, "exp").Add(time.Second))
	w, pg = u.whoami("/app2/api/whoami")
	if pg.status != 200 {
		t.Fatalf("whoami after expiry: %d %.300s\n%s", pg.status, pg.body, p.LogText())
	}
	if fresh = token(t, w, "X-Forwarded-Access-Token"); fresh.Raw == first.Raw {
		t.Fatal("the access token was not refreshed")
	}
	return first, fresh
}

// expectRefusedClient: a client whose credentials Keycloak refuses (settings wrong, the
// client registered as client) gets the plugin's correlated 502 page: at the navigation when
// the login is pushed (PAR), and after the login form with login.par never (the code
// exchange), there as client noParID.
func expectRefusedClient(t *testing.T, wrong, client map[string]any, noParID string) {
	t.Helper()
	expectRefusedTunedClient(t, wrong, client, noParID, nil)
}

// expectRefusedTunedClient is expectRefusedClient with the Envoys' bootstrap changed by tune;
// with noParID "" only the pushed request is tried.
func expectRefusedTunedClient(t *testing.T, wrong, client map[string]any, noParID string, tune func(*envoy.Bootstrap)) {
	t.Helper()
	bad, _ := tunedFeatureProxy(t, wrong, client, tune)
	eve := newUser(t, bad, "bob")
	out := eve.get(bad.URL + "/app2/")
	if out.status != http.StatusBadGateway || !strings.Contains(out.body, "refused the sign-in request (") {
		t.Errorf("pushed request with refused credentials: %d %.400s", out.status, out.body)
	}
	expectCorrelated(t, out)
	if noParID == "" {
		return
	}

	wrong = maps.Clone(wrong)
	wrong["login.par"] = "never"
	client = maps.Clone(client)
	client["clientId"] = noParID
	bad, _ = tunedFeatureProxy(t, wrong, client, tune)
	eve = newUser(t, bad, "bob")
	lp := eve.get(bad.URL + "/app2/")
	if !isLoginForm(lp) {
		t.Fatalf("no login form: %d at %s", lp.status, lp.url)
	}
	eve.expectStatus = http.StatusBadGateway
	expectCorrelated(t, eve.submit(lp))
}
