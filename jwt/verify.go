package jwt

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"math/big"
	"strings"
)

// maxCandidates caps the keys tried for one token. Tokens normally carry
// a kid that selects one key; without a kid every usable key is tried, and
// this bounds what a forged token can cost (an RSA verification is about
// 0.3 ms in wasm).
const maxCandidates = 4

// Options configures a Verifier.
type Options struct {
	// Algorithms is the allowlist of header alg values. Empty means every
	// asymmetric algorithm (RS*, PS*, ES*, EdDSA and Ed25519), plus HS* if
	// AllowHMAC. HS* entries are ignored unless AllowHMAC is set. EdDSA and
	// Ed25519 (its RFC 9864 fully-specified name) allow each other.
	Algorithms []Algorithm
	// AllowHMAC enables HS256/384/512 with []byte keys. It MUST NOT be set
	// for a public client, or for a key set that anyone else knows: whoever
	// holds an HMAC key can mint tokens with it, so it authenticates the
	// issuer only when the secret is shared by the issuer and this
	// confidential client alone (OIDC Core 10.1, client_secret as key).
	AllowHMAC bool
	// MaxTokenSize caps the compact token in bytes; 0 means
	// DefaultMaxTokenSize.
	MaxTokenSize int
}

// Verifier checks compact JWS signatures against a KeySet. Build it once
// per key set; it is immutable and safe for concurrent use.
type Verifier struct {
	keys    *KeySet
	allowed uint16 // bitmask over algTable
	maxSize int
}

// NewVerifier returns a Verifier for keys under opts.
func NewVerifier(keys *KeySet, opts Options) *Verifier {
	v := &Verifier{keys: keys, maxSize: opts.MaxTokenSize}
	if v.maxSize <= 0 {
		v.maxSize = DefaultMaxTokenSize
	}
	if v.keys == nil {
		v.keys = &KeySet{}
	}
	if len(opts.Algorithms) == 0 {
		v.allowed = asymmetric
		if opts.AllowHMAC {
			v.allowed |= algBits(HS256, HS384, HS512)
		}
	}
	for _, name := range opts.Algorithms {
		if a := lookupAlg(name); a != nil && (a.family != famHMAC || opts.AllowHMAC) {
			v.allowed |= a.bit
			if a.family == famEdDSA {
				v.allowed |= algBits(EdDSA, Ed25519)
			}
		}
	}
	return v
}

func algBits(names ...Algorithm) (m uint16) {
	for _, n := range names {
		m |= lookupAlg(n).bit
	}
	return m
}

// Verify checks, in order: size, the three-segment structure and strict
// base64url, the header (JSON object, no duplicate members, string alg,
// no crit), the alg allowlist, key selection by kid, and the signature.
// It says nothing about claims: call Token.Claims and Claims.Validate.
//
// A token whose kid is not in the key set fails with ErrUnknownKey (the
// caller may refetch the JWKS); one that does not verify with ErrSignature.
func (v *Verifier) Verify(token string) (*Token, error) {
	t, err := parse(token, v.maxSize, true)
	if err != nil {
		return nil, err
	}
	defer func() { t.input, t.signature = nil, nil }() // let the scratch buffer go
	if len(t.Header.Critical) > 0 {
		// No extension is implemented (b64 included), so RFC 7515 4.1.11
		// requires rejecting any token that lists one.
		return nil, fmt.Errorf("%w: %s", ErrCrit, quote(strings.Join(t.Header.Critical, ",")))
	}
	a, err := v.algorithm(t.Header.Algorithm)
	if err != nil {
		return nil, err
	}
	if err := v.checkSignature(t, a); err != nil {
		return nil, err
	}
	return t, nil
}

func (v *Verifier) algorithm(name Algorithm) (*algInfo, error) {
	if strings.EqualFold(string(name), "none") {
		return nil, ErrAlgNone
	}
	a := lookupAlg(name)
	switch {
	case name == ed448:
		return nil, fmt.Errorf("%w: %s: Ed448 is not supported", ErrAlgNotAllowed, quote(string(name)))
	case a == nil || v.allowed&a.bit == 0:
		return nil, fmt.Errorf("%w: %s", ErrAlgNotAllowed, quote(string(name)))
	}
	return a, nil
}

// checkSignature tries the keys that fit the token's kid and alg.
func (v *Verifier) checkSignature(t *Token, a *algInfo) error {
	kid := t.Header.KeyID
	var digest [sha512.Size]byte
	hashed := hashInput(a, t.input, &digest)
	tried, named := 0, 0
	for _, k := range v.keys.keys {
		if kid != "" && k.ID != kid {
			continue
		}
		named++
		if !k.usable(a) {
			continue
		}
		if tried == maxCandidates {
			break
		}
		tried++
		if verifyWith(a, k.Public, t.input, t.signature, hashed) {
			return nil
		}
	}
	switch {
	case tried > 0:
		return ErrSignature
	case kid != "" && named > 0:
		return fmt.Errorf("%w: kid %s, alg %s", ErrKeyMismatch, quote(kid), a.name)
	case kid != "":
		return fmt.Errorf("%w: kid %s", ErrUnknownKey, quote(kid))
	default:
		return fmt.Errorf("%w: no kid and no key for alg %s", ErrUnknownKey, a.name)
	}
}

// hashInput hashes the signing input for the algs that sign a digest.
// EdDSA signs the message itself and HMAC is keyed, so those get nil.
func hashInput(a *algInfo, input []byte, out *[sha512.Size]byte) []byte {
	if a.family == famEdDSA || a.family == famHMAC {
		return nil
	}
	switch a.hash {
	case crypto.SHA256:
		*(*[sha256.Size]byte)(out[:]) = sha256.Sum256(input)
	case crypto.SHA384:
		*(*[sha512.Size384]byte)(out[:]) = sha512.Sum384(input)
	default:
		*out = sha512.Sum512(input)
	}
	return out[:a.hash.Size()]
}

var pssOptions = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}

// verifyWith checks sig over input (hashed: its digest, for the algs that
// sign one) with a key already known to be usable for a. Lengths are
// checked before anything is sliced or computed.
func verifyWith(a *algInfo, pub any, input, sig, hashed []byte) bool {
	switch a.family {
	case famPKCS1, famPSS:
		k := pub.(*rsa.PublicKey)
		if len(sig) != k.Size() {
			return false
		}
		if a.family == famPKCS1 {
			return rsa.VerifyPKCS1v15(k, a.hash, hashed, sig) == nil
		}
		return rsa.VerifyPSS(k, a.hash, hashed, sig, pssOptions) == nil
	case famECDSA:
		if len(sig) != 2*a.size {
			return false
		}
		r := new(big.Int).SetBytes(sig[:a.size])
		s := new(big.Int).SetBytes(sig[a.size:])
		return ecdsa.Verify(pub.(*ecdsa.PublicKey), hashed, r, s)
	case famEdDSA:
		return len(sig) == ed25519.SignatureSize && ed25519.Verify(pub.(ed25519.PublicKey), input, sig)
	case famHMAC:
		if len(sig) != a.hash.Size() {
			return false
		}
		mac := hmac.New(a.hash.New, pub.([]byte))
		mac.Write(input)
		var sum [sha512.Size]byte
		return hmac.Equal(mac.Sum(sum[:0]), sig)
	}
	return false
}
