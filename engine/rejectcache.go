package engine

import (
	"crypto/sha256"
	"errors"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/jwt"
)

// Bounds of the per-VM cache of refused bearer tokens.
const (
	RejectCacheEntries = 256
	RejectCacheTTL     = time.Minute
)

// RejectCache remembers, per VM (the filter keeps one in its bearer state), tokens whose verification failed, so that one forged token
// sent in a flood costs one signature check a minute, not one per request. It is keyed by
// the SHA-256 of the token (32 bytes an entry, whatever the token's size) and by the
// verifier that refused it: new keys (a JWKS refetch or refresh) make every entry stale.
// It holds at most RejectCacheEntries entries and evicts the oldest (a ring), so many
// distinct forged tokens simply pass through it to verification, as before.
type RejectCache struct {
	items map[[sha256.Size]byte]rejected
	ring  [RejectCacheEntries][sha256.Size]byte
	next  int // ring slot of the next entry
	n     int // live ring slots, up to len(ring)
}

type rejected struct {
	err      error         // what verification said; never holds the token
	verifier *jwt.Verifier // the keys it was checked with
	until    time.Time
	slot     int
}

// NewRejectCache returns an empty cache.
func NewRejectCache() *RejectCache {
	return &RejectCache{items: make(map[[sha256.Size]byte]rejected, RejectCacheEntries)}
}

// RejectKey is a token's key in the cache: its SHA-256, so the cache never holds a token.
func RejectKey(token string) [sha256.Size]byte { return sha256.Sum256([]byte(token)) }

// Get returns the error a token was refused with by verifier v, if that was less than
// RejectCacheTTL ago.
func (c *RejectCache) Get(key [sha256.Size]byte, v *jwt.Verifier, now time.Time) error {
	e, ok := c.items[key]
	if !ok || e.verifier != v || !now.Before(e.until) {
		return nil
	}
	return e.err
}

// Put remembers a refusal, if it is one that stays true for a minute: not an unknown key
// (new keys may come any moment, and finding none costs no crypto) and not "not yet valid"
// (a token's nbf or iat may be seconds ahead).
func (c *RejectCache) Put(key [sha256.Size]byte, v *jwt.Verifier, err error, now time.Time) {
	if !cacheableRejection(err) {
		return
	}
	if old, ok := c.items[key]; ok {
		c.items[key] = rejected{err: err, verifier: v, until: now.Add(RejectCacheTTL), slot: old.slot}
		return
	}
	if c.n == len(c.ring) {
		if e, ok := c.items[c.ring[c.next]]; ok && e.slot == c.next {
			delete(c.items, c.ring[c.next])
		}
	} else {
		c.n++
	}
	c.ring[c.next] = key
	c.items[key] = rejected{err: err, verifier: v, until: now.Add(RejectCacheTTL), slot: c.next}
	c.next = (c.next + 1) % len(c.ring)
}

func cacheableRejection(err error) bool {
	return err != nil && !errors.Is(err, jwt.ErrUnknownKey) && !errors.Is(err, jwt.ErrNotYetValid) &&
		!errors.Is(err, jwt.ErrIssuedInFuture)
}

// Len is the number of entries held.
func (c *RejectCache) Len() int { return len(c.items) }
