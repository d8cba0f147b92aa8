package state

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

type sealedSeed struct {
	p          Purpose
	name, text string
}

// FuzzOpen: no input panics Open or KeyID, every error is a sentinel, and
// nothing opens except the exact values this test sealed.
func FuzzOpen(f *testing.F) {
	k1, k0 := newKey(f, "k1"), newKey(f, "k0")
	ring := newSealer(f, k1, k0)
	old := newSealer(f, k0)
	valid := map[string]sealedSeed{}
	for i, seed := range []struct {
		s    *Sealer
		seed sealedSeed
	}{
		{ring, sealedSeed{PurposeState, "state", "login state"}},
		{ring, sealedSeed{PurposeSession, "__Host-s", strings.Repeat("session ", 10)}},
		{old, sealedSeed{PurposeBinding, "__Host-b", ""}},
		{old, sealedSeed{PurposeSession, "", "x"}},
	} {
		sealed, err := seed.s.Seal(seed.seed.p, seed.seed.name, []byte(seed.seed.text), t0.Add(time.Hour))
		if err != nil {
			f.Fatal(err)
		}
		valid[sealed] = seed.seed
		pi, _ := purposeIndex(seed.seed.p)
		f.Add(uint8(pi), seed.seed.name, sealed)
		f.Add(uint8(pi+1), seed.seed.name, sealed)
		f.Add(uint8(i), seed.seed.name, sealed[:len(sealed)/2])
	}
	f.Add(uint8(0), "state", "")
	f.Add(uint8(1), "s", strings.Repeat("A", minEncodedLen))
	f.Add(uint8(2), "b", "AQJrMQ"+strings.Repeat("_", 80)+"\n")
	f.Fuzz(func(t *testing.T, pi uint8, name, sealed string) {
		p := purposes[int(pi)%len(purposes)]
		id, idOK := ring.KeyID(sealed)
		got, err := ring.Open(p, name, sealed, t0)
		if err != nil {
			for _, sentinel := range []error{ErrMalformed, ErrTooLarge, ErrUnknownKey, ErrAuth, ErrExpired} {
				if errors.Is(err, sentinel) {
					return
				}
			}
			t.Fatalf("Open error %v wraps no sentinel", err)
		}
		seed, ok := valid[sealed]
		if !ok || seed.p != p || seed.name != name || string(got) != seed.text {
			t.Fatalf("Open(%s, %q) accepted a value this test never sealed for it", p, name)
		}
		if !idOK || (id != "k1" && id != "k0") {
			t.Fatalf("KeyID of an opened value = %q, %v", id, idOK)
		}
	})
}

// FuzzSealOpen: open(seal(x)) == x; any flipped bit fails; a value never
// opens for another purpose or name, nor after its expiry.
func FuzzSealOpen(f *testing.F) {
	s := newSealer(f, newKey(f, "k1"))
	f.Add([]byte("hello"), uint8(0), uint8(1), "state", "state", uint(0))
	f.Add([]byte{}, uint8(1), uint8(1), "s", "s_1", uint(77))
	f.Add(bytes.Repeat([]byte{0xff}, 300), uint8(2), uint8(2), "__Host-b", "__Host-b", uint(1<<20))
	f.Fuzz(func(t *testing.T, text []byte, pi, qi uint8, nameA, nameB string, flip uint) {
		p := purposes[int(pi)%len(purposes)]
		q := purposes[int(qi)%len(purposes)]
		exp := t0.Add(time.Hour)
		sealed, err := s.Seal(p, nameA, text, exp)
		if errors.Is(err, ErrTooLarge) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Open(p, nameA, sealed, t0)
		if err != nil || !bytes.Equal(got, text) {
			t.Fatalf("Open(Seal(x)) = %v, equal %v", err, bytes.Equal(got, text))
		}
		if id, ok := s.KeyID(sealed); !ok || id != "k1" {
			t.Fatalf("KeyID = %q, %v", id, ok)
		}
		b := []byte(sealed)
		bit := flip % uint(len(b)*8)
		b[bit/8] ^= 1 << (bit % 8)
		if _, err := s.Open(p, nameA, string(b), t0); err == nil {
			t.Fatalf("flipped bit %d opened", bit)
		}
		if q != p || nameB != nameA {
			if _, err := s.Open(q, nameB, sealed, t0); err == nil {
				t.Fatalf("sealed for %s %q, opened as %s %q", p, nameA, q, nameB)
			} else if len(sealed) <= MaxLen(q) && !errors.Is(err, ErrAuth) {
				t.Fatalf("cross-open error %v, want ErrAuth", err)
			}
		}
		if _, err := s.Open(p, nameA, sealed, exp); !errors.Is(err, ErrExpired) {
			t.Fatalf("Open at expiry = %v, want ErrExpired", err)
		}
	})
}

// FuzzJoin: no cookie set panics Join; every error is a sentinel; a
// successful Join is the index-ordered concatenation of exactly count
// chunks; and Split round-trips through Join.
func FuzzJoin(f *testing.F) {
	c := CookieCodec{Name: "s", MaxCookieSize: 128, MaxChunks: 4}
	cs, err := c.Split(b64ish(250))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(cs[0].Value, cs[1].Value, cs[2].Value, "", uint8(0b0111))
	f.Add(cs[0].Value, cs[2].Value, cs[1].Value, "", uint8(0b0111))
	f.Add(cs[0].Value, cs[1].Value, cs[2].Value, "3.4.x", uint8(0b1111))
	f.Add("0.1.abc", "", "", "", uint8(1))
	f.Add("0.2.a", "", "1.2.b", "", uint8(0b0101))
	f.Add("", "", "", "", uint8(0))
	f.Fuzz(func(t *testing.T, v0, v1, v2, v3 string, present uint8) {
		vals := []string{v0, v1, v2, v3}
		m := map[string]string{}
		for i, n := range c.Names() {
			if present&(1<<i) != 0 {
				m[n] = vals[i]
			}
		}
		joined, err := c.Join(mapGet(m))
		if err != nil {
			if !errors.Is(err, ErrNoCookie) && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("Join error %v wraps no sentinel", err)
			}
		} else {
			var want strings.Builder
			count := 0
			for i, n := range c.Names() {
				v, ok := m[n]
				if !ok {
					break
				}
				parts := strings.SplitN(v, ".", 3)
				if len(parts) != 3 || parts[0] != strconv.Itoa(i) {
					t.Fatalf("Join accepted chunk %d %q", i, v)
				}
				want.WriteString(parts[2])
				count++
			}
			if len(m) != count || joined != want.String() {
				t.Fatalf("Join = %q from %q", joined, m)
			}
		}
		split, err := c.Split(v0)
		if err != nil {
			return
		}
		back, err := c.Join(mapGet(cookieMap(split)))
		if err != nil || back != v0 {
			t.Fatalf("Join(Split(%q)) = %q, %v", v0, back, err)
		}
	})
}

// FuzzSessionUnmarshal: no panic, only ErrMalformed, and whatever decodes
// re-encodes to the same bytes (the encoding is canonical).
func FuzzSessionUnmarshal(f *testing.F) {
	// Small seeds: the fuzzer minimizes every input that finds new
	// coverage, and a 3 KB seed makes that take most of a short run.
	small := Session{
		Version: 1, Subject: "sub", SessionID: "sid", Issuer: "https://op",
		Claims: []byte(`{"a":1}`), IDToken: "h.p.s", AccessToken: "at", RefreshToken: "rt",
		IDTokenExpiry: t0.Add(time.Hour), AccessTokenExpiry: t0.Add(time.Hour),
		AuthTime: t0, IssuedAt: t0, Expiry: t0.Add(8 * time.Hour),
	}
	for _, s := range []Session{small, {}} {
		b, err := s.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Add([]byte{})
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, data []byte) {
		var s Session
		if err := s.UnmarshalBinary(data); err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		again, err := s.MarshalBinary()
		if err != nil || !bytes.Equal(again, data) {
			t.Fatalf("re-encoding differs: %v", err)
		}
	})
}

// FuzzLoginStateUnmarshal: as FuzzSessionUnmarshal, for LoginState.
func FuzzLoginStateUnmarshal(f *testing.F) {
	full, empty := sampleLoginState(), LoginState{}
	for _, l := range []LoginState{full, empty} {
		b, err := l.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)-1])
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		var l LoginState
		if err := l.UnmarshalBinary(data); err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		again, err := l.MarshalBinary()
		if err != nil || !bytes.Equal(again, data) {
			t.Fatalf("re-encoding differs: %v", err)
		}
	})
}
