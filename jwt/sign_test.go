package jwt

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// pemOf encodes priv in the given PEM block type.
func pemOf(t testing.TB, priv any, typ string) []byte {
	t.Helper()
	var der []byte
	var err error
	switch typ {
	case "PRIVATE KEY":
		der, err = x509.MarshalPKCS8PrivateKey(priv)
	case "RSA PRIVATE KEY":
		der = x509.MarshalPKCS1PrivateKey(priv.(*rsa.PrivateKey))
	case "EC PRIVATE KEY":
		der, err = x509.MarshalECPrivateKey(priv.(*ecdsa.PrivateKey))
	}
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// privateJWKOf is go-jose's private JWK of priv: an independent encoder.
func privateJWKOf(t testing.TB, priv any, kid string) []byte {
	t.Helper()
	b, err := json.Marshal(jose.JSONWebKey{Key: priv, KeyID: kid})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSignVerifiesHereAndInGoJose(t *testing.T) {
	keys := newTestKeys(t)
	for _, alg := range []Algorithm{RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA, Ed25519} {
		priv := keys.private(alg)
		for _, form := range []string{"pkcs8", "jwk"} {
			t.Run(string(alg)+"/"+form, func(t *testing.T) {
				var material []byte
				if form == "pkcs8" {
					material = pemOf(t, priv, "PRIVATE KEY")
				} else {
					material = privateJWKOf(t, priv, "k1")
				}
				sk, err := ParseSigningKey(material, alg, "")
				if err != nil {
					t.Fatal(err)
				}
				if form == "jwk" && sk.ID != "k1" {
					t.Errorf("kid %q, want the JWK's k1", sk.ID)
				}
				if form == "pkcs8" && sk.ID != sk.Thumbprint() {
					t.Errorf("kid %q, want the thumbprint %q", sk.ID, sk.Thumbprint())
				}
				payload := []byte(`{"iss":"client","aud":"https://op.example","jti":"x1"}`)
				tok, err := sk.Sign(SignHeader{Type: "oauth-authz-req+jwt"}, payload, rand.Reader)
				if err != nil {
					t.Fatal(err)
				}
				// Our verifier.
				v := NewVerifier(NewKeySet(&Key{ID: sk.ID, Public: publicOf(priv)}), Options{Algorithms: []Algorithm{alg}})
				parsed, err := v.Verify(tok)
				if err != nil {
					t.Fatalf("our verifier: %v", err)
				}
				if parsed.Header.KeyID != sk.ID || !TypeIs(parsed.Header.Type, "oauth-authz-req+jwt") {
					t.Errorf("header %+v", parsed.Header)
				}
				if alg == Ed25519 {
					return // go-jose knows only EdDSA (the fully-specified name is newer)
				}
				// go-jose, the oracle.
				obj, err := jose.ParseSignedCompact(tok, joseAlgs)
				if err != nil {
					t.Fatalf("go-jose parse: %v", err)
				}
				got, err := obj.Verify(publicOf(priv))
				if err != nil {
					t.Fatalf("go-jose verify: %v", err)
				}
				if string(got) != string(payload) {
					t.Errorf("payload %s", got)
				}
			})
		}
	}
}

func TestThumbprintMatchesGoJose(t *testing.T) {
	keys := newTestKeys(t)
	for _, alg := range []Algorithm{RS256, ES256, ES384, ES512, EdDSA} {
		priv := keys.private(alg)
		sk, err := ParseSigningKey(pemOf(t, priv, "PRIVATE KEY"), "", "")
		if err != nil {
			t.Fatal(err)
		}
		jk := jose.JSONWebKey{Key: publicOf(priv)}
		want, err := jk.Thumbprint(crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		if sk.Thumbprint() != b64.EncodeToString(want) {
			t.Errorf("%s: thumbprint %s, go-jose %s", alg, sk.Thumbprint(), b64.EncodeToString(want))
		}
		// The embedded JWK parses as the same public key, and the JWKS too.
		pub, err := ParseJWK(sk.PublicJWK())
		if err != nil {
			t.Fatal(err)
		}
		if !pub.Public.(interface{ Equal(crypto.PublicKey) bool }).Equal(publicOf(priv)) {
			t.Errorf("%s: PublicJWK is another key", alg)
		}
		set, err := ParseJWKS(sk.PublicJWKS())
		if err != nil || set.Len() != 1 || len(set.Lookup(sk.ID, sk.Algorithm)) != 1 {
			t.Errorf("%s: PublicJWKS %s: %v", alg, sk.PublicJWKS(), err)
		}
	}
}

func TestSignDefaultsAlgFromTheKey(t *testing.T) {
	keys := newTestKeys(t)
	for want, priv := range map[Algorithm]any{RS256: keys.rsa, ES256: keys.ec256, ES384: keys.ec384, ES512: keys.ec521, EdDSA: keys.ed} {
		sk, err := ParseSigningKey(pemOf(t, priv, "PRIVATE KEY"), "", "mine")
		if err != nil {
			t.Fatal(err)
		}
		if sk.Algorithm != want || sk.ID != "mine" {
			t.Errorf("alg %s kid %s, want %s mine", sk.Algorithm, sk.ID, want)
		}
	}
	// PKCS #1 and SEC 1 PEM read too.
	if _, err := ParseSigningKey(pemOf(t, keys.rsa, "RSA PRIVATE KEY"), PS256, ""); err != nil {
		t.Error(err)
	}
	der, _ := x509.MarshalECPrivateKey(keys.ec256)
	if _, err := ParseSigningKey(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), "", ""); err != nil {
		t.Error(err)
	}
}

func TestEmbedJWKForDPoP(t *testing.T) {
	sk, err := GenerateSigningKey(ES256, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := sk.Sign(SignHeader{Type: "dpop+jwt", EmbedJWK: true}, []byte(`{"htm":"POST"}`), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := jose.ParseSignedCompact(tok, joseAlgs)
	if err != nil {
		t.Fatal(err)
	}
	h := obj.Signatures[0].Protected
	if h.JSONWebKey == nil || h.KeyID != "" || h.ExtraHeaders["typ"] != "dpop+jwt" {
		t.Fatalf("header %+v", h)
	}
	if _, err := obj.Verify(h.JSONWebKey); err != nil {
		t.Fatal(err)
	}
	// A generated key survives MarshalPKCS8/ParsePKCS8 (shared between VMs).
	der, err := sk.MarshalPKCS8()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParsePKCS8(der, ES256)
	if err != nil || back.Thumbprint() != sk.Thumbprint() {
		t.Fatalf("round trip: %v", err)
	}
}

func TestHMACSigningKey(t *testing.T) {
	secret := []byte(strings.Repeat("s", 32))
	sk, err := NewHMACSigningKey(HS256, secret)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := sk.Sign(SignHeader{}, []byte(`{"sub":"c"}`), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := jose.ParseSignedCompact(tok, joseAlgs)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := obj.Verify(secret); err != nil {
		t.Fatal(err)
	}
	if sk.Thumbprint() != "" || strings.Contains(tok, "kid") {
		t.Error("an HMAC key has no thumbprint or kid")
	}
	if _, err := NewHMACSigningKey(HS256, secret[:31]); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("short secret: %v", err)
	}
	if _, err := NewHMACSigningKey(RS256, secret); !errors.Is(err, ErrAlgNotAllowed) {
		t.Errorf("RS256 as HMAC: %v", err)
	}
}

func TestParseSigningKeyRefuses(t *testing.T) {
	keys := newTestKeys(t)
	pubJWK := jwkOf(t, publicOf(keys.ec256), nil)
	otherD := privateJWKOf(t, newEC(t, keys.ec256.Curve), "")
	var mixed map[string]any
	json.Unmarshal(privateJWKOf(t, keys.ec256, ""), &mixed)
	var other map[string]any
	json.Unmarshal(otherD, &other)
	mixed["d"] = other["d"]
	mixedJWK, _ := json.Marshal(mixed)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	pubPEM, _ := x509.MarshalPKIXPublicKey(publicOf(keys.rsa))
	for _, c := range []struct {
		name     string
		material []byte
		alg      Algorithm
		want     string
	}{
		{"garbage", []byte("hello"), "", "neither PEM"},
		{"public JWK", pubJWK, "", "no private part"},
		{"d of another key", mixedJWK, "", "does not match"},
		{"encrypted PEM", pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1}}), "", "encrypted PEM"},
		{"public PEM", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubPEM}), "", "not a private key"},
		{"two blocks", append(pemOf(t, keys.ec256, "PRIVATE KEY"), pemOf(t, keys.ec384, "PRIVATE KEY")...), "", "more than one PEM block"},
		{"RSA 1024", pemOf(t, small, "PRIVATE KEY"), "", "1024 bits"},
		{"ES384 on P-256", pemOf(t, keys.ec256, "PRIVATE KEY"), ES384, "does not fit"},
		{"ES256 on RSA", pemOf(t, keys.rsa, "PRIVATE KEY"), ES256, "does not fit"},
		{"HS256 on RSA", pemOf(t, keys.rsa, "PRIVATE KEY"), HS256, "does not fit"},
		{"unknown alg", pemOf(t, keys.rsa, "PRIVATE KEY"), "RS1", "not supported"},
		{"oct JWK", []byte(`{"kty":"oct","k":"` + b64.EncodeToString(keys.hmac) + `","d":"AA"}`), "", "symmetric"},
		{"multi-prime", []byte(`{"kty":"RSA","oth":[]}`), "", "multi-prime"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseSigningKey(c.material, c.alg, "")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
			if !errors.Is(err, ErrInvalidKey) && !errors.Is(err, ErrAlgNotAllowed) {
				t.Errorf("error %v wraps neither ErrInvalidKey nor ErrAlgNotAllowed", err)
			}
		})
	}
	if _, err := ParseSigningKey(pemOf(t, keys.ec256, "PRIVATE KEY"), "", `bad"kid`); err == nil {
		t.Error("a kid with a quote was accepted")
	}
}

func TestSigningKeyPrintsNoSecret(t *testing.T) {
	sk, err := GenerateSigningKey(ES256, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := sk.signer.(*ecdsa.PrivateKey).Bytes()
	d := b64.EncodeToString(raw)
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		if out := fmt.Sprintf(f, sk); strings.Contains(out, d) || strings.Contains(out, fmt.Sprint(raw)) || !strings.Contains(out, sk.ID) {
			t.Errorf("%s: %s", f, out)
		}
	}
}
