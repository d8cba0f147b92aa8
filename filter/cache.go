package filter

import (
	"strings"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/state"
)

// liveSession is an opened session plus what the filter derives from it once: the headers
// to forward. It is shared by every request that carries the same cookie bytes.
type liveSession struct {
	s       *state.Session
	headers [][2]string // claim headers, computed once
	expiry  time.Time   // when the cache entry stops being usable (session end)
	sref    string      // sessionRef, computed once (ref)
}

// sessionCacheBytes bounds the memory of a VM's session cache, whatever session.cache_size
// says: a realistic session (an Entra ID or Keycloak login) is a 5 KB sealed cookie and 3.5 KB
// of tokens once opened, so 10,000 of them would hold some 90 MB of a VM's linear memory,
// which never shrinks. At this bound a VM keeps about 900 such sessions (or 10,000 sessions
// of 800 bytes); a session evicted from it costs one open on its next request (the cold
// path). See also vmMemoryLimit.
const sessionCacheBytes = 8 << 20

// sessionCache maps exact sealed cookie bytes to opened sessions, so a warm request does no
// crypto and no decoding. It is bounded in entries (session.cache_size) and in bytes
// (sessionCacheBytes), and evicts in insertion order (a queue), which needs no bookkeeping on
// hits.
//
// Keys are several KB long, and wasm is slow at what a Go map does with a long string key:
// hashing all of it, then comparing it one byte per loop iteration (runtime.memequal has no
// wide loads in wasm: 6 us for 4.7 KB). So entries are found by a short fingerprint, the
// sealed value's last 16 bytes (they encode its Poly1305 tag, which differs for every
// sealing), and then the whole key is compared eight bytes at a time. A value that differs
// anywhere from the cached one is a miss, never a hit.
type sessionCache struct {
	max, maxBytes int
	items         map[fingerprint]*cacheEntry
	queue         []*cacheEntry // insertion order; queue[head:] holds the live entries and dead ones
	head          int
	live, bytes   int // live entries and their estimated size
}

// fingerprint is the tail of a sealed value.
type fingerprint [16]byte

type cacheEntry struct {
	fp   fingerprint
	key  string // the whole sealed value
	ls   *liveSession
	size int // estimated bytes; 0 once the entry is dead (replaced or dropped)
}

func newSessionCache(max int) *sessionCache {
	return &sessionCache{max: max, maxBytes: sessionCacheBytes, items: make(map[fingerprint]*cacheEntry, min(max, 1024))}
}

func fingerprintOf(key string) (fingerprint, bool) {
	var fp fingerprint
	if len(key) < len(fp) {
		return fp, false
	}
	copy(fp[:], key[len(key)-len(fp):])
	return fp, true
}

// get returns the session cached for exactly these sealed bytes, unless it has expired (an
// expired entry is dropped).
func (c *sessionCache) get(key string, now time.Time) *liveSession {
	fp, ok := fingerprintOf(key)
	if c.max == 0 || !ok {
		return nil
	}
	e := c.items[fp]
	if e == nil || !sameKey(e.key, key) {
		return nil
	}
	if !now.Before(e.ls.expiry) {
		c.drop(e)
		return nil
	}
	return e.ls
}

// put caches an opened session under its sealed bytes, evicting the oldest entries as needed.
func (c *sessionCache) put(key string, ls *liveSession) {
	fp, ok := fingerprintOf(key)
	if c.max == 0 || !ok {
		return
	}
	e := &cacheEntry{fp: fp, ls: ls}
	e.key = compact(key, ls.s)
	e.size = entrySizeOf(e)
	if e.size > c.maxBytes {
		return
	}
	if old := c.items[fp]; old != nil {
		c.drop(old)
	}
	for c.live >= c.max || c.bytes+e.size > c.maxBytes {
		c.evict()
	}
	c.items[fp] = e
	c.queue = append(c.queue, e)
	c.live++
	c.bytes += e.size
}

// drop removes a live entry from the map; its queue slot is reclaimed by evict.
func (c *sessionCache) drop(e *cacheEntry) {
	if e.size == 0 {
		return
	}
	delete(c.items, e.fp)
	c.live--
	c.bytes -= e.size
	e.size, e.ls, e.key = 0, nil, ""
}

// evict drops the oldest live entry (and any dead ones before it).
func (c *sessionCache) evict() {
	for c.head < len(c.queue) {
		e := c.queue[c.head]
		c.queue[c.head] = nil
		c.head++
		if e.size != 0 {
			c.drop(e)
			break
		}
	}
	if c.head > len(c.queue)/2 {
		// Compact so the queue's array does not grow without bound.
		n := copy(c.queue, c.queue[c.head:])
		clear(c.queue[n:])
		c.queue = c.queue[:n]
		c.head = 0
	}
}

func (c *sessionCache) len() int { return c.live }

// compact copies the key and the session's strings into one allocation and points the session
// at its copies. The key may be a slice of the request's Cookie header, and the session's
// strings slices of the opened plaintext: keeping either would keep those buffers alive. One
// allocation per entry, of a size class only cache entries use, also keeps the heap from
// fragmenting as entries come and go in insertion order.
func compact(key string, s *state.Session) string {
	var b strings.Builder
	b.Grow(len(key) + len(s.Subject) + len(s.SessionID) + len(s.Issuer) + len(s.IDToken) + len(s.AccessToken) + len(s.RefreshToken))
	b.WriteString(key)
	fields := [...]*string{&s.Subject, &s.SessionID, &s.Issuer, &s.IDToken, &s.AccessToken, &s.RefreshToken}
	for _, f := range fields {
		b.WriteString(*f)
	}
	all := b.String()
	off := len(key)
	for _, f := range fields {
		n := len(*f)
		*f = all[off : off+n]
		off += n
	}
	return all[:len(key)]
}

// entrySizeOf estimates what an entry holds in memory: its key, the opened session's strings
// (UnmarshalBinary slices them out of one copy of the plaintext), the claim headers, and a
// fixed overhead for the structs and the map.
func entrySizeOf(e *cacheEntry) int {
	s := e.ls.s
	n := 512 + len(e.key) + len(s.Claims) + len(s.Subject) + len(s.SessionID) + len(s.Issuer) +
		len(s.IDToken) + len(s.AccessToken) + len(s.RefreshToken)
	for _, h := range e.ls.headers {
		n += 32 + len(h[0]) + len(h[1])
	}
	return n
}

// sameKey reports whether a and b are equal, reading eight bytes per step; its time depends
// only on the lengths. The byte loads below compile to one 64-bit load natively; in wasm they
// stay byte loads but the loop runs an eighth as often as runtime.memequal's (1.5 us instead
// of 6.4 us for 4.7 KB under wazero).
func sameKey(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	var d uint64
	i := 0
	for ; i+8 <= len(a); i += 8 {
		d |= le64(a[i:i+8]) ^ le64(b[i:i+8])
	}
	for ; i < len(a); i++ {
		d |= uint64(a[i] ^ b[i])
	}
	return d == 0
}

func le64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}
