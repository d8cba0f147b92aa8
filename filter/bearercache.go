package filter

import (
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/config"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/engine"
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
	cnf     engine.Confirmation  // what cnf binds it to: checked against each request (senderConstraint)
	size    int
}

// bearerCache maps exact token bytes to verified tokens (engine.Cache), so that repeated
// calls with one token cost a lookup instead of a signature check. It never returns an entry
// at or after the token's exp, and is bounded in entries and in bytes.
type bearerCache struct {
	c *engine.Cache[*verifiedToken]
}

func newBearerCache(maxEntries, maxBytes int) *bearerCache {
	return &bearerCache{c: engine.NewCache[*verifiedToken](maxEntries, maxBytes)}
}

// get returns the verified token for these exact bytes, or nil when it is unknown or has
// expired.
func (c *bearerCache) get(token string, now time.Time) *verifiedToken {
	v, _ := c.c.Get(token, now)
	return v
}

// put adds a verified token, evicting the oldest entries as needed. A token larger than the
// whole budget is not cached.
func (c *bearerCache) put(v *verifiedToken) {
	v.size = entrySize(v)
	c.c.Put(v.token, v, v.expiry, v.size)
}

func (c *bearerCache) len() int { return c.c.Len() }

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
