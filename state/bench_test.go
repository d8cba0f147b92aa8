package state

import (
	"testing"
	"time"
)

// These names are run natively and in wasm by the bench harness and
// compared: keep them.

func benchSeal(b *testing.B, n int) {
	s := newSealer(b, newKey(b, "k1"))
	text := make([]byte, n)
	exp := t0.Add(time.Hour)
	b.ReportAllocs()
	b.SetBytes(int64(n))
	for b.Loop() {
		if _, err := s.Seal(PurposeSession, "__Host-session", text, exp); err != nil {
			b.Fatal(err)
		}
	}
}

func benchOpen(b *testing.B, n int) {
	s := newSealer(b, newKey(b, "k1"))
	sealed, err := s.Seal(PurposeSession, "__Host-session", make([]byte, n), t0.Add(time.Hour))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(n))
	for b.Loop() {
		if _, err := s.Open(PurposeSession, "__Host-session", sealed, t0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSeal200B(b *testing.B) { benchSeal(b, 200) }
func BenchmarkOpen200B(b *testing.B) { benchOpen(b, 200) }
func BenchmarkSeal3KB(b *testing.B)  { benchSeal(b, 3<<10) }
func BenchmarkOpen3KB(b *testing.B)  { benchOpen(b, 3<<10) }

func BenchmarkSessionUnmarshal(b *testing.B) {
	s := sampleSession()
	data, err := s.MarshalBinary()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		var got Session
		if err := got.UnmarshalBinary(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCookieJoin joins the sample session, sealed (about 4.4 KB), from
// two chunk cookies under the default codec.
func BenchmarkCookieJoin(b *testing.B) {
	s := newSealer(b, newKey(b, "k1"))
	sess := sampleSession()
	data, err := sess.MarshalBinary()
	if err != nil {
		b.Fatal(err)
	}
	c := CookieCodec{Name: "__Host-session"}
	sealed, err := s.Seal(PurposeSession, c.Name, data, t0.Add(time.Hour))
	if err != nil {
		b.Fatal(err)
	}
	cookies, err := c.Split(sealed)
	if err != nil {
		b.Fatal(err)
	}
	if len(cookies) != 2 {
		b.Fatalf("setup: %d chunks, want 2", len(cookies))
	}
	get := mapGet(cookieMap(cookies))
	b.ReportAllocs()
	b.SetBytes(int64(len(sealed)))
	for b.Loop() {
		if _, err := c.Join(get); err != nil {
			b.Fatal(err)
		}
	}
}
