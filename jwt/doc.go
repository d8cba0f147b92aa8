// Package jwt verifies JWS compact tokens (JWTs) strictly, parses JWK and
// JWKS documents, and checks the claims OpenID Connect relies on. It uses
// only the standard library's crypto and gjson, so it is small and fast in
// wasm, and it never fetches anything.
//
// # Use
//
// Build a KeySet from the provider's JWKS and a Verifier once; verify each
// token; then check its claims:
//
//	keys, err := jwt.ParseJWKS(body)              // keys.Skipped() lists keys left out
//	v := jwt.NewVerifier(keys, jwt.Options{})     // asymmetric algs only
//	tok, err := v.Verify(raw)                     // errors.Is(err, jwt.ErrUnknownKey): refetch JWKS
//	claims, err := tok.Claims()
//	err = claims.Validate(jwt.Expected{Issuer: iss, Audience: clientID, AuthorizedParty: clientID,
//		Nonce: nonce, Now: now, Leeway: time.Minute, RequireExpiry: true, RequireIssuedAt: true})
//	err = jwt.VerifyAtHash(accessToken, tok.Header.Algorithm, claims.AtHash)
//
// # Guarantees
//
// Verify accepts a token only if all of these hold:
//   - at most Options.MaxTokenSize bytes, exactly three segments, each
//     unpadded base64url with no other characters and zero trailing bits;
//   - header and payload are JSON objects (RFC 8259, valid UTF-8, nesting
//     at most 32 deep), and no header member name appears twice;
//   - alg is a string on the allowlist: never "none", HS* only with
//     Options.AllowHMAC; no crit member (no extension is implemented);
//     "Ed25519", RFC 9864's fully-specified name for EdDSA with Ed25519,
//     is the same algorithm as "EdDSA" (same keys, same at_hash hash,
//     an allowlist naming one allows both); "Ed448" is not supported;
//   - a key from the KeySet, selected by kid (or every key when the token
//     has no kid, at most 4 tried), whose type, curve, size, alg and use
//     fit the alg, verifies the signature: RSA of 2048 to 8192 bits,
//     PKCS#1 v1.5 or PSS with salt length equal to the hash length; ECDSA
//     raw r||s of exactly twice the coordinate size; Ed25519 rejecting
//     small-order keys; HMAC with a key at least as long as the hash.
//
// jku, x5u, jwk and x5c header members are ignored: keys are never taken
// from the token. Claims are not checked by Verify; Token.Claims reads
// them (strict types, no duplicate claim names) and Claims.Validate checks
// them against Expected with an injected clock and leeway.
//
// # Deliberate strictness
//
// Compared with go-jose v4 (the test oracle, see differential_test.go),
// Verify also rejects: segments with non-zero trailing bits or CR/LF (so a
// token has exactly one spelling), PS* signatures whose salt length is not
// the hash length (RFC 7518 3.5; go-jose auto-detects), any crit (go-jose
// implements b64 and accepts an empty list), payloads that are not JSON
// objects, invalid UTF-8 or deep nesting in the header, kids over 256
// bytes, RSA keys under 2048 bits, and keys whose JWK use or alg forbids
// the token's alg. It accepts alg "Ed25519" (RFC 9864), which go-jose
// v4.1.8 does not know: go-jose has no view there, and the tests check
// that it accepts the same key and payload under "EdDSA" and that the
// RFC 8037 A.1 key signs and verifies the testdata vector. It ignores
// (where go-jose validates) the jwk, x5c and nonce header members. ECDSA signatures remain malleable, (r, s) and
// (r, n-s) both verify, as in every ECDSA verifier: key caches by token
// bytes, never by signature uniqueness.
//
// # Errors
//
// Each failure wraps one sentinel (ErrMalformed, ErrSignature, ErrExpired,
// ...) with detail. Messages never contain a token, a signature, a nonce
// or a key; untrusted strings in them are quoted and truncated.
package jwt
