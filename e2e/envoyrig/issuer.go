package envoyrig

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
)

// Issuer signs bearer tokens and publishes its keys at /jwks: kid "rs" (RS256, RSA-2048)
// and, when asked for, kid "ed" (EdDSA, Ed25519). Its keys are generated per run.
type Issuer struct {
	srv *httptest.Server
	rsa *rsa.PrivateKey
	ed  ed25519.PrivateKey
}

// NewIssuer generates the keys and starts the JWKS server.
func NewIssuer(eddsa bool) (*Issuer, error) {
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	is := &Issuer{rsa: rk}
	b64 := base64.RawURLEncoding.EncodeToString
	keys := []any{map[string]any{"kty": "RSA", "kid": "rs", "use": "sig", "alg": "RS256",
		"n": b64(rk.N.Bytes()), "e": b64(big.NewInt(int64(rk.E)).Bytes())}}
	if eddsa {
		if _, is.ed, err = ed25519.GenerateKey(rand.Reader); err != nil {
			return nil, err
		}
		keys = append(keys, map[string]any{"kty": "OKP", "kid": "ed", "use": "sig", "alg": "EdDSA",
			"crv": "Ed25519", "x": b64(is.ed.Public().(ed25519.PublicKey))})
	}
	jwks, err := json.Marshal(map[string]any{"keys": keys})
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

// URL is the issuer's base URL (its "iss"); the JWKS is at URL()+"/jwks".
func (is *Issuer) URL() string { return is.srv.URL }

// Close stops the JWKS server.
func (is *Issuer) Close() { is.srv.Close() }

// Sign returns a compact JWS of claims signed with key kid ("rs": RS256, "ed": EdDSA), with
// the header {"alg", "kid", "typ": "JWT"}.
func (is *Issuer) Sign(kid string, claims map[string]any) (string, error) {
	alg := map[string]string{"rs": "RS256", "ed": "EdDSA"}[kid]
	if alg == "" || (kid == "ed" && is.ed == nil) {
		return "", fmt.Errorf("envoyrig: the issuer has no key %q", kid)
	}
	h, _ := json.Marshal(map[string]string{"alg": alg, "kid": kid, "typ": "JWT"})
	p, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	b64 := base64.RawURLEncoding.EncodeToString
	input := b64(h) + "." + b64(p)
	var sig []byte
	if kid == "rs" {
		d := sha256.Sum256([]byte(input))
		if sig, err = rsa.SignPKCS1v15(rand.Reader, is.rsa, crypto.SHA256, d[:]); err != nil {
			return "", err
		}
	} else {
		sig = ed25519.Sign(is.ed, []byte(input))
	}
	return input + "." + b64(sig), nil
}
