package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/op"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/proxy"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/replicas"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/stack"
)

// The store (config store, filter/store.go) with a real etcd, two replicas of the plugin in
// the proxy of this run ($E2E_PROXY). e2e/replicas runs the same with two and three Envoys
// behind a real balancer; these are the quick checks of each package test run.

// startEtcd starts a real etcd (e2e/replicas.StartEtcd) for the test; the test skips when etcd
// is not installed (scripts/ensure-etcd.sh, which make test runs first).
func startEtcd(t testing.TB) *replicas.Etcd {
	t.Helper()
	if _, err := replicas.EtcdBinary(); err != nil {
		t.Skip(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e, err := replicas.StartEtcd(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

// restartEtcd starts a killed etcd again; wiped, without its data.
func restartEtcd(t testing.TB, e *replicas.Etcd, wipe bool) {
	t.Helper()
	if wipe {
		if err := e.Wipe(); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
}

// storeStack starts the stack with a store (prefix unique to the test) and a second replica.
func storeStack(t *testing.T, etcdURL string, o stack.Options) (*stack.Stack, *proxy.Proxy) {
	t.Helper()
	o.Clusters = map[string]string{"etcd": etcdURL}
	configure := o.Configure
	o.Configure = func(cfg map[string]any) {
		cfg["store"] = map[string]any{"kind": "etcd", "cluster": "etcd", "prefix": "e2e/" + t.Name() + "/",
			"timeout": "500ms", "poll_interval": "100ms"}
		if configure != nil {
			configure(cfg)
		}
	}
	s := start(t, o)
	rp := rfReplica(t, s)
	return s, rp
}

// storeShort is the token lifetime of sessions that need a refresh a second after login.
const storeShort = 2 * time.Second

// storeRefreshOptions: a provider that rotates refresh tokens and revokes the grant on reuse,
// tokens of storeShort whose refresh margin (capped at half the lifetime) starts a second in.
func storeRefreshOptions() stack.Options {
	return stack.Options{
		VMs: 2, AccessTTL: storeShort, IDTTL: storeShort,
		OP:        func(c *op.Config) { c.RevokeFamilyOnRefreshReuse = true },
		Configure: func(cfg map[string]any) { cfg["session"] = map[string]any{"refresh_margin": "30s"} },
	}
}

// storeLoginDue logs a new browser in with tokens of storeShort and waits until they are due
// for a refresh; tokens issued from then on live long.
func storeLoginDue(t *testing.T, s *stack.Stack) *browser {
	t.Helper()
	s.OP.SetLifetimes(storeShort, storeShort, 0)
	b := newBrowser(t)
	if _, final := b.login(s, "/app1/"); final.status != http.StatusFound {
		t.Fatalf("login: %d %.300s\n%s", final.status, final.body, logText(s))
	}
	s.OP.SetLifetimes(2*time.Minute, 2*time.Minute, 0)
	time.Sleep(storeShort/2 + 100*time.Millisecond)
	return b
}

// TestStoreOneRefreshAcrossReplicas: 20 parallel requests of one session spread over two
// replicas just when its access token needs refreshing reach the provider (which rotates
// refresh tokens and revokes the grant on reuse) once, and all get the refreshed token.
func TestStoreOneRefreshAcrossReplicas(t *testing.T) {
	e := startEtcd(t)
	s, rp := storeStack(t, e.URL, storeRefreshOptions())
	for round := range 5 {
		b := storeLoginDue(t, s)
		before := s.OP.Counts()
		results := rfFetchSpread(b, []string{s.URL, rp.URL}, "/api/whoami", 20)
		after := s.OP.Counts()
		if n, reuse := after.Refresh-before.Refresh, after.RefreshReuse-before.RefreshReuse; n != 1 || reuse != 0 {
			t.Fatalf("round %d: %d refreshes and %d reuses at the provider; want 1 and 0\n%s", round, n, reuse, logText(s))
		}
		rfCheckOneFresh(t, fmt.Sprintf("round %d", round), results, storeShort)
	}
	sum := func(name string) int64 {
		a, _ := s.Metric(name)
		b, _ := rp.Metric(name)
		return a + b
	}
	if n := sum("oidc_proxy.store.fallback"); n != 0 {
		t.Errorf("oidc_proxy.store.fallback = %d with the store up", n)
	}
	// Both replicas needed the refresh each round: one ran it, the other took its result.
	if led, took := sum("oidc_proxy.store.refresh_led"), sum("oidc_proxy.refresh.waited_replica"); led != 5 || took < 5 {
		t.Errorf("store.refresh_led %d, refresh.waited_replica %d over 5 rounds; want 5 and at least 5", led, took)
	}
}

// TestStoreSignOutOnEveryReplica: a sign-out through one replica refuses the copied cookie
// on the other within a second; a login state used on one replica is refused on the other.
func TestStoreSignOutOnEveryReplica(t *testing.T) {
	e := startEtcd(t)
	s, rp := storeStack(t, e.URL, stack.Options{VMs: 2})
	replica := rp.URL
	b := newBrowser(t)
	callback, final := b.login(s, "/app1/")
	if final.status != http.StatusFound {
		t.Fatalf("login: %d %.300s", final.status, final.body)
	}
	// The callback again, on the other replica (its per-Envoy guard never saw it).
	other := strings.Replace(callback, s.URL, replica, 1)
	if r := newBrowserWithCookies(t, b, s).get(other); r.status != http.StatusBadRequest || !strings.Contains(r.body, "already used") {
		t.Errorf("the callback replayed on the other replica: %d %.200s; want 400 already used", r.status, r.body)
	}
	thief := newBrowserWithCookies(t, b, s)
	if r := thief.api(replica + "/api/whoami"); r.status != http.StatusOK {
		t.Fatalf("the copied cookie on the replica before sign-out: %d", r.status)
	}
	if r := b.get(s.URL + "/oauth2/sign_out"); r.status != http.StatusFound {
		t.Fatalf("sign-out: %d %.200s", r.status, r.body)
	}
	signedOut := time.Now()
	for {
		r := thief.api(replica + "/api/whoami")
		if r.status == http.StatusUnauthorized {
			t.Logf("refused on the other replica %v after the sign-out", time.Since(signedOut).Round(time.Millisecond))
			break
		}
		if time.Since(signedOut) > 1500*time.Millisecond {
			var m []string
			for _, n := range []string{"ok", "error", "fallback", "deny_received"} {
				a, _ := s.Metric("oidc_proxy.store." + n)
				b, _ := rp.Metric("oidc_proxy.store." + n)
				m = append(m, fmt.Sprintf("%s %d/%d", n, a, b))
			}
			resp, _ := http.Post(e.URL+"/v3/kv/range", "application/json", strings.NewReader(`{"key":"ZTJlLw==","range_end":"ZTJlMA=="}`))
			dump, _ := io.ReadAll(resp.Body)
			t.Fatalf("the copied cookie still opens on the other replica %v after sign-out: %d; store metrics (this/other) %v\n%s\n%s", time.Since(signedOut), r.status, m, dump, logText(s)+rp.LogText())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestStoreReplaced: after etcd is replaced by an empty one (its revisions start again), a
// sign-out still reaches the other replica.
func TestStoreReplaced(t *testing.T) {
	e := startEtcd(t)
	s, rp := storeStack(t, e.URL, stack.Options{VMs: 2})
	signOut := func(round string) {
		t.Helper()
		b := newBrowser(t)
		if _, final := b.login(s, "/app1/"); final.status != http.StatusFound {
			t.Fatalf("%s: login: %d %.300s", round, final.status, final.body)
		}
		thief := newBrowserWithCookies(t, b, s)
		if r := b.get(s.URL + "/oauth2/sign_out"); r.status != http.StatusFound {
			t.Fatalf("%s: sign-out: %d", round, r.status)
		}
		for start := time.Now(); thief.api(rp.URL+"/api/whoami").status != http.StatusUnauthorized; time.Sleep(20 * time.Millisecond) {
			if time.Since(start) > 3*time.Second {
				t.Fatalf("%s: the copied cookie still opens on the other replica 3 s after sign-out\n%s", round, rp.LogText())
			}
		}
	}
	for i := range 3 { // the deny poll's revision moves well past what a new etcd starts at
		signOut(fmt.Sprintf("before, %d", i))
	}
	e.Kill()
	restartEtcd(t, e, true)
	time.Sleep(3 * time.Second) // past the store's backoff after the failed polls
	signOut("after")
}

// slowEtcd is e behind a proxy that holds each answer for delay(path) after etcd gave it.
func slowEtcd(t *testing.T, e *replicas.Etcd, delay func(path string) time.Duration) string {
	t.Helper()
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		resp, err := http.Post(e.URL+r.URL.Path, "application/json", bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		answer, _ := io.ReadAll(resp.Body)
		time.Sleep(delay(r.URL.Path))
		w.WriteHeader(resp.StatusCode)
		w.Write(answer)
	}))
	t.Cleanup(slow.Close)
	return slow.URL
}

// TestStoreLeaseOutlivesRequest: two callbacks wait for the same lease grant; the request
// that caused the grant goes away before etcd answers; the other still completes. (The grant
// was sent from the first request's context, whose answer the SDK drops with it: the second
// waited for ever.)
func TestStoreLeaseOutlivesRequest(t *testing.T) {
	e := startEtcd(t)
	slow := slowEtcd(t, e, func(path string) time.Duration {
		if path == "/v3/lease/grant" {
			return 400 * time.Millisecond // within store.timeout (500 ms)
		}
		return 0
	})
	s := start(t, stack.Options{VMs: 1, Clusters: map[string]string{"etcd": slow}, Configure: func(cfg map[string]any) {
		cfg["store"] = map[string]any{"kind": "etcd", "cluster": "etcd", "prefix": "e2e/" + t.Name() + "/", "timeout": "500ms"}
	}})
	a, b := newBrowser(t), newBrowser(t)
	cbA := providerLogin(t, s, a.authorize(s, "/app1/"))
	cbB := providerLogin(t, s, b.authorize(s, "/app1/"))
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	go func() { // the first callback's browser gives up while the lease is being granted
		req, _ := http.NewRequestWithContext(ctx, "GET", cbA, nil)
		if resp, err := a.c.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	time.Sleep(50 * time.Millisecond)
	if r := b.get(cbB); r.status != http.StatusFound || !setsSession(r) {
		t.Fatalf("the second callback: %d, session set %v; body %.300s\n%s", r.status, setsSession(r), r.body, logText(s))
	}
}

// TestStoreSlowClaim: a replica whose claim of a refresh times out (etcd applied it but
// answered late) refreshes alone, and still puts its result in the store: the other replica,
// which found that claim there, takes the result instead of refreshing with the spent token.
func TestStoreSlowClaim(t *testing.T) {
	e := startEtcd(t)
	var txns atomic.Int32
	slow := slowEtcd(t, e, func(path string) time.Duration {
		if path == "/v3/kv/txn" && txns.Add(1) == 2 { // the first refresh's claim (the login's state is the first)
			return time.Second // past store.timeout (500 ms)
		}
		return 0
	})
	s, rp := storeStack(t, slow, storeRefreshOptions())
	b := storeLoginDue(t, s)
	before := s.OP.Counts()
	first := make(chan response, 1)
	go func() { first <- newBrowserWithCookies(t, b, s).api(s.URL + "/api/whoami") }()
	time.Sleep(200 * time.Millisecond) // the first replica's claim is in etcd, its answer late
	second := newBrowserWithCookies(t, b, s).api(rp.URL + "/api/whoami")
	if r := <-first; r.status != http.StatusOK {
		t.Fatalf("the request whose claim timed out: %d %.200s", r.status, r.body)
	}
	if second.status != http.StatusOK {
		t.Fatalf("the other replica's request: %d %.200s\n%s", second.status, second.body, rp.LogText())
	}
	if c := s.OP.Counts(); c.Refresh-before.Refresh != 1 || c.RefreshReuse != before.RefreshReuse {
		t.Fatalf("%d refreshes, %d reuses at the provider; want 1 and 0", c.Refresh-before.Refresh, c.RefreshReuse-before.RefreshReuse)
	}
}

// TestStoreDownNobodySignedOut: with the store stopped, refreshes go ahead per Envoy, the
// fallback is counted, and when it is back it is used again.
func TestStoreDownNobodySignedOut(t *testing.T) {
	e := startEtcd(t)
	s, _ := storeStack(t, e.URL, storeRefreshOptions())
	e.Kill()
	b := storeLoginDue(t, s) // the login too, with the store down
	before := s.OP.Counts()
	results := rfFetchAll(b, s, "/api/whoami", 20)
	if n := s.OP.Counts().Refresh - before.Refresh; n != 1 {
		t.Errorf("%d refreshes with the store down; want 1 (per-Envoy single flight)", n)
	}
	rfCheckOneFresh(t, "store down", results, storeShort)
	if n, _ := s.Metric("oidc_proxy.store.fallback"); n == 0 {
		t.Errorf("oidc_proxy.store.fallback = 0 with the store down\n%s", logText(s))
	}
	if !strings.Contains(logText(s), "store unavailable") {
		t.Error("no 'store unavailable' log line")
	}
	restartEtcd(t, e, false)
	ok, _ := s.Metric("oidc_proxy.store.ok")
	deadline := time.Now().Add(10 * time.Second)
	for {
		if n, _ := s.Metric("oidc_proxy.store.ok"); n > ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the store is not used again after it came back")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// newBrowserWithCookies is a new browser holding a copy of b's cookies for s.
func newBrowserWithCookies(t *testing.T, b *browser, s *stack.Stack) *browser {
	u, _ := url.Parse(s.URL)
	c := newBrowser(t)
	c.jar.SetCookies(u, b.jar.Cookies(u))
	return c
}
