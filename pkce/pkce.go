// Package pkce implements the S256 method of Proof Key for Code Exchange
// (RFC 7636) for an OAuth 2.0 client.
//
// # Guarantees
//
// Only S256 is offered: the plain method sends the verifier itself as the
// challenge and is never used. Verifiers are 32 bytes from a caller-supplied
// random reader, base64url-encoded without padding (43 characters, as RFC 7636
// section 4.1 recommends), so tests can inject a deterministic reader and
// production passes crypto/rand.Reader.
//
// Error messages never contain a verifier.
package pkce

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
)

// Method is the code_challenge_method sent with every authorization request.
const Method = "S256"

// Verifier length bounds from RFC 7636 section 4.1.
const (
	MinVerifierLen = 43
	MaxVerifierLen = 128
)

// verifierEntropy is the number of random bytes behind a new verifier.
const verifierEntropy = 32

// ErrInvalidVerifier reports a code_verifier that RFC 7636 section 4.1 forbids.
var ErrInvalidVerifier = errors.New("pkce: invalid code_verifier")

// NewVerifier returns a new code_verifier: 32 bytes read from rand,
// base64url-encoded without padding (43 characters).
func NewVerifier(rand io.Reader) (string, error) {
	var b [verifierEntropy]byte
	if _, err := io.ReadFull(rand, b[:]); err != nil {
		return "", fmt.Errorf("pkce: reading randomness: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// Challenge returns the S256 code_challenge for verifier:
// BASE64URL-ENCODE(SHA256(ASCII(code_verifier))).
func Challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Verify reports whether challenge is the S256 challenge of a valid verifier,
// comparing in constant time. It is what an authorization server does at the
// token endpoint; the relying party uses it in tests.
func Verify(verifier, challenge string) bool {
	if ValidVerifier(verifier) != nil {
		return false
	}
	want := Challenge(verifier)
	return subtle.ConstantTimeCompare([]byte(want), []byte(challenge)) == 1
}

// ValidVerifier checks v against RFC 7636 section 4.1: 43 to 128 characters
// from the unreserved set [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~".
// The error says what is wrong without quoting v.
func ValidVerifier(v string) error {
	if len(v) < MinVerifierLen || len(v) > MaxVerifierLen {
		return fmt.Errorf("%w: length %d, want %d to %d", ErrInvalidVerifier, len(v), MinVerifierLen, MaxVerifierLen)
	}
	for i := 0; i < len(v); i++ {
		if !unreserved(v[i]) {
			return fmt.Errorf("%w: byte %d is not an unreserved character", ErrInvalidVerifier, i)
		}
	}
	return nil
}

func unreserved(c byte) bool {
	switch {
	case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		return true
	}
	return c == '-' || c == '.' || c == '_' || c == '~'
}
