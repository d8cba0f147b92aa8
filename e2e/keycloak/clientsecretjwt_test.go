package keycloak_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestClientSecretJWT: a Keycloak client with the "Signed JWT with Client Secret"
// authenticator (client-secret-jwt, HS256); the plugin signs its assertions with
// client.secret (client.auth_method client_secret_jwt). bob logs in (the push and the code
// exchange carry assertions) and his session refreshes. With another secret the pushed login
// fails on a 502 page with a correlation id, and with PAR off the code exchange does.
func TestClientSecretJWT(t *testing.T) {
	client := map[string]any{
		"clientId": "csjwt", "clientAuthenticatorType": "client-secret-jwt",
		"attributes": map[string]any{"token.endpoint.auth.signing.alg": "HS256"},
	}
	settings := map[string]any{"client.auth_method": "client_secret_jwt"}
	p, _ := featureProxy(t, settings, client)
	u := newUser(t, p, "bob")
	if pg := u.login("/app2/"); pg.url != p.URL+"/app2/" {
		t.Fatalf("bob landed on %s\n%s", pg.url, p.LogText())
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

	// Another secret (as long, so the plugin starts): Keycloak refuses the assertions.
	wrong := map[string]any{"client.auth_method": "client_secret_jwt", "client.secret": randomSecret()}
	client["clientId"] = "csjwt-wrong"
	bad, _ := featureProxy(t, wrong, client)
	eve := newUser(t, bad, "bob")
	out := eve.get(bad.URL + "/app2/")
	if out.status != http.StatusBadGateway || !strings.Contains(out.body, "refused the sign-in request (") {
		t.Errorf("pushed request with a wrong secret: %d %.400s", out.status, out.body)
	}
	expectCorrelated(t, out)

	wrong["login.par"] = "never"
	client["clientId"] = "csjwt-wrong-nopar"
	bad, _ = featureProxy(t, wrong, client)
	eve = newUser(t, bad, "bob")
	lp := eve.get(bad.URL + "/app2/")
	if !isLoginForm(lp) {
		t.Fatalf("no login form: %d at %s", lp.status, lp.url)
	}
	eve.expectStatus = http.StatusBadGateway
	expectCorrelated(t, eve.submit(lp))
}
