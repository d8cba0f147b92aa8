package oidc

import (
	"encoding/json"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// TestIDTokenSignedByGoJose checks interoperability with an independent JWS
// implementation: tokens go-jose signs, with its own header encoding, pass.
func TestIDTokenSignedByGoJose(t *testing.T) {
	tests := []struct {
		name string
		key  signingKey
		alg  jose.SignatureAlgorithm
	}{
		{"rs256", newRSAKey(t, "rsa"), jose.RS256},
		{"es256", newECKey(t, "ec"), jose.ES256},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			signer, err := jose.NewSigner(jose.SigningKey{Algorithm: tt.alg, Key: jose.JSONWebKey{Key: tt.key.priv, KeyID: tt.key.kid}},
				(&jose.SignerOptions{}).WithType("JWT"))
			if err != nil {
				t.Fatal(err)
			}
			payload, _ := json.Marshal(claimsWith(func(m map[string]any) { m["at_hash"] = atHash(testAccess) }))
			jws, err := signer.Sign(payload)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := jws.CompactSerialize()
			if err != nil {
				t.Fatal(err)
			}
			claims, err := newValidator(tt.key).Validate(raw, testNonce, testAccess)
			if err != nil {
				t.Fatal(err)
			}
			if claims.Subject != "user-1" {
				t.Fatalf("claims %+v", claims)
			}
		})
	}
}
