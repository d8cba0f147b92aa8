package filter

import (
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/state"
)

// liveSession is an opened session plus what the filter derives from it once: the headers
// to forward. It is shared by every request that carries the same cookie bytes.
type liveSession struct {
	s       *state.Session
	headers [][2]string // claim headers, computed once
	expiry  time.Time   // when the cache entry stops being usable (session end)
}

// sessionCache maps exact sealed cookie bytes to opened sessions, so a warm request does no
// crypto and no decoding. It is bounded: when full, it evicts in insertion order (a ring),
// which needs no per-hit bookkeeping on the hot path.
type sessionCache struct {
	max   int
	items map[string]*liveSession
	ring  []string
	next  int
}

func newSessionCache(max int) *sessionCache {
	return &sessionCache{max: max, items: make(map[string]*liveSession, min(max, 1024))}
}

func (c *sessionCache) get(key string, now time.Time) *liveSession {
	if c.max == 0 {
		return nil
	}
	ls := c.items[key]
	if ls == nil || !now.Before(ls.expiry) {
		return nil
	}
	return ls
}

func (c *sessionCache) put(key string, ls *liveSession) {
	if c.max == 0 {
		return
	}
	if _, ok := c.items[key]; ok {
		c.items[key] = ls
		return
	}
	if len(c.ring) < c.max {
		c.ring = append(c.ring, key)
	} else {
		delete(c.items, c.ring[c.next])
		c.ring[c.next] = key
		c.next = (c.next + 1) % c.max
	}
	c.items[key] = ls
}

func (c *sessionCache) len() int { return len(c.items) }
