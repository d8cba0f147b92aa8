package calib

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"
)

// cookieSize is the size the model calls "2.5 KB": a session cookie's worth.
const cookieSize = 2500

// claims is a small ID token payload, the model's "small claims".
var claims = []byte(`{"iss":"https://idp.example.com","sub":"248289761001","aud":"oidc-proxy-wasm",` +
	`"exp":1900000000,"iat":1700000000,"nonce":"n-0S6_WzA2Mj","email":"jane@example.com",` +
	`"email_verified":true,"name":"Jane Doe","groups":["admins","dev"]}`)

// ad is the additional data every AEAD seals and opens with.
var ad = []byte("calib")

var sinkBool bool

// message returns the signing input the signatures cover: a JWT header and
// payload, 204 bytes.
func message(tb testing.TB) []byte {
	tb.Helper()
	m, err := os.ReadFile("testdata/message.txt")
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// rsaVector returns the fixed RSA-2048 public key, the SHA-256 digest of
// message and its PKCS #1 v1.5 signature (made once with openssl; the private
// key was discarded).
func rsaVector(tb testing.TB) (*rsa.PublicKey, []byte, []byte) {
	tb.Helper()
	pemBytes, err := os.ReadFile("testdata/rsa2048.pub.pem")
	if err != nil {
		tb.Fatal(err)
	}
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		tb.Fatal("testdata/rsa2048.pub.pem: no PEM block")
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		tb.Fatal(err)
	}
	pub, ok := key.(*rsa.PublicKey)
	if !ok || pub.Size() != 256 {
		tb.Fatalf("testdata/rsa2048.pub.pem: want an RSA-2048 key, got %T", key)
	}
	sig, err := os.ReadFile("testdata/rsa2048.sig")
	if err != nil {
		tb.Fatal(err)
	}
	digest := sha256.Sum256(message(tb))
	return pub, digest[:], sig
}

func ecdsaVector(tb testing.TB) (*ecdsa.PublicKey, []byte, []byte) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	digest := sha256.Sum256(message(tb))
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		tb.Fatal(err)
	}
	return &key.PublicKey, digest[:], sig
}

func ed25519Vector(tb testing.TB) (ed25519.PublicKey, []byte, []byte) {
	tb.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	msg := message(tb)
	return pub, msg, ed25519.Sign(priv, msg)
}

// sealed returns an AEAD with a random key, a nonce, and a ciphertext of n
// random bytes sealed under it with additional data.
func sealed(tb testing.TB, newAEAD func([]byte) (cipher.AEAD, error), n int) (cipher.AEAD, []byte, []byte) {
	tb.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	aead, err := newAEAD(key)
	if err != nil {
		tb.Fatal(err)
	}
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce)
	plain := make([]byte, n)
	rand.Read(plain)
	return aead, nonce, aead.Seal(nil, nonce, plain, ad)
}

func newAESGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// TestVectors checks that what the benchmarks verify or open is valid, and
// that a flipped bit is not, so no benchmark measures a failure path.
func TestVectors(t *testing.T) {
	flip := func(b []byte) []byte { c := bytes.Clone(b); c[len(c)/2] ^= 1; return c }
	rsaPub, rsaDigest, rsaSig := rsaVector(t)
	ecPub, ecDigest, ecSig := ecdsaVector(t)
	edPub, edMsg, edSig := ed25519Vector(t)
	tests := []struct {
		name   string
		verify func(sig []byte) bool
		sig    []byte
	}{
		{"RSA-2048 PKCS1", func(s []byte) bool { return rsa.VerifyPKCS1v15(rsaPub, crypto.SHA256, rsaDigest, s) == nil }, rsaSig},
		{"ECDSA P-256", func(s []byte) bool { return ecdsa.VerifyASN1(ecPub, ecDigest, s) }, ecSig},
		{"Ed25519", func(s []byte) bool { return ed25519.Verify(edPub, edMsg, s) }, edSig},
	}
	for _, aead := range []struct {
		name string
		new  func([]byte) (cipher.AEAD, error)
		n    int
	}{
		{"AES-256-GCM", newAESGCM, cookieSize},
		{"ChaCha20-Poly1305", chacha20poly1305.New, 200},
		{"ChaCha20-Poly1305", chacha20poly1305.New, cookieSize},
	} {
		a, nonce, ct := sealed(t, aead.new, aead.n)
		tests = append(tests, struct {
			name   string
			verify func(sig []byte) bool
			sig    []byte
		}{aead.name, func(c []byte) bool { _, err := a.Open(nil, nonce, c, ad); return err == nil }, ct})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.verify(tt.sig) {
				t.Error("valid input rejected")
			}
			if tt.verify(flip(tt.sig)) {
				t.Error("input with a flipped bit accepted")
			}
		})
	}
}

func BenchmarkRSA2048VerifyPKCS1(b *testing.B) {
	pub, digest, sig := rsaVector(b)
	for b.Loop() {
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest, sig); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkECDSAP256Verify(b *testing.B) {
	pub, digest, sig := ecdsaVector(b)
	for b.Loop() {
		if !ecdsa.VerifyASN1(pub, digest, sig) {
			b.Fatal("signature rejected")
		}
	}
}

func BenchmarkEd25519Verify(b *testing.B) {
	pub, msg, sig := ed25519Vector(b)
	for b.Loop() {
		if !ed25519.Verify(pub, msg, sig) {
			b.Fatal("signature rejected")
		}
	}
}

func benchmarkOpen(b *testing.B, newAEAD func([]byte) (cipher.AEAD, error), n int) {
	aead, nonce, ct := sealed(b, newAEAD, n)
	dst := make([]byte, 0, n)
	b.SetBytes(int64(n))
	for b.Loop() {
		if _, err := aead.Open(dst[:0], nonce, ct, ad); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAES256GCMOpen_2500B(b *testing.B) { benchmarkOpen(b, newAESGCM, cookieSize) }

func BenchmarkChaCha20Poly1305Open_2500B(b *testing.B) {
	benchmarkOpen(b, chacha20poly1305.New, cookieSize)
}

func BenchmarkChaCha20Poly1305Open_200B(b *testing.B) { benchmarkOpen(b, chacha20poly1305.New, 200) }

func BenchmarkSHA256_2500B(b *testing.B) {
	buf := make([]byte, cookieSize)
	rand.Read(buf)
	b.SetBytes(cookieSize)
	for b.Loop() {
		sha256.Sum256(buf)
	}
}

func BenchmarkBytesEqual_2500B(b *testing.B) {
	x := make([]byte, cookieSize)
	rand.Read(x)
	y := bytes.Clone(x)
	for b.Loop() {
		sinkBool = bytes.Equal(x, y)
	}
}

func BenchmarkJSONUnmarshalMap_Claims(b *testing.B) {
	for b.Loop() {
		var m map[string]any
		if err := json.Unmarshal(claims, &m); err != nil {
			b.Fatal(err)
		}
	}
}
