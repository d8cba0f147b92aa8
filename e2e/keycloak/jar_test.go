package keycloak_test

import (
	"crypto/rand"
	"net/http"
	"strings"
	"testing"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/jwt"
)

// jarClient is a Keycloak client of the scenario's own that requires a signed request object
// (RFC 9101) by value or by reference, ES256, verified with the public key of key.
func jarClient(id string, key *jwt.SigningKey) map[string]any {
	return map[string]any{
		"clientId": id,
		"attributes": map[string]any{
			"request.object.required":      "request or request_uri",
			"request.object.signature.alg": "ES256",
			"use.jwks.string":              "true",
			"jwks.string":                  string(key.PublicJWKS()),
		},
	}
}

// TestSignedRequestObjectWithKeycloak: login.request_object signed against a Keycloak client
// that requires a request object. With PAR (login.par auto; Keycloak advertises it) the push
// carries only client_id and the request object, and bob logs in; with login.par never the
// front channel carries it by value (request, beside client_id, response_type and scope) and
// alice logs in. The control: the same client refuses a plugin that sends plain parameters.
func TestSignedRequestObjectWithKeycloak(t *testing.T) {
	key, _ := jwt.GenerateSigningKey(jwt.ES256, rand.Reader)
	settings := map[string]any{"login.request_object": "signed", "client.private_key": clientKeyPEM(t, key)}

	p, _ := featureProxy(t, settings, jarClient("jar-par", key))
	if q := authRedirect(t, p, "/app2/"); len(q) != 2 || q.Get("request_uri") == "" || q.Get("request") != "" {
		t.Errorf("pushed authorization request %v, want only client_id and request_uri", q)
	}
	u := newUser(t, p, "bob")
	if pg := u.login("/app2/"); pg.url != p.URL+"/app2/" {
		t.Fatalf("bob landed on %s\n%s", pg.url, p.LogText())
	}
	if w, pg := u.whoami("/app2/api/whoami"); pg.status != 200 || w.User.PreferredUsername != "bob" {
		t.Fatalf("whoami: %d %+v", pg.status, w.User)
	}

	byValue := map[string]any{"login.par": "never"}
	for k, v := range settings {
		byValue[k] = v
	}
	p, _ = featureProxy(t, byValue, jarClient("jar-by-value", key))
	q := authRedirect(t, p, "/app2/")
	if q.Get("request") == "" || q.Get("request_uri") != "" || q.Get("state") != "" || q.Get("nonce") != "" || q.Get("code_challenge") != "" {
		t.Errorf("front-channel request %v, want the parameters inside the request object", q)
	}
	if parts := strings.Split(q.Get("request"), "."); len(parts) != 3 {
		t.Errorf("request is not a JWS: %.80s", q.Get("request"))
	}
	u = newUser(t, p, "alice")
	if pg := u.login("/app2/"); pg.url != p.URL+"/app2/" {
		t.Fatalf("alice landed on %s\n%s", pg.url, p.LogText())
	}

	// Control: the client really requires one.
	p, _ = featureProxy(t, map[string]any{"login.par": "never"}, jarClient("jar-plain", key))
	eve := newUser(t, p, "bob")
	if pg := eve.get(p.URL + "/app2/"); isLoginForm(pg) {
		t.Errorf("Keycloak showed its login form to a request without a request object")
	}
}

// TestRequestObjectWrongKeyWithKeycloak: a request object signed with a key Keycloak does not
// know is refused. Pushed, the refusal is the plugin's 502 page with a correlation id; by
// value, Keycloak's own error page (400, "Invalid Request"). Neither is a redirect loop or a
// login form.
func TestRequestObjectWrongKeyWithKeycloak(t *testing.T) {
	known, _ := jwt.GenerateSigningKey(jwt.ES256, rand.Reader)
	other, _ := jwt.GenerateSigningKey(jwt.ES256, rand.Reader)
	settings := map[string]any{"login.request_object": "signed", "client.private_key": clientKeyPEM(t, other)}

	p, _ := featureProxy(t, settings, jarClient("jar-wrong-par", known))
	eve := newUser(t, p, "bob")
	out := eve.get(p.URL + "/app2/")
	if out.status != http.StatusBadGateway || !strings.Contains(out.body, "refused the sign-in request (") {
		t.Errorf("pushed request object with a wrong key: %d at %s %.400s", out.status, out.url, out.body)
	}
	expectCorrelated(t, out)

	byValue := map[string]any{"login.par": "never"}
	for k, v := range settings {
		byValue[k] = v
	}
	p, _ = featureProxy(t, byValue, jarClient("jar-wrong-by-value", known))
	eve = newUser(t, p, "bob")
	out = eve.get(p.URL + "/app2/")
	if out.status != http.StatusBadRequest || isLoginForm(out) || !strings.Contains(out.body, "Invalid Request") {
		t.Errorf("request object by value with a wrong key: %d at %s %.600s", out.status, out.url, out.body)
	}
	if len(eve.hops) > 2 {
		t.Errorf("%d redirects before the error page: %v", len(eve.hops), eve.hops)
	}
}
