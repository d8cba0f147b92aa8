package state

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
)

// BindingHashSize is the length of a BindingHash.
const BindingHashSize = sha256.Size

// bindingEntropy is the number of random bytes in a binding cookie value.
const bindingEntropy = 32

// NewBindingValue returns a fresh random value for the browser-binding
// cookie: 32 bytes from rand, base64url without padding.
func NewBindingValue(rand io.Reader) (string, error) {
	var b [bindingEntropy]byte
	if _, err := io.ReadFull(rand, b[:]); err != nil {
		return "", fmt.Errorf("state: reading randomness: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// BindingHash returns SHA-256 of the binding cookie value, the form kept in
// LoginState.BindingHash.
func BindingHash(bindingCookieValue string) []byte {
	sum := sha256.Sum256([]byte(bindingCookieValue))
	return sum[:]
}

// EqualBindingHash reports, in constant time, whether a and b are the same
// binding hash. Anything that is not BindingHashSize bytes (including two
// empty hashes) never matches.
func EqualBindingHash(a, b []byte) bool {
	if len(a) != BindingHashSize || len(b) != BindingHashSize {
		return false
	}
	return subtle.ConstantTimeCompare(a, b) == 1
}
