package jwt

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"fmt"
	"math/big"

	"github.com/tidwall/gjson"
)

const (
	// MaxJWKSSize caps a JWKS document (and a single JWK).
	MaxJWKSSize = 256 << 10
	// maxJWKSKeys caps the keys read from one JWKS; the rest are skipped.
	maxJWKSKeys = 100
	// maxJWKMembers caps the members of one JWK.
	maxJWKMembers = 64
)

// ParseJWKS parses a JWK Set (RFC 7517 section 5). It fails only if the
// document is oversized, is not valid JSON, or has no "keys" array.
// Keys that cannot be used to verify signatures (use other than sig,
// unsupported kty, crv or alg, RSA under 2048 bits, EC points off the
// curve, private or symmetric key material, ...) are left out and
// reported by Skipped, so one odd key never breaks login with the others.
// Symmetric (oct) keys are always skipped: a published JWKS is public, so
// a secret in it is no secret. Build HMAC keys with ParseJWK or NewKeySet.
func ParseJWKS(data []byte) (*KeySet, error) {
	if len(data) > MaxJWKSSize {
		return nil, fmt.Errorf("%w: JWKS is %d bytes, limit %d", ErrTooLarge, len(data), MaxJWKSSize)
	}
	if !isJSONObject(data) {
		return nil, fmt.Errorf("%w: JWKS is not a JSON object", ErrMalformed)
	}
	var keys gjson.Result
	err := eachMember(gjson.ParseBytes(data), maxJWKMembers, func(name string, v gjson.Result) error {
		if name == "keys" {
			keys = v
		}
		return nil
	})
	if err != nil {
		return nil, memberError(err, ErrMalformed, "JWKS member", maxJWKMembers)
	}
	if !keys.IsArray() {
		return nil, fmt.Errorf("%w: JWKS has no keys array", ErrMalformed)
	}
	s := &KeySet{}
	i := 0
	keys.ForEach(func(_, v gjson.Result) bool {
		if i == maxJWKSKeys {
			s.skipped = append(s.skipped, fmt.Errorf("%w: JWKS has more than %d keys, the rest are ignored", ErrInvalidKey, maxJWKSKeys))
			return false
		}
		k, err := parseJWK(v)
		if err == nil {
			if _, secret := k.Public.([]byte); secret {
				err = fmt.Errorf("%w: symmetric key in a key set", ErrInvalidKey)
			}
		}
		if err != nil {
			s.skipped = append(s.skipped, fmt.Errorf("keys[%d]%s: %w", i, kidNote(v), err))
		} else {
			s.keys = append(s.keys, k)
		}
		i++
		return true
	})
	return s, nil
}

// kidNote names a skipped key by its kid, if it has a usable one.
func kidNote(v gjson.Result) string {
	kid := v.Get("kid")
	if kid.Type != gjson.String || len(kid.Str) > maxKeyIDLen {
		return ""
	}
	return " (kid " + quote(kid.Str) + ")"
}

// ParseJWK parses one JSON Web Key (RFC 7517) into a verification key.
// Unlike ParseJWKS it accepts a symmetric (oct) key, for HMAC secrets that
// come from configuration. Private key members are refused.
func ParseJWK(data []byte) (*Key, error) {
	if len(data) > MaxJWKSSize {
		return nil, fmt.Errorf("%w: JWK is %d bytes, limit %d", ErrTooLarge, len(data), MaxJWKSSize)
	}
	if !isJSONObject(data) {
		return nil, fmt.Errorf("%w: JWK is not a JSON object", ErrInvalidKey)
	}
	return parseJWK(gjson.ParseBytes(data))
}

// jwkFields are the JWK members this package reads, as raw strings.
type jwkFields struct {
	kty, use, alg, kid, crv, n, e, x, y, k string
	keyOps                                 []string
	hasKeyOps, private                     bool
	// The private members, kept only for ParseSigningKey ("oth", multi-prime
	// RSA, is noted and refused).
	d, p, q, dp, dq, qi string
	oth                 bool
}

func parseJWK(v gjson.Result) (*Key, error) {
	if !v.IsObject() {
		return nil, fmt.Errorf("%w: not a JSON object", ErrInvalidKey)
	}
	var f jwkFields
	if err := eachMember(v, maxJWKMembers, f.read); err != nil {
		return nil, memberError(err, ErrInvalidKey, "member", maxJWKMembers)
	}
	return f.key()
}

func (f *jwkFields) read(name string, v gjson.Result) error {
	var dst *string
	switch name {
	case "kty":
		dst = &f.kty
	case "use":
		dst = &f.use
	case "alg":
		dst = &f.alg
	case "kid":
		dst = &f.kid
	case "crv":
		dst = &f.crv
	case "n":
		dst = &f.n
	case "e":
		dst = &f.e
	case "x":
		dst = &f.x
	case "y":
		dst = &f.y
	case "k":
		dst = &f.k
	case "d":
		f.private, dst = true, &f.d
	case "p":
		f.private, dst = true, &f.p
	case "q":
		f.private, dst = true, &f.q
	case "dp":
		f.private, dst = true, &f.dp
	case "dq":
		f.private, dst = true, &f.dq
	case "qi":
		f.private, dst = true, &f.qi
	case "oth":
		f.private, f.oth = true, true
		return nil
	case "key_ops":
		f.hasKeyOps = true
		if !v.IsArray() {
			return fmt.Errorf("%w: key_ops is not an array", ErrInvalidKey)
		}
		var err error
		v.ForEach(func(_, op gjson.Result) bool {
			if op.Type != gjson.String {
				err = fmt.Errorf("%w: key_ops holds a non-string", ErrInvalidKey)
				return false
			}
			f.keyOps = append(f.keyOps, op.Str)
			return len(f.keyOps) < maxJWKMembers
		})
		return err
	default:
		return nil // x5c, x5t, x5u and others: never trusted, never read
	}
	if v.Type != gjson.String {
		return fmt.Errorf("%w: %s is not a string", ErrInvalidKey, name)
	}
	*dst = v.Str
	return nil
}

// key checks the fields common to every kty, then builds the public key.
func (f *jwkFields) key() (*Key, error) {
	if f.private {
		return nil, fmt.Errorf("%w: holds private key material", ErrInvalidKey)
	}
	return f.publicKey("verify")
}

// publicKey builds the public key of f (for a private JWK, its public half);
// op is the key_ops member the key must allow.
func (f *jwkFields) publicKey(op string) (*Key, error) {
	if len(f.kid) > maxKeyIDLen {
		return nil, fmt.Errorf("%w: kid longer than %d bytes", ErrInvalidKey, maxKeyIDLen)
	}
	if f.use != "" && f.use != "sig" {
		return nil, fmt.Errorf("%w: use is %s, not \"sig\"", ErrInvalidKey, quote(f.use))
	}
	if f.hasKeyOps && !contains(f.keyOps, op) {
		return nil, fmt.Errorf("%w: key_ops does not allow %s", ErrInvalidKey, op)
	}
	var a *algInfo
	if f.alg != "" {
		if a = lookupAlg(Algorithm(f.alg)); a == nil {
			return nil, fmt.Errorf("%w: alg %s is not a supported signature algorithm", ErrInvalidKey, quote(f.alg))
		}
	}
	k := &Key{ID: f.kid, Algorithm: Algorithm(f.alg), Use: f.use}
	var err error
	switch f.kty {
	case "RSA":
		k.Public, err = f.rsaKey(a)
	case "EC":
		k.Public, err = f.ecKey(a)
	case "OKP":
		k.Public, err = f.okpKey(a)
	case "oct":
		k.Public, err = f.octKey(a)
	case "":
		err = fmt.Errorf("%w: no kty", ErrInvalidKey)
	default:
		err = fmt.Errorf("%w: kty %s is not supported", ErrInvalidKey, quote(f.kty))
	}
	if err != nil {
		return nil, err
	}
	return k, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// decodeField decodes a base64url JWK member, failing if it is absent.
func decodeField(name, value string) ([]byte, error) {
	if value == "" {
		return nil, fmt.Errorf("%w: no %s", ErrInvalidKey, name)
	}
	b, err := b64.DecodeString(value)
	if err != nil {
		return nil, fmt.Errorf("%w: %s is not base64url", ErrInvalidKey, name)
	}
	return b, nil
}

func algMismatch(a *algInfo, kty string) error {
	return fmt.Errorf("%w: alg %s does not fit kty %s", ErrInvalidKey, a.name, kty)
}

// rsaKey builds an RSA public key. Leading zero octets in n and e are
// tolerated (some providers emit them, against RFC 7518 6.3.1.1); the
// size rules apply to the value.
func (f *jwkFields) rsaKey(a *algInfo) (*rsa.PublicKey, error) {
	if a != nil && a.family != famPKCS1 && a.family != famPSS {
		return nil, algMismatch(a, "RSA")
	}
	nb, err := decodeField("n", f.n)
	if err != nil {
		return nil, err
	}
	eb, err := decodeField("e", f.e)
	if err != nil {
		return nil, err
	}
	n := new(big.Int).SetBytes(nb)
	if bits := n.BitLen(); bits < minRSABits || bits > maxRSABits {
		return nil, fmt.Errorf("%w: RSA modulus is %d bits, need %d to %d", ErrInvalidKey, bits, minRSABits, maxRSABits)
	}
	if n.Bit(0) == 0 {
		return nil, fmt.Errorf("%w: RSA modulus is even", ErrInvalidKey)
	}
	e := new(big.Int).SetBytes(eb)
	if e.BitLen() > 31 || e.Int64() < 3 || e.Bit(0) == 0 {
		return nil, fmt.Errorf("%w: RSA exponent must be odd, at least 3 and below 2^31", ErrInvalidKey)
	}
	return &rsa.PublicKey{N: n, E: int(e.Int64())}, nil
}

// ecKey builds an ECDSA public key. Coordinates must have the curve's full
// length (RFC 7518 6.2.1.2) and the point must be on the curve.
func (f *jwkFields) ecKey(a *algInfo) (*ecdsa.PublicKey, error) {
	var curve *algInfo
	for i := range algTable {
		if algTable[i].family == famECDSA && algTable[i].curveName() == f.crv {
			curve = &algTable[i]
		}
	}
	switch {
	case curve == nil:
		return nil, fmt.Errorf("%w: crv %s is not supported for EC", ErrInvalidKey, quote(f.crv))
	case a != nil && a != curve:
		return nil, fmt.Errorf("%w: alg %s does not fit crv %s", ErrInvalidKey, a.name, f.crv)
	}
	x, err := decodeField("x", f.x)
	if err != nil {
		return nil, err
	}
	y, err := decodeField("y", f.y)
	if err != nil {
		return nil, err
	}
	if len(x) != curve.size || len(y) != curve.size {
		return nil, fmt.Errorf("%w: %s coordinates must be %d bytes", ErrInvalidKey, f.crv, curve.size)
	}
	point := make([]byte, 0, 1+2*curve.size)
	point = append(append(append(point, 4), x...), y...)
	pub, err := ecdsa.ParseUncompressedPublicKey(curve.curve, point)
	if err != nil {
		return nil, fmt.Errorf("%w: point is not on %s", ErrInvalidKey, f.crv)
	}
	return pub, nil
}

// okpKey builds an Ed25519 public key, refusing non-canonical and
// small-order encodings (with those, one signature can verify for many
// messages).
func (f *jwkFields) okpKey(a *algInfo) (ed25519.PublicKey, error) {
	if a != nil && a.family != famEdDSA {
		return nil, algMismatch(a, "OKP")
	}
	if f.crv != "Ed25519" {
		return nil, fmt.Errorf("%w: crv %s is not supported for OKP (only Ed25519)", ErrInvalidKey, quote(f.crv))
	}
	x, err := decodeField("x", f.x)
	if err != nil {
		return nil, err
	}
	if len(x) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: Ed25519 x must be %d bytes", ErrInvalidKey, ed25519.PublicKeySize)
	}
	if weakEd25519(x) {
		return nil, fmt.Errorf("%w: Ed25519 key is non-canonical or of small order", ErrInvalidKey)
	}
	return ed25519.PublicKey(x), nil
}

// octKey returns an HMAC secret. It must be at least as long as the
// shortest hash it may be used with (RFC 7518 section 3.2).
func (f *jwkFields) octKey(a *algInfo) ([]byte, error) {
	if a != nil && a.family != famHMAC {
		return nil, algMismatch(a, "oct")
	}
	k, err := decodeField("k", f.k)
	if err != nil {
		return nil, err
	}
	min := 32
	if a != nil {
		min = a.hash.Size()
	}
	if len(k) < min {
		return nil, fmt.Errorf("%w: HMAC key is %d bytes, need at least %d", ErrInvalidKey, len(k), min)
	}
	return k, nil
}
