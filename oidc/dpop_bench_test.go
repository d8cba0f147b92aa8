package oidc

import (
	"crypto/rand"
	"testing"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/jwt"
)

// BenchmarkBuildDPoPProof is the cost of one proof: what routes[].upstream_dpop adds to each
// request it forwards (with ath), and each token endpoint call.
func BenchmarkBuildDPoPProof(b *testing.B) {
	for _, alg := range []jwt.Algorithm{"ES256", "EdDSA", "RS256"} {
		b.Run(string(alg), func(b *testing.B) {
			k, err := jwt.GenerateSigningKey(alg, rand.Reader)
			if err != nil {
				b.Fatal(err)
			}
			p := DPoPProof{Method: "GET", URL: "https://app.example.com/api/items", IssuedAt: 1700000000,
				AccessToken: "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJl"}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := BuildDPoPProof(k, p, rand.Reader); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
