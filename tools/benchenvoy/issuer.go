package main

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"time"
)

// bearerAudience is the audience the plugin's bearer route and jwt_authn require.
const bearerAudience = "bench-api"

// issuer signs RS256 bearer tokens and publishes its key at /jwks (a key generated per run).
type issuer struct {
	srv *httptest.Server
	key *rsa.PrivateKey
}

func newIssuer() (*issuer, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	b64 := base64.RawURLEncoding.EncodeToString
	jwks, err := json.Marshal(map[string]any{"keys": []any{map[string]any{
		"kty": "RSA", "kid": "rs", "use": "sig", "alg": "RS256",
		"n": b64(k.N.Bytes()), "e": b64(big.NewInt(int64(k.E)).Bytes()),
	}}})
	if err != nil {
		return nil, err
	}
	is := &issuer{key: k}
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
func (is *issuer) Close()      { is.srv.Close() }

// token signs an RS256 access token for bearerAudience with the given jti, valid for an hour,
// with the claims an Entra ID or Keycloak access token typically carries.
func (is *issuer) token(jti string) (string, error) {
	b64 := base64.RawURLEncoding.EncodeToString
	h, _ := json.Marshal(map[string]string{"alg": "RS256", "kid": "rs", "typ": "JWT"})
	now := time.Now()
	p, err := json.Marshal(map[string]any{
		"iss": is.srv.URL, "aud": bearerAudience, "sub": "0b3c2f9e-7a51-4c4e-9d1e-5f1a2b3c4d5e",
		"azp": "bench-client", "jti": jti, "iat": now.Add(-time.Minute).Unix(),
		"nbf": now.Add(-time.Minute).Unix(), "exp": now.Add(time.Hour).Unix(),
		"scope": "openid profile email api.read api.write", "preferred_username": "demo@example.com",
		"email": "demo@example.com", "name": "Demo User", "tid": "9188040d-6c67-4c5b-b112-36a304b66dad",
		"roles": []string{"reader", "writer"}, "ver": "2.0",
	})
	if err != nil {
		return "", err
	}
	input := b64(h) + "." + b64(p)
	d := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, is.key, crypto.SHA256, d[:])
	if err != nil {
		return "", err
	}
	return input + "." + b64(sig), nil
}

// tokens signs n distinct tokens (jti prefix-0 .. prefix-(n-1)) on all CPUs.
func (is *issuer) tokens(prefix string, n int) ([]string, error) {
	out := make([]string, n)
	errs := make([]error, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for w := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += len(errs) {
				if out[i], errs[w] = is.token(fmt.Sprintf("%s-%d", prefix, i)); errs[w] != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
