package filter

import (
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/config"
)

// Bounds of the per-VM cache of verified bearer tokens. A VM holds at most this many tokens,
// and at most this many bytes of tokens and claims, whatever their sizes.
const (
	bearerCacheEntries = 4096
	bearerCacheBytes   = 4 << 20
)

// verifiedToken is what the filter keeps of a bearer token whose signature and claims
// checked out: enough to authorize and forward it again without any crypto.
type verifiedToken struct {
	token   string               // the exact token bytes: the cache key
	issuer  *config.BearerIssuer // who signed it, with the audiences it was checked against
	expiry  time.Time            // its exp: the entry is never used at or after it
	claims  []byte               // the payload JSON, for claim rules
	scopes  []string             // granted scopes (scope or scp)
	headers [][2]string          // forward.claims headers, computed once
	typ     string               // the JOSE header typ, "" if absent
	idToken bool                 // oidc.IsIDToken: an ID token, refused unless the route accepts them
	size    int
}

// bearerCache maps exact token bytes to verified tokens, so that repeated calls with one
// token cost a map lookup instead of a signature check. It never returns an entry at or after
// the token's exp. It is bounded in entries and in bytes and evicts in insertion order (a
// queue), which needs no bookkeeping on hits.
type bearerCache struct {
	maxEntries, maxBytes int
	items                map[string]*verifiedToken
	queue                []*verifiedToken // insertion order; queue[head:] is live
	head                 int
	bytes                int // size of the entries in queue[head:]
}

func newBearerCache(maxEntries, maxBytes int) *bearerCache {
	return &bearerCache{maxEntries: maxEntries, maxBytes: maxBytes, items: map[string]*verifiedToken{}}
}

// get returns the verified token for these exact bytes, or nil when it is unknown or has
// expired (an expired entry is dropped).
func (c *bearerCache) get(token string, now time.Time) *verifiedToken {
	v := c.items[token]
	if v == nil {
		return nil
	}
	if !now.Before(v.expiry) {
		delete(c.items, token)
		return nil
	}
	return v
}

// put adds a verified token, evicting the oldest entries as needed. A token larger than the
// whole budget is not cached.
func (c *bearerCache) put(v *verifiedToken) {
	v.size = entrySize(v)
	if c.maxEntries <= 0 || v.size > c.maxBytes {
		return
	}
	for len(c.queue)-c.head >= c.maxEntries || c.bytes+v.size > c.maxBytes {
		c.evict()
	}
	if old := c.items[v.token]; old != nil {
		// Re-verified after expiry or a race: the old entry leaves the map now and the
		// queue when its turn comes.
		delete(c.items, v.token)
	}
	c.items[v.token] = v
	c.queue = append(c.queue, v)
	c.bytes += v.size
}

func (c *bearerCache) evict() {
	v := c.queue[c.head]
	c.queue[c.head] = nil
	c.head++
	c.bytes -= v.size
	if c.items[v.token] == v {
		delete(c.items, v.token)
	}
	if c.head > len(c.queue)/2 {
		// Compact so the queue's array does not grow without bound.
		n := copy(c.queue, c.queue[c.head:])
		clear(c.queue[n:])
		c.queue = c.queue[:n]
		c.head = 0
	}
}

func (c *bearerCache) len() int { return len(c.items) }

// entrySize estimates an entry's memory: its strings and slices plus fixed overhead.
func entrySize(v *verifiedToken) int {
	n := 160 + len(v.token) + len(v.claims)
	for _, s := range v.scopes {
		n += 16 + len(s)
	}
	for _, h := range v.headers {
		n += 32 + len(h[0]) + len(h[1])
	}
	return n
}
