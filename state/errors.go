package state

import "errors"

// Sentinel errors. Returned errors wrap one of these with %w and add detail
// (sizes, purposes, cookie names, key ids), never a sealed value, a cookie
// value or a secret.
var (
	// ErrMalformed: not an envelope, chunk set or payload this package
	// produces (bad encoding, bad header, missing, extra or reordered chunk,
	// truncated or trailing payload bytes).
	ErrMalformed = errors.New("state: malformed")
	// ErrTooLarge: input over a size cap, detected before decoding it; or a
	// value too large to seal or to fit in the allowed cookies.
	ErrTooLarge = errors.New("state: too large")
	// ErrUnknownKey: the envelope names a key id that is not in the ring.
	ErrUnknownKey = errors.New("state: unknown key")
	// ErrAuth: authentication failed: tampered, sealed for another purpose
	// or cookie name, or under another key with the same id.
	ErrAuth = errors.New("state: authentication failed")
	// ErrExpired: authentic, but its expiry has passed.
	ErrExpired = errors.New("state: expired")
	// ErrNoCookie: the request carries none of the codec's cookies.
	ErrNoCookie = errors.New("state: no cookie")
	// ErrInvalidKey: a key given to NewSealer is unusable.
	ErrInvalidKey = errors.New("state: invalid key")
	// ErrInvalidCodec: a CookieCodec field is out of range.
	ErrInvalidCodec = errors.New("state: invalid cookie codec")
)
