package jwt

import (
	"crypto/ed25519"
	"crypto/sha512"
	"errors"
	"strings"
	"testing"
)

// rfc8037Seed is the RFC 8037 A.1 private key (d).
const rfc8037Seed = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"

// TestFullySpecifiedEd25519Vector: a token with alg Ed25519 (RFC 9864), signed with the
// RFC 8037 A.1 key, verifies with the A.2 public key; re-signing it from the seed gives the
// same bytes, so the vector is what Ed25519 produces.
func TestFullySpecifiedEd25519Vector(t *testing.T) {
	v := readVector(t, "rfc8037_a1_ed25519_fully_specified.json")
	seed, err := b64.DecodeString(rfc8037Seed)
	if err != nil {
		t.Fatal(err)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	input, _ := splitUnchecked(t, v.JWS)
	if got := string(input) + "." + b64.EncodeToString(ed25519.Sign(priv, input)); got != v.JWS {
		t.Fatalf("re-signed vector differs:\n%s\n%s", got, v.JWS)
	}
	tok, err := NewVerifier(NewKeySet(mustJWK(t, v.JWK)), Options{}).Verify(v.JWS)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if tok.Header.Algorithm != Ed25519 {
		t.Fatalf("alg %q", tok.Header.Algorithm)
	}
}

// TestFullySpecifiedEd25519: Ed25519 is accepted wherever EdDSA with an Ed25519 key is:
// under the default allowlist and under one naming either, with keys whose JWK alg is
// either or absent; Ed448 is refused, saying it is not supported.
func TestFullySpecifiedEd25519(t *testing.T) {
	k := newTestKeys(t)
	pub := k.ed.Public().(ed25519.PublicKey)
	tok := func(alg string) string { // signed with Ed25519 whatever the header says
		return signToken(t, EdDSA, k.ed, `{"alg":"`+alg+`","kid":"e"}`, testPayload)
	}
	key := func(alg Algorithm) *KeySet { return NewKeySet(&Key{ID: "e", Algorithm: alg, Public: pub}) }
	for _, tt := range []struct {
		name    string
		token   string
		keys    *KeySet
		algs    []Algorithm
		wantErr error
	}{
		{"Ed25519, default allowlist", tok("Ed25519"), key(""), nil, nil},
		{"Ed25519, allowlist EdDSA", tok("Ed25519"), key(""), []Algorithm{EdDSA}, nil},
		{"Ed25519, allowlist Ed25519", tok("Ed25519"), key(""), []Algorithm{Ed25519}, nil},
		{"EdDSA, allowlist Ed25519", tok("EdDSA"), key(""), []Algorithm{Ed25519}, nil},
		{"Ed25519, key alg EdDSA", tok("Ed25519"), key(EdDSA), nil, nil},
		{"EdDSA, key alg Ed25519", tok("EdDSA"), key(Ed25519), nil, nil},
		{"Ed25519, key alg Ed25519", tok("Ed25519"), key(Ed25519), nil, nil},
		{"Ed25519, allowlist RS256", tok("Ed25519"), key(""), []Algorithm{RS256}, ErrAlgNotAllowed},
		{"Ed25519, key alg ES256", tok("Ed25519"), NewKeySet(&Key{ID: "e", Algorithm: ES256, Public: &k.ec256.PublicKey}), nil, ErrKeyMismatch},
		{"Ed25519 lower case", tok("ed25519"), key(""), nil, ErrAlgNotAllowed},
		{"Ed448", tok("Ed448"), key(""), nil, ErrAlgNotAllowed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewVerifier(tt.keys, Options{Algorithms: tt.algs}).Verify(tt.token)
			if tt.wantErr == nil && err != nil || !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
	t.Run("Ed448 says why", func(t *testing.T) {
		_, err := NewVerifier(key(""), Options{}).Verify(tok("Ed448"))
		if err == nil || !strings.Contains(err.Error(), "Ed448 is not supported") {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestFullySpecifiedJWKS: a JWKS key with alg Ed25519 is kept (and serves EdDSA and Ed25519
// tokens); one with alg Ed448 or crv Ed448 is skipped with a message naming it; alg Ed25519
// on a key of another type is refused.
func TestFullySpecifiedJWKS(t *testing.T) {
	const x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
	ks, err := ParseJWKS([]byte(`{"keys":[
		{"kty":"OKP","crv":"Ed25519","alg":"Ed25519","kid":"a","x":"` + x + `"},
		{"kty":"OKP","crv":"Ed448","alg":"Ed448","kid":"b","x":"` + strings.Repeat("A", 76) + `"},
		{"kty":"OKP","crv":"Ed448","alg":"EdDSA","kid":"c","x":"` + strings.Repeat("A", 76) + `"},
		{"kty":"EC","crv":"P-256","alg":"Ed25519","kid":"d","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if ks.Len() != 1 || len(ks.Lookup("a", Ed25519)) != 1 || len(ks.Lookup("a", EdDSA)) != 1 {
		t.Fatalf("keys %d, Ed25519 lookup %d, EdDSA lookup %d", ks.Len(), len(ks.Lookup("a", Ed25519)), len(ks.Lookup("a", EdDSA)))
	}
	skipped := ks.Skipped()
	if len(skipped) != 3 {
		t.Fatalf("skipped %v", skipped)
	}
	for i, want := range []string{`alg "Ed448" is not a supported`, `crv "Ed448" is not supported for OKP`, "alg Ed25519 does not fit crv P-256"} {
		if !errors.Is(skipped[i], ErrInvalidKey) || !strings.Contains(skipped[i].Error(), want) {
			t.Errorf("skipped[%d] = %v, want %q", i, skipped[i], want)
		}
	}
}

// TestFullySpecifiedAtHash: at_hash of an Ed25519 ID token uses SHA-512, as for EdDSA.
func TestFullySpecifiedAtHash(t *testing.T) {
	sum := sha512.Sum512([]byte("token"))
	if err := VerifyAtHash("token", Ed25519, b64.EncodeToString(sum[:32])); err != nil {
		t.Fatalf("Ed25519 must use SHA-512: %v", err)
	}
}
