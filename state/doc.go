// Package state seals the relying party's state into values a browser
// carries: the OAuth state parameter (LoginState), the session cookie
// (Session) and the browser-binding cookie. With the same keys any replica
// opens what any other sealed; nothing is stored server side.
//
// # Guarantees
//
// A sealed value is confidential and authenticated (XChaCha20-Poly1305 with
// a random 192-bit nonce). It opens only for the purpose and the cookie or
// parameter name it was sealed for, only under a key of the ring, only before
// its expiry, and only if not a bit of it changed. Sizes are capped before
// anything is decoded, lengths are checked before anything is sliced, and no
// input makes Open, Join or UnmarshalBinary panic. Errors wrap the package's
// sentinels and never contain a sealed value, a cookie value or a secret.
//
// # Keys
//
// A Sealer holds a key ring: keys[0] seals, every key opens. For each key and
// purpose NewSealer derives a 32-byte key once, with HKDF-SHA256 (no salt,
// info "oidc-proxy-wasm state v1 purpose=" + purpose). To rotate, put a new
// key first and keep the old one second until every value it sealed has
// expired, then drop it; values naming an unknown key id fail with
// ErrUnknownKey. Sealer.KeyID tells which key sealed a value without any
// cryptography, so callers can count old-key values and re-seal them.
//
// # Envelope format
//
// A sealed value is the base64url encoding, without padding, of
//
//	version   1 byte, 1
//	idlen     1 byte, 1..32
//	key id    idlen bytes of [A-Za-z0-9._-]
//	nonce     24 bytes, random
//	sealed    XChaCha20-Poly1305(expiry || plaintext) with its 16-byte tag
//
// where expiry is the expiry time as big-endian int64 Unix milliseconds. The
// additional data is version || idlen || key id || len(purpose) (1 byte) ||
// purpose || name. Open rejects values longer than MaxLen(purpose) (32 KiB
// for sessions, 4 KiB for state and binding) before decoding, non-canonical
// base64url, unknown versions and key ids, failed authentication, and
// expiry <= now, in that order.
//
// # Cookie chunks
//
// A CookieCodec with Name "s" writes a value as cookies s, s_1, s_2, ... (at
// most MaxChunks, default 8), each at most MaxCookieSize bytes (default 3800)
// counting name, "=" and value, using the fewest cookies that fit. Each chunk
// value is
//
//	<index>.<count>.<payload>
//
// with index (from 0) and count in canonical decimal and a non-empty payload;
// the value is the payloads concatenated in index order. Join accepts only a
// complete set: the first cookie present, exactly count chunk cookies present,
// chunk i in cookie i with the same count everywhere. Anything else (a
// missing, extra, reordered or oversized chunk) is an error, and a mix of
// chunks from two sessions that passes these checks still fails to open.
// Names lists every name a codec may set; Stale lists the ones a request
// carries that a new set of cookies does not overwrite, to expire them when a
// session shrinks.
//
// # Payload encodings
//
// LoginState and Session have compact binary encodings, not JSON: a format
// byte (LoginState 1, Session 2; Session format 1, without login_id, is still read),
// fixed-size fields, then strings and byte strings each prefixed by
// a big-endian uint16 length. Times are big-endian int64 Unix seconds, 0
// meaning the zero time.Time. UnmarshalBinary rejects unknown formats,
// truncated fields and trailing bytes.
//
//	LoginState: format, issued_at, verifier, nonce, return_path, binding_hash
//	Session:    format, version, id_token_expiry, access_token_expiry,
//	            auth_time, issued_at, expiry, subject, session_id, issuer,
//	            claims, id_token, access_token, refresh_token, login_id
package state
