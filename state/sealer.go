package state

import (
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/chacha20poly1305"
)

// Key is one secret of the key ring. ID is written in clear into every
// envelope the key seals, so it must not be secret: 1 to MaxKeyIDLen bytes of
// [A-Za-z0-9._-]. Secret is at least MinSecretLen uniformly random bytes.
type Key struct {
	ID     string
	Secret []byte
}

// Purpose says what an envelope is for. Each purpose has its own derived key
// and is part of the additional data, so an envelope sealed for one purpose
// never opens for another.
type Purpose string

// The purposes a Sealer serves.
const (
	PurposeState   Purpose = "state"   // the OAuth state parameter (LoginState)
	PurposeSession Purpose = "session" // the session cookie (Session)
	PurposeBinding Purpose = "binding" // the browser-binding cookie
)

// purposes lists every Purpose; its index selects the derived key.
var purposes = [...]Purpose{PurposeState, PurposeSession, PurposeBinding}

func purposeIndex(p Purpose) (int, bool) {
	for i, q := range purposes {
		if p == q {
			return i, true
		}
	}
	return 0, false
}

// Key ring limits.
const (
	MinSecretLen = 32
	MaxKeyIDLen  = 32
)

// hkdfInfo prefixes the purpose in the HKDF info string. Changing it changes
// every derived key (and logs every user out).
const hkdfInfo = "oidc-proxy-wasm state v1 purpose="

// Sealer seals and opens envelopes with a key ring. The first key seals; every
// key opens. It is immutable after NewSealer and safe for concurrent use if
// its random reader is.
type Sealer struct {
	rand    io.Reader
	current *ringKey
	ring    map[string]*ringKey
}

type ringKey struct {
	id     string
	header []byte // envelope header: version, len(id), id
	aead   [len(purposes)]cipher.AEAD
}

// NewSealer builds a Sealer from a key ring, keys[0] being the current key,
// and the random source for nonces (crypto/rand.Reader in production). It
// derives one XChaCha20-Poly1305 key per key and purpose with HKDF-SHA256,
// here and only here. Every problem with the keys is reported, joined.
func NewSealer(keys []Key, rand io.Reader) (*Sealer, error) {
	if rand == nil {
		return nil, errors.New("state: nil random reader")
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: the key ring is empty", ErrInvalidKey)
	}
	s := &Sealer{rand: rand, ring: make(map[string]*ringKey, len(keys))}
	var errs []error
	for i, k := range keys {
		if err := checkKey(k); err != nil {
			errs = append(errs, fmt.Errorf("key %d: %w", i, err))
			continue
		}
		if _, dup := s.ring[k.ID]; dup {
			errs = append(errs, fmt.Errorf("key %d: %w: duplicate id %q", i, ErrInvalidKey, k.ID))
			continue
		}
		rk, err := deriveKey(k)
		if err != nil {
			errs = append(errs, fmt.Errorf("key %d: %w", i, err))
			continue
		}
		s.ring[k.ID] = rk
		if i == 0 {
			s.current = rk
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

func checkKey(k Key) error {
	if len(k.ID) == 0 || len(k.ID) > MaxKeyIDLen {
		return fmt.Errorf("%w: id is %d bytes, want 1 to %d", ErrInvalidKey, len(k.ID), MaxKeyIDLen)
	}
	if !validKeyID(k.ID) {
		return fmt.Errorf("%w: id %q: want only A-Z a-z 0-9 . _ -", ErrInvalidKey, k.ID)
	}
	if len(k.Secret) < MinSecretLen {
		return fmt.Errorf("%w: id %q: secret is %d bytes, want at least %d", ErrInvalidKey, k.ID, len(k.Secret), MinSecretLen)
	}
	return nil
}

func validKeyID[T string | []byte](id T) bool {
	for i := 0; i < len(id); i++ {
		c := id[i]
		ok := 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '.' || c == '_' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}

func deriveKey(k Key) (*ringKey, error) {
	rk := &ringKey{id: k.ID, header: make([]byte, 0, 2+len(k.ID))}
	rk.header = append(rk.header, envelopeVersion, byte(len(k.ID)))
	rk.header = append(rk.header, k.ID...)
	for i, p := range purposes {
		dk, err := hkdf.Key(sha256.New, k.Secret, nil, hkdfInfo+string(p), chacha20poly1305.KeySize)
		if err != nil {
			return nil, fmt.Errorf("state: deriving %s key: %w", p, err)
		}
		aead, err := chacha20poly1305.NewX(dk)
		clear(dk)
		if err != nil {
			return nil, fmt.Errorf("state: %s key: %w", p, err)
		}
		rk.aead[i] = aead
	}
	return rk, nil
}

// CurrentKeyID returns the id of the key that seals.
func (s *Sealer) CurrentKeyID() string { return s.current.id }

// KeyID returns the key id in a sealed value's header, and whether the header
// is well formed, without any cryptography: for rotation metrics and for
// deciding to re-seal (id != CurrentKeyID()). It authenticates nothing: a
// forged value can name any key id, and the id need not be in the ring.
func (s *Sealer) KeyID(sealed string) (string, bool) {
	if len(sealed) < minEncodedLen || len(sealed) > MaxSealedLen {
		return "", false
	}
	// The header is at most 2+MaxKeyIDLen bytes: decode just enough whole
	// base64 quanta to cover it.
	var buf [(2 + MaxKeyIDLen + 2) / 3 * 3]byte
	if _, err := b64.Decode(buf[:3], []byte(sealed[:4])); err != nil {
		return "", false
	}
	if buf[0] != envelopeVersion || buf[1] == 0 || buf[1] > MaxKeyIDLen {
		return "", false
	}
	hl := 2 + int(buf[1])
	chars := (hl + 2) / 3 * 4
	if _, err := b64.Decode(buf[:], []byte(sealed[:chars])); err != nil {
		return "", false
	}
	id := buf[2:hl]
	if !validKeyID(id) {
		return "", false
	}
	if k, ok := s.ring[string(id)]; ok {
		return k.id, true
	}
	return string(id), true
}
