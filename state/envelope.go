package state

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"time"

	"golang.org/x/crypto/chacha20poly1305"
)

// Size caps on sealed values (base64url characters), checked before any
// decoding. Seal refuses to produce anything Open would refuse.
const (
	// MaxSealedLen caps a session envelope: the default CookieCodec spreads
	// it over at most 8 cookies.
	MaxSealedLen = 32 << 10
	// MaxStateSealedLen caps state and binding envelopes, which travel in a
	// URL query parameter or a single small cookie.
	MaxStateSealedLen = 4 << 10
)

// Envelope layout (see the package documentation).
const (
	envelopeVersion = 1
	nonceSize       = chacha20poly1305.NonceSizeX
	tagSize         = chacha20poly1305.Overhead
	expirySize      = 8
	minBinaryLen    = 2 + 1 + nonceSize + expirySize + tagSize
)

var (
	b64           = base64.RawURLEncoding
	b64Strict     = base64.RawURLEncoding.Strict()
	minEncodedLen = b64.EncodedLen(minBinaryLen)
)

// MaxLen returns the size cap for envelopes of purpose p.
func MaxLen(p Purpose) int {
	if p == PurposeSession {
		return MaxSealedLen
	}
	return MaxStateSealedLen
}

// Seal encrypts and authenticates plaintext for purpose p and cookie (or
// parameter) name, under the current key, valid until expiresAt (millisecond
// precision). The result is base64url without padding.
func (s *Sealer) Seal(p Purpose, name string, plaintext []byte, expiresAt time.Time) (string, error) {
	pi, ok := purposeIndex(p)
	if !ok {
		return "", fmt.Errorf("state: seal: unknown purpose %q", p)
	}
	if expiresAt.IsZero() {
		return "", fmt.Errorf("state: seal %s %q: expiry required", p, name)
	}
	k := s.current
	hl := len(k.header)
	binLen := hl + nonceSize + expirySize + len(plaintext) + tagSize
	if n := b64.EncodedLen(binLen); n > MaxLen(p) {
		return "", fmt.Errorf("%w: sealing %d bytes for %s %q gives %d characters, limit %d",
			ErrTooLarge, len(plaintext), p, name, n, MaxLen(p))
	}
	// One buffer: header | nonce | expiry+plaintext, sealed in place, then
	// the additional data after it.
	buf := make([]byte, binLen, binLen+adLen(hl, p, name))
	copy(buf, k.header)
	nonce := buf[hl : hl+nonceSize]
	if _, err := io.ReadFull(s.rand, nonce); err != nil {
		return "", fmt.Errorf("state: seal: reading nonce: %w", err)
	}
	msg := buf[hl+nonceSize : binLen-tagSize]
	binary.BigEndian.PutUint64(msg, uint64(expiresAt.UnixMilli()))
	copy(msg[expirySize:], plaintext)
	ad := appendAD(buf[binLen:binLen], k.header, p, name)
	k.aead[pi].Seal(msg[:0], nonce, msg, ad)
	return b64.EncodeToString(buf[:binLen]), nil
}

// Open authenticates and decrypts a value sealed for purpose p and name,
// and checks that it has not expired at now. Errors wrap ErrTooLarge,
// ErrMalformed, ErrUnknownKey, ErrAuth or ErrExpired, in the order they are
// checked: size, encoding and header, key id, authentication, expiry.
func (s *Sealer) Open(p Purpose, name string, sealed string, now time.Time) ([]byte, error) {
	pi, ok := purposeIndex(p)
	if !ok {
		return nil, fmt.Errorf("state: open: unknown purpose %q", p)
	}
	if len(sealed) > MaxLen(p) {
		return nil, fmt.Errorf("%w: %s %q is %d characters, limit %d", ErrTooLarge, p, name, len(sealed), MaxLen(p))
	}
	if len(sealed) < minEncodedLen {
		return nil, fmt.Errorf("%w: %s %q is %d characters, too short", ErrMalformed, p, name, len(sealed))
	}
	binLen := b64.DecodedLen(len(sealed))
	buf := make([]byte, binLen, binLen+adLen(2+MaxKeyIDLen, p, name))
	n, err := b64Strict.Decode(buf, []byte(sealed))
	// Decode skips \r and \n: insist that every character was data.
	if err != nil || b64.EncodedLen(n) != len(sealed) {
		return nil, fmt.Errorf("%w: %s %q is not base64url", ErrMalformed, p, name)
	}
	bin := buf[:n]
	hl, err := headerLen(bin)
	if err != nil {
		return nil, fmt.Errorf("%w: %s %q: %s", ErrMalformed, p, name, err)
	}
	k, ok := s.ring[string(bin[2:hl])]
	if !ok {
		return nil, fmt.Errorf("%w: %s %q names key id %q", ErrUnknownKey, p, name, bin[2:hl])
	}
	ad := appendAD(buf[binLen:binLen], bin[:hl], p, name)
	nonce, ct := bin[hl:hl+nonceSize], bin[hl+nonceSize:]
	msg, err := k.aead[pi].Open(ct[:0], nonce, ct, ad)
	if err != nil {
		return nil, fmt.Errorf("%w: %s %q (key id %q)", ErrAuth, p, name, k.id)
	}
	exp := int64(binary.BigEndian.Uint64(msg))
	if now.UnixMilli() >= exp {
		return nil, fmt.Errorf("%w: %s %q expired at %s", ErrExpired, p, name,
			time.UnixMilli(exp).UTC().Format(time.RFC3339))
	}
	return msg[expirySize:], nil
}

// headerLen validates the envelope header of bin and returns its length.
// Only the reason goes in the error, never bytes of bin.
func headerLen(bin []byte) (int, error) {
	if len(bin) < minBinaryLen {
		return 0, fmt.Errorf("%d bytes, too short", len(bin))
	}
	if bin[0] != envelopeVersion {
		return 0, fmt.Errorf("unsupported envelope version %d", bin[0])
	}
	idLen := int(bin[1])
	if idLen == 0 || idLen > MaxKeyIDLen {
		return 0, fmt.Errorf("key id length %d out of range", idLen)
	}
	hl := 2 + idLen
	if len(bin) < hl+nonceSize+expirySize+tagSize {
		return 0, fmt.Errorf("%d bytes, too short for its header", len(bin))
	}
	if !validKeyID(bin[2:hl]) {
		return 0, fmt.Errorf("key id has characters outside A-Z a-z 0-9 . _ -")
	}
	return hl, nil
}

// The additional data binds an envelope to its header (version and key id),
// purpose and name: header | len(purpose) | purpose | name.
func adLen(headerLen int, p Purpose, name string) int {
	return headerLen + 1 + len(p) + len(name)
}

func appendAD(dst, header []byte, p Purpose, name string) []byte {
	dst = append(dst[:0], header...)
	dst = append(dst, byte(len(p)))
	dst = append(dst, p...)
	return append(dst, name...)
}
