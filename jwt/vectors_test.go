package jwt

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rsa"
	"errors"
	"strings"
	"testing"
)

// The RFC 7515 A.1 to A.3 tokens carry this payload.
const rfcPayload = "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}"

func TestRFC7515Vectors(t *testing.T) {
	tests := []struct {
		file string
		alg  Algorithm
		opts Options
	}{
		{"rfc7515_a1_hs256.json", HS256, Options{AllowHMAC: true}},
		{"rfc7515_a2_rs256.json", RS256, Options{}},
		{"rfc7515_a3_es256.json", ES256, Options{}},
	}
	for _, tt := range tests {
		t.Run(string(tt.alg), func(t *testing.T) {
			v := readVector(t, tt.file)
			keys := NewKeySet(mustJWK(t, v.JWK))
			tok, err := NewVerifier(keys, tt.opts).Verify(v.JWS)
			if err != nil {
				t.Fatalf("Verify(%s): %v", v.Source, err)
			}
			if tok.Header.Algorithm != tt.alg || string(tok.Payload) != rfcPayload {
				t.Fatalf("got alg %q payload %q", tok.Header.Algorithm, tok.Payload)
			}
			c, err := tok.Claims()
			if err != nil {
				t.Fatal(err)
			}
			if c.Issuer != "joe" || c.Expiry.Unix() != 1300819380 {
				t.Fatalf("claims %+v", c)
			}
			// Any single flipped bit in the signature segment's bytes fails.
			input, sig := splitUnchecked(t, v.JWS)
			for i := range len(sig) * 8 {
				if tt.alg == RS256 && i%7 != 0 {
					continue // a sample is enough for the 2048-bit signature
				}
				bad := bytes.Clone(sig)
				bad[i/8] ^= 1 << (i % 8)
				forged := string(input) + "." + b64.EncodeToString(bad)
				if _, err := NewVerifier(keys, tt.opts).Verify(forged); !errors.Is(err, ErrSignature) {
					t.Fatalf("bit %d flipped: got %v, want ErrSignature", i, err)
				}
			}
		})
	}
	t.Run("HS256 needs AllowHMAC", func(t *testing.T) {
		v := readVector(t, "rfc7515_a1_hs256.json")
		_, err := NewVerifier(NewKeySet(mustJWK(t, v.JWK)), Options{Algorithms: []Algorithm{HS256}}).Verify(v.JWS)
		if !errors.Is(err, ErrAlgNotAllowed) {
			t.Fatalf("got %v, want ErrAlgNotAllowed", err)
		}
	})
}

// RFC 7515 A.4 and RFC 8037 A.4 sign text payloads, which Verify refuses
// (a JWT payload is a JSON object), so their signatures are checked one
// level down, with the same code Verify runs.
func TestNonJSONPayloadVectors(t *testing.T) {
	tests := []struct {
		file string
		alg  Algorithm
	}{
		{"rfc7515_a4_es512.json", ES512},
		{"rfc8037_a4_ed25519.json", EdDSA},
	}
	for _, tt := range tests {
		t.Run(string(tt.alg), func(t *testing.T) {
			v := readVector(t, tt.file)
			key := mustJWK(t, v.JWK)
			_, err := NewVerifier(NewKeySet(key), Options{}).Verify(v.JWS)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Verify: got %v, want ErrMalformed (payload is not JSON)", err)
			}
			input, sig := splitUnchecked(t, v.JWS)
			a := lookupAlg(tt.alg)
			var digest [64]byte
			if !key.usable(a) || !verifyWith(a, key.Public, input, sig, hashInput(a, input, &digest)) {
				t.Fatalf("%s: signature does not verify", v.Source)
			}
			input[len(input)-1] = 'B'
			if verifyWith(a, key.Public, input, sig, hashInput(a, input, &digest)) {
				t.Fatal("altered payload verifies")
			}
		})
	}
}

// splitUnchecked returns the signing input and decoded signature of a
// compact JWS, without the header and payload rules.
func splitUnchecked(t *testing.T, s string) (input, sig []byte) {
	t.Helper()
	i := strings.LastIndexByte(s, '.')
	sig, err := b64.DecodeString(s[i+1:])
	if err != nil {
		t.Fatal(err)
	}
	return []byte(s[:i]), sig
}

func TestRFC7517Keys(t *testing.T) {
	t.Run("A.1 public keys", func(t *testing.T) {
		ks, err := ParseJWKS(readTestdata(t, "rfc7517_a1_public.json"))
		if err != nil {
			t.Fatal(err)
		}
		if ks.Len() != 1 || len(ks.Skipped()) != 1 || !errors.Is(ks.Skipped()[0], ErrInvalidKey) {
			t.Fatalf("got %d keys, skipped %v; want the RSA key, the enc EC key skipped", ks.Len(), ks.Skipped())
		}
		got := ks.Lookup("2011-04-29", RS256)
		if len(got) != 1 || got[0].Algorithm != RS256 || got[0].Public.(*rsa.PublicKey).N.BitLen() != 2048 {
			t.Fatalf("Lookup: %+v", got)
		}
		if len(ks.Lookup("2011-04-29", PS256)) != 0 {
			t.Fatal("a key with alg RS256 must not serve PS256")
		}
		// The EC key itself is a valid P-256 point: usable once not "enc".
		k := mustJWK(t, []byte(`{"kty":"EC","crv":"P-256","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM","kid":"1"}`))
		if _, ok := k.Public.(*ecdsa.PublicKey); !ok || k.ID != "1" {
			t.Fatalf("EC key: %+v", k)
		}
	})
	t.Run("A.3 symmetric keys", func(t *testing.T) {
		data := readTestdata(t, "rfc7517_a3_symmetric.json")
		ks, err := ParseJWKS(data)
		if err != nil {
			t.Fatal(err)
		}
		if ks.Len() != 0 || len(ks.Skipped()) != 2 {
			t.Fatalf("got %d keys, skipped %v; want both skipped", ks.Len(), ks.Skipped())
		}
		// One at a time, the HMAC key parses (for configured secrets) and
		// the AES key-wrap key does not.
		k := mustJWK(t, []byte(`{"kty":"oct","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"}`))
		if len(k.Public.([]byte)) != 64 {
			t.Fatalf("HMAC key: %d bytes", len(k.Public.([]byte)))
		}
		if _, err := ParseJWK([]byte(`{"kty":"oct","alg":"A128KW","k":"GawgguFyGrWKav7AX4VKUg"}`)); !errors.Is(err, ErrInvalidKey) {
			t.Fatalf("A128KW key: got %v", err)
		}
	})
	t.Run("private keys refused", func(t *testing.T) {
		ks, err := ParseJWKS(readTestdata(t, "private_keys.json"))
		if err != nil {
			t.Fatal(err)
		}
		if ks.Len() != 0 || len(ks.Skipped()) != 2 {
			t.Fatalf("got %d keys, skipped %v", ks.Len(), ks.Skipped())
		}
		for _, e := range ks.Skipped() {
			if !errors.Is(e, ErrInvalidKey) {
				t.Fatal(e)
			}
		}
	})
}
