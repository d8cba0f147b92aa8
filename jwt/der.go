package jwt

// The DER forms of private keys (PKCS #8, PKCS #1, SEC 1) and the public key of an X.509
// certificate, read and written with cryptobyte: all that signing keys need of crypto/x509,
// whose certificate machinery (with encoding/asn1's reflection) would otherwise cost
// plugin.wasm about 400 KB of code. The rules follow crypto/x509's for these forms: DER
// integers, trailing members of a SEQUENCE ignored where x509 ignores them, private scalars
// with missing or extra leading zeros tolerated, RSA keys checked with Validate.

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	encasn1 "encoding/asn1"
	"errors"
	"math/big"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

var (
	oidRSA     = encasn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidECDSA   = encasn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidEd25519 = encasn1.ObjectIdentifier{1, 3, 101, 112}
	oidP224    = encasn1.ObjectIdentifier{1, 3, 132, 0, 33}
	oidP256    = encasn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}
	oidP384    = encasn1.ObjectIdentifier{1, 3, 132, 0, 34}
	oidP521    = encasn1.ObjectIdentifier{1, 3, 132, 0, 35}
)

var (
	errDER          = errors.New("malformed DER")
	errTrailing     = errors.New("trailing data")
	errUnknownCurve = errors.New("unknown elliptic curve")
)

func curveOf(oid encasn1.ObjectIdentifier) elliptic.Curve {
	switch {
	case oid.Equal(oidP224):
		return elliptic.P224()
	case oid.Equal(oidP256):
		return elliptic.P256()
	case oid.Equal(oidP384):
		return elliptic.P384()
	case oid.Equal(oidP521):
		return elliptic.P521()
	}
	return nil
}

func oidOf(c elliptic.Curve) (encasn1.ObjectIdentifier, bool) {
	switch c {
	case elliptic.P224():
		return oidP224, true
	case elliptic.P256():
		return oidP256, true
	case elliptic.P384():
		return oidP384, true
	case elliptic.P521():
		return oidP521, true
	}
	return nil, false
}

// algorithmIdentifier reads an AlgorithmIdentifier: the OID and the parameters' full DER
// ("" when absent).
func algorithmIdentifier(s *cryptobyte.String) (encasn1.ObjectIdentifier, cryptobyte.String, bool) {
	var ai, params cryptobyte.String
	var oid encasn1.ObjectIdentifier
	if !s.ReadASN1(&ai, asn1.SEQUENCE) || !ai.ReadASN1ObjectIdentifier(&oid) {
		return nil, nil, false
	}
	if !ai.Empty() && !ai.ReadAnyASN1Element(&params, nil) {
		return nil, nil, false
	}
	return oid, params, true
}

// parsePKCS8 reads a PKCS #8 PrivateKeyInfo holding an RSA, ECDSA or Ed25519 key.
func parsePKCS8(der []byte) (crypto.Signer, error) {
	s := cryptobyte.String(der)
	var info, key cryptobyte.String
	var version int
	if !s.ReadASN1(&info, asn1.SEQUENCE) || !info.ReadASN1Integer(&version) {
		return nil, errDER
	}
	oid, params, ok := algorithmIdentifier(&info)
	if !ok || !info.ReadASN1(&key, asn1.OCTET_STRING) {
		return nil, errDER
	}
	switch {
	case oid.Equal(oidRSA):
		k, err := parsePKCS1(key)
		if err != nil {
			return nil, errors.New("RSA private key in PKCS #8: " + err.Error())
		}
		return k, nil
	case oid.Equal(oidECDSA):
		var curve encasn1.ObjectIdentifier
		if !params.ReadASN1ObjectIdentifier(&curve) {
			curve = nil
		}
		k, err := parseSEC1(curve, key)
		if err != nil {
			return nil, errors.New("EC private key in PKCS #8: " + err.Error())
		}
		return k, nil
	case oid.Equal(oidEd25519):
		var seed cryptobyte.String
		if len(params) != 0 || !key.ReadASN1(&seed, asn1.OCTET_STRING) || !key.Empty() || len(seed) != ed25519.SeedSize {
			return nil, errors.New("invalid Ed25519 private key")
		}
		return ed25519.NewKeyFromSeed(seed), nil
	}
	return nil, errors.New("PKCS #8 holds a key of unknown algorithm " + oid.String())
}

// wellFormedNext reports whether what follows the members read from a SEQUENCE is empty or
// starts with a whole element: x509 (encoding/asn1) reads the header of the element after an
// optional member, though it ignores the elements themselves.
func wellFormedNext(s cryptobyte.String) bool {
	var e cryptobyte.String
	return s.Empty() || s.ReadAnyASN1Element(&e, nil)
}

// parsePKCS1 reads a PKCS #1 RSAPrivateKey (two primes or more) and validates it.
func parsePKCS1(der []byte) (*rsa.PrivateKey, error) {
	s := cryptobyte.String(der)
	var seq cryptobyte.String
	if !s.ReadASN1(&seq, asn1.SEQUENCE) {
		return nil, errDER
	}
	if !s.Empty() {
		return nil, errTrailing
	}
	var version int
	n, e, d, p, q := new(big.Int), 0, new(big.Int), new(big.Int), new(big.Int)
	dp, dq, qinv := new(big.Int), new(big.Int), new(big.Int)
	if !seq.ReadASN1Integer(&version) || !seq.ReadASN1Integer(n) || !seq.ReadASN1Integer(&e) ||
		!seq.ReadASN1Integer(d) || !seq.ReadASN1Integer(p) || !seq.ReadASN1Integer(q) ||
		!seq.ReadASN1Integer(dp) || !seq.ReadASN1Integer(dq) || !seq.ReadASN1Integer(qinv) {
		return nil, errDER
	}
	if version > 1 {
		return nil, errors.New("unsupported private key version")
	}
	primes := []*big.Int{p, q}
	if seq.PeekASN1Tag(asn1.SEQUENCE) {
		var others cryptobyte.String
		if !seq.ReadASN1(&others, asn1.SEQUENCE) {
			return nil, errDER
		}
		for !others.Empty() {
			var info cryptobyte.String
			prime, exp, coeff := new(big.Int), new(big.Int), new(big.Int)
			if !others.ReadASN1(&info, asn1.SEQUENCE) || !info.ReadASN1Integer(prime) ||
				!info.ReadASN1Integer(exp) || !info.ReadASN1Integer(coeff) {
				return nil, errDER
			}
			if prime.Sign() <= 0 {
				return nil, errors.New("private key contains zero or negative prime")
			}
			primes = append(primes, prime)
		}
	}
	if !wellFormedNext(seq) {
		return nil, errDER
	}
	for _, v := range []*big.Int{n, d, p, q, dp, dq, qinv} {
		if v.Sign() <= 0 {
			return nil, errors.New("private key contains zero or negative value")
		}
	}
	k := &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: n, E: e}, D: d, Primes: primes,
		Precomputed: rsa.PrecomputedValues{Dp: dp, Dq: dq, Qinv: qinv}}
	k.Precompute()
	if err := k.Validate(); err != nil {
		return nil, err
	}
	return k, nil
}

// parseSEC1 reads a SEC 1 ECPrivateKey; curve (from PKCS #8's parameters), when not nil,
// overrides the curve named inside.
func parseSEC1(curve encasn1.ObjectIdentifier, der []byte) (*ecdsa.PrivateKey, error) {
	s := cryptobyte.String(der)
	var seq, scalar cryptobyte.String
	var version int
	if !s.ReadASN1(&seq, asn1.SEQUENCE) || !seq.ReadASN1Integer(&version) || !seq.ReadASN1(&scalar, asn1.OCTET_STRING) {
		return nil, errDER
	}
	if version != 1 {
		return nil, errors.New("unknown EC private key version")
	}
	if seq.PeekASN1Tag(asn1.Tag(0).Constructed().ContextSpecific()) {
		var params cryptobyte.String
		var inner encasn1.ObjectIdentifier
		if !seq.ReadASN1(&params, asn1.Tag(0).Constructed().ContextSpecific()) || !params.ReadASN1ObjectIdentifier(&inner) {
			return nil, errDER
		}
		if curve == nil {
			curve = inner
		}
	}
	if seq.PeekASN1Tag(asn1.Tag(1).Constructed().ContextSpecific()) {
		// The public key: x509 reads it (and so refuses a malformed one) without using it.
		var pub cryptobyte.String
		var bits encasn1.BitString
		if !seq.ReadASN1(&pub, asn1.Tag(1).Constructed().ContextSpecific()) || !pub.ReadASN1BitString(&bits) {
			return nil, errDER
		}
	}
	if !wellFormedNext(seq) {
		return nil, errDER
	}
	c := curveOf(curve)
	if c == nil {
		return nil, errUnknownCurve
	}
	raw := make([]byte, (c.Params().N.BitLen()+7)/8)
	for len(scalar) > len(raw) {
		if scalar[0] != 0 {
			return nil, errors.New("invalid private key length")
		}
		scalar = scalar[1:]
	}
	copy(raw[len(raw)-len(scalar):], scalar)
	return ecdsa.ParseRawPrivateKey(c, raw)
}

// marshalPKCS8 writes an RSA, ECDSA or Ed25519 private key as PKCS #8 DER.
func marshalPKCS8(signer crypto.Signer) ([]byte, error) {
	var oid, curveOID encasn1.ObjectIdentifier
	var inner []byte
	switch k := signer.(type) {
	case *rsa.PrivateKey:
		if len(k.Primes) != 2 {
			return nil, errors.New("PKCS #8 of a multi-prime RSA key")
		}
		k.Precompute()
		var b cryptobyte.Builder
		b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1Int64(0)
			for _, v := range []*big.Int{k.N, big.NewInt(int64(k.E)), k.D, k.Primes[0], k.Primes[1],
				k.Precomputed.Dp, k.Precomputed.Dq, k.Precomputed.Qinv} {
				b.AddASN1BigInt(v)
			}
		})
		inner, oid = b.BytesOrPanic(), oidRSA
	case *ecdsa.PrivateKey:
		var ok bool
		if curveOID, ok = oidOf(k.Curve); !ok {
			return nil, errUnknownCurve
		}
		d, err := k.Bytes()
		if err != nil {
			return nil, err
		}
		pub, err := k.PublicKey.Bytes()
		if err != nil {
			return nil, err
		}
		var b cryptobyte.Builder
		b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1Int64(1)
			b.AddASN1OctetString(d)
			b.AddASN1(asn1.Tag(1).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
				b.AddASN1BitString(pub)
			})
		})
		inner, oid = b.BytesOrPanic(), oidECDSA
	case ed25519.PrivateKey:
		var b cryptobyte.Builder
		b.AddASN1OctetString(k.Seed())
		inner, oid = b.BytesOrPanic(), oidEd25519
	default:
		return nil, errors.New("PKCS #8 of an unsupported key type")
	}
	var b cryptobyte.Builder
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(0)
		b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oid)
			switch {
			case oid.Equal(oidRSA):
				b.AddASN1NULL()
			case curveOID != nil:
				b.AddASN1ObjectIdentifier(curveOID)
			}
		})
		b.AddASN1OctetString(inner)
	})
	return b.Bytes()
}

// certificatePublicKey reads the subject public key of an X.509 certificate (DER): an RSA,
// ECDSA (named curve, uncompressed point) or Ed25519 key. Nothing else of the certificate is
// interpreted beyond its outer structure.
func certificatePublicKey(der []byte) (crypto.PublicKey, error) {
	s := cryptobyte.String(der)
	var cert, tbs, spki cryptobyte.String
	if !s.ReadASN1(&cert, asn1.SEQUENCE) || !s.Empty() || !cert.ReadASN1(&tbs, asn1.SEQUENCE) ||
		!cert.SkipASN1(asn1.SEQUENCE) || !cert.SkipASN1(asn1.BIT_STRING) || !cert.Empty() {
		return nil, errors.New("malformed certificate")
	}
	if !tbs.SkipOptionalASN1(asn1.Tag(0).Constructed().ContextSpecific()) || !tbs.SkipASN1(asn1.INTEGER) ||
		!tbs.SkipASN1(asn1.SEQUENCE) || !tbs.SkipASN1(asn1.SEQUENCE) || !tbs.SkipASN1(asn1.SEQUENCE) ||
		!tbs.SkipASN1(asn1.SEQUENCE) || !tbs.ReadASN1(&spki, asn1.SEQUENCE) {
		return nil, errors.New("malformed tbsCertificate")
	}
	oid, params, ok := algorithmIdentifier(&spki)
	var bits encasn1.BitString
	if !ok || !spki.ReadASN1BitString(&bits) || bits.BitLength%8 != 0 {
		return nil, errors.New("malformed subject public key info")
	}
	key := cryptobyte.String(bits.Bytes)
	switch {
	case oid.Equal(oidRSA):
		var seq cryptobyte.String
		n, e := new(big.Int), 0
		if !params.SkipASN1(asn1.NULL) || !params.Empty() || !key.ReadASN1(&seq, asn1.SEQUENCE) || !key.Empty() ||
			!seq.ReadASN1Integer(n) || !seq.ReadASN1Integer(&e) || !seq.Empty() || n.Sign() <= 0 || e <= 0 {
			return nil, errors.New("malformed RSA public key")
		}
		return &rsa.PublicKey{N: n, E: e}, nil
	case oid.Equal(oidECDSA):
		var curve encasn1.ObjectIdentifier
		if !params.ReadASN1ObjectIdentifier(&curve) || curveOf(curve) == nil {
			return nil, errUnknownCurve
		}
		return ecdsa.ParseUncompressedPublicKey(curveOf(curve), key)
	case oid.Equal(oidEd25519):
		if len(params) != 0 || len(key) != ed25519.PublicKeySize {
			return nil, errors.New("malformed Ed25519 public key")
		}
		return append(ed25519.PublicKey(nil), key...), nil
	}
	return nil, errors.New("public key of unknown algorithm " + oid.String())
}
