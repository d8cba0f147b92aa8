package jwt

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
)

func TestParseJWKRoundTrip(t *testing.T) {
	k := newTestKeys(t)
	for _, alg := range allAlgs {
		t.Run(string(alg), func(t *testing.T) {
			pub := publicOf(k.private(alg))
			key := mustJWK(t, jwkOf(t, pub, map[string]any{"kid": "id-" + string(alg), "alg": alg, "use": "sig", "key_ops": []string{"verify"}, "x5c": []string{"ignored"}}))
			if key.ID != "id-"+string(alg) || key.Algorithm != alg || key.Use != "sig" {
				t.Fatalf("got %+v", key)
			}
			eq, ok := pub.(interface{ Equal(crypto.PublicKey) bool })
			if ok && !eq.Equal(key.Public) || !ok && !bytes.Equal(pub.([]byte), key.Public.([]byte)) {
				t.Fatalf("key differs: %T", key.Public)
			}
			if !key.usable(lookupAlg(alg)) {
				t.Fatal("parsed key is not usable for its alg")
			}
		})
	}
}

func TestParseJWKRejects(t *testing.T) {
	k := newTestKeys(t)
	rsaPub, ecPub := &k.rsa.PublicKey, &k.ec256.PublicKey
	edPub := k.ed.Public().(ed25519.PublicKey)
	small := newRSA(t, 1024)
	offCurve := func() string {
		b, _ := ecPub.Bytes()
		b[len(b)-1] ^= 1
		return b64.EncodeToString(b[33:])
	}()
	evenN := new(big.Int).Add(rsaPub.N, big.NewInt(1))

	tests := []struct {
		name string
		jwk  []byte
	}{
		{"not an object", []byte(`["RSA"]`)},
		{"not JSON", []byte(`{"kty":"RSA"`)},
		{"no kty", jwkOf(t, rsaPub, map[string]any{"kty": nil})},
		{"kty not a string", jwkOf(t, rsaPub, map[string]any{"kty": 1})},
		{"kty unknown", jwkOf(t, rsaPub, map[string]any{"kty": "rsa"})},
		{"duplicate member", []byte(`{"kty":"oct","k":"` + b64.EncodeToString(k.hmac) + `","kty":"RSA"}`)},
		{"use enc", jwkOf(t, rsaPub, map[string]any{"use": "enc"})},
		{"use unknown", jwkOf(t, rsaPub, map[string]any{"use": "signature"})},
		{"key_ops without verify", jwkOf(t, rsaPub, map[string]any{"key_ops": []string{"sign", "encrypt"}})},
		{"key_ops not an array", jwkOf(t, rsaPub, map[string]any{"key_ops": "verify"})},
		{"alg none", jwkOf(t, rsaPub, map[string]any{"alg": "none"})},
		{"alg for encryption", jwkOf(t, rsaPub, map[string]any{"alg": "RSA-OAEP"})},
		{"alg of another kty", jwkOf(t, rsaPub, map[string]any{"alg": "ES256"})},
		{"kid too long", jwkOf(t, rsaPub, map[string]any{"kid": strings.Repeat("k", maxKeyIDLen+1)})},
		{"private RSA", jwkOf(t, rsaPub, map[string]any{"d": b64.EncodeToString(k.rsa.D.Bytes())})},
		{"RSA 1024 bits", jwkOf(t, &small.PublicKey, nil)},
		{"RSA even modulus", jwkOf(t, &rsa.PublicKey{N: evenN, E: 65537}, nil)},
		{"RSA e = 1", jwkOf(t, rsaPub, map[string]any{"e": "AQ"})},
		{"RSA e even", jwkOf(t, rsaPub, map[string]any{"e": "AQAA"})},
		{"RSA e too large", jwkOf(t, rsaPub, map[string]any{"e": "AQAAAAE"})},
		{"RSA n missing", jwkOf(t, rsaPub, map[string]any{"n": nil})},
		{"RSA n padded", jwkOf(t, rsaPub, map[string]any{"n": b64.EncodeToString(rsaPub.N.Bytes()) + "="})},
		{"RSA n standard base64", jwkOf(t, rsaPub, map[string]any{"n": strings.NewReplacer("-", "+", "_", "/").Replace(b64.EncodeToString(rsaPub.N.Bytes())) + "+/"})},
		{"EC off curve", jwkOf(t, ecPub, map[string]any{"y": offCurve})},
		{"EC short coordinate", jwkOf(t, ecPub, map[string]any{"x": b64.EncodeToString(make([]byte, 31))})},
		{"EC long coordinate", jwkOf(t, ecPub, map[string]any{"x": b64.EncodeToString(make([]byte, 33))})},
		{"EC crv secp256k1", jwkOf(t, ecPub, map[string]any{"crv": "secp256k1"})},
		{"EC crv does not fit alg", jwkOf(t, ecPub, map[string]any{"alg": "ES384"})},
		{"EC point at infinity", jwkOf(t, ecPub, map[string]any{"x": b64.EncodeToString(make([]byte, 32)), "y": b64.EncodeToString(make([]byte, 32))})},
		{"EC private", jwkOf(t, ecPub, map[string]any{"d": "AAAA"})},
		{"OKP X25519", jwkOf(t, edPub, map[string]any{"crv": "X25519"})},
		{"OKP Ed448", jwkOf(t, edPub, map[string]any{"crv": "Ed448"})},
		{"OKP short", jwkOf(t, edPub[:31], nil)},
		{"OKP non-canonical y", jwkOf(t, ed25519.PublicKey(append(bytes.Repeat([]byte{0xff}, 31), 0x7f)), nil)},
		{"OKP alg ES256", jwkOf(t, edPub, map[string]any{"alg": "ES256"})},
		{"oct too short", jwkOf(t, make([]byte, 31), nil)},
		{"oct too short for HS512", jwkOf(t, make([]byte, 48), map[string]any{"alg": "HS512"})},
		{"oct alg RS256", jwkOf(t, k.hmac, map[string]any{"alg": "RS256"})},
	}
	for i, y := range edSmallOrderY {
		for _, sign := range []byte{0, 0x80} {
			enc := y
			enc[31] |= sign
			tests = append(tests, struct {
				name string
				jwk  []byte
			}{fmt.Sprintf("OKP small order %d sign %x", i, sign), jwkOf(t, ed25519.PublicKey(enc[:]), nil)})
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseJWK(tt.jwk)
			if !errors.Is(err, ErrInvalidKey) {
				t.Fatalf("got %v, want ErrInvalidKey", err)
			}
			if !validJSON(tt.jwk) {
				return // a set holding it is malformed as a whole
			}
			// In a set, the same key is skipped, not fatal.
			ks, err := ParseJWKS([]byte(`{"keys":[` + string(tt.jwk) + `]}`))
			if err != nil || ks.Len() != 0 || len(ks.Skipped()) != 1 || !errors.Is(ks.Skipped()[0], ErrInvalidKey) {
				t.Fatalf("ParseJWKS: %v, %d keys, skipped %v", err, ks.Len(), ks.Skipped())
			}
		})
	}
}

func TestParseJWKLeadingZeros(t *testing.T) {
	k := newTestKeys(t)
	n := append([]byte{0}, k.rsa.N.Bytes()...)
	key := mustJWK(t, jwkOf(t, &k.rsa.PublicKey, map[string]any{"n": b64.EncodeToString(n), "e": "AAEAAQ"}))
	if !k.rsa.PublicKey.Equal(key.Public) {
		t.Fatal("leading zero octets changed the key")
	}
}

func TestParseJWKS(t *testing.T) {
	k := newTestKeys(t)
	rsaJWK := string(jwkOf(t, &k.rsa.PublicKey, map[string]any{"kid": "r", "alg": "RS256", "use": "sig"}))
	ecJWK := string(jwkOf(t, &k.ec256.PublicKey, map[string]any{"kid": "e"}))
	encJWK := string(jwkOf(t, &k.rsa.PublicKey, map[string]any{"kid": "enc", "use": "enc", "alg": "RSA-OAEP"}))

	ks, err := ParseJWKS([]byte(`{"keys":[` + rsaJWK + `,` + encJWK + `,` + ecJWK + `,"junk",{"kty":"EC"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if ks.Len() != 2 || len(ks.Skipped()) != 3 {
		t.Fatalf("got %d keys, skipped %v", ks.Len(), ks.Skipped())
	}
	if !strings.Contains(ks.Skipped()[0].Error(), `keys[1] (kid "enc")`) {
		t.Fatalf("skipped error does not name the key: %v", ks.Skipped()[0])
	}
	if len(ks.Lookup("r", RS256)) != 1 || len(ks.Lookup("e", ES256)) != 1 || len(ks.Lookup("", ES256)) != 1 || len(ks.Lookup("e", RS256)) != 0 {
		t.Fatal("Lookup")
	}

	many := strings.Repeat(ecJWK+",", maxJWKSKeys+5)
	ks, err = ParseJWKS([]byte(`{"keys":[` + many + ecJWK + `]}`))
	if err != nil || ks.Len() != maxJWKSKeys || len(ks.Skipped()) != 1 {
		t.Fatalf("too many keys: %v, %d keys, %d skipped", err, ks.Len(), len(ks.Skipped()))
	}

	malformed := []struct {
		name string
		doc  string
		want error
	}{
		{"not JSON", `{"keys":[`, ErrMalformed},
		{"not an object", `[` + rsaJWK + `]`, ErrMalformed},
		{"no keys", `{"key":[]}`, ErrMalformed},
		{"keys not an array", `{"keys":{}}`, ErrMalformed},
		{"duplicate keys", `{"keys":[],"keys":[` + rsaJWK + `]}`, ErrMalformed},
		{"too deep", `{"keys":[],"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, ErrMalformed},
		{"too large", `{"keys":[],"pad":"` + strings.Repeat("x", MaxJWKSSize) + `"}`, ErrTooLarge},
	}
	for _, tt := range malformed {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseJWKS([]byte(tt.doc)); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

// TestEd25519SmallOrder derives the small-order y values that weakEd25519
// refuses, and shows why: with the identity as public key, one signature
// verifies for every message.
func TestEd25519SmallOrder(t *testing.T) {
	p := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	mod := func(x *big.Int) *big.Int { return x.Mod(x, p) }
	inv := func(x *big.Int) *big.Int { return new(big.Int).ModInverse(x, p) }
	// d = -121665/121666; an order-8 point has y^2 = -x^2 and
	// x^2 = (1 +- sqrt(1+d))/d (from doubling it to y = 0).
	d := mod(new(big.Int).Mul(big.NewInt(-121665), inv(big.NewInt(121666))))
	root := new(big.Int).ModSqrt(mod(new(big.Int).Add(big.NewInt(1), d)), p)
	var ys []*big.Int
	for _, r := range []*big.Int{root, mod(new(big.Int).Neg(root))} {
		x2 := mod(new(big.Int).Mul(new(big.Int).Add(big.NewInt(1), r), inv(d)))
		y := new(big.Int).ModSqrt(mod(new(big.Int).Neg(x2)), p)
		if y != nil && new(big.Int).ModSqrt(x2, p) != nil {
			ys = append(ys, y, mod(new(big.Int).Neg(y)))
		}
	}
	want := []*big.Int{big.NewInt(0), big.NewInt(1), new(big.Int).Sub(p, big.NewInt(1))}
	want = append(want, ys...)
	if len(want) != len(edSmallOrderY) {
		t.Fatalf("derived %d small-order y values, table has %d", len(want), len(edSmallOrderY))
	}
	littleEndian := func(x *big.Int) (le [32]byte) {
		x.FillBytes(le[:])
		for i := range 16 {
			le[i], le[31-i] = le[31-i], le[i]
		}
		return le
	}
	for _, y := range want {
		le := littleEndian(y)
		found := false
		for _, bad := range edSmallOrderY {
			found = found || bad == le
		}
		if !found {
			t.Fatalf("y = %x is missing from edSmallOrderY", le)
		}
	}
	if littleEndian(p) != edP {
		t.Fatal("edP is not p")
	}

	identity := ed25519.PublicKey(edSmallOrderY[1][:])
	forged := append(bytes.Clone(edSmallOrderY[1][:]), make([]byte, 32)...) // R = identity, S = 0
	for _, msg := range []string{"a", "any message at all"} {
		if !ed25519.Verify(identity, []byte(msg), forged) {
			t.Skip("crypto/ed25519 now rejects the identity key itself")
		}
	}
	if !weakEd25519(identity) {
		t.Fatal("identity key accepted")
	}
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	if weakEd25519(pub) {
		t.Fatal("a generated key is refused")
	}
}

func TestKeyUsable(t *testing.T) {
	k := newTestKeys(t)
	tests := []struct {
		name string
		key  *Key
		alg  Algorithm
		want bool
	}{
		{"RSA for PS256", &Key{Public: &k.rsa.PublicKey}, PS256, true},
		{"RSA for ES256", &Key{Public: &k.rsa.PublicKey}, ES256, false},
		{"P-384 for ES384", &Key{Public: &k.ec384.PublicKey}, ES384, true},
		{"P-384 for ES512", &Key{Public: &k.ec384.PublicKey}, ES512, false},
		{"Ed25519 private key value", &Key{Public: k.ed}, EdDSA, false},
		{"HMAC 32 bytes for HS384", &Key{Public: make([]byte, 32)}, HS384, false},
		{"HMAC 48 bytes for HS384", &Key{Public: make([]byte, 48)}, HS384, true},
		{"nil RSA", &Key{Public: (*rsa.PublicKey)(nil)}, RS256, false},
		{"nil EC", &Key{Public: (*ecdsa.PublicKey)(nil)}, ES256, false},
		{"use sig", &Key{Use: "sig", Public: &k.ec256.PublicKey}, ES256, true},
		{"Ed25519 identity built by hand", &Key{Public: ed25519.PublicKey(edSmallOrderY[1][:])}, EdDSA, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.key.usable(lookupAlg(tt.alg)); got != tt.want {
				t.Fatalf("got %v", got)
			}
		})
	}
}
