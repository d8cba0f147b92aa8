package state

import (
	"bytes"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func TestNewSealer(t *testing.T) {
	good := newKey(t, "k1")
	tests := []struct {
		name    string
		keys    []Key
		wantErr string // substring; "" means success
	}{
		{name: "one key", keys: []Key{good}},
		{name: "two keys", keys: []Key{good, newKey(t, "k0")}},
		{name: "id charset", keys: []Key{newKey(t, "2026-03.a_B")}},
		{name: "max id length", keys: []Key{newKey(t, strings.Repeat("k", MaxKeyIDLen))}},
		{name: "empty ring", keys: nil, wantErr: "key ring is empty"},
		{name: "empty id", keys: []Key{newKey(t, "")}, wantErr: "id is 0 bytes"},
		{name: "long id", keys: []Key{newKey(t, strings.Repeat("k", MaxKeyIDLen+1))}, wantErr: "id is 33 bytes"},
		{name: "bad id char", keys: []Key{newKey(t, "k 1")}, wantErr: `id "k 1"`},
		{name: "short secret", keys: []Key{{ID: "k", Secret: make([]byte, 31)}}, wantErr: "secret is 31 bytes"},
		{name: "duplicate id", keys: []Key{good, newKey(t, "k1")}, wantErr: `duplicate id "k1"`},
		{name: "all problems reported", keys: []Key{{ID: "a"}, {ID: ""}}, wantErr: "key 1:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewSealer(tt.keys, rand.Reader)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if s.CurrentKeyID() != tt.keys[0].ID {
					t.Errorf("CurrentKeyID = %q, want %q", s.CurrentKeyID(), tt.keys[0].ID)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrInvalidKey) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("NewSealer error = %v, want ErrInvalidKey containing %q", err, tt.wantErr)
			}
			for _, k := range tt.keys {
				if len(k.Secret) > 0 && strings.Contains(err.Error(), string(k.Secret)) {
					t.Error("error contains a secret")
				}
			}
		})
	}
	if _, err := NewSealer([]Key{good}, nil); err == nil {
		t.Error("NewSealer with nil rand: no error")
	}
}

func TestSealOpenRoundTrip(t *testing.T) {
	s := newSealer(t, newKey(t, "k1"))
	tests := []struct {
		name      string
		p         Purpose
		cookie    string
		plaintext []byte
	}{
		{name: "empty state", p: PurposeState, cookie: "state", plaintext: nil},
		{name: "small state", p: PurposeState, cookie: "state", plaintext: []byte("verifier+nonce")},
		{name: "binding", p: PurposeBinding, cookie: "__Host-bind", plaintext: bytes.Repeat([]byte{0}, 32)},
		{name: "3KB session", p: PurposeSession, cookie: "__Host-session", plaintext: bytes.Repeat([]byte("x"), 3<<10)},
		{name: "empty name", p: PurposeSession, cookie: "", plaintext: []byte("x")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sealed, err := s.Seal(tt.p, tt.cookie, tt.plaintext, t0.Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if strings.ContainsAny(sealed, "+/=.\r\n") {
				t.Fatalf("sealed value is not unpadded base64url: %q", sealed[:20])
			}
			if len(tt.plaintext) >= 8 && strings.Contains(sealed, string(tt.plaintext)) {
				t.Fatal("plaintext visible in sealed value")
			}
			got, err := s.Open(tt.p, tt.cookie, sealed, t0)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.plaintext) {
				t.Fatalf("Open = %q, want %q", got, tt.plaintext)
			}
			again, err := s.Seal(tt.p, tt.cookie, tt.plaintext, t0.Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if again == sealed {
				t.Fatal("two seals of the same input are equal: nonce not random")
			}
		})
	}
}

func TestOpenBinding(t *testing.T) {
	s := newSealer(t, newKey(t, "k1"))
	sealed, err := s.Seal(PurposeSession, "sess", []byte("payload"), t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		p      Purpose
		cookie string
	}{
		{name: "other purpose state", p: PurposeState, cookie: "sess"},
		{name: "other purpose binding", p: PurposeBinding, cookie: "sess"},
		{name: "other cookie name", p: PurposeSession, cookie: "sess_1"},
		{name: "name prefix", p: PurposeSession, cookie: "ses"},
		{name: "empty name", p: PurposeSession, cookie: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Open(tt.p, tt.cookie, sealed, t0)
			if !errors.Is(err, ErrAuth) {
				t.Fatalf("Open = %v, want ErrAuth", err)
			}
		})
	}
	if _, err := s.Open("other", "sess", sealed, t0); err == nil {
		t.Error("Open with an unknown purpose: no error")
	}
	if _, err := s.Seal("other", "sess", nil, t0.Add(time.Hour)); err == nil {
		t.Error("Seal with an unknown purpose: no error")
	}
}

func TestOpenOtherKeySameID(t *testing.T) {
	a := newSealer(t, newKey(t, "k1"))
	b := newSealer(t, newKey(t, "k1"))
	sealed, err := a.Seal(PurposeState, "state", []byte("x"), t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Open(PurposeState, "state", sealed, t0); !errors.Is(err, ErrAuth) {
		t.Fatalf("Open under another secret with the same id = %v, want ErrAuth", err)
	}
}

func TestRotation(t *testing.T) {
	oldKey, newK := newKey(t, "old"), newKey(t, "new")
	before := newSealer(t, oldKey)
	during := newSealer(t, newK, oldKey)
	after := newSealer(t, newK)

	sealed, err := before.Seal(PurposeSession, "s", []byte("alice"), t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if id, ok := during.KeyID(sealed); !ok || id != "old" {
		t.Fatalf("KeyID = %q, %v, want old, true", id, ok)
	}
	got, err := during.Open(PurposeSession, "s", sealed, t0)
	if err != nil || string(got) != "alice" {
		t.Fatalf("ring [new, old] Open = %q, %v", got, err)
	}
	resealed, err := during.Seal(PurposeSession, "s", got, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := during.KeyID(resealed); id != "new" {
		t.Fatalf("ring [new, old] seals with %q, want new", id)
	}
	if _, err := after.Open(PurposeSession, "s", sealed, t0); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("ring [new] Open of old value = %v, want ErrUnknownKey", err)
	}
	if _, err := after.Open(PurposeSession, "s", resealed, t0); err != nil {
		t.Fatalf("ring [new] Open of re-sealed value: %v", err)
	}
	if _, err := before.Open(PurposeSession, "s", resealed, t0); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("ring [old] Open of new value = %v, want ErrUnknownKey", err)
	}
}

func TestExpiry(t *testing.T) {
	s := newSealer(t, newKey(t, "k1"))
	exp := t0.Add(10 * time.Minute)
	sealed, err := s.Seal(PurposeState, "state", []byte("x"), exp)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		now     time.Time
		expired bool
	}{
		{name: "well before", now: t0},
		{name: "1ms before", now: exp.Add(-time.Millisecond)},
		{name: "at expiry", now: exp, expired: true},
		{name: "after", now: exp.Add(time.Second), expired: true},
		{name: "other time zone, before", now: exp.Add(-time.Second).In(time.FixedZone("x", 5*3600))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Open(PurposeState, "state", sealed, tt.now)
			if tt.expired != errors.Is(err, ErrExpired) || (!tt.expired && err != nil) {
				t.Fatalf("Open at %v = %v, expired %v", tt.now, err, tt.expired)
			}
		})
	}
	if _, err := s.Seal(PurposeState, "state", nil, time.Time{}); err == nil {
		t.Error("Seal with zero expiry: no error")
	}
}

func TestSizeCaps(t *testing.T) {
	s := newSealer(t, newKey(t, "k1"))
	// The largest plaintext whose envelope fits MaxStateSealedLen.
	overhead := 2 + 2 + nonceSize + expirySize + tagSize
	maxState := MaxStateSealedLen*3/4 - overhead
	tests := []struct {
		name    string
		p       Purpose
		n       int
		wantErr error
	}{
		{name: "state at cap", p: PurposeState, n: maxState},
		{name: "state over cap", p: PurposeState, n: maxState + 1, wantErr: ErrTooLarge},
		{name: "binding over cap", p: PurposeBinding, n: maxState + 1, wantErr: ErrTooLarge},
		{name: "session larger than state cap", p: PurposeSession, n: maxState + 1},
		{name: "session over cap", p: PurposeSession, n: MaxSealedLen, wantErr: ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sealed, err := s.Seal(tt.p, "c", make([]byte, tt.n), t0.Add(time.Hour))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Seal(%d bytes) = %v, want %v", tt.n, err, tt.wantErr)
			}
			if err == nil && len(sealed) > MaxLen(tt.p) {
				t.Fatalf("sealed %d characters, over MaxLen %d", len(sealed), MaxLen(tt.p))
			}
		})
	}
	// Open refuses oversized input before decoding: even garbage over the
	// cap is ErrTooLarge, not ErrMalformed.
	for _, p := range purposes {
		junk := strings.Repeat("!", MaxLen(p)+1)
		if _, err := s.Open(p, "c", junk, t0); !errors.Is(err, ErrTooLarge) {
			t.Errorf("Open(%s, %d bytes of junk) = %v, want ErrTooLarge", p, len(junk), err)
		}
	}
	// A state value the session cap would admit is still refused for state.
	big, err := s.Seal(PurposeSession, "c", make([]byte, maxState+1), t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(PurposeState, "c", big, t0); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Open(state, %d characters) = %v, want ErrTooLarge", len(big), err)
	}
}

func TestOpenMalformed(t *testing.T) {
	s := newSealer(t, newKey(t, "k1"))
	sealed, err := s.Seal(PurposeState, "state", []byte("hello"), t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	bin, err := b64.DecodeString(sealed)
	if err != nil {
		t.Fatal(err)
	}
	reencode := func(f func(b []byte) []byte) string {
		return b64.EncodeToString(f(append([]byte(nil), bin...)))
	}
	tests := []struct {
		name    string
		in      string
		wantErr error // nil: any error
	}{
		{name: "empty", in: "", wantErr: ErrMalformed},
		{name: "short", in: sealed[:minEncodedLen-1], wantErr: ErrMalformed},
		{name: "one byte cut", in: reencode(func(b []byte) []byte { return b[:len(b)-1] }), wantErr: ErrAuth},
		{name: "one character cut", in: sealed[:len(sealed)-1]}, // ErrAuth or ErrMalformed by length
		{name: "padded", in: sealed + "==", wantErr: ErrMalformed},
		{name: "std alphabet", in: strings.NewReplacer("-", "+", "_", "/").Replace(sealed) + "+", wantErr: ErrMalformed},
		{name: "newline inside", in: sealed[:10] + "\n" + sealed[10:], wantErr: ErrMalformed},
		{name: "CRLF appended", in: sealed + "\r\n", wantErr: ErrMalformed},
		{name: "space", in: " " + sealed, wantErr: ErrMalformed},
		{name: "version 2", in: reencode(func(b []byte) []byte { b[0] = 2; return b }), wantErr: ErrMalformed},
		{name: "id length 0", in: reencode(func(b []byte) []byte { b[1] = 0; return b }), wantErr: ErrMalformed},
		{name: "id length 255", in: reencode(func(b []byte) []byte { b[1] = 255; return b }), wantErr: ErrMalformed},
		{name: "id bad char", in: reencode(func(b []byte) []byte { b[2] = '\n'; return b }), wantErr: ErrMalformed},
		{name: "unknown id", in: reencode(func(b []byte) []byte { b[2] = 'x'; return b }), wantErr: ErrUnknownKey},
		{name: "tag flipped", in: reencode(func(b []byte) []byte { b[len(b)-1] ^= 1; return b }), wantErr: ErrAuth},
		{name: "nonce flipped", in: reencode(func(b []byte) []byte { b[5] ^= 0x80; return b }), wantErr: ErrAuth},
		{name: "tag dropped", in: reencode(func(b []byte) []byte { return b[:len(b)-tagSize] }), wantErr: ErrMalformed},
		{name: "byte appended", in: reencode(func(b []byte) []byte { return append(b, 0) }), wantErr: ErrAuth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Open(PurposeState, "state", tt.in, t0)
			if err == nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("Open = %q, %v; want %v", got, err, tt.wantErr)
			}
			if len(tt.in) > 8 && strings.Contains(err.Error(), tt.in) {
				t.Fatalf("error %q contains the sealed value", err)
			}
		})
	}
}

// Every single-bit change anywhere in the sealed string fails to open.
func TestOpenEveryBitFlip(t *testing.T) {
	s := newSealer(t, newKey(t, "k1"))
	sealed, err := s.Seal(PurposeState, "state", []byte("a short login state"), t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	b := []byte(sealed)
	for i := range b {
		for bit := 0; bit < 8; bit++ {
			b[i] ^= 1 << bit
			if got, err := s.Open(PurposeState, "state", string(b), t0); err == nil {
				t.Fatalf("flip of byte %d bit %d opened: %q", i, bit, got)
			}
			b[i] ^= 1 << bit
		}
	}
}

func TestKeyID(t *testing.T) {
	long := strings.Repeat("L", MaxKeyIDLen)
	for _, id := range []string{"a", "ab", "abc", "k-2026.03_1", long} {
		t.Run(id, func(t *testing.T) {
			s := newSealer(t, newKey(t, id))
			sealed, err := s.Seal(PurposeState, "state", nil, t0.Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if got, ok := s.KeyID(sealed); !ok || got != id {
				t.Fatalf("KeyID = %q, %v, want %q", got, ok, id)
			}
			// KeyID reads ids the ring does not hold.
			other := newSealer(t, newKey(t, "other"))
			if got, ok := other.KeyID(sealed); !ok || got != id {
				t.Fatalf("other ring KeyID = %q, %v, want %q", got, ok, id)
			}
		})
	}
	s := newSealer(t, newKey(t, "k"))
	for _, in := range []string{"", "abc", strings.Repeat("A", 100), strings.Repeat("!", 100), strings.Repeat("A", MaxSealedLen+1)} {
		if id, ok := s.KeyID(in); ok {
			t.Errorf("KeyID(%.10q...) = %q, true", in, id)
		}
	}
}

func TestSealRandError(t *testing.T) {
	s, err := NewSealer([]Key{newKey(t, "k")}, iotest.ErrReader(errors.New("no entropy")))
	if err != nil {
		t.Fatal(err)
	}
	if v, err := s.Seal(PurposeState, "state", nil, t0.Add(time.Hour)); err == nil {
		t.Fatalf("Seal with a failing reader = %q, nil", v)
	}
}
