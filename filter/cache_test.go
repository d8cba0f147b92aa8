package filter

import (
	"strings"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/state"
)

func cachedSession(expiry time.Time, tokenLen int) *liveSession {
	tok := strings.Repeat("t", tokenLen)
	return &liveSession{s: &state.Session{Subject: "alice", AccessToken: tok}, expiry: expiry}
}

// sealedKey is a stand-in for a sealed value: n bytes ending in a distinct tail.
func sealedKey(body string, n int, tail string) string {
	return strings.Repeat(body, n/len(body)) + tail
}

func TestSessionCache(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	later := now.Add(time.Hour)
	key := sealedKey("abcd", 4000, "0123456789abcdef-tagA")
	tests := []struct {
		name string
		run  func(t *testing.T, c *sessionCache)
	}{
		{"exact bytes hit", func(t *testing.T, c *sessionCache) {
			ls := cachedSession(later, 10)
			c.put(key, ls)
			if got := c.get(strings.Clone(key), now); got != ls {
				t.Fatalf("get = %v, want the cached session", got)
			}
		}},
		{"same tail, other body misses", func(t *testing.T, c *sessionCache) {
			c.put(key, cachedSession(later, 10))
			forged := "X" + key[1:]
			if got := c.get(forged, now); got != nil {
				t.Fatal("a value differing in its first byte was served from the cache")
			}
			if got := c.get(key[1:], now); got != nil {
				t.Fatal("a shorter value with the same tail was served from the cache")
			}
		}},
		{"expired entry dropped", func(t *testing.T, c *sessionCache) {
			c.put(key, cachedSession(now, 10))
			if got := c.get(key, now); got != nil {
				t.Fatal("served a session at its expiry")
			}
			if c.len() != 0 {
				t.Fatalf("len = %d after an expired get, want 0", c.len())
			}
		}},
		{"entry bound evicts oldest", func(t *testing.T, c *sessionCache) {
			*c = *newSessionCacheSized(2, sessionCacheBytes)
			k := func(i int) string { return sealedKey("abcd", 100, "tail-of-key-number-"+string(rune('a'+i))) }
			for i := range 3 {
				c.put(k(i), cachedSession(later, 10))
			}
			if c.get(k(0), now) != nil || c.get(k(1), now) == nil || c.get(k(2), now) == nil || c.len() != 2 {
				t.Fatalf("after 3 puts into 2 slots: want the oldest evicted, len %d", c.len())
			}
		}},
		{"byte bound evicts oldest", func(t *testing.T, c *sessionCache) {
			*c = *newSessionCacheSized(10, 3*10_000)
			k := func(i int) string { return sealedKey("abcd", 4000, "tail-of-key-number-"+string(rune('a'+i))) }
			for i := range 10 {
				c.put(k(i), cachedSession(later, 5000))
				if c.c.Bytes() > 3*10_000 {
					t.Fatalf("cache holds %d bytes, bound %d", c.c.Bytes(), 3*10_000)
				}
			}
			if c.get(k(9), now) == nil || c.get(k(0), now) != nil {
				t.Fatal("want the newest kept and the oldest evicted")
			}
		}},
		{"replacing a key keeps one entry", func(t *testing.T, c *sessionCache) {
			c.put(key, cachedSession(later, 10))
			ls := cachedSession(later, 10)
			c.put(key, ls)
			if c.get(key, now) != ls || c.len() != 1 {
				t.Fatalf("len = %d, want 1 with the newer session", c.len())
			}
		}},
		{"size zero caches nothing", func(t *testing.T, c *sessionCache) {
			*c = *newSessionCacheSized(0, sessionCacheBytes)
			c.put(key, cachedSession(later, 10))
			if c.get(key, now) != nil {
				t.Fatal("cache_size 0 cached a session")
			}
		}},
		{"queue stays bounded", func(t *testing.T, c *sessionCache) {
			*c = *newSessionCacheSized(4, sessionCacheBytes)
			for i := range 1000 {
				c.put(sealedKey("abcd", 100, "tail-"+strings.Repeat("x", i%7)+string(rune('A'+i%50))+"-padpadpad"), cachedSession(later, 10))
			}
			if c.len() > 4 {
				t.Fatalf("%d entries, bound 4", c.len())
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newSessionCache(10)) })
	}
}
