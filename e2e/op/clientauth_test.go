package op

import (
	"bytes"
	"crypto/rand"
	"net/http"
	"net/url"
	"testing"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/jwt"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/oidc"
)

// loginCode walks the form login and returns an authorization code.
func loginCode(t *testing.T, s *Server, p pkce) string {
	t.Helper()
	c := noRedirectClient(t)
	r := get(t, c, authorizeURL(s, p, nil))
	loginURL := s.Issuer() + r.header.Get("Location")
	reqID := must(url.Parse(loginURL)).Query().Get("authRequestID")
	r = post(t, c, s.Endpoints().Login, url.Values{"authRequestID": {reqID}, "username": {"demo"}, "password": {"demo"}}, "", "")
	r = get(t, c, s.Issuer()+r.header.Get("Location"))
	code := must(url.Parse(r.header.Get("Location"))).Query().Get("code")
	if code == "" {
		t.Fatalf("no code: %d %v", r.status, r.header)
	}
	return code
}

// TestPrivateKeyJWT: a client registered with a JWKS authenticates with
// assertions built by package oidc; another key's assertion and the
// secret are refused.
func TestPrivateKeyJWT(t *testing.T) {
	key, _ := jwt.GenerateSigningKey(jwt.ES256, rand.Reader)
	other, _ := jwt.GenerateSigningKey(jwt.ES256, rand.Reader)
	s := startOP(t, Config{ClientJWKS: key.PublicJWKS()})
	send := func(k *jwt.SigningKey, p pkce, code string) result {
		c := oidc.Client{ID: s.ClientID(), AuthMethod: oidc.AuthPrivateKeyJWT, Signer: k, Audience: s.Issuer(), Rand: rand.Reader}
		r := oidc.CodeExchange(s.Endpoints().Token, c, code, p.verifier, testRedirect)
		req, _ := http.NewRequestWithContext(ctxT(t), r.Method, r.URL, bytes.NewReader(r.Body))
		for _, h := range r.Headers {
			req.Header.Set(h[0], h[1])
		}
		return do(t, nil, req)
	}
	p := newPKCE()
	code := loginCode(t, s, p)
	if r := send(other, p, code); r.status/100 != 4 || r.json(t)["error"] == nil { // zitadel answers invalid_grant
		t.Fatalf("another key: %d %s", r.status, r.body)
	}
	tok := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirect}, "code_verifier": {p.verifier}}
	if r := post(t, nil, s.Endpoints().Token, tok, s.ClientID(), s.ClientSecret()); r.status == http.StatusOK {
		t.Fatalf("the secret still works: %d %s", r.status, r.body)
	}
	if r := send(key, p, code); r.status != http.StatusOK || r.json(t)["id_token"] == nil {
		t.Fatalf("private_key_jwt: %d %s", r.status, r.body)
	}
}
