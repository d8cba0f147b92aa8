package engine

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestSameKey(t *testing.T) {
	base := strings.Repeat("0123456789", 50)
	for i := range len(base) {
		b := []byte(base)
		b[i] ^= 1
		if SameKey(base, string(b)) || sameKeyBytes(base, b) {
			t.Fatalf("SameKey ignored a flipped bit at byte %d", i)
		}
	}
	for n := range 20 {
		if !SameKey(base[:n], strings.Clone(base[:n])) || !sameKeyBytes(base[:n], []byte(base[:n])) {
			t.Fatalf("SameKey(%d bytes) = false for equal strings", n)
		}
	}
	if SameKey(base, base[:len(base)-1]) {
		t.Fatal("SameKey of different lengths = true")
	}
}

// The queue behind the insertion-order eviction stays bounded however many entries pass.
func TestCacheQueueBounded(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	c := NewCache[int](4, 1<<20)
	for i := range 1000 {
		c.Put(fmt.Sprintf("key-%04d-%s", i, strings.Repeat("x", i%7)), i, now.Add(time.Hour), 100)
		if c.Len() > 4 || len(c.queue)-c.head > 2*4+1 || cap(c.queue) > 64 {
			t.Fatalf("after %d puts: %d entries, queue %d of %d", i+1, c.Len(), len(c.queue)-c.head, cap(c.queue))
		}
	}
	if v, ok := c.Get(fmt.Sprintf("key-%04d-%s", 999, strings.Repeat("x", 999%7)), now); !ok || v != 999 {
		t.Errorf("the newest entry: %d %v", v, ok)
	}
}

// Short keys and keys sharing a tail are told apart: the fingerprint holds the length, and
// the whole key is compared.
func TestCacheKeys(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	c := NewCache[string](10, 1<<20)
	c.Put("a", "short", now.Add(time.Hour), 10)
	c.Put("0123456789abcdef-tail", "long", now.Add(time.Hour), 10)
	for key, want := range map[string]string{"a": "short", "0123456789abcdef-tail": "long", "b": "", "X123456789abcdef-tail": "", "123456789abcdef-tail": ""} {
		got, ok := c.Get(key, now)
		if got != want || ok != (want != "") {
			t.Errorf("Get(%q) = %q %v, want %q", key, got, ok, want)
		}
		if got, ok := c.GetBytes([]byte(key), now); got != want || ok != (want != "") {
			t.Errorf("GetBytes(%q) = %q %v, want %q", key, got, ok, want)
		}
	}
	c.Put("huge", "x", now.Add(time.Hour), 2<<20)
	if _, ok := c.Get("huge", now); ok || c.Bytes() != 20 {
		t.Errorf("an entry over the budget was cached (bytes %d)", c.Bytes())
	}
}

// GetBytes finds an entry without allocating, and drops it at its expiry as Get does.
func TestCacheGetBytes(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	c := NewCache[*int](10, 1<<20)
	key := strings.Repeat("sealed-session-", 200)
	v := 7
	c.Put(key, &v, now.Add(time.Hour), 100)
	buf := []byte(key)
	if n := testing.AllocsPerRun(100, func() {
		if got, ok := c.GetBytes(buf, now); !ok || got != &v {
			t.Fatal("GetBytes missed the entry")
		}
	}); n != 0 {
		t.Errorf("GetBytes: %v allocations per lookup, want 0", n)
	}
	if _, ok := c.GetBytes(buf, now.Add(time.Hour)); ok || c.Len() != 0 {
		t.Errorf("GetBytes at the expiry: found %v, %d entries left", ok, c.Len())
	}
}
