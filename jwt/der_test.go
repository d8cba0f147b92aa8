package jwt

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"math/big"
	"testing"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// derOracle is crypto/x509, the reader der.go replaces in plugin.wasm: both must read the same
// keys from the same bytes.
func derOracle(form string, der []byte) (any, error) {
	switch form {
	case "pkcs8":
		return x509.ParsePKCS8PrivateKey(der)
	case "pkcs1":
		return x509.ParsePKCS1PrivateKey(der)
	default:
		return x509.ParseECPrivateKey(der)
	}
}

func derOurs(form string, der []byte) (crypto.Signer, error) {
	switch form {
	case "pkcs8":
		return parsePKCS8(der)
	case "pkcs1":
		return parsePKCS1(der)
	default:
		return parseSEC1("", der)
	}
}

type derCase struct {
	name, form string
	der        []byte
}

func derCases(t testing.TB) []derCase {
	keys := newTestKeys(t)
	p224 := newEC(t, elliptic.P224())
	var cs []derCase
	for name, k := range map[string]crypto.Signer{"rsa": keys.rsa, "p224": p224, "p256": keys.ec256,
		"p384": keys.ec384, "p521": keys.ec521, "ed25519": keys.ed} {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, derCase{name + "/pkcs8", "pkcs8", der})
		switch k := k.(type) {
		case *rsa.PrivateKey:
			cs = append(cs, derCase{name + "/pkcs1", "pkcs1", x509.MarshalPKCS1PrivateKey(k)})
		case *ecdsa.PrivateKey:
			der, err := x509.MarshalECPrivateKey(k)
			if err != nil {
				t.Fatal(err)
			}
			cs = append(cs, derCase{name + "/sec1", "sec1", der})
		}
	}
	return cs
}

// TestDERMatchesX509: every key form crypto/x509 writes reads back here as the same key, and
// any truncation or flipped byte that x509 refuses is refused here too (or still gives x509's
// key: a DER length or tag change that x509 also tolerates).
func TestDERMatchesX509(t *testing.T) {
	for _, c := range derCases(t) {
		t.Run(c.name, func(t *testing.T) {
			want, err := derOracle(c.form, c.der)
			if err != nil {
				t.Fatal(err)
			}
			got, err := derOurs(c.form, c.der)
			if err != nil {
				t.Fatal(err)
			}
			if !got.(interface{ Equal(crypto.PrivateKey) bool }).Equal(want) {
				t.Fatal("a different key than crypto/x509's")
			}
			for i := range c.der {
				if got, err := derOurs(c.form, c.der[:i]); err == nil {
					if _, xerr := derOracle(c.form, c.der[:i]); xerr != nil {
						t.Errorf("truncated at %d: read %T, x509 refused it (%v)", i, got, xerr)
					}
				}
				flipped := bytes.Clone(c.der)
				flipped[i] ^= 0x41
				got, err := derOurs(c.form, flipped)
				if err != nil {
					continue
				}
				xk, xerr := derOracle(c.form, flipped)
				if xerr != nil || !got.(interface{ Equal(crypto.PrivateKey) bool }).Equal(xk) {
					t.Errorf("byte %d flipped: read a key, x509: %v", i, xerr)
				}
			}
		})
	}
}

// TestMarshalPKCS8RoundTrips: what marshalPKCS8 writes, crypto/x509 and parsePKCS8 read back as
// the same key.
func TestMarshalPKCS8RoundTrips(t *testing.T) {
	keys := newTestKeys(t)
	for _, k := range []crypto.Signer{keys.rsa, keys.ec256, keys.ec384, keys.ec521, keys.ed} {
		der, err := marshalPKCS8(k)
		if err != nil {
			t.Fatal(err)
		}
		xk, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			t.Fatalf("%T: x509 cannot read it: %v", k, err)
		}
		back, err := parsePKCS8(der)
		if err != nil {
			t.Fatal(err)
		}
		eq := k.(interface{ Equal(crypto.PrivateKey) bool })
		if !eq.Equal(xk) || !eq.Equal(back) {
			t.Errorf("%T: another key came back", k)
		}
		if want, _ := x509.MarshalPKCS8PrivateKey(k); !bytes.Equal(der, want) {
			t.Errorf("%T: DER differs from crypto/x509's", k)
		}
	}
}

// TestCertificatePublicKeyMatchesX509: the public key read from a certificate is x509's, and
// a truncated certificate is refused.
func TestCertificatePublicKeyMatchesX509(t *testing.T) {
	keys := newTestKeys(t)
	for _, k := range []crypto.Signer{keys.rsa, keys.ec256, keys.ec384, keys.ec521, keys.ed} {
		der := selfSigned(t, k)
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		got, err := certificatePublicKey(der)
		if err != nil {
			t.Fatalf("%T: %v", k, err)
		}
		if !got.(interface{ Equal(crypto.PublicKey) bool }).Equal(cert.PublicKey) {
			t.Errorf("%T: another public key than x509's", k)
		}
		for _, n := range []int{0, 1, len(der) / 2, len(der) - 1} {
			if _, err := certificatePublicKey(der[:n]); err == nil {
				t.Errorf("%T: truncated to %d bytes, accepted", k, n)
			}
		}
		if _, err := certificatePublicKey(append(bytes.Clone(der), 0)); err == nil {
			t.Errorf("%T: trailing byte accepted", k)
		}
	}
	if _, ok := any(ed25519.PublicKey(nil)).(interface{ Equal(crypto.PublicKey) bool }); !ok {
		t.Fatal("ed25519.PublicKey has no Equal")
	}
}

// FuzzParsePrivateKeyDER: no panic on any input, and a key read here is one crypto/x509 reads
// too, the same.
func FuzzParsePrivateKeyDER(f *testing.F) {
	for _, c := range derCases(f) {
		f.Add(c.form, c.der)
	}
	f.Fuzz(func(t *testing.T, form string, der []byte) {
		got, err := derOurs(form, der)
		if err != nil {
			return
		}
		switch form {
		case "pkcs8", "pkcs1":
		default:
			form = "sec1"
		}
		want, xerr := derOracle(form, der)
		if xerr != nil {
			t.Fatalf("read a %T; x509: %v", got, xerr)
		}
		if !got.(interface{ Equal(crypto.PrivateKey) bool }).Equal(want) {
			t.Fatal("a different key than crypto/x509's")
		}
	})
}

// TestOIDConstants: the OIDs' DER contents are encoding/asn1's.
func TestOIDConstants(t *testing.T) {
	for want, oid := range map[string]asn1.ObjectIdentifier{
		oidRSA: {1, 2, 840, 113549, 1, 1, 1}, oidECDSA: {1, 2, 840, 10045, 2, 1}, oidEd25519: {1, 3, 101, 112},
		oidP224: {1, 3, 132, 0, 33}, oidP256: {1, 2, 840, 10045, 3, 1, 7}, oidP384: {1, 3, 132, 0, 34}, oidP521: {1, 3, 132, 0, 35},
	} {
		der, err := asn1.Marshal(oid)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(der[2:]); got != want {
			t.Errorf("%v: %x, asn1 %x", oid, want, got)
		}
	}
}

// FuzzDERInput: derInput reads what cryptobyte reads, and refuses what it refuses.
func FuzzDERInput(f *testing.F) {
	for _, c := range derCases(f) {
		f.Add(c.der)
	}
	f.Add([]byte{0x02, 0x01, 0x80})
	f.Add([]byte{0x06, 0x03, 0x2b, 0x65, 0x70})
	f.Add([]byte{0x03, 0x02, 0x01, 0x02})
	f.Fuzz(func(t *testing.T, der []byte) {
		var tag cbasn1.Tag
		var body cryptobyte.String
		cs := cryptobyte.String(der)
		ok := cs.ReadAnyASN1(&body, &tag)
		d := derInput(der)
		gtag, gbody, gok := d.element()
		if ok != gok || ok && (byte(tag) != gtag || !bytes.Equal(body, gbody) || len(cs) != len(d)) {
			t.Fatalf("element: %v %x %x, cryptobyte %v %x %x", gok, gtag, []byte(gbody), ok, byte(tag), []byte(body))
		}
		var n big.Int
		cs = cryptobyte.String(der)
		d = derInput(der)
		if ok, gok := cs.ReadASN1Integer(&n), d.bigInt(new(big.Int)); ok != gok {
			t.Fatalf("big INTEGER: %v, cryptobyte %v", gok, ok)
		} else if ok {
			var g big.Int
			d = derInput(der)
			d.bigInt(&g)
			if g.Cmp(&n) != 0 {
				t.Fatalf("big INTEGER %v, cryptobyte %v", &g, &n)
			}
		}
		var i64 int64
		var gi int
		di := derInput(der)
		s := cryptobyte.String(der)
		if ok, gok := s.ReadASN1Int64WithTag(&i64, cbasn1.INTEGER), di.smallInt(&gi); ok != gok || ok && int64(gi) != i64 {
			t.Fatalf("INTEGER %v %d, cryptobyte %v %d", gok, gi, ok, i64)
		}
	})
}

// FuzzDEROIDAndBitString: oid and bitString accept what cryptobyte accepts.
func FuzzDEROIDAndBitString(f *testing.F) {
	f.Add([]byte{0x06, 0x03, 0x2b, 0x65, 0x70})
	f.Add([]byte{0x06, 0x05, 0x88, 0x80, 0x80, 0x80, 0x01})
	f.Add([]byte{0x03, 0x02, 0x01, 0x02})
	f.Fuzz(func(t *testing.T, der []byte) {
		var oid asn1.ObjectIdentifier
		d := derInput(der)
		cs := cryptobyte.String(der)
		if _, gok := d.oid(); gok != cs.ReadASN1ObjectIdentifier(&oid) {
			t.Fatalf("OID %x: %v, cryptobyte the opposite", der, gok)
		}
		var bits asn1.BitString
		d = derInput(der)
		b, n, gok := d.bitString()
		cs = cryptobyte.String(der)
		if ok := cs.ReadASN1BitString(&bits); ok != gok || ok && (!bytes.Equal(b, bits.Bytes) || n != bits.BitLength) {
			t.Fatalf("BIT STRING %x: %v, cryptobyte %v", der, gok, ok)
		}
	})
}
