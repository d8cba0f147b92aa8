package jwt

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1" //nolint:gosec // x5t
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"math/big"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

func selfSigned(t *testing.T, priv crypto.Signer) []byte {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "rp"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, priv.Public(), priv)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestCertificateThumbprintHeaders: a key bound to its certificate names it by x5t and
// x5t#S256 (computed here independently, read back by go-jose) when the header asks, and
// only then.
func TestCertificateThumbprintHeaders(t *testing.T) {
	keys := newTestKeys(t)
	for _, alg := range []Algorithm{RS256, PS256, ES256} {
		priv := keys.private(alg).(crypto.Signer)
		sk, err := ParseSigningKey(pemOf(t, priv, "PRIVATE KEY"), alg, "")
		if err != nil {
			t.Fatal(err)
		}
		der := selfSigned(t, priv)
		bound, err := sk.WithCertificate(der)
		if err != nil {
			t.Fatalf("%s: %v", alg, err)
		}
		s1, s256 := sha1.Sum(der), sha256.Sum256(der) //nolint:gosec // x5t
		want1, want256 := base64.RawURLEncoding.EncodeToString(s1[:]), base64.RawURLEncoding.EncodeToString(s256[:])
		if a, b := bound.CertificateThumbprints(); a != want1 || b != want256 {
			t.Errorf("%s: thumbprints %s %s", alg, a, b)
		}
		if a, b := sk.CertificateThumbprints(); a != "" || b != "" {
			t.Errorf("%s: WithCertificate changed the original key", alg)
		}
		tok, err := bound.Sign(SignHeader{Certificate: true}, []byte(`{"iss":"rp"}`), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		obj, err := jose.ParseSignedCompact(tok, joseAlgs)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := obj.Verify(publicOf(priv)); err != nil {
			t.Fatalf("%s: go-jose verify: %v", alg, err)
		}
		h := obj.Signatures[0].Header
		if h.ExtraHeaders["x5t"] != want1 || h.ExtraHeaders["x5t#S256"] != want256 || h.KeyID != sk.ID {
			t.Errorf("%s: header %+v", alg, h)
		}
		plain, _ := bound.Sign(SignHeader{}, []byte(`{"iss":"rp"}`), rand.Reader)
		obj, _ = jose.ParseSignedCompact(plain, joseAlgs)
		if _, ok := obj.Signatures[0].Header.ExtraHeaders["x5t#S256"]; ok {
			t.Errorf("%s: x5t#S256 without SignHeader.Certificate", alg)
		}
	}
}

func TestWithCertificateRefuses(t *testing.T) {
	keys := newTestKeys(t)
	priv := keys.private(ES256).(crypto.Signer)
	sk, _ := ParseSigningKey(pemOf(t, priv, "PRIVATE KEY"), "", "")
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	hmacKey, _ := NewHMACSigningKey(HS256, make([]byte, 32))
	for name, tc := range map[string]struct {
		k   *SigningKey
		der []byte
	}{
		"another key's certificate": {sk, selfSigned(t, other)},
		"not a certificate":         {sk, []byte("garbage")},
		"oversized":                 {sk, make([]byte, maxCertificate+1)},
		"HMAC key":                  {hmacKey, selfSigned(t, priv)},
	} {
		if _, err := tc.k.WithCertificate(tc.der); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
