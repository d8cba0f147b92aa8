package jwt

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
)

const (
	// minRSABits is the smallest RSA modulus accepted, for every RS* and
	// PS* alg (RFC 7518 section 3.3 requires 2048).
	minRSABits = 2048
	// maxRSABits bounds the cost of one RSA verification.
	maxRSABits = 8192
)

// Key is one verification key. ParseJWK and ParseJWKS build keys that are
// already checked; a Key built by hand is checked again at every use, and
// a key that does not fit a token's alg is simply never used for it.
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
	if k == nil || (k.Use != "" && k.Use != "sig") || (k.Algorithm != "" && k.Algorithm != a.name) {
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

// NewKeySet returns a set holding copies of the non-nil keys given.
func NewKeySet(keys ...*Key) *KeySet {
	s := &KeySet{keys: make([]*Key, 0, len(keys))}
	for _, k := range keys {
		if k == nil {
			continue
		}
		c := *k
		if secret, ok := c.Public.([]byte); ok {
			c.Public = append([]byte(nil), secret...)
		}
		s.keys = append(s.keys, &c)
	}
	return s
}

// Len returns the number of keys in the set.
func (s *KeySet) Len() int {
	if s == nil {
		return 0
	}
	return len(s.keys)
}

// Skipped returns one error (wrapping ErrInvalidKey) per key that
// ParseJWKS left out, in document order. Nil for a set from NewKeySet.
func (s *KeySet) Skipped() []error {
	if s == nil {
		return nil
	}
	return append([]error(nil), s.skipped...)
}

// Lookup returns the keys that may verify a token with this kid and alg:
// copies of the keys whose ID equals kid (every key if kid is ""), usable
// with alg. It returns nil for an unsupported alg.
func (s *KeySet) Lookup(kid string, alg Algorithm) []*Key {
	a := lookupAlg(alg)
	if a == nil || s == nil {
		return nil
	}
	var out []*Key
	for _, k := range s.keys {
		if (kid == "" || k.ID == kid) && k.usable(a) {
			c := *k
			out = append(out, &c)
		}
	}
	return out
}
