package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/demoapp"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/op"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/proxy"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/stack"
)

// The fresh-tokens tests run the provider with lifetimes of a few seconds and
// session.refresh_margin below them, log in over HTTP, wait past expiry and check what the app
// receives. Lifetimes are short for speed; the waits read the tokens' own exp, never a
// hard-coded duration, and nothing asserts how long anything took.

const (
	rfTTL    = 5 * time.Second // access and ID token lifetime at the provider
	rfMargin = "2s"            // session.refresh_margin
)

// rfConfigure sets a short refresh margin and applies more edits.
func rfConfigure(more ...func(cfg map[string]any)) func(cfg map[string]any) {
	return func(cfg map[string]any) {
		cfg["session"] = map[string]any{"refresh_margin": rfMargin}
		for _, f := range more {
			f(cfg)
		}
	}
}

// rfLoggedIn starts a stack, logs a browser in at /app1/ and returns them with what app 1 saw.
func rfLoggedIn(t *testing.T, o stack.Options) (*stack.Stack, *browser, demoapp.WhoAmI) {
	t.Helper()
	if o.AccessTTL == 0 {
		o.AccessTTL = rfTTL
	}
	if o.IDTTL == 0 {
		o.IDTTL = rfTTL
	}
	if o.Configure == nil {
		o.Configure = rfConfigure()
	}
	s := start(t, o)
	b := newBrowser(t)
	if _, final := b.login(s, "/app1/"); final.status != http.StatusFound {
		t.Fatalf("login: %d %.300s\n%s", final.status, final.body, logText(s))
	}
	if r := b.get(s.URL + "/app1/"); r.status != http.StatusOK {
		t.Fatalf("app 1 after login: %d %.300s", r.status, r.body)
	}
	w := rfWhoAmI(t, b, s, "/app1/api/whoami")
	return s, b, w
}

// rfWhoAmI asks the app at path (an api/whoami) what it received; it must answer 200.
func rfWhoAmI(t testing.TB, b *browser, s *stack.Stack, path string) demoapp.WhoAmI {
	t.Helper()
	r := b.api(s.URL + path)
	if r.status != http.StatusOK {
		t.Fatalf("GET %s: %d %.300s\n%s", path, r.status, r.body, logText(s))
	}
	var w demoapp.WhoAmI
	if err := json.Unmarshal([]byte(r.body), &w); err != nil {
		t.Fatalf("GET %s: %v: %.300s", path, err, r.body)
	}
	return w
}

// rfWaitPast sleeps until every token of w has expired (plus a little for the second
// precision of exp).
func rfWaitPast(w demoapp.WhoAmI) {
	var last time.Time
	for _, ti := range w.Tokens {
		if ti.ExpiresAt != nil && ti.ExpiresAt.After(last) {
			last = *ti.ExpiresAt
		}
	}
	time.Sleep(time.Until(last.Add(1100 * time.Millisecond)))
}

// rfLongLived makes the provider issue long-lived tokens from now on, so that counting
// refreshes after the one a test provokes does not depend on how fast the test runs.
func rfLongLived(s *stack.Stack) { s.OP.SetLifetimes(time.Minute, time.Minute, 0) }

// rfFresh fails unless the app received header as a token that verifies against the
// provider's keys right now and has not expired.
func rfFresh(t testing.TB, w demoapp.WhoAmI, header string) *demoapp.TokenInfo {
	t.Helper()
	ti := w.Tokens[header]
	switch {
	case ti == nil:
		t.Errorf("%s: the app received no %s (it got %v)", w.App, header, rfNames(w.Tokens))
	case !ti.Verified || ti.Expired:
		t.Errorf("%s: %s verified=%v expired=%v: %s", w.App, header, ti.Verified, ti.Expired, ti.Error)
	}
	return ti
}

func rfNames(m map[string]*demoapp.TokenInfo) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func rfMetric(s *stack.Stack, name string) int64 {
	v, _ := s.Metric(name)
	return v
}

// rfResult is one response of a concurrent fetch.
type rfResult struct {
	status  int
	header  http.Header
	body    string
	err     error
	elapsed time.Duration
}

// rfFetchAll sends n API requests for path at once with the browser's cookies.
func rfFetchAll(b *browser, s *stack.Stack, path string, n int) []rfResult {
	return rfFetchSpread(b, []string{s.URL}, path, n)
}

// rfFetchSpread is rfFetchAll with request i sent to bases[i%len(bases)]: a page's fetches
// spread over replicas by a balancer.
func rfFetchSpread(b *browser, bases []string, path string, n int) []rfResult {
	out := make([]rfResult, n)
	var wg sync.WaitGroup
	startGun := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-startGun
			req, _ := http.NewRequest("GET", bases[i%len(bases)]+path, nil)
			req.Header.Set("Accept", "application/json")
			req.Header.Set("Sec-Fetch-Mode", "cors")
			t0 := time.Now()
			resp, err := b.c.Do(req)
			if err != nil {
				out[i].err = err
				return
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
			out[i] = rfResult{status: resp.StatusCode, header: resp.Header, body: string(body), elapsed: time.Since(t0)}
		}()
	}
	close(startGun)
	wg.Wait()
	return out
}

// rfUpstream counts requests that reach the app carrying a given access token.
type rfUpstream struct {
	mu    sync.Mutex
	token string
	hits  atomic.Int64
}

func (u *rfUpstream) watch(token string) {
	u.mu.Lock()
	u.token = token
	u.mu.Unlock()
	u.hits.Store(0)
}

func (u *rfUpstream) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		tok := u.token
		u.mu.Unlock()
		if tok != "" && strings.Contains(r.Header.Get("X-Forwarded-Access-Token")+r.Header.Get("Authorization"), tok) {
			u.hits.Add(1)
		}
		next.ServeHTTP(w, r)
	})
}

// TestFreshTokensForSecondApp is the scenario the product exists for: log in, use app 1, come
// back after every token has expired and open app 2 directly. App 2 gets an access token and
// an ID token that verify and have not expired, and a token exchanged for its downstream
// audience that the provider reports active; the user never logs in again.
func TestFreshTokensForSecondApp(t *testing.T) {
	s, b, w1 := rfLoggedIn(t, stack.Options{Configure: rfConfigure(func(cfg map[string]any) {
		cfg["routes"] = []any{map[string]any{
			"name": "app2", "match": map[string]any{"prefix": "/app2/"},
			"exchange": map[string]any{"type": "rfc8693", "audience": "https://downstream.example", "header": "X-Exchanged-Token"},
		}}
	})})
	at1 := rfFresh(t, w1, "X-Forwarded-Access-Token")
	rfFresh(t, w1, "X-Forwarded-Id-Token")
	rfWaitPast(w1)
	rfLongLived(s)
	before := s.OP.Counts()

	// Open app 2 directly: a navigation, answered by the app (no trip to the provider).
	r := b.get(s.URL + "/app2/")
	if r.status != http.StatusOK || !strings.Contains(r.header.Get("Set-Cookie"), "_oidc_session=") {
		t.Fatalf("app 2 after expiry: %d, Set-Cookie %q, want 200 with a re-sealed session; body %.300s\n%s",
			r.status, r.header.Get("Set-Cookie"), r.body, logText(s))
	}
	w2 := rfWhoAmI(t, b, s, "/app2/api/whoami")
	at2 := rfFresh(t, w2, "X-Forwarded-Access-Token")
	id2 := rfFresh(t, w2, "X-Forwarded-Id-Token")
	xt := rfFresh(t, w2, "X-Exchanged-Token")
	if at2 != nil && at1 != nil && at2.Raw == at1.Raw {
		t.Errorf("app 2 got the access token from login")
	}
	if xt != nil {
		if aud := fmt.Sprint(xt.Claims["aud"]); !strings.Contains(aud, "https://downstream.example") {
			t.Errorf("exchanged token aud %s, want the downstream audience", aud)
		}
		if active, _, err := s.OP.Introspect(xt.Raw); err != nil || !active {
			t.Errorf("exchanged token active=%v at the provider (err %v)", active, err)
		}
	}
	if w2.User.Email != "demo@example.com" {
		t.Errorf("app 2 saw user %+v", w2.User)
	}

	after := s.OP.Counts()
	if after.Authorize != before.Authorize || after.Code != before.Code {
		t.Errorf("the user was sent to log in again: authorize %d -> %d, code %d -> %d", before.Authorize, after.Authorize, before.Code, after.Code)
	}
	if after.Refresh-before.Refresh != 1 || after.RefreshReuse != 0 {
		t.Errorf("refreshes at the provider: %d (reuses %d), want 1", after.Refresh-before.Refresh, after.RefreshReuse)
	}
	if after.TokenExchange-before.TokenExchange != 1 {
		t.Errorf("token exchanges: %d, want 1 (the second request to app 2 uses the cached one)", after.TokenExchange-before.TokenExchange)
	}
	if n := rfMetric(s, "oidc_proxy.refresh.ok"); n != 1 {
		t.Errorf("metric oidc_proxy.refresh.ok = %d, want 1", n)
	}
	sess, _ := b.cookie(s, "_oidc_session")
	secrets := []string{sess}
	for _, ti := range []*demoapp.TokenInfo{at1, at2, id2, xt} {
		if ti != nil {
			secrets = append(secrets, ti.Raw)
		}
	}
	assertNoSecretsInLogs(t, s, secrets...)
}

// TestRefreshSingleFlight sends 20 API requests of one session at once, over two VMs, after
// its tokens expired: the provider (which rotates refresh tokens) sees exactly one refresh,
// and every request is answered with the fresh tokens.
func TestRefreshSingleFlight(t *testing.T) {
	s, b, w := rfLoggedIn(t, stack.Options{VMs: 2})
	rfWaitPast(w)
	rfLongLived(s)
	before := s.OP.Counts()
	results := rfFetchAll(b, s, "/api/whoami", 20)
	var fresh string
	for i, r := range results {
		if r.err != nil || r.status != http.StatusOK {
			t.Errorf("request %d: %v %d %.200s", i, r.err, r.status, r.body)
			continue
		}
		var wi demoapp.WhoAmI
		if err := json.Unmarshal([]byte(r.body), &wi); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		at := rfFresh(t, wi, "X-Forwarded-Access-Token")
		if at == nil {
			continue
		}
		if fresh == "" {
			fresh = at.Raw
		} else if at.Raw != fresh {
			t.Errorf("request %d got another access token than request 0: more than one refresh", i)
		}
		if !strings.Contains(r.header.Get("Set-Cookie"), "_oidc_session=") {
			t.Errorf("request %d: no re-sealed session cookie", i)
		}
	}
	var slowest time.Duration
	for _, r := range results {
		slowest = max(slowest, r.elapsed)
	}
	t.Logf("slowest of the 20 requests (a measurement, not a check): %s", slowest)
	after := s.OP.Counts()
	if n := after.Refresh - before.Refresh; n != 1 || after.RefreshReuse != before.RefreshReuse {
		t.Errorf("refresh requests at the provider: %d, reuses %d; want exactly 1 and none\n%s", n, after.RefreshReuse-before.RefreshReuse, logText(s))
	}
	t.Logf("refresh metrics: ok=%d waited=%d waited_remote=%d reused=%d", rfMetric(s, "oidc_proxy.refresh.ok"),
		rfMetric(s, "oidc_proxy.refresh.waited"), rfMetric(s, "oidc_proxy.refresh.waited_remote"), rfMetric(s, "oidc_proxy.refresh.reused"))
	if n := rfMetric(s, "oidc_proxy.refresh.waited") + rfMetric(s, "oidc_proxy.refresh.waited_remote") + rfMetric(s, "oidc_proxy.refresh.reused"); n != 19 {
		t.Errorf("requests that waited for or reused the one refresh: %d, want 19", n)
	}

	// The browser now holds the re-sealed session: the next request needs no refresh.
	if r := b.api(s.URL + "/api/whoami"); r.status != http.StatusOK {
		t.Errorf("after the burst: %d %.200s", r.status, r.body)
	}
	if n := s.OP.Counts().Refresh - before.Refresh; n != 1 {
		t.Errorf("refreshes after one more request: %d, want still 1", n)
	}
}

// TestRefreshRevoked: the provider revoked the session's refresh token. The session ends
// cleanly: a navigation goes to the provider to log in again, an API call gets 401, and the
// session cookie is cleared.
func TestRefreshRevoked(t *testing.T) {
	s, b, w := rfLoggedIn(t, stack.Options{})
	rfWaitPast(w)
	s.OP.RevokeAllRefreshTokens()
	u, _ := url.Parse(s.URL)

	api := newBrowser(t)
	api.jar.SetCookies(u, b.jar.Cookies(u))
	r := api.api(s.URL + "/api/whoami")
	if r.status != http.StatusUnauthorized || r.header.Get("Www-Authenticate") == "" {
		t.Errorf("API call with a revoked refresh token: %d %q, want 401 with WWW-Authenticate; %.200s", r.status, r.header.Get("Www-Authenticate"), r.body)
	}
	if !rfClears(r.header, "_oidc_session") {
		t.Errorf("the 401 does not clear the session cookie: %q", r.header.Values("Set-Cookie"))
	}

	r = b.get(s.URL + "/app2/page")
	if r.status != http.StatusFound || !strings.HasPrefix(r.header.Get("Location"), s.OP.Issuer()) {
		t.Fatalf("navigation with a revoked refresh token: %d to %q, want 302 to the provider", r.status, r.header.Get("Location"))
	}
	if _, ok := b.cookie(s, "_oidc_session"); ok {
		t.Errorf("the session cookie is still set after the session ended")
	}
	if n := rfMetric(s, "oidc_proxy.refresh.invalid_grant"); n < 1 {
		t.Errorf("metric oidc_proxy.refresh.invalid_grant = %d", n)
	}
	// Logging in again works and gives fresh tokens.
	if _, final := b.login(s, "/app2/page"); final.status != http.StatusFound {
		t.Fatalf("login again: %d", final.status)
	}
	rfFresh(t, rfWhoAmI(t, b, s, "/app2/api/whoami"), "X-Forwarded-Access-Token")
}

func rfClears(h http.Header, name string) bool {
	for _, c := range h.Values("Set-Cookie") {
		if strings.HasPrefix(c, name+"=;") && strings.Contains(c, "Max-Age=0") {
			return true
		}
	}
	return false
}

// TestRefreshProviderFailure: the token endpoint fails (HTTP 500, a closed connection, an
// HTML page). Nothing stale reaches the app: API calls get 503 with Retry-After, navigations
// a 503 page that reloads itself. When the provider is back, the same session refreshes.
func TestRefreshProviderFailure(t *testing.T) {
	up := &rfUpstream{}
	s, b, w := rfLoggedIn(t, stack.Options{Upstream: up.wrap})
	stale := w.Tokens["X-Forwarded-Access-Token"].Raw
	rfWaitPast(w)
	up.watch(stale)
	for _, f := range []struct {
		name string
		kind op.FaultKind
	}{{"http 500", op.FaultHTTP500}, {"connection closed", op.FaultCloseConnection}, {"html page", op.FaultHTML}} {
		t.Run(f.name, func(t *testing.T) {
			s.OP.SetFault(op.EndpointRefresh, op.Fault{Kind: f.kind})
			defer s.OP.ClearFaults()
			r := b.api(s.URL + "/api/whoami")
			if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" || !strings.Contains(r.header.Get("Content-Type"), "json") {
				t.Errorf("API call: %d Retry-After %q %q, want 503 JSON with Retry-After; %.200s",
					r.status, r.header.Get("Retry-After"), r.header.Get("Content-Type"), r.body)
			}
			time.Sleep(2100 * time.Millisecond) // past the parked failure: the next request tries again
			r = b.get(s.URL + "/app1/")
			if r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, `http-equiv="refresh"`) || r.header.Get("Cache-Control") != "no-store" {
				t.Errorf("navigation: %d, want a 503 page that reloads itself; %.300s", r.status, r.body)
			}
			if n := up.hits.Load(); n != 0 {
				t.Errorf("%d requests reached the app with the expired access token", n)
			}
		})
	}
	time.Sleep(2100 * time.Millisecond)
	rfFresh(t, rfWhoAmI(t, b, s, "/api/whoami"), "X-Forwarded-Access-Token")
	if n := rfMetric(s, "oidc_proxy.refresh.transient"); n < 3 {
		t.Errorf("metric oidc_proxy.refresh.transient = %d, want at least 3", n)
	}
}

// TestIDTokenNotReissued: the provider returns no ID token on refresh. An expired ID token is
// never forwarded: with "omit" the app gets the fresh access token and no ID token; with
// "reauthenticate" a navigation does a silent login (prompt=none), which the provider answers
// at once while its own session lives, and with login_required (then the filter falls back
// to a normal login) when it does not.
func TestIDTokenNotReissued(t *testing.T) {
	t.Run("omit", func(t *testing.T) {
		s, b, w := rfLoggedIn(t, stack.Options{})
		s.OP.SetNoIDTokenOnRefresh(true)
		rfWaitPast(w)
		rfLongLived(s)
		w2 := rfWhoAmI(t, b, s, "/app2/api/whoami")
		rfFresh(t, w2, "X-Forwarded-Access-Token")
		if id := w2.Tokens["X-Forwarded-Id-Token"]; id != nil {
			t.Errorf("the app got an ID token (expired=%v) the provider did not renew", id.Expired)
		}
		if rfMetric(s, "oidc_proxy.id_token.omitted") < 1 {
			t.Errorf("metric oidc_proxy.id_token.omitted not counted")
		}
		// No refresh loop: the ID token is not refreshed for again.
		n := s.OP.Counts().Refresh
		rfWhoAmI(t, b, s, "/app2/api/whoami")
		if m := s.OP.Counts().Refresh; m != n {
			t.Errorf("refreshes went from %d to %d for an ID token the provider never renews", n, m)
		}
	})
	t.Run("reauthenticate", func(t *testing.T) {
		s := start(t, stack.Options{AccessTTL: 30 * time.Second, IDTTL: rfTTL, Configure: func(cfg map[string]any) {
			cfg["session"] = map[string]any{"refresh_margin": rfMargin, "id_token_expired": "reauthenticate"}
		}})
		s.OP.SetNoIDTokenOnRefresh(true)
		b := newBrowser(t)
		opClient := &http.Client{Jar: newBrowser(t).jar} // the browser's cookies at the provider
		r := b.get(s.URL + "/app1/")
		cb, err := s.OP.LoginAs(t.Context(), opClient, r.header.Get("Location"), op.DemoUsername, op.DemoPassword)
		if err != nil {
			t.Fatal(err)
		}
		if r := b.get(cb); r.status != http.StatusFound {
			t.Fatalf("callback: %d %.200s", r.status, r.body)
		}
		w := rfWhoAmI(t, b, s, "/app1/api/whoami")
		id1 := rfFresh(t, w, "X-Forwarded-Id-Token")
		time.Sleep(time.Until(id1.ExpiresAt.Add(1100 * time.Millisecond)))

		// API calls are not redirected: they go on without the ID token.
		w = rfWhoAmI(t, b, s, "/app1/api/whoami")
		if w.Tokens["X-Forwarded-Id-Token"] != nil {
			t.Errorf("an API call got the expired ID token")
		}
		// A navigation logs in silently.
		r = b.get(s.URL + "/app2/page")
		loc := r.header.Get("Location")
		if r.status != http.StatusFound || !strings.HasPrefix(loc, s.OP.Issuer()) || rfQuery(loc, "prompt") != "none" {
			t.Fatalf("navigation with an expired ID token: %d to %q, want a silent login (prompt=none)", r.status, loc)
		}
		cb, err = s.OP.LoginAs(t.Context(), opClient, loc, op.DemoUsername, op.DemoPassword)
		if err != nil {
			t.Fatal(err)
		}
		if r := b.get(cb); r.status != http.StatusFound || r.header.Get("Location") != "/app2/page" {
			t.Fatalf("silent login callback: %d to %q", r.status, r.header.Get("Location"))
		}
		rfFresh(t, rfWhoAmI(t, b, s, "/app2/api/whoami"), "X-Forwarded-Id-Token")

		// Without a session at the provider (another browser profile, or it expired there),
		// prompt=none answers login_required and the filter starts an interactive login to
		// the same page.
		w = rfWhoAmI(t, b, s, "/app2/api/whoami")
		time.Sleep(time.Until(w.Tokens["X-Forwarded-Id-Token"].ExpiresAt.Add(1100 * time.Millisecond)))
		opClient = &http.Client{Jar: newBrowser(t).jar}
		r = b.get(s.URL + "/app2/other")
		if rfQuery(r.header.Get("Location"), "prompt") != "none" {
			t.Fatalf("want a silent login, got %d to %q", r.status, r.header.Get("Location"))
		}
		cb, err = s.OP.LoginAs(t.Context(), opClient, r.header.Get("Location"), op.DemoUsername, op.DemoPassword)
		if err != nil {
			t.Fatal(err)
		}
		if rfQuery(cb, "error") != "login_required" {
			t.Fatalf("the provider answered %q, want login_required", cb)
		}
		r = b.get(cb)
		loc = r.header.Get("Location")
		if r.status != http.StatusFound || !strings.HasPrefix(loc, s.OP.Issuer()) || rfQuery(loc, "prompt") == "none" {
			t.Fatalf("after login_required: %d to %q, want an interactive login", r.status, loc)
		}
		cb, err = s.OP.LoginAs(t.Context(), opClient, loc, op.DemoUsername, op.DemoPassword)
		if err != nil {
			t.Fatal(err)
		}
		if r := b.get(cb); r.status != http.StatusFound || r.header.Get("Location") != "/app2/other" {
			t.Fatalf("interactive login callback: %d to %q", r.status, r.header.Get("Location"))
		}
		rfFresh(t, rfWhoAmI(t, b, s, "/app2/api/whoami"), "X-Forwarded-Id-Token")
	})
}

func rfQuery(rawURL, name string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	return u.Query().Get(name)
}

// TestTokenEndpoint: GET /oauth2/token gives a logged-in page of the site the session's
// current tokens, refreshed first when they are about to expire; it never caches, refuses
// other sites, and includes the refresh token only when configured.
func TestTokenEndpoint(t *testing.T) {
	for _, withRefresh := range []bool{false, true} {
		t.Run(fmt.Sprintf("refresh_token=%v", withRefresh), func(t *testing.T) {
			s, b, w := rfLoggedIn(t, stack.Options{Configure: rfConfigure(func(cfg map[string]any) {
				cfg["endpoints"] = map[string]any{"token": true, "token_include_refresh_token": withRefresh}
			})})
			tokenURL := s.URL + "/oauth2/token"
			for _, h := range [][]string{
				{"Sec-Fetch-Site", "cross-site"},
				{"Sec-Fetch-Site", "same-site"},
				{"Origin", "https://evil.example"},
				{}, // no evidence of the origin at all
			} {
				r := b.get(tokenURL, append([]string{"Accept", "application/json", "Sec-Fetch-Mode", "cors"}, h...)...)
				if r.status != http.StatusForbidden || strings.Contains(r.body, "access_token") {
					t.Errorf("token endpoint with %v: %d %.200s, want 403", h, r.status, r.body)
				}
			}
			rfWaitPast(w)
			rfLongLived(s)
			before := s.OP.Counts().Refresh
			for _, h := range [][]string{{"Sec-Fetch-Site", "same-origin"}, {"Origin", s.URL}} {
				r := b.get(tokenURL, append([]string{"Accept", "application/json", "Sec-Fetch-Mode", "cors"}, h...)...)
				if r.status != http.StatusOK || r.header.Get("Cache-Control") != "no-store" {
					t.Fatalf("token endpoint with %v: %d Cache-Control %q: %.200s", h, r.status, r.header.Get("Cache-Control"), r.body)
				}
				var tok struct {
					AccessToken  string `json:"access_token"`
					IDToken      string `json:"id_token"`
					RefreshToken string `json:"refresh_token"`
					ExpiresAt    int64  `json:"expires_at"`
					IDExpiresAt  int64  `json:"id_token_expires_at"`
				}
				if err := json.Unmarshal([]byte(r.body), &tok); err != nil {
					t.Fatal(err)
				}
				now := time.Now().Unix()
				if tok.ExpiresAt <= now || tok.IDExpiresAt <= now {
					t.Errorf("token endpoint gave tokens expiring at %d and %d (now %d): not refreshed first", tok.ExpiresAt, tok.IDExpiresAt, now)
				}
				for name, raw := range map[string]string{"access token": tok.AccessToken, "ID token": tok.IDToken} {
					if err := rfVerify(s, raw); err != nil {
						t.Errorf("%s: %v", name, err)
					}
				}
				if (tok.RefreshToken != "") != withRefresh {
					t.Errorf("refresh token present=%v, want %v", tok.RefreshToken != "", withRefresh)
				}
				assertNoSecretsInLogs(t, s, tok.AccessToken, tok.IDToken, tok.RefreshToken)
			}
			if n := s.OP.Counts().Refresh - before; n != 1 {
				t.Errorf("refreshes: %d, want 1", n)
			}
			anon := newBrowser(t)
			if r := anon.get(tokenURL, "Accept", "application/json", "Sec-Fetch-Site", "same-origin"); r.status != http.StatusUnauthorized {
				t.Errorf("token endpoint without a session: %d, want 401", r.status)
			}
		})
	}
}

// rfVerify checks a raw token the way the demo app does: signature by a key the provider
// publishes, its issuer, and not expired.
func rfVerify(s *stack.Stack, raw string) error {
	req := httptest.NewRequest("GET", "/api/whoami", nil)
	req.Header.Set("X-Forwarded-Access-Token", raw)
	rec := httptest.NewRecorder()
	demoapp.Handler(demoapp.Config{Issuer: s.OP.Issuer(), Keys: s.OP.KeySet}).ServeHTTP(rec, req)
	var w demoapp.WhoAmI
	if err := json.Unmarshal(rec.Body.Bytes(), &w); err != nil {
		return err
	}
	ti := w.Tokens["X-Forwarded-Access-Token"]
	if ti == nil || !ti.Verified {
		return fmt.Errorf("does not verify: %+v", ti)
	}
	return nil
}

// TestTwoReplicasShareSessions: two proxies with the same key ring and nothing else in
// common (two Envoy processes on Envoy) serve one user: the login happens through the
// first, the session is used through the second, and after the tokens expire the second
// refreshes them, and the first then serves the refreshed session it never saw.
func TestTwoReplicasShareSessions(t *testing.T) {
	s := start(t, stack.Options{AccessTTL: rfTTL, IDTTL: rfTTL, RefreshTTL: time.Hour, Configure: rfConfigure()})
	// The replica starts first: the tokens of the login below live only rfTTL.
	replica := rfReplica(t, s)
	b, w := rfLogin(t, s)
	// Browsers send cookies by host, not port: the replica gets the first one's cookies, as
	// two replicas behind one load balancer would.
	other := func(path string) demoapp.WhoAmI {
		t.Helper()
		r := b.api(replica.URL + path)
		if r.status != http.StatusOK {
			t.Fatalf("GET %s through the replica: %d %.300s\n%s", path, r.status, r.body, replica.LogText())
		}
		var got demoapp.WhoAmI
		if err := json.Unmarshal([]byte(r.body), &got); err != nil {
			t.Fatal(err)
		}
		return got
	}
	first := other("/app2/api/whoami")
	if first.User.Subject != w.User.Subject || first.Tokens["X-Forwarded-Access-Token"].Raw != w.Tokens["X-Forwarded-Access-Token"].Raw {
		t.Fatalf("the replica served %q with another token; want the session of the login (%q)", first.User.Subject, w.User.Subject)
	}
	refreshesBefore := s.OP.Counts().Refresh
	rfWaitPast(w)
	after := other("/app2/api/whoami")
	rfFresh(t, after, "X-Forwarded-Access-Token")
	rfFresh(t, after, "X-Forwarded-Id-Token")
	if after.Tokens["X-Forwarded-Access-Token"].Raw == w.Tokens["X-Forwarded-Access-Token"].Raw {
		t.Fatal("the replica forwarded the expired access token")
	}
	if got := s.OP.Counts().Refresh - refreshesBefore; got != 1 {
		t.Errorf("%d refreshes at the provider, want 1 (by the replica)", got)
	}
	// The first proxy now gets the refreshed cookie and serves it without refreshing again.
	back := rfWhoAmI(t, b, s, "/app1/api/whoami")
	if back.Tokens["X-Forwarded-Access-Token"].Raw != after.Tokens["X-Forwarded-Access-Token"].Raw {
		t.Error("the first proxy did not serve the session the replica refreshed")
	}
	if got := s.OP.Counts().Refresh - refreshesBefore; got != 1 {
		t.Errorf("%d refreshes after returning to the first proxy, want still 1", got)
	}
}

// rfReplica starts another proxy with s's configuration and waits until it serves.
func rfReplica(t *testing.T, s *stack.Stack) *proxy.Proxy {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	replica, err := s.StartReplica(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for probe := newBrowser(t); probe.get(replica.URL+"/").status != http.StatusFound; time.Sleep(100 * time.Millisecond) {
		if ctx.Err() != nil {
			t.Fatalf("the replica did not become ready\n%s", replica.LogText())
		}
	}
	return replica
}

// rfLogin logs a new browser in at /app1/ and returns it with what app 1 saw.
func rfLogin(t *testing.T, s *stack.Stack) (*browser, demoapp.WhoAmI) {
	t.Helper()
	b := newBrowser(t)
	if _, final := b.login(s, "/app1/"); final.status != http.StatusFound {
		t.Fatalf("login: %d %.300s\n%s", final.status, final.body, logText(s))
	}
	return b, rfWhoAmI(t, b, s, "/app1/api/whoami")
}
