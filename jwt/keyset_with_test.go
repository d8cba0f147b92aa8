package jwt

import (
	"bytes"
	"testing"
)

func TestKeySetWith(t *testing.T) {
	secret := bytes.Repeat([]byte("s"), 32)
	base := NewKeySet(&Key{ID: "h1", Public: bytes.Repeat([]byte("a"), 32)})
	s := base.With(&Key{Public: secret}, &Key{Public: []byte("short")})
	if s.Len() != 2 || base.Len() != 1 {
		t.Fatalf("lengths %d and %d, want 2 and the base unchanged at 1", s.Len(), base.Len())
	}
	if len(s.Skipped()) != 1 {
		t.Errorf("skipped %v, want the short secret", s.Skipped())
	}
	secret[0] = 'x' // the set holds a copy
	ks := s.Lookup("", HS256)
	if len(ks) != 2 || !bytes.Equal(ks[1].Public.([]byte), bytes.Repeat([]byte("s"), 32)) {
		t.Errorf("lookup: %d keys", len(ks))
	}
	if (*KeySet)(nil).With(&Key{Public: secret}).Len() != 1 {
		t.Error("nil.With")
	}
}
