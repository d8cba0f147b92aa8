package filterbench

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/internal/noopshim"
)

// A Scenario is one row of the report: a kind of request, prepared the same way for both
// sides.
type Scenario struct {
	Name string
	// Noop runs the no-op plugin instead of the filter: the host's floor. With Shim, the no-op
	// plugin makes a warm session request's host calls and nothing else (see Shim).
	Noop bool
	Shim *Shim
	// Prepare mints what requests 0..n need, outside the timed loop, and returns them by
	// index. Request 0 is sent untimed first: it primes caches and is checked against Want.
	Prepare func(n int) func(i int) [][2]string
	// Answer answers every callout the timed path makes (the token endpoint); nil when the
	// path makes none.
	Answer *Response
	Want   Want
	// Fill is how many distinct sessions are opened before request 0, so that the session
	// cache is at its bound as in a busy VM: a miss then also evicts, and the heap the GC
	// walks holds a full cache.
	Fill int
}

// CacheFill fills the session cache of the session rows: more sessions than its byte bound
// holds (12 MiB, about 1,300 of the fixture's sessions).
const CacheFill = 2000

// FillRequests returns the requests that fill a cache: navigations with n distinct sessions
// (the same ones on every call).
func (f *Fixture) FillRequests(n int) [][][2]string {
	for len(f.fill) < n {
		f.fill = append(f.fill, navigation("/app/dashboard?tab=1", f.SessionCookie(2_000_000+len(f.fill), time.Now().Add(time.Hour))))
	}
	return f.fill[:n]
}

// Want is what every request of a scenario must get, checked on the untimed request and
// after the timed ones (by the counter).
type Want struct {
	Forwarded bool   // the request goes upstream; else a local reply of Status
	Status    int    // the local reply's status
	Callouts  int    // callouts per request
	Header    string // a request header the upstream must receive, if not empty
	// Counter is a metric that must grow by one per request, if not empty.
	Counter string
}

// Check compares a request's outcome with w.
func (w Want) Check(forwarded bool, status, callouts int, upstream [][2]string) error {
	switch {
	case forwarded != w.Forwarded:
		return fmt.Errorf("forwarded %v (status %d), want %v", forwarded, status, w.Forwarded)
	case !forwarded && status != w.Status:
		return fmt.Errorf("local reply %d, want %d", status, w.Status)
	case callouts != w.Callouts:
		return fmt.Errorf("%d callouts, want %d", callouts, w.Callouts)
	}
	if w.Header != "" {
		for _, p := range upstream {
			if p[0] == w.Header {
				return nil
			}
		}
		return fmt.Errorf("the upstream got no %s header", w.Header)
	}
	return nil
}

// ColdPool is how many distinct sessions the cold row cycles through: more than the default
// session.cache_size (10000), so with the cache's insertion-order eviction every request
// misses.
const ColdPool = 12000

// navigation is a browser's navigation to a protected page, with cookie as its Cookie header.
func navigation(path, cookie string) [][2]string {
	h := [][2]string{
		{":authority", Host}, {":path", path}, {":method", "GET"}, {":scheme", "https"},
		{"accept", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"},
		{"accept-encoding", "gzip, deflate, br, zstd"}, {"accept-language", "en-GB,en;q=0.9"},
	}
	if cookie != "" {
		h = append(h, [2]string{"cookie", cookie})
	}
	return append(h,
		[2]string{"sec-fetch-dest", "document"}, [2]string{"sec-fetch-mode", "navigate"},
		[2]string{"sec-fetch-site", "same-origin"}, [2]string{"upgrade-insecure-requests", "1"},
		[2]string{"user-agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"},
		[2]string{"x-forwarded-proto", "https"}, [2]string{"x-request-id", "0b6f4d0e-6d6c-4d8e-9a43-4a4f5e5c0d11"},
	)
}

// apiCall is an API client's request with a bearer token.
func apiCall(token string) [][2]string {
	return [][2]string{
		{":authority", Host}, {":path", "/api/items?limit=50"}, {":method", "GET"}, {":scheme", "https"},
		{"accept", "application/json"}, {"authorization", "Bearer " + token},
		{"user-agent", "python-requests/2.32.3"}, {"x-forwarded-proto", "https"},
		{"x-request-id", "7c9e6679-7425-40de-944b-e07fc1f90ae7"},
	}
}

func same(h [][2]string) func(int) [][2]string { return func(int) [][2]string { return h } }

// Upstream is the upstream's response to a forwarded request (answered without a body).
var Upstream = [][2]string{{":status", "200"}, {"content-type", "text/html; charset=utf-8"}, {"content-length", "0"}}

// Scenarios returns the report's rows in order. Rows that need a filter feature the tree does
// not have yet are left to the sides to skip.
func (f *Fixture) Scenarios() []*Scenario {
	warm := navigation("/app/dashboard?tab=1", f.SessionCookie(0, time.Now().Add(time.Hour)))
	var cold []string // minted once per process, cycled through with a cursor
	cursor := 0
	sc := []*Scenario{
		{Name: "floor", Noop: true, Prepare: func(int) func(int) [][2]string { return same(warm) }, Want: Want{Forwarded: true}},
		{Name: "abi-only", Noop: true, Shim: f.WarmShim(), Prepare: func(int) func(int) [][2]string { return same(warm) },
			Want: Want{Forwarded: true, Header: "x-forwarded-access-token", Counter: "oidc_proxy.session.cache_hit"}},
		{Name: "pass-through", Prepare: func(int) func(int) [][2]string { return same(navigation("/healthz", "")) },
			Want: Want{Forwarded: true}},
		{Name: "session-warm", Prepare: func(int) func(int) [][2]string { return same(warm) }, Fill: CacheFill,
			Want: Want{Forwarded: true, Header: "x-forwarded-access-token", Counter: "oidc_proxy.session.cache_hit"}},
		{Name: "session-cold", Prepare: func(n int) func(int) [][2]string {
			for len(cold) < min(cursor+n+1, ColdPool) {
				cold = append(cold, f.SessionCookie(len(cold)+1, time.Now().Add(time.Hour)))
			}
			return func(int) [][2]string {
				c := cold[cursor%len(cold)]
				cursor++
				return navigation("/app/dashboard?tab=1", c)
			}
		}, Fill: CacheFill, Want: Want{Forwarded: true, Header: "x-forwarded-access-token", Counter: "oidc_proxy.session.cache_miss"}},
	}
	for _, alg := range []Alg{RS256, ES256} {
		sc = append(sc, &Scenario{Name: "callback-" + string(alg), Prepare: f.callbacks, Answer: f.TokenResponse(alg),
			Want: Want{Status: 302, Callouts: 1, Counter: "oidc_proxy.login.succeeded"}})
	}
	sc = append(sc, &Scenario{Name: "refresh", Prepare: f.refreshes, Answer: f.TokenResponse(RS256),
		Want: Want{Forwarded: true, Callouts: 1, Header: "x-forwarded-access-token", Counter: "oidc_proxy.refresh.ok"}})
	for _, alg := range []Alg{RS256, ES256, EdDSA} {
		hit := f.AccessToken(alg, BearerIssuer, BearerAud, time.Now().Add(time.Hour))
		// Expired a moment ago: never served from the cache, still accepted within jwt.leeway.
		miss := f.AccessToken(alg, BearerIssuer, BearerAud, time.Now().Add(-time.Second))
		sc = append(sc,
			&Scenario{Name: "bearer-" + string(alg) + "-miss", Prepare: func(int) func(int) [][2]string { return same(apiCall(miss)) },
				Want: Want{Forwarded: true, Counter: "oidc_proxy.bearer.cache_miss"}},
			&Scenario{Name: "bearer-" + string(alg) + "-hit", Prepare: func(int) func(int) [][2]string { return same(apiCall(hit)) },
				Want: Want{Forwarded: true, Counter: "oidc_proxy.bearer.cache_hit"}})
	}
	return sc
}

// Scenario returns the named scenario, or nil.
func (f *Fixture) Scenario(name string) *Scenario {
	for _, s := range f.Scenarios() {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// callbacks mints n+1 callback requests, each with its own single-use state and binding cookie.
func (f *Fixture) callbacks(n int) func(int) [][2]string {
	reqs := make([][][2]string, n+1)
	for i := range reqs {
		st, binding := f.LoginState()
		q := "code=4b1e8c2a-7d3f-4e5a-9b6c-1d2e3f4a5b6c.5f3c1a2b-9d8e-4f70&state=" + url.QueryEscape(st) +
			"&session_state=5f3c1a2b-9d8e-4f70-a1b2-c3d4e5f60718"
		reqs[i] = navigation("/oauth2/callback?"+q, "_ga=GA1.2.1820512345.1700000000; "+BindCookie+"="+binding)
	}
	return func(i int) [][2]string { return reqs[i] }
}

// refreshes mints n+1 requests, each with its own session whose access token expires in 30 s,
// within the default refresh margin (60 s).
func (f *Fixture) refreshes(n int) func(int) [][2]string {
	reqs := make([]string, n+1)
	for i := range reqs {
		f.seq++ // distinct refresh tokens: a parked refresh result is never reused
		reqs[i] = f.SessionCookie(1_000_000+f.seq, time.Now().Add(30*time.Second))
	}
	return func(i int) [][2]string { return navigation("/app/dashboard?tab=1", reqs[i]) }
}

// Names lists the scenarios' names, for -bench patterns.
func Names(sc []*Scenario) string {
	n := make([]string, len(sc))
	for i, s := range sc {
		n[i] = s.Name
	}
	return strings.Join(n, " ")
}

// Shim configures the no-op plugin to make a warm session request's host calls with no logic
// between them: read all request headers (proxy_get_header_map_pairs), increment Metric, and
// set each of Set (proxy_replace_header_map_value).
type Shim = noopshim.Config

// WarmShim is the shim for the fixture's warm session request: the six headers the filter
// forwards for it (four claim headers, the access token and the ID token).
func (f *Fixture) WarmShim() *Shim {
	return &Shim{Metric: "oidc_proxy.session.cache_hit", Set: [][2]string{
		{"x-auth-request-user", "5f3c1a2b-9d8e-4f70-a1b2-c3d4e5f60718"},
		{"x-auth-request-email", "ada.lovelace@example.com"},
		{"x-auth-request-groups", "engineering,oncall,grafana-editors"},
		{"x-auth-request-preferred-username", "ada"},
		{"x-forwarded-access-token", f.accessToken},
		{"x-forwarded-id-token", f.idToken},
	}}
}

// PluginConfig is the plugin configuration a scenario runs with.
func (f *Fixture) PluginConfig(sc *Scenario) []byte {
	if sc.Shim != nil {
		b, err := json.Marshal(sc.Shim)
		if err != nil {
			panic(err)
		}
		return b
	}
	return f.Config()
}
