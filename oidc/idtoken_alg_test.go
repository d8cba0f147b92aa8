package oidc

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"testing"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/jwt"
)

// TestIDTokenEd25519: an ID token signed with alg Ed25519 (RFC 9864) is accepted like one
// with EdDSA, at_hash included (SHA-512); Ed448 is refused.
func TestIDTokenEd25519(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding
	sum := sha512.Sum512([]byte(testAccess))
	claims := claimsWith(func(m map[string]any) { m["at_hash"] = enc.EncodeToString(sum[:32]) })
	sign := func(alg string) string {
		h, _ := json.Marshal(map[string]any{"alg": alg, "kid": "ed", "typ": "JWT"})
		p, _ := json.Marshal(claims)
		input := enc.EncodeToString(h) + "." + enc.EncodeToString(p)
		return input + "." + enc.EncodeToString(ed25519.Sign(priv, []byte(input)))
	}
	for _, tt := range []struct {
		name, alg string
		algs      []jwt.Algorithm // the configured allowlist
		want      error
	}{
		{"Ed25519, default allowlist", "Ed25519", nil, nil},
		{"EdDSA, default allowlist", "EdDSA", nil, nil},
		{"Ed25519, allowlist EdDSA", "Ed25519", []jwt.Algorithm{jwt.EdDSA}, nil},
		{"Ed448", "Ed448", nil, jwt.ErrAlgNotAllowed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v := &IDTokenValidator{Issuer: testIssuer, ClientID: testClientID, Now: newValidator().Now,
				Verifier: jwt.NewVerifier(jwt.NewKeySet(&jwt.Key{ID: "ed", Public: pub}), jwt.Options{Algorithms: tt.algs})}
			_, err := v.Validate(sign(tt.alg), testNonce, testAccess)
			if tt.want == nil && err != nil || !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}
