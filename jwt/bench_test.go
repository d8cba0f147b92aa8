package jwt

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"testing"
	"time"
)

// benchPayload is a realistic ID token payload (about 700 bytes).
const benchPayload = `{"iss":"https://login.example.com/3f2a9c1e-5b7d-4e2a-9c8f-1d2e3f4a5b6c/v2.0",` +
	`"sub":"AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ","aud":"6cb04018-a3f5-46a7-b995-940c78f5aef3",` +
	`"azp":"6cb04018-a3f5-46a7-b995-940c78f5aef3","exp":4102444800,"iat":1700000000,"nbf":1700000000,` +
	`"auth_time":1700000000,"nonce":"hKq1e3V0bZ3X9yQ8Lw2mRA","at_hash":"77QmUPtjPfzWtF2AnpK9RQ",` +
	`"sid":"a8f3c2d1-9b7e-4f6a-8c5d-2e1f0a9b8c7d","name":"Alice Example","preferred_username":"alice@example.com",` +
	`"email":"alice@example.com","email_verified":true,"given_name":"Alice","family_name":"Example",` +
	`"groups":["4e1c2f7a-0b9d-4c3e-8a6f-5d2b1e0c9f8a","b7d3e9c1-2a4f-4e6b-9c8d-1f0e2a3b4c5d"],` +
	`"tid":"3f2a9c1e-5b7d-4e2a-9c8f-1d2e3f4a5b6c","uti":"Xk4LJwT0m0OQ9cC3y1ZfAA","ver":"2.0"}`

// benchVerify measures Verify of one token against a three-key set.
func benchVerify(b *testing.B, alg Algorithm) {
	k := newTestKeys(b)
	priv := k.private(alg)
	other := newEC(b, elliptic.P256())
	keys := NewKeySet(
		&Key{ID: "old", Public: &other.PublicKey},
		&Key{ID: "current", Algorithm: alg, Use: "sig", Public: publicOf(priv)},
		&Key{ID: "next", Public: &other.PublicKey},
	)
	token := signToken(b, alg, priv, `{"alg":"`+string(alg)+`","kid":"current","typ":"JWT"}`, benchPayload)
	v := NewVerifier(keys, Options{AllowHMAC: alg == HS256})
	if _, err := v.Verify(token); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(token)))
	for b.Loop() {
		if _, err := v.Verify(token); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyRS256(b *testing.B) { benchVerify(b, RS256) }
func BenchmarkVerifyPS256(b *testing.B) { benchVerify(b, PS256) }
func BenchmarkVerifyES256(b *testing.B) { benchVerify(b, ES256) }
func BenchmarkVerifyEdDSA(b *testing.B) { benchVerify(b, EdDSA) }
func BenchmarkVerifyHS256(b *testing.B) { benchVerify(b, HS256) }

// BenchmarkParseJWKS parses a JWKS shaped like a real provider's: two
// RSA-2048 signing keys with their certificates, and one P-256 key.
func BenchmarkParseJWKS(b *testing.B) {
	var keys []map[string]any
	for i := range 2 {
		priv := newRSA(b, 2048)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(i + 1)), Subject: pkix.Name{CommonName: "login.example.com"},
			NotBefore: time.Unix(1700000000, 0), NotAfter: time.Unix(1800000000, 0)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
		if err != nil {
			b.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(jwkOf(b, &priv.PublicKey, nil), &m); err != nil {
			b.Fatal(err)
		}
		m["kid"], m["use"], m["alg"] = "rsa-"+string(rune('a'+i)), "sig", "RS256"
		m["x5t"], m["x5c"] = "q7Ck1vZ0pYb8rG3nL2sT9wX4uE6", []string{base64.StdEncoding.EncodeToString(der)}
		keys = append(keys, m)
	}
	ec := newEC(b, elliptic.P256())
	var m map[string]any
	if err := json.Unmarshal(jwkOf(b, &ec.PublicKey, map[string]any{"kid": "ec-a", "use": "sig", "alg": "ES256"}), &m); err != nil {
		b.Fatal(err)
	}
	doc, err := json.Marshal(map[string]any{"keys": append(keys, m)})
	if err != nil {
		b.Fatal(err)
	}
	if ks, err := ParseJWKS(doc); err != nil || ks.Len() != 3 {
		b.Fatalf("%v, %d keys", err, ks.Len())
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		if _, err := ParseJWKS(doc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkClaims reads and validates the claims of a verified ID token.
func BenchmarkClaims(b *testing.B) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	token := signToken(b, ES256, priv, `{"alg":"ES256"}`, benchPayload)
	tok, err := NewVerifier(NewKeySet(&Key{Public: &priv.PublicKey}), Options{}).Verify(token)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Unix(1700000100, 0)
	exp := Expected{
		Issuer: "https://login.example.com/3f2a9c1e-5b7d-4e2a-9c8f-1d2e3f4a5b6c/v2.0", Audience: "6cb04018-a3f5-46a7-b995-940c78f5aef3",
		AuthorizedParty: "6cb04018-a3f5-46a7-b995-940c78f5aef3", Nonce: "hKq1e3V0bZ3X9yQ8Lw2mRA",
		Now: func() time.Time { return now }, Leeway: time.Minute, RequireExpiry: true, RequireIssuedAt: true, RequireSubject: true,
	}
	b.ReportAllocs()
	for b.Loop() {
		c, err := tok.Claims()
		if err != nil {
			b.Fatal(err)
		}
		if err := c.Validate(exp); err != nil {
			b.Fatal(err)
		}
	}
}

var _ = rsa.PublicKey{}
