package jwt

import (
	"crypto"
	"crypto/elliptic"
	_ "crypto/sha256" // registers SHA-256 for crypto.Hash
	_ "crypto/sha512" // registers SHA-384 and SHA-512 for crypto.Hash
)

// Algorithm is a JWS "alg" value (RFC 7518 section 3, RFC 8037 section 3.1).
type Algorithm string

// The algorithms this package verifies. There is deliberately no "none".
const (
	RS256 Algorithm = "RS256" // RSASSA-PKCS1-v1_5 with SHA-256
	RS384 Algorithm = "RS384" // RSASSA-PKCS1-v1_5 with SHA-384
	RS512 Algorithm = "RS512" // RSASSA-PKCS1-v1_5 with SHA-512
	PS256 Algorithm = "PS256" // RSASSA-PSS with SHA-256, salt length 32
	PS384 Algorithm = "PS384" // RSASSA-PSS with SHA-384, salt length 48
	PS512 Algorithm = "PS512" // RSASSA-PSS with SHA-512, salt length 64
	ES256 Algorithm = "ES256" // ECDSA P-256 with SHA-256, raw r||s
	ES384 Algorithm = "ES384" // ECDSA P-384 with SHA-384, raw r||s
	ES512 Algorithm = "ES512" // ECDSA P-521 with SHA-512, raw r||s
	EdDSA Algorithm = "EdDSA" // Ed25519 (RFC 8037); Ed448 is not supported
	// Ed25519 is the fully-specified name of EdDSA with Ed25519 (RFC 9864
	// section 2.2), which deprecates the polymorphic EdDSA. The two are one
	// algorithm here: the same keys, the same verification, the same
	// at_hash hash (SHA-512), and an allowlist naming one allows both.
	Ed25519 Algorithm = "Ed25519"
	HS256   Algorithm = "HS256" // HMAC SHA-256; only with Options.AllowHMAC
	HS384   Algorithm = "HS384" // HMAC SHA-384; only with Options.AllowHMAC
	HS512   Algorithm = "HS512" // HMAC SHA-512; only with Options.AllowHMAC
)

type family uint8

const (
	famPKCS1 family = iota + 1
	famPSS
	famECDSA
	famEdDSA
	famHMAC
)

// algInfo is everything verification needs to know about one alg.
type algInfo struct {
	name   Algorithm
	bit    uint16      // position in an allowlist bitmask
	family family      //
	hash   crypto.Hash // signing hash; for EdDSA the at_hash hash (OIDC)
	curve  elliptic.Curve
	size   int // ECDSA: bytes per coordinate (signature is 2*size)
}

var algTable = [...]algInfo{
	{bit: 1 << 0, name: RS256, family: famPKCS1, hash: crypto.SHA256},
	{bit: 1 << 1, name: RS384, family: famPKCS1, hash: crypto.SHA384},
	{bit: 1 << 2, name: RS512, family: famPKCS1, hash: crypto.SHA512},
	{bit: 1 << 3, name: PS256, family: famPSS, hash: crypto.SHA256},
	{bit: 1 << 4, name: PS384, family: famPSS, hash: crypto.SHA384},
	{bit: 1 << 5, name: PS512, family: famPSS, hash: crypto.SHA512},
	{bit: 1 << 6, name: ES256, family: famECDSA, hash: crypto.SHA256, curve: elliptic.P256(), size: 32},
	{bit: 1 << 7, name: ES384, family: famECDSA, hash: crypto.SHA384, curve: elliptic.P384(), size: 48},
	{bit: 1 << 8, name: ES512, family: famECDSA, hash: crypto.SHA512, curve: elliptic.P521(), size: 66},
	{bit: 1 << 9, name: EdDSA, family: famEdDSA, hash: crypto.SHA512},
	{bit: 1 << 10, name: HS256, family: famHMAC, hash: crypto.SHA256},
	{bit: 1 << 11, name: HS384, family: famHMAC, hash: crypto.SHA384},
	{bit: 1 << 12, name: HS512, family: famHMAC, hash: crypto.SHA512},
	{bit: 1 << 13, name: Ed25519, family: famEdDSA, hash: crypto.SHA512},
}

// Ed448 is RFC 9864's fully-specified name for EdDSA with Ed448, which this
// package does not implement (neither does the standard library). It and
// EdDSA with an Ed448 key are refused with a message that says so.
const ed448 = "Ed448"

// sameAlg reports whether a key restricted to keyAlg may serve a: equal
// names, or EdDSA and Ed25519, which name the same operation for the only
// OKP curve supported (RFC 9864 2.2: a key with alg EdDSA and crv Ed25519
// is an Ed25519 key).
func sameAlg(keyAlg Algorithm, a *algInfo) bool {
	return keyAlg == a.name || a.family == famEdDSA && (keyAlg == EdDSA || keyAlg == Ed25519)
}

// lookupAlg returns the table entry for a, or nil if a is not supported.
// The comparison is exact: "rs256" is not RS256.
func lookupAlg(a Algorithm) *algInfo {
	for i := range algTable {
		if algTable[i].name == a {
			return &algTable[i]
		}
	}
	return nil
}

// curveName is the JWK "crv" value of an ECDSA alg's curve.
func (a *algInfo) curveName() string {
	switch a.name {
	case ES256:
		return "P-256"
	case ES384:
		return "P-384"
	case ES512:
		return "P-521"
	}
	return ""
}

// asymmetric is the default allowlist: everything but HMAC.
var asymmetric = func() (m uint16) {
	for _, a := range algTable {
		if a.family != famHMAC {
			m |= a.bit
		}
	}
	return m
}()
