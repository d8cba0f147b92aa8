package jwt

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// testKeys holds one private key per algorithm family, generated per test.
type testKeys struct {
	rsa                 *rsa.PrivateKey
	ec256, ec384, ec521 *ecdsa.PrivateKey
	ed                  ed25519.PrivateKey
	hmac                []byte
}

func newTestKeys(t testing.TB) *testKeys {
	t.Helper()
	k := &testKeys{rsa: newRSA(t, 2048)}
	k.ec256, k.ec384, k.ec521 = newEC(t, elliptic.P256()), newEC(t, elliptic.P384()), newEC(t, elliptic.P521())
	_, k.ed, _ = ed25519.GenerateKey(rand.Reader)
	k.hmac = make([]byte, 64)
	rand.Read(k.hmac)
	return k
}

func newRSA(t testing.TB, bits int) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newEC(t testing.TB, c elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// private returns the signing key for alg.
func (k *testKeys) private(alg Algorithm) any {
	switch lookupAlg(alg).family {
	case famPKCS1, famPSS:
		return k.rsa
	case famECDSA:
		return map[Algorithm]any{ES256: k.ec256, ES384: k.ec384, ES512: k.ec521}[alg]
	case famEdDSA:
		return k.ed
	default:
		return k.hmac
	}
}

// publicOf returns the verification key for a private key.
func publicOf(priv any) crypto.PublicKey {
	switch p := priv.(type) {
	case []byte:
		return p
	case crypto.Signer:
		return p.Public()
	}
	panic("unknown key type")
}

var allAlgs = []Algorithm{RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA, HS256, HS384, HS512}

// signToken builds a compact JWS from literal header and payload JSON.
func signToken(t testing.TB, alg Algorithm, priv any, header, payload string) string {
	t.Helper()
	si := b64.EncodeToString([]byte(header)) + "." + b64.EncodeToString([]byte(payload))
	return si + "." + b64.EncodeToString(signBytes(t, alg, priv, []byte(si), -1))
}

// signBytes signs msg the way alg does. saltLen applies to PS*; -1 means
// the correct length (the hash size).
func signBytes(t testing.TB, alg Algorithm, priv any, msg []byte, saltLen int) []byte {
	t.Helper()
	a := lookupAlg(alg)
	var digest []byte
	if a.family != famEdDSA && a.family != famHMAC {
		h := a.hash.New()
		h.Write(msg)
		digest = h.Sum(nil)
	}
	var sig []byte
	var err error
	switch a.family {
	case famPKCS1:
		sig, err = rsa.SignPKCS1v15(nil, priv.(*rsa.PrivateKey), a.hash, digest)
	case famPSS:
		if saltLen < 0 {
			saltLen = a.hash.Size()
		}
		sig, err = rsa.SignPSS(rand.Reader, priv.(*rsa.PrivateKey), a.hash, digest, &rsa.PSSOptions{SaltLength: saltLen})
	case famECDSA:
		r, s, e := ecdsa.Sign(rand.Reader, priv.(*ecdsa.PrivateKey), digest)
		if err = e; err == nil {
			sig = make([]byte, 2*a.size)
			r.FillBytes(sig[:a.size])
			s.FillBytes(sig[a.size:])
		}
	case famEdDSA:
		sig = ed25519.Sign(priv.(ed25519.PrivateKey), msg)
	case famHMAC:
		m := hmac.New(a.hash.New, priv.([]byte))
		m.Write(msg)
		sig = m.Sum(nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// jwkOf renders a public key as a JWK with extra members.
func jwkOf(t testing.TB, pub crypto.PublicKey, extra map[string]any) []byte {
	t.Helper()
	m := map[string]any{}
	enc := func(b []byte) string { return b64.EncodeToString(b) }
	switch p := pub.(type) {
	case *rsa.PublicKey:
		m["kty"], m["n"], m["e"] = "RSA", enc(p.N.Bytes()), enc(bigEndian(p.E))
	case *ecdsa.PublicKey:
		point, err := p.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		size := (len(point) - 1) / 2
		m["kty"], m["crv"] = "EC", p.Curve.Params().Name
		m["x"], m["y"] = enc(point[1:1+size]), enc(point[1+size:])
	case ed25519.PublicKey:
		m["kty"], m["crv"], m["x"] = "OKP", "Ed25519", enc(p)
	case []byte:
		m["kty"], m["k"] = "oct", enc(p)
	default:
		t.Fatalf("jwkOf: %T", pub)
	}
	for k, v := range extra {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func bigEndian(e int) []byte {
	var b []byte
	for ; e > 0; e >>= 8 {
		b = append([]byte{byte(e)}, b...)
	}
	return b
}

// vector is one RFC test vector file in testdata.
type vector struct {
	Source string          `json:"source"`
	JWK    json.RawMessage `json:"jwk"`
	JWS    string          `json:"jws"`
}

func readVector(t testing.TB, name string) vector {
	t.Helper()
	var v vector
	if err := json.Unmarshal(readTestdata(t, name), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustJWK(t testing.TB, data []byte) *Key {
	t.Helper()
	k, err := ParseJWK(data)
	if err != nil {
		t.Fatalf("ParseJWK: %v", err)
	}
	return k
}
