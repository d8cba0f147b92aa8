package state

import (
	"crypto/rand"
	"testing"
	"time"
)

// newKey returns a fresh random key with the given id.
func newKey(tb testing.TB, id string) Key {
	tb.Helper()
	secret := make([]byte, MinSecretLen)
	if _, err := rand.Read(secret); err != nil {
		tb.Fatal(err)
	}
	return Key{ID: id, Secret: secret}
}

func newSealer(tb testing.TB, keys ...Key) *Sealer {
	tb.Helper()
	s, err := NewSealer(keys, rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// t0 is a fixed "now" for tests.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// mapGet adapts a cookie map to the getter CookieCodec.Join takes.
func mapGet(m map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

func cookieMap(cs []Cookie) map[string]string {
	m := make(map[string]string, len(cs))
	for _, c := range cs {
		m[c.Name] = c.Value
	}
	return m
}
