package envoysoak

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"time"
)

// BearerAudience is the audience the plugin's bearer route requires.
const BearerAudience = "soak-api"

// issuer signs bearer tokens for the plugin's bearer route and publishes its keys at /jwks.
// Its keys are generated per run.
type issuer struct {
	srv *httptest.Server
	rsa *rsa.PrivateKey
	ed  ed25519.PrivateKey
}

func newIssuer() (*issuer, error) {
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	_, ek, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	is := &issuer{rsa: rk, ed: ek}
	b64 := base64.RawURLEncoding.EncodeToString
	jwks, err := json.Marshal(map[string]any{"keys": []any{
		map[string]any{"kty": "RSA", "kid": "rs", "use": "sig", "alg": "RS256",
			"n": b64(rk.N.Bytes()), "e": b64(big.NewInt(int64(rk.E)).Bytes())},
		map[string]any{"kty": "OKP", "kid": "ed", "use": "sig", "alg": "EdDSA", "crv": "Ed25519",
			"x": b64(ek.Public().(ed25519.PublicKey))},
	}})
	if err != nil {
		return nil, err
	}
	is.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/jwks" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(jwks)
	}))
	return is, nil
}

func (is *issuer) URL() string { return is.srv.URL }

func (is *issuer) Close() { is.srv.Close() }

// token signs an access token for BearerAudience with RS256 or EdDSA ("rs" or "ed"), with
// a distinct jti and the given expiry.
func (is *issuer) token(kid, jti string, exp time.Time) (string, error) {
	alg := map[string]string{"rs": "RS256", "ed": "EdDSA"}[kid]
	if alg == "" {
		return "", fmt.Errorf("envoysoak: no key %q", kid)
	}
	h, _ := json.Marshal(map[string]string{"alg": alg, "kid": kid, "typ": "JWT"})
	now := time.Now()
	p, err := json.Marshal(map[string]any{
		"iss": is.srv.URL, "aud": BearerAudience, "sub": "soak-client", "jti": jti,
		"iat": now.Add(-time.Minute).Unix(), "exp": exp.Unix(), "scope": "read write",
	})
	if err != nil {
		return "", err
	}
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p)
	var sig []byte
	if kid == "rs" {
		d := sha256.Sum256([]byte(input))
		if sig, err = rsa.SignPKCS1v15(rand.Reader, is.rsa, crypto.SHA256, d[:]); err != nil {
			return "", err
		}
	} else {
		sig = ed25519.Sign(is.ed, []byte(input))
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}
