package jwt

import (
	"crypto/subtle"
	"fmt"
)

// VerifyAtHash checks an ID token's at_hash against the access token
// issued with it (OIDC Core 3.1.3.8 and 3.2.2.9): the base64url of the
// left half of the hash of the access token's ASCII octets, with the hash
// of the ID token's alg (SHA-256 for *256 and so on; SHA-512 for EdDSA,
// as OIDC specifies for Ed25519). An empty atHash fails with
// ErrMissingClaim: call it only when at_hash is present or required.
func VerifyAtHash(accessToken string, alg Algorithm, atHash string) error {
	a := lookupAlg(alg)
	switch {
	case a == nil:
		return fmt.Errorf("%w: alg %s has no defined hash", ErrAtHash, quote(string(alg)))
	case atHash == "":
		return fmt.Errorf("%w: %w: at_hash", ErrAtHash, ErrMissingClaim)
	}
	h := a.hash.New()
	h.Write([]byte(accessToken))
	var sum [64]byte
	digest := h.Sum(sum[:0])
	var enc [64]byte
	want := enc[:b64.EncodedLen(len(digest)/2)]
	b64.Encode(want, digest[:len(digest)/2])
	if subtle.ConstantTimeCompare(want, []byte(atHash)) != 1 {
		return fmt.Errorf("%w: does not match the access token", ErrAtHash)
	}
	return nil
}
