package e2e

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"hash"
	"math/big"
	"testing"
)

// secKey is a signing key of a fake issuer in the security suite, with its public JWK.
type secKey struct {
	kid  string
	alg  string // RS256, ES256, ES384, EdDSA
	priv crypto.Signer
}

func newSecKey(t testing.TB, alg, kid string) *secKey {
	t.Helper()
	var (
		priv crypto.Signer
		err  error
	)
	switch alg {
	case "RS256":
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case "RS1024": // too small: only for JWKS that must be refused
		priv, err = rsa.GenerateKey(rand.Reader, 1024)
		alg = "RS256"
	case "ES256":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "ES384":
		priv, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "EdDSA":
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		t.Fatalf("newSecKey: alg %s", alg)
	}
	if err != nil {
		t.Fatal(err)
	}
	return &secKey{kid: kid, alg: alg, priv: priv}
}

var b64u = base64.RawURLEncoding

// jwk is the key's public JWK.
func (k *secKey) jwk() map[string]any {
	m := map[string]any{"kid": k.kid, "use": "sig", "alg": k.alg}
	switch pub := k.priv.Public().(type) {
	case *rsa.PublicKey:
		m["kty"], m["n"], m["e"] = "RSA", b64u.EncodeToString(pub.N.Bytes()), b64u.EncodeToString(big.NewInt(int64(pub.E)).Bytes())
	case *ecdsa.PublicKey:
		point, _ := pub.Bytes() // 0x04 || x || y
		size := (len(point) - 1) / 2
		m["kty"], m["crv"] = "EC", pub.Curve.Params().Name
		m["x"], m["y"] = b64u.EncodeToString(point[1:1+size]), b64u.EncodeToString(point[1+size:])
	case ed25519.PublicKey:
		m["kty"], m["crv"], m["x"] = "OKP", "Ed25519", b64u.EncodeToString(pub)
	}
	return m
}

// sign makes a compact JWS with the key's alg and kid.
func (k *secKey) sign(t testing.TB, claims any) string {
	t.Helper()
	return secJWS(t, secHeader(k.alg, k.kid), claims, k.alg, k.priv)
}

// secHeader is a JOSE header with alg, typ JWT and (if not empty) kid, plus extra members
// given as name, value pairs.
func secHeader(alg, kid string, extra ...any) string {
	h := map[string]any{"alg": alg, "typ": "JWT"}
	if kid != "" {
		h["kid"] = kid
	}
	for i := 0; i+1 < len(extra); i += 2 {
		h[extra[i].(string)] = extra[i+1]
	}
	b, _ := json.Marshal(h)
	return string(b)
}

// secJWS signs header (raw JSON, sent as is) and claims (marshalled, or a raw string) with
// signAlg and key: "RS256", "ES256", "ES384", "EdDSA", "HS256" (key []byte), or "none".
func secJWS(t testing.TB, header string, claims any, signAlg string, key any) string {
	t.Helper()
	var payload []byte
	switch c := claims.(type) {
	case string:
		payload = []byte(c)
	default:
		var err error
		if payload, err = json.Marshal(c); err != nil {
			t.Fatal(err)
		}
	}
	input := b64u.EncodeToString([]byte(header)) + "." + b64u.EncodeToString(payload)
	return input + "." + b64u.EncodeToString(secSignature(t, signAlg, key, []byte(input)))
}

func secSignature(t testing.TB, alg string, key any, input []byte) []byte {
	t.Helper()
	digest := func(h hash.Hash) []byte { h.Write(input); return h.Sum(nil) }
	switch alg {
	case "none":
		return nil
	case "HS256":
		m := hmac.New(sha256.New, key.([]byte))
		m.Write(input)
		return m.Sum(nil)
	case "RS256":
		sig, err := rsa.SignPKCS1v15(rand.Reader, key.(*rsa.PrivateKey), crypto.SHA256, digest(sha256.New()))
		if err != nil {
			t.Fatal(err)
		}
		return sig
	case "ES256", "ES384":
		h := digest(sha256.New())
		if alg == "ES384" {
			h = digest(sha512.New384())
		}
		k := key.(*ecdsa.PrivateKey)
		r, s, err := ecdsa.Sign(rand.Reader, k, h)
		if err != nil {
			t.Fatal(err)
		}
		size := (k.Curve.Params().BitSize + 7) / 8
		return append(r.FillBytes(make([]byte, size)), s.FillBytes(make([]byte, size))...)
	case "EdDSA":
		return ed25519.Sign(key.(ed25519.PrivateKey), input)
	}
	t.Fatalf("secSignature: alg %s", alg)
	return nil
}
