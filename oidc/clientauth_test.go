package oidc

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/url"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/jwt"
)

// TestClientAssertion checks private_key_jwt and client_secret_jwt
// assertions with go-jose as the oracle, on every request post builds.
func TestClientAssertion(t *testing.T) {
	ec, err := jwt.GenerateSigningKey(jwt.ES256, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("0123456789abcdef0123456789abcdef")
	hs, err := jwt.NewHMACSigningKey(jwt.HS256, secret)
	if err != nil {
		t.Fatal(err)
	}
	var pub jose.JSONWebKeySet
	if err := json.Unmarshal(ec.PublicJWKS(), &pub); err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	for _, tc := range []struct {
		method string
		signer *jwt.SigningKey
		key    any
		alg    jose.SignatureAlgorithm
		kid    string
	}{
		{AuthPrivateKeyJWT, ec, pub.Keys[0].Key, jose.ES256, ec.ID},
		{AuthClientSecretJWT, hs, secret, jose.HS256, ""},
	} {
		c := Client{ID: "rp \"x\"", Secret: string(secret), AuthMethod: tc.method, Signer: tc.signer,
			Audience: "https://op.example/realms/r", Now: func() time.Time { return now }, Rand: rand.Reader}
		jtis := map[string]bool{}
		for _, r := range []Request{
			CodeExchange("https://op.example/token", c, "code", "verifier", "https://rp/cb"),
			Refresh("https://op.example/token", c, "rt", nil),
			TokenExchange("https://op.example/token", c, "at", Exchange{}),
			Revoke("https://op.example/revoke", c, "rt", "refresh_token"),
		} {
			for _, h := range r.Headers {
				if h[0] == "authorization" {
					t.Errorf("%s: authorization header %q", tc.method, h[1])
				}
			}
			form, err := url.ParseQuery(string(r.Body))
			if err != nil {
				t.Fatal(err)
			}
			if form.Get("client_assertion_type") != ClientAssertionType || form.Get("client_id") != c.ID || form.Has("client_secret") {
				t.Fatalf("%s: form %v", tc.method, form)
			}
			jws, err := jose.ParseSignedCompact(form.Get("client_assertion"), []jose.SignatureAlgorithm{tc.alg})
			if err != nil {
				t.Fatalf("%s: %v", tc.method, err)
			}
			if h := jws.Signatures[0].Header; h.KeyID != tc.kid {
				t.Errorf("%s: kid %q, want %q", tc.method, h.KeyID, tc.kid)
			}
			payload, err := jws.Verify(tc.key)
			if err != nil {
				t.Fatalf("%s: go-jose rejects the signature: %v", tc.method, err)
			}
			var claims struct {
				Iss, Sub, Aud, Jti string
				Iat, Exp           int64
			}
			d := json.NewDecoder(bytes.NewReader(payload))
			d.DisallowUnknownFields()
			if err := d.Decode(&claims); err != nil {
				t.Fatal(err)
			}
			if claims.Iss != c.ID || claims.Sub != c.ID || claims.Aud != c.Audience || claims.Iat != now.Unix() || claims.Exp != now.Unix()+60 || len(claims.Jti) != 32 || jtis[claims.Jti] {
				t.Errorf("%s: claims %+v", tc.method, claims)
			}
			jtis[claims.Jti] = true
		}
	}
	// Another key's assertion does not verify: the oracle can fail.
	other, _ := jwt.GenerateSigningKey(jwt.ES256, rand.Reader)
	r := Refresh("https://op.example/token", Client{ID: "rp", AuthMethod: AuthPrivateKeyJWT, Signer: other, Rand: rand.Reader}, "rt", nil)
	form, _ := url.ParseQuery(string(r.Body))
	jws, err := jose.ParseSignedCompact(form.Get("client_assertion"), []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jws.Verify(pub.Keys[0].Key); err == nil {
		t.Error("another key's assertion verified")
	}
}

func TestClientAssertionAudienceDefault(t *testing.T) {
	k, _ := jwt.GenerateSigningKey(jwt.ES256, rand.Reader)
	r := Revoke("https://op.example/revoke", Client{ID: "rp", AuthMethod: AuthPrivateKeyJWT, Signer: k, Rand: rand.Reader}, "rt", "")
	form, _ := url.ParseQuery(string(r.Body))
	jws, err := jose.ParseSignedCompact(form.Get("client_assertion"), []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	var claims struct{ Aud string }
	_ = json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &claims)
	if claims.Aud != "https://op.example/revoke" {
		t.Errorf("aud %q", claims.Aud)
	}
}

// TestClientAssertionNamesCertificate: a client key bound to its certificate (Entra ID's
// certificate credentials) names it in every assertion by x5t and x5t#S256.
func TestClientAssertionNamesCertificate(t *testing.T) {
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, priv.Public(), priv)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(priv)
	k, err := jwt.ParsePKCS8(pkcs8, jwt.ES256)
	if err != nil {
		t.Fatal(err)
	}
	if k, err = k.WithCertificate(der); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	r := Refresh("https://login.example/t/oauth2/v2.0/token", Client{ID: "rp", AuthMethod: AuthPrivateKeyJWT, Signer: k, Rand: rand.Reader}, "rt", nil)
	form, _ := url.ParseQuery(string(r.Body))
	jws, err := jose.ParseSignedCompact(form.Get("client_assertion"), []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jws.Verify(priv.Public()); err != nil {
		t.Fatal(err)
	}
	if got := jws.Signatures[0].Header.ExtraHeaders["x5t#S256"]; got != base64.RawURLEncoding.EncodeToString(sum[:]) {
		t.Errorf("x5t#S256 %v", got)
	}
	if jws.Signatures[0].Header.ExtraHeaders["x5t"] == nil {
		t.Error("no x5t")
	}
}
