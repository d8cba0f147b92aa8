package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestSoak sends 100,000 requests through the compiled plugin in the host (make soak; it is
// skipped unless SOAK=1): warm sessions, bearer tokens served from the cache, bearer tokens
// that are verified every time, forged bearer tokens and complete logins, from 4 clients at
// once over 2 VMs. Every response must be the expected one, and the VMs' linear memory must
// stop growing once the caches are full: it reports the memory at the start, after 10,000,
// 50,000 and 100,000 requests, and fails if it grew by more than a tenth between 50,000 and
// 100,000.
func TestSoak(t *testing.T) {
	if os.Getenv("SOAK") == "" {
		t.Skip("set SOAK=1 (make soak) to run the 100,000-request soak")
	}
	hostOnly(t, "reads each VM's linear memory (Envoy's soak is e2e/envoysoak)")
	total := 100_000
	e := startSecEnv(t, 2, func(cfg map[string]any) {
		// Bounded caches that fill early, so that flat memory is visible within the run; a
		// leeway long enough for the "verified every time" tokens (expired a second ago).
		cfg["session"] = map[string]any{"cache_size": 500}
		cfg["jwt"] = map[string]any{"leeway": "5m"}
	})
	sk := newSoak(t, e)
	mem := func() string {
		var parts []string
		for _, s := range e.fs.host.VMStats() {
			parts = append(parts, fmt.Sprintf("vm%d %.1f MiB", s.Index, float64(s.MemoryBytes)/(1<<20)))
		}
		return strings.Join(parts, ", ")
	}
	memTotal := func() (n uint64) {
		for _, s := range e.fs.host.VMStats() {
			n += uint64(s.MemoryBytes)
		}
		return n
	}
	t.Logf("soak: start (after %d logins): %s", len(sk.sessions), mem())
	start := time.Now()
	var at50k uint64
	for _, checkpoint := range []int{10_000, 50_000, total} {
		sk.run(checkpoint)
		if checkpoint == 50_000 {
			at50k = memTotal()
		}
		t.Logf("soak: %d requests (%d failed) in %s: %s", sk.done.Load(), sk.failed.Load(), time.Since(start).Round(time.Second), mem())
	}
	t.Logf("soak: mix: %s", sk.mix())
	for _, name := range []string{"session.cache_hit", "session.cache_miss", "bearer.cache_hit", "bearer.cache_miss", "bearer.accepted",
		"login.succeeded", "bearer.rejected.signature"} {
		t.Logf("soak: oidc_proxy.%s = %d", name, metric(e.fs.p, "oidc_proxy."+name))
	}
	if n := sk.failed.Load(); n > 0 {
		t.Errorf("%d of %d requests got an unexpected answer; first: %s", n, sk.done.Load(), sk.firstFailure())
	}
	if end := memTotal(); end > at50k+at50k/10 {
		t.Errorf("linear memory grew from %d to %d bytes between 50,000 and 100,000 requests", at50k, end)
	}
	for _, s := range e.fs.host.VMStats() {
		if s.Failed || s.Streams != 0 {
			t.Errorf("vm%d: failed %v, %d streams still open", s.Index, s.Failed, s.Streams)
		}
	}
}

// soak drives the request mix.
type soak struct {
	t        *testing.T
	e        *secEnv
	sessions []string // Cookie headers of logged-in browsers
	hits     []string // bearer tokens served from the cache
	misses   []string // bearer tokens verified every time (expired within the leeway)
	forged   []string // bearer tokens with a bad signature
	client   *http.Client

	next, done, failed atomic.Int64
	kinds              [5]atomic.Int64
	mu                 sync.Mutex
	first              string
}

func newSoak(t *testing.T, e *secEnv) *soak {
	sk := &soak{t: t, e: e, client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	for range 100 {
		b := newBrowser(t)
		l := e.fs.begin(t, b, "/app/soak")
		if r := e.fs.finish(t, l, signRS256(t, e.op.key, e.op.kid, e.op.claims(l.nonce))); r.status != http.StatusFound {
			t.Fatalf("soak login: %d", r.status)
		}
		sk.sessions = append(sk.sessions, cookieHeaderOf(b, e.fs.url))
	}
	rs, ed := e.issuers["rs"], e.issuers["ed"]
	for i := range 50 {
		sk.hits = append(sk.hits, e.token(t, rs, func(m map[string]any) { m["jti"] = fmt.Sprint("hit-", i) }))
	}
	sk.refreshMisses()
	for i := range 20 {
		tok := e.token(t, ed, func(m map[string]any) { m["jti"] = fmt.Sprint("forged-", i) })
		sk.forged = append(sk.forged, tok[:len(tok)-4]+"AAAA")
	}
	return sk
}

// refreshMisses signs the tokens that are verified every time: expired a second ago, so the
// cache never keeps them, and accepted within the 5 minute leeway.
func (sk *soak) refreshMisses() {
	ed := sk.e.issuers["ed"]
	misses := make([]string, 0, 200)
	for i := range 200 {
		misses = append(misses, sk.e.token(sk.t, ed, func(m map[string]any) {
			m["jti"] = fmt.Sprint("miss-", i)
			m["exp"] = time.Now().Add(-time.Second).Unix()
		}))
	}
	sk.misses = misses
}

const (
	soakWarm = iota
	soakHit
	soakMiss
	soakForged
	soakLogin
)

// run sends requests until done reaches n (a login at the end may add one more), from 4
// clients.
func (sk *soak) run(n int) {
	sk.refreshMisses()
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for sk.done.Load() < int64(n) {
				sk.one(int(sk.next.Add(1)))
			}
		}()
	}
	wg.Wait()
}

// one sends request i of the mix: 60% warm sessions, 20% cached bearer tokens, 10% bearer
// tokens verified every time, 5% forged bearer tokens, 5% logins (two requests each).
func (sk *soak) one(i int) {
	k := i % 20
	if m := os.Getenv("SOAK_ONLY"); m != "" { // diagnosis: one kind of request only
		k = map[string]int{"warm": 0, "hit": 12, "miss": 16, "forged": 18, "login": 19}[m]
	}
	switch {
	case k < 12:
		sk.expect(soakWarm, "GET", "/app/soak", 200, "Cookie", sk.sessions[i%len(sk.sessions)])
	case k < 16:
		sk.expect(soakHit, "GET", "/api/x", 200, "Authorization", "Bearer "+sk.hits[i%len(sk.hits)])
	case k < 18:
		sk.expect(soakMiss, "GET", "/api/x", 200, "Authorization", "Bearer "+sk.misses[i%len(sk.misses)])
	case k < 19:
		sk.expect(soakForged, "GET", "/api/x", 401, "Authorization", "Bearer "+sk.forged[i%len(sk.forged)])
	default:
		sk.login()
	}
}

func (sk *soak) expect(kind int, method, path string, status int, headers ...string) *http.Response {
	sk.kinds[kind].Add(1)
	sk.done.Add(1)
	req, _ := http.NewRequest(method, sk.e.fs.url+path, nil)
	req.Header.Set("Accept", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := sk.client.Do(req)
	if err != nil {
		sk.fail(fmt.Sprintf("%s %s: %v", method, path, err))
		return nil
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != status {
		sk.fail(fmt.Sprintf("%s %s: %d, want %d", method, path, resp.StatusCode, status))
	}
	return resp
}

// login is a whole login: a navigation redirected to the provider, then the callback
// answered by the fake provider with a valid ID token. It runs on the clients' goroutines,
// so it reports failures instead of stopping the test.
func (sk *soak) login() {
	sk.kinds[soakLogin].Add(1)
	sk.done.Add(2)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Transport: sk.client.Transport, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(u string) (*http.Response, error) {
		req, _ := http.NewRequest("GET", u, nil)
		req.Header.Set("Accept", "text/html")
		req.Header.Set("Sec-Fetch-Mode", "navigate")
		resp, err := c.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		return resp, err
	}
	resp, err := get(sk.e.fs.url + "/app/soak")
	if err != nil || resp.StatusCode != http.StatusFound {
		sk.fail(fmt.Sprintf("login redirect: %v %v", err, resp))
		return
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		sk.fail(fmt.Sprintf("login redirect: %v", err))
		return
	}
	q := loc.Query()
	code := "soak-" + randomHexN(8)
	sk.e.op.grant(code, q.Get("code_challenge"), signRS256(sk.t, sk.e.op.key, sk.e.op.kid, sk.e.op.claims(q.Get("nonce"))))
	resp, err = get(sk.e.fs.url + "/oauth2/callback?code=" + code + "&state=" + url.QueryEscape(q.Get("state")))
	if err != nil || resp.StatusCode != http.StatusFound || !setsSession(response{status: resp.StatusCode, header: resp.Header}) {
		sk.fail(fmt.Sprintf("login callback: %v %v", err, resp))
	}
}

func (sk *soak) fail(msg string) {
	if sk.failed.Add(1) == 1 {
		sk.mu.Lock()
		sk.first = msg
		sk.mu.Unlock()
	}
}

func (sk *soak) firstFailure() string {
	sk.mu.Lock()
	defer sk.mu.Unlock()
	return sk.first
}

func (sk *soak) mix() string {
	return fmt.Sprintf("%d warm sessions, %d cached bearer, %d verified bearer, %d forged bearer, %d logins (2 requests each)",
		sk.kinds[soakWarm].Load(), sk.kinds[soakHit].Load(), sk.kinds[soakMiss].Load(), sk.kinds[soakForged].Load(), sk.kinds[soakLogin].Load())
}
