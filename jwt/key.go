package jwt

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"fmt"
	"math/big"
)

const (
	// minRSABits is the smallest RSA modulus accepted, for every RS* and
	// PS* alg (RFC 7518 section 3.3 requires 2048).
	minRSABits = 2048
	// maxRSABits bounds the cost of one RSA verification.
	maxRSABits = 8192
)

// Key is one verification key. ParseJWK, ParseJWKS and NewKeySet check
// keys when they are built; at each use a key that does not fit the
// token's alg (type, curve, size, Algorithm, Use) is simply not tried.
type Key struct {
	ID        string    // kid; "" if the key has none
	Algorithm Algorithm // alg the key is restricted to; "" for any alg of its type
	Use       string    // "sig" or ""; any other value makes the key unusable
	// Public is *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey, or
	// []byte (an HMAC secret, used only when Options.AllowHMAC is set).
	Public crypto.PublicKey
}

// usable reports whether k may verify a signature made with alg a:
// key use and key alg allow it, and the key type, curve and size fit.
func (k *Key) usable(a *algInfo) bool {
	if k == nil || (k.Use != "" && k.Use != "sig") || (k.Algorithm != "" && !sameAlg(k.Algorithm, a)) {
		return false
	}
	switch a.family {
	case famPKCS1, famPSS:
		pub, ok := k.Public.(*rsa.PublicKey)
		return ok && pub != nil && pub.N != nil && pub.N.BitLen() >= minRSABits && pub.N.BitLen() <= maxRSABits
	case famECDSA:
		pub, ok := k.Public.(*ecdsa.PublicKey)
		return ok && pub != nil && pub.Curve == a.curve
	case famEdDSA:
		pub, ok := k.Public.(ed25519.PublicKey)
		return ok && len(pub) == ed25519.PublicKeySize && !weakEd25519(pub)
	case famHMAC:
		secret, ok := k.Public.([]byte)
		return ok && len(secret) >= a.hash.Size()
	}
	return false
}

// KeySet is an immutable set of verification keys. To rotate, build a new
// KeySet (and Verifier) from the refetched JWKS.
type KeySet struct {
	keys    []*Key
	skipped []error
}

// NewKeySet returns a set holding deep copies of the keys given. A key
// that ParseJWK would refuse (nil, unsupported type, RSA under 2048 bits,
// EC point off its curve, small-order Ed25519, HMAC secret under 32
// bytes, use other than sig, alg unknown or not fitting the key) is left
// out and reported by Skipped.
func NewKeySet(keys ...*Key) *KeySet {
	s := &KeySet{keys: make([]*Key, 0, len(keys))}
	for i, k := range keys {
		c, err := copyKey(k)
		if err != nil {
			s.skipped = append(s.skipped, fmt.Errorf("keys[%d]: %w", i, err))
			continue
		}
		s.keys = append(s.keys, c)
	}
	return s
}

// copyKey validates k and returns a copy sharing no memory with it.
func copyKey(k *Key) (*Key, error) {
	if k == nil {
		return nil, fmt.Errorf("%w: nil", ErrInvalidKey)
	}
	c := *k
	f, err := fieldsOf(k.Public)
	if err != nil {
		return nil, err
	}
	f.use, f.alg, f.kid = k.Use, string(k.Algorithm), k.ID
	// Going through the JWK checks keeps one set of rules, and the decoded
	// result is a fresh copy.
	parsed, err := f.key()
	if err != nil {
		return nil, err
	}
	c.Public = parsed.Public
	return &c, nil
}

// fieldsOf is the JWK members of a public key (kty and the key's own members).
func fieldsOf(pub crypto.PublicKey) (jwkFields, error) {
	var f jwkFields
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		if pub == nil || pub.N == nil {
			return f, fmt.Errorf("%w: nil RSA key", ErrInvalidKey)
		}
		f.kty, f.n, f.e = "RSA", b64.EncodeToString(pub.N.Bytes()), b64.EncodeToString(big.NewInt(int64(pub.E)).Bytes())
	case *ecdsa.PublicKey:
		point, err := pointOf(pub)
		if err != nil {
			return f, err
		}
		size := (len(point) - 1) / 2
		f.kty, f.crv = "EC", pub.Curve.Params().Name
		f.x, f.y = b64.EncodeToString(point[1:1+size]), b64.EncodeToString(point[1+size:])
	case ed25519.PublicKey:
		f.kty, f.crv, f.x = "OKP", "Ed25519", b64.EncodeToString(pub)
	case []byte:
		f.kty, f.k = "oct", b64.EncodeToString(pub)
	default:
		return f, fmt.Errorf("%w: unsupported key type %T", ErrInvalidKey, pub)
	}
	return f, nil
}

// pointOf returns the uncompressed encoding of an ECDSA key, failing for
// nil coordinates, unsupported curves and points off the curve.
func pointOf(pub *ecdsa.PublicKey) ([]byte, error) {
	//lint:ignore SA1019 Bytes panics on nil coordinates, so they are checked first.
	if pub == nil || pub.Curve == nil || pub.X == nil || pub.Y == nil {
		return nil, fmt.Errorf("%w: incomplete EC key", ErrInvalidKey)
	}
	point, err := pub.Bytes()
	if err != nil {
		return nil, fmt.Errorf("%w: EC key not on a supported curve", ErrInvalidKey)
	}
	return point, nil
}

// Len returns the number of keys in the set.
func (s *KeySet) Len() int {
	if s == nil {
		return 0
	}
	return len(s.keys)
}

// Skipped returns one error (wrapping ErrInvalidKey) per key that
// ParseJWKS or NewKeySet left out, in input order.
func (s *KeySet) Skipped() []error {
	if s == nil {
		return nil
	}
	return append([]error(nil), s.skipped...)
}

// Lookup returns the keys that may verify a token with this kid and alg:
// deep copies of the keys whose ID equals kid (every key if kid is ""), usable
// with alg. It returns nil for an unsupported alg.
func (s *KeySet) Lookup(kid string, alg Algorithm) []*Key {
	a := lookupAlg(alg)
	if a == nil || s == nil {
		return nil
	}
	var out []*Key
	for _, k := range s.keys {
		if (kid == "" || k.ID == kid) && k.usable(a) {
			if c, err := copyKey(k); err == nil { // always, for a key in a set
				out = append(out, c)
			}
		}
	}
	return out
}
