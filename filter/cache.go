package filter

import (
	"strings"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/engine"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/state"
)

// liveSession is an opened session plus what the filter derives from it once: the headers
// to forward. It is shared by every request that carries the same cookie bytes.
type liveSession struct {
	s       *state.Session
	headers [][2]string // claim headers, computed once
	expiry  time.Time   // when the cache entry stops being usable (session end)
	sref    string      // sessionRef, computed once (ref)
	// cookies are the session sealed into its cookie chunks, for a refreshed session whose
	// requests all send them (sealed once per VM, not once per request); nil otherwise.
	cookies []state.Cookie
	// checkedGen is the sign-out generation this session was last checked at, signedOut
	// the answer (signedOutList.refuses).
	checkedGen uint64
	signedOut  bool
}

// sessionCacheBytes bounds the memory of a VM's session cache, whatever session.cache_size
// says: a realistic session (an Entra ID or Keycloak login) is a 5 KB sealed cookie and 3.5 KB
// of tokens once opened, so 10,000 of them would hold some 90 MB of a VM's linear memory,
// which never shrinks. At this bound a VM keeps about 900 such sessions (or 10,000 sessions
// of 800 bytes); a session evicted from it costs one open on its next request (the cold
// path). See also vmMemoryLimit.
const sessionCacheBytes = 8 << 20

// sessionCache maps exact sealed cookie bytes to opened sessions (engine.Cache), so a warm
// request does no crypto and no decoding. It is bounded in entries (session.cache_size) and
// in bytes (sessionCacheBytes).
type sessionCache struct {
	c *engine.Cache[*liveSession]
	// The warm path reassembles the session cookie into buf, reused from request to request,
	// with the codec's joiner (its chunk names computed once), and finds the entry with
	// getBytes: no allocation. joiner is made on first use, for codec.
	joiner *state.CookieJoiner
	codec  state.CookieCodec
	buf    []byte
}

func newSessionCache(max int) *sessionCache { return newSessionCacheSized(max, sessionCacheBytes) }

func newSessionCacheSized(max, maxBytes int) *sessionCache {
	return &sessionCache{c: engine.NewCache[*liveSession](max, maxBytes)}
}

// get returns the session cached for exactly these sealed bytes, unless it has expired.
func (c *sessionCache) get(key string, now time.Time) *liveSession {
	ls, _ := c.c.Get(key, now)
	return ls
}

// join reassembles the session cookie's chunks, looked up with get, as codec.Join does (the
// same checks and errors): a cookie of one chunk is returned as single (no copy), one of
// several in joined, the cache's buffer, valid until the next join (a caller that keeps the
// bytes copies them).
func (c *sessionCache) join(codec state.CookieCodec, get func(string) (string, bool)) (single string, joined []byte, err error) {
	if c.joiner == nil || c.codec != codec {
		j, err := codec.Joiner()
		if err != nil {
			return "", nil, err
		}
		c.joiner, c.codec = j, codec
	}
	single, c.buf, err = c.joiner.AppendJoin(c.buf[:0], get)
	if single != "" {
		return single, nil, err
	}
	return "", c.buf, err
}

// getBytes is get for the bytes join returned.
func (c *sessionCache) getBytes(key []byte, now time.Time) *liveSession {
	ls, _ := c.c.GetBytes(key, now)
	return ls
}

// put caches an opened session under its sealed bytes, evicting the oldest entries as needed.
func (c *sessionCache) put(key string, ls *liveSession) {
	key = compact(key, ls.s)
	c.c.Put(key, ls, ls.expiry, entrySizeOf(key, ls))
}

func (c *sessionCache) len() int { return c.c.Len() }

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
func entrySizeOf(key string, ls *liveSession) int {
	s := ls.s
	n := 512 + len(key) + len(s.Claims) + len(s.Subject) + len(s.SessionID) + len(s.Issuer) +
		len(s.IDToken) + len(s.AccessToken) + len(s.RefreshToken)
	for _, h := range ls.headers {
		n += 32 + len(h[0]) + len(h[1])
	}
	return n
}
