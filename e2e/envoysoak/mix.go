package envoysoak

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/envoyrig"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/internal/sessionmint"
)

// The kinds of request in the mix.
const (
	Warm       = iota // a session the plugin has cached
	Cold              // a session never sent before: opened and decoded, then cached
	BearerHit         // a bearer token served from the verified-token cache
	BearerMiss        // a bearer token verified every time (expired within the leeway: never cached)
	Forged            // a bearer token with a bad signature: 401
	Pass              // a pass-through path (/healthz)
	LoginStart        // a protected navigation without a session: 302 to the provider
	Login             // a whole login through the provider (3 requests through Envoy)
	kinds
)

var kindNames = [kinds]string{"warm session", "cold session", "bearer (cached)", "bearer (verified)",
	"bearer (forged)", "pass-through", "login start", "full login"}

// Soak sends the mix through one Envoy. Per 100 slots: 50 warm sessions, 10 cold sessions,
// 15 cached bearer tokens, 5 bearer tokens verified every time, 5 forged bearer tokens,
// 5 pass-through requests, 9 login starts and 1 whole login (three requests). That is
// e2e/soak_test.go's mix (60% warm, 20% cached bearer, 10% verified, 5% forged, 5% logins)
// with cold sessions, pass-through and login starts added, as Envoy sees them from browsers.
type Soak struct {
	rig    *Rig
	base   string
	minter *sessionmint.Minter
	client *http.Client
	warm   []string // Cookie headers of the cached sessions
	hits   []string
	forged []string
	misses atomic.Pointer[[]string]

	next, done, failed atomic.Int64
	count              [kinds]atomic.Int64
	mu                 sync.Mutex
	failures           []string // the first few
}

// NewSoak logs in once through the provider, mints 100 warm sessions and signs the bearer
// tokens.
func (r *Rig) NewSoak(ctx context.Context, base string) (*Soak, error) {
	s := &Soak{rig: r, base: base, client: noRedirects()}
	var err error
	var first string
	if s.minter, first, err = r.NewMinter(ctx, base); err != nil {
		return nil, err
	}
	s.warm = append(s.warm, first)
	for i := 1; i < 100; i++ {
		c, err := s.minter.Mint(fmt.Sprint("warm-", i))
		if err != nil {
			return nil, err
		}
		s.warm = append(s.warm, c)
	}
	for i := range 50 {
		t, err := r.bearerToken("rs", fmt.Sprint("hit-", i), time.Now().Add(time.Hour))
		if err != nil {
			return nil, err
		}
		s.hits = append(s.hits, t)
	}
	for i := range 20 {
		t, err := r.bearerToken("ed", fmt.Sprint("forged-", i), time.Now().Add(time.Hour))
		if err != nil {
			return nil, err
		}
		s.forged = append(s.forged, t[:len(t)-4]+"AAAA")
	}
	return s, s.refreshMisses()
}

// refreshMisses signs the tokens verified every time again (they expired a second ago and
// stay acceptable for the 5 minute leeway).
func (s *Soak) refreshMisses() error {
	m := make([]string, 0, 200)
	for i := range 200 {
		t, err := s.rig.bearerToken("ed", fmt.Sprint("miss-", i), time.Now().Add(-time.Second))
		if err != nil {
			return err
		}
		m = append(m, t)
	}
	s.misses.Store(&m)
	return nil
}

// Run sends requests from clients goroutines until n requests have gone through Envoy (a
// login in flight may add two).
func (s *Soak) Run(ctx context.Context, n int64, clients int) error {
	if err := s.refreshMisses(); err != nil {
		return err
	}
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s.done.Load() < n && ctx.Err() == nil {
				s.one(ctx, int(s.next.Add(1)))
			}
		}()
	}
	wg.Wait()
	return ctx.Err()
}

func (s *Soak) one(ctx context.Context, i int) {
	k := i % 100
	switch {
	case k < 50:
		s.expect(ctx, Warm, "/app1/soak", 200, "Cookie", s.warm[i%len(s.warm)])
	case k < 60:
		c, err := s.minter.Mint(fmt.Sprint("cold-", i))
		if err != nil {
			s.fail(Cold, err.Error())
			return
		}
		s.expect(ctx, Cold, "/app1/soak", 200, "Cookie", c)
	case k < 75:
		s.expect(ctx, BearerHit, "/api/whoami", 200, "Authorization", "Bearer "+s.hits[i%len(s.hits)])
	case k < 80:
		m := *s.misses.Load()
		s.expect(ctx, BearerMiss, "/api/whoami", 200, "Authorization", "Bearer "+m[i%len(m)])
	case k < 85:
		s.expect(ctx, Forged, "/api/whoami", 401, "Authorization", "Bearer "+s.forged[i%len(s.forged)])
	case k < 90:
		s.expect(ctx, Pass, "/healthz", 200)
	case k < 99:
		s.count[LoginStart].Add(1)
		s.done.Add(1)
		status, loc, err := envoyrig.Navigate(ctx, s.client, s.base+"/app1/soak")
		if err != nil || status != http.StatusFound || !strings.HasPrefix(loc, s.rig.OP.Endpoints().Authorize) {
			s.fail(LoginStart, fmt.Sprintf("%d %q %v", status, loc, err))
		}
	default:
		s.count[Login].Add(1)
		_, n, err := envoyrig.Login(ctx, s.client.Transport, s.rig.OP, s.base, "/app1/soak")
		s.done.Add(int64(n))
		if err != nil {
			s.fail(Login, err.Error())
		}
	}
}

func (s *Soak) expect(ctx context.Context, kind int, path string, status int, header ...string) {
	s.count[kind].Add(1)
	s.done.Add(1)
	req, _ := http.NewRequestWithContext(ctx, "GET", s.base+path, nil)
	req.Header.Set("Accept", "text/html")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := s.client.Do(req)
	if err != nil {
		s.fail(kind, err.Error())
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != status {
		s.fail(kind, fmt.Sprintf("GET %s: %d, want %d (location %q)", path, resp.StatusCode, status, resp.Header.Get("Location")))
	}
}

func (s *Soak) fail(kind int, msg string) {
	s.failed.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.failures) < 10 {
		s.failures = append(s.failures, kindNames[kind]+": "+msg)
	}
}

// Done and Failed count the requests sent through Envoy and those answered unexpectedly.
func (s *Soak) Done() int64   { return s.done.Load() }
func (s *Soak) Failed() int64 { return s.failed.Load() }

// Failures are the first few unexpected answers.
func (s *Soak) Failures() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.failures...)
}

// Mix says how many of each kind were sent.
func (s *Soak) Mix() string {
	var parts []string
	for k := range kinds {
		parts = append(parts, fmt.Sprintf("%d %s", s.count[k].Load(), kindNames[k]))
	}
	return strings.Join(parts, ", ")
}
