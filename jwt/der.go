package jwt

// The DER forms of private keys (PKCS #8, PKCS #1, SEC 1) and the public key of an X.509
// certificate: all that signing keys need of crypto/x509, whose certificate machinery (with
// encoding/asn1's reflection) would otherwise cost plugin.wasm about 400 KB of code. The rules
// follow crypto/x509's for these forms: DER (derbytes.go), trailing members of a SEQUENCE
// ignored where x509 ignores them, private scalars with missing or extra leading zeros
// tolerated, RSA keys checked with Validate. der_test.go holds them to x509's answers.

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"math/big"
)

// The OIDs read and written, as the contents of their DER encoding.
const (
	oidRSA     = "\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01" // 1.2.840.113549.1.1.1
	oidECDSA   = "\x2a\x86\x48\xce\x3d\x02\x01"         // 1.2.840.10045.2.1
	oidEd25519 = "\x2b\x65\x70"                         // 1.3.101.112
	oidP224    = "\x2b\x81\x04\x00\x21"                 // 1.3.132.0.33
	oidP256    = "\x2a\x86\x48\xce\x3d\x03\x01\x07"     // 1.2.840.10045.3.1.7
	oidP384    = "\x2b\x81\x04\x00\x22"                 // 1.3.132.0.34
	oidP521    = "\x2b\x81\x04\x00\x23"                 // 1.3.132.0.35
)

var (
	errDER          = errors.New("malformed DER")
	errTrailing     = errors.New("trailing data")
	errUnknownCurve = errors.New("unknown elliptic curve")
)

func curveOf(oid string) elliptic.Curve {
	switch oid {
	case oidP224:
		return elliptic.P224()
	case oidP256:
		return elliptic.P256()
	case oidP384:
		return elliptic.P384()
	case oidP521:
		return elliptic.P521()
	}
	return nil
}

func oidOf(c elliptic.Curve) string {
	switch c {
	case elliptic.P224():
		return oidP224
	case elliptic.P256():
		return oidP256
	case elliptic.P384():
		return oidP384
	case elliptic.P521():
		return oidP521
	}
	return ""
}

// algorithmIdentifier reads an AlgorithmIdentifier: the OID and the parameters' element
// (empty when absent).
func algorithmIdentifier(d *derInput) (string, derInput, bool) {
	ai, ok := d.read(tagSequence)
	if !ok {
		return "", nil, false
	}
	oid, ok := ai.oid()
	if !ok {
		return "", nil, false
	}
	params := ai
	if len(ai) > 0 {
		if _, _, ok := ai.element(); !ok {
			return "", nil, false
		}
		params = params[:len(params)-len(ai)]
	}
	return oid, params, true
}

// wellFormedNext reports whether what follows the members read from a SEQUENCE is empty or
// starts with a whole element: x509 (encoding/asn1) reads the header of the element after an
// optional member, though it ignores the elements themselves.
func wellFormedNext(d derInput) bool {
	if len(d) == 0 {
		return true
	}
	_, _, ok := d.element()
	return ok
}

// parsePKCS8 reads a PKCS #8 PrivateKeyInfo holding an RSA, ECDSA or Ed25519 key.
func parsePKCS8(der []byte) (crypto.Signer, error) {
	in := derInput(der)
	info, ok := in.read(tagSequence)
	var version int
	if !ok || !info.smallInt(&version) {
		return nil, errDER
	}
	oid, params, ok := algorithmIdentifier(&info)
	if !ok {
		return nil, errDER
	}
	key, ok := info.read(tagOctetString)
	if !ok {
		return nil, errDER
	}
	switch oid {
	case oidRSA:
		k, err := parsePKCS1(key)
		if err != nil {
			return nil, errors.New("RSA private key in PKCS #8: " + err.Error())
		}
		return k, nil
	case oidECDSA:
		curve, ok := params.oid()
		if !ok {
			curve = ""
		}
		k, err := parseSEC1(curve, key)
		if err != nil {
			return nil, errors.New("EC private key in PKCS #8: " + err.Error())
		}
		return k, nil
	case oidEd25519:
		seed, ok := key.read(tagOctetString)
		if len(params) != 0 || !ok || len(key) != 0 || len(seed) != ed25519.SeedSize {
			return nil, errors.New("invalid Ed25519 private key")
		}
		return ed25519.NewKeyFromSeed(seed), nil
	}
	return nil, errors.New("PKCS #8 holds a key of an unsupported algorithm")
}

// parsePKCS1 reads a PKCS #1 RSAPrivateKey (two primes or more) and validates it.
func parsePKCS1(der []byte) (*rsa.PrivateKey, error) {
	in := derInput(der)
	seq, ok := in.read(tagSequence)
	if !ok {
		return nil, errDER
	}
	if len(in) != 0 {
		return nil, errTrailing
	}
	var version, e int
	n, d, p, q := new(big.Int), new(big.Int), new(big.Int), new(big.Int)
	dp, dq, qinv := new(big.Int), new(big.Int), new(big.Int)
	if !seq.smallInt(&version) || !seq.bigInt(n) || !seq.smallInt(&e) || !seq.bigInt(d) ||
		!seq.bigInt(p) || !seq.bigInt(q) || !seq.bigInt(dp) || !seq.bigInt(dq) || !seq.bigInt(qinv) {
		return nil, errDER
	}
	if version > 1 {
		return nil, errors.New("unsupported private key version")
	}
	primes := []*big.Int{p, q}
	if seq.peek(tagSequence) {
		others, _ := seq.read(tagSequence)
		for len(others) > 0 {
			info, ok := others.read(tagSequence)
			prime, exp, coeff := new(big.Int), new(big.Int), new(big.Int)
			if !ok || !info.bigInt(prime) || !info.bigInt(exp) || !info.bigInt(coeff) {
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

// parseSEC1 reads a SEC 1 ECPrivateKey; curve (the DER contents of the OID in PKCS #8's
// parameters), when not "", overrides the curve named inside.
func parseSEC1(curve string, der []byte) (*ecdsa.PrivateKey, error) {
	in := derInput(der)
	seq, ok := in.read(tagSequence)
	var version int
	if !ok || !seq.smallInt(&version) {
		return nil, errDER
	}
	scalar, ok := seq.read(tagOctetString)
	if !ok {
		return nil, errDER
	}
	if version != 1 {
		return nil, errors.New("unknown EC private key version")
	}
	if seq.peek(tagExplicit0) {
		params, _ := seq.read(tagExplicit0)
		inner, ok := params.oid()
		if !ok {
			return nil, errDER
		}
		if curve == "" {
			curve = inner
		}
	}
	if seq.peek(tagExplicit1) {
		// The public key: x509 reads it (and so refuses a malformed one) without using it.
		pub, _ := seq.read(tagExplicit1)
		if _, _, ok := pub.bitString(); !ok {
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

// marshalPKCS8 writes an RSA, ECDSA or Ed25519 private key as PKCS #8 DER, as
// x509.MarshalPKCS8PrivateKey does.
func marshalPKCS8(signer crypto.Signer) ([]byte, error) {
	var algorithm, inner []byte
	switch k := signer.(type) {
	case *rsa.PrivateKey:
		if len(k.Primes) != 2 {
			return nil, errors.New("PKCS #8 of a multi-prime RSA key")
		}
		k.Precompute()
		inner = derElement(tagSequence, derUint(new(big.Int)), derUint(k.N), derUint(big.NewInt(int64(k.E))),
			derUint(k.D), derUint(k.Primes[0]), derUint(k.Primes[1]),
			derUint(k.Precomputed.Dp), derUint(k.Precomputed.Dq), derUint(k.Precomputed.Qinv))
		algorithm = derElement(tagSequence, derElement(tagOID, []byte(oidRSA)), derElement(tagNull))
	case *ecdsa.PrivateKey:
		curve := oidOf(k.Curve)
		if curve == "" {
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
		inner = derElement(tagSequence, derUint(big.NewInt(1)), derElement(tagOctetString, d),
			derElement(tagExplicit1, derElement(tagBitString, []byte{0}, pub)))
		algorithm = derElement(tagSequence, derElement(tagOID, []byte(oidECDSA)), derElement(tagOID, []byte(curve)))
	case ed25519.PrivateKey:
		inner = derElement(tagOctetString, k.Seed())
		algorithm = derElement(tagSequence, derElement(tagOID, []byte(oidEd25519)))
	default:
		return nil, errors.New("PKCS #8 of an unsupported key type")
	}
	return derElement(tagSequence, derUint(new(big.Int)), algorithm, derElement(tagOctetString, inner)), nil
}

// certificatePublicKey reads the subject public key of an X.509 certificate (DER): an RSA,
// ECDSA (named curve, uncompressed point) or Ed25519 key. Nothing else of the certificate is
// interpreted beyond its outer structure.
func certificatePublicKey(der []byte) (crypto.PublicKey, error) {
	in := derInput(der)
	cert, ok := in.read(tagSequence)
	if !ok || len(in) != 0 {
		return nil, errors.New("malformed certificate")
	}
	tbs, ok := cert.read(tagSequence)
	if !ok || !cert.skip(tagSequence) || !cert.skip(tagBitString) || len(cert) != 0 {
		return nil, errors.New("malformed certificate")
	}
	if !tbs.skipOptional(tagExplicit0) || !tbs.skip(tagInteger) || !tbs.skip(tagSequence) ||
		!tbs.skip(tagSequence) || !tbs.skip(tagSequence) || !tbs.skip(tagSequence) {
		return nil, errors.New("malformed tbsCertificate")
	}
	spki, ok := tbs.read(tagSequence)
	if !ok {
		return nil, errors.New("malformed tbsCertificate")
	}
	oid, params, ok := algorithmIdentifier(&spki)
	var bits []byte
	var bitLen int
	if ok {
		bits, bitLen, ok = spki.bitString()
	}
	if !ok || bitLen%8 != 0 {
		return nil, errors.New("malformed subject public key info")
	}
	key := derInput(bits)
	switch oid {
	case oidRSA:
		seq, ok := key.read(tagSequence)
		n, e := new(big.Int), 0
		if !ok || len(key) != 0 || !params.skip(tagNull) || len(params) != 0 ||
			!seq.bigInt(n) || !seq.smallInt(&e) || len(seq) != 0 || n.Sign() <= 0 || e <= 0 {
			return nil, errors.New("malformed RSA public key")
		}
		return &rsa.PublicKey{N: n, E: e}, nil
	case oidECDSA:
		curve, ok := params.oid()
		if !ok || curveOf(curve) == nil {
			return nil, errUnknownCurve
		}
		return ecdsa.ParseUncompressedPublicKey(curveOf(curve), key)
	case oidEd25519:
		if len(params) != 0 || len(key) != ed25519.PublicKeySize {
			return nil, errors.New("malformed Ed25519 public key")
		}
		return append(ed25519.PublicKey(nil), key...), nil
	}
	return nil, errors.New("public key of an unsupported algorithm")
}
