package engine

import "time"

// Cache maps exact key bytes (a sealed session cookie, a bearer token) to what the filter
// derived from them once, so a warm request does no crypto and no decoding. It never returns
// an entry at or after its expiry. It is bounded in entries and in bytes (each entry's size
// is the caller's estimate) and evicts in insertion order (a queue), which needs no
// bookkeeping on hits. It is not safe for concurrent use (a proxy-wasm VM is one thread).
//
// Keys are several KB long, and wasm is slow at what a Go map does with a long string key:
// hashing all of it, then comparing it one byte per loop iteration (runtime.memequal has no
// wide loads in wasm: 6 us for 4.7 KB). So entries are found by a short fingerprint, the
// key's last 16 bytes and its length (a sealed value ends in its Poly1305 tag, a JWT in its
// signature: both differ for every key), and then the whole key is compared eight bytes at a
// time (SameKey). A key that differs anywhere from the cached one is a miss, never a hit.
type Cache[V any] struct {
	maxEntries, maxBytes int
	items                map[fingerprint]*cacheEntry[V]
	queue                []*cacheEntry[V] // insertion order; queue[head:] holds the live entries and dead ones
	head                 int
	live, bytes          int // live entries and their estimated size
}

type fingerprint struct {
	tail [16]byte
	n    int
}

type cacheEntry[V any] struct {
	fp   fingerprint
	key  string
	val  V
	exp  time.Time
	size int // estimated bytes; 0 once the entry is dead (replaced or dropped)
}

// NewCache returns a cache of at most maxEntries entries and maxBytes bytes (estimated);
// maxEntries 0 caches nothing.
func NewCache[V any](maxEntries, maxBytes int) *Cache[V] {
	return &Cache[V]{maxEntries: maxEntries, maxBytes: maxBytes, items: make(map[fingerprint]*cacheEntry[V], min(maxEntries, 1024))}
}

func fingerprintOf(key string) fingerprint {
	fp := fingerprint{n: len(key)}
	copy(fp.tail[:], key[max(0, len(key)-len(fp.tail)):])
	return fp
}

// Get returns the value cached for exactly these key bytes, unless it has expired (an
// expired entry is dropped).
func (c *Cache[V]) Get(key string, now time.Time) (V, bool) {
	var zero V
	e := c.items[fingerprintOf(key)]
	if e == nil || !SameKey(e.key, key) {
		return zero, false
	}
	if !now.Before(e.exp) {
		c.drop(e)
		return zero, false
	}
	return e.val, true
}

// GetBytes is Get for a key in a byte slice (a cookie reassembled into a reused buffer):
// it neither allocates nor keeps key.
func (c *Cache[V]) GetBytes(key []byte, now time.Time) (V, bool) {
	var zero V
	fp := fingerprint{n: len(key)}
	copy(fp.tail[:], key[max(0, len(key)-len(fp.tail)):])
	e := c.items[fp]
	if e == nil || !sameKeyBytes(e.key, key) {
		return zero, false
	}
	if !now.Before(e.exp) {
		c.drop(e)
		return zero, false
	}
	return e.val, true
}

// Put caches v under key until exp, evicting the oldest entries as needed. size is the
// caller's estimate of what the entry holds in memory, key included; an entry larger than
// the whole budget is not cached. A key already cached is replaced.
func (c *Cache[V]) Put(key string, v V, exp time.Time, size int) {
	if c.maxEntries <= 0 || size > c.maxBytes {
		return
	}
	e := &cacheEntry[V]{fp: fingerprintOf(key), key: key, val: v, exp: exp, size: max(size, 1)}
	if old := c.items[e.fp]; old != nil {
		c.drop(old)
	}
	for c.live >= c.maxEntries || c.bytes+e.size > c.maxBytes {
		c.evict()
	}
	c.items[e.fp] = e
	c.queue = append(c.queue, e)
	c.live++
	c.bytes += e.size
}

// Len is the number of live entries; Bytes their estimated size.
func (c *Cache[V]) Len() int   { return c.live }
func (c *Cache[V]) Bytes() int { return c.bytes }

// drop removes a live entry from the map; its queue slot is reclaimed by evict.
func (c *Cache[V]) drop(e *cacheEntry[V]) {
	if e.size == 0 {
		return
	}
	delete(c.items, e.fp)
	c.live--
	c.bytes -= e.size
	var zero V
	e.size, e.val, e.key = 0, zero, ""
}

// evict drops the oldest live entry (and any dead ones before it).
func (c *Cache[V]) evict() {
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

// SameKey reports whether a and b are equal, reading eight bytes per step; its time depends
// only on the lengths. The byte loads below compile to one 64-bit load natively; in wasm they
// stay byte loads but the loop runs an eighth as often as runtime.memequal's (1.5 us instead
// of 6.4 us for 4.7 KB under wazero).
func SameKey(a, b string) bool {
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

// sameKeyBytes is SameKey for a key in a byte slice. It is a copy rather than a generic
// SameKey so that the string version, on every lookup, stays the code it was.
func sameKeyBytes(a string, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	var d uint64
	i := 0
	for ; i+8 <= len(a); i += 8 {
		d |= le64(a[i:i+8]) ^ le64b(b[i:i+8])
	}
	for ; i < len(a); i++ {
		d |= uint64(a[i] ^ b[i])
	}
	return d == 0
}

func le64b(s []byte) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}
