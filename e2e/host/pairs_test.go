package host

import (
	"encoding/binary"
	"slices"
	"testing"
)

func TestPairsRoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		pairs [][2]string
	}{
		{"one", [][2]string{{":status", "200"}}},
		{"several, empty value, repeated key", [][2]string{{"a", ""}, {"set-cookie", "x=1"}, {"set-cookie", "y=2"}}},
		{"binary", [][2]string{{"k\x00ey", "v\xff"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decodePairs(encodePairs(tt.pairs))
			if !slices.Equal(got, tt.pairs) {
				t.Fatalf("round trip: got %q, want %q", got, tt.pairs)
			}
		})
	}
}

// The byte layout is the one the SDK's internal.SerializeMap produces.
func TestEncodePairsLayout(t *testing.T) {
	got := encodePairs([][2]string{{"ab", "c"}})
	want := []byte{1, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 'a', 'b', 0, 'c', 0}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if got := encodePairs(nil); !slices.Equal(got, []byte{0, 0, 0, 0}) {
		t.Fatalf("empty map: %v", got)
	}
}

func TestDecodePairsMalformed(t *testing.T) {
	huge := make([]byte, 4)
	binary.LittleEndian.PutUint32(huge, 1<<30)
	short := encodePairs([][2]string{{"key", "value"}})
	for name, b := range map[string][]byte{
		"empty":         nil,
		"short count":   {1, 0},
		"count too big": huge,
		"truncated":     short[:len(short)-3],
	} {
		if got := decodePairs(b); got != nil {
			t.Errorf("%s: got %q, want nothing (like proxy-wasm-cpp-host)", name, got)
		}
	}
}

func FuzzDecodePairs(f *testing.F) {
	f.Add(encodePairs([][2]string{{":method", "GET"}, {":path", "/"}}))
	f.Add([]byte{1, 0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		pairs := decodePairs(b)
		if pairs == nil {
			return
		}
		if again := decodePairs(encodePairs(pairs)); !slices.Equal(again, pairs) {
			t.Fatalf("re-encoding changed %q into %q", pairs, again)
		}
	})
}

func TestHeaderMapEdits(t *testing.T) {
	m := &headerMap{pairs: [][2]string{{":path", "/"}, {"a", "1"}, {"b", "2"}, {"a", "3"}}}
	m.add(":authority", "h")
	m.add("Set-Cookie", "x")
	m.replace("A", "9")
	m.remove("b")
	want := [][2]string{{":path", "/"}, {":authority", "h"}, {"a", "9"}, {"set-cookie", "x"}}
	if !slices.Equal(m.pairs, want) {
		t.Fatalf("got %q, want %q", m.pairs, want)
	}
	if v, ok := m.get("SET-COOKIE"); !ok || v != "x" {
		t.Errorf("get is case-insensitive: %q %v", v, ok)
	}
	m.replace("new", "1")
	if v, _ := m.get("new"); v != "1" {
		t.Error("replace adds a missing header")
	}
}
