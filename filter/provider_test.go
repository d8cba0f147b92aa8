package filter

import (
	"strings"
	"testing"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/proxytest"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

// TestPluginStartSendsNoCallout: Envoy destroys the VM it checks a configuration with right
// after OnPluginStart, cancelling that VM's callouts; a fetch sent there held the shared fetch
// lease, and every other VM waited for it to expire. The first fetch goes out on the first
// tick, which comes at once.
func TestPluginStartSendsNoCallout(t *testing.T) {
	vm := &lhVM{}
	host, reset := proxytest.NewHostEmulator(proxytest.NewEmulatorOption().WithVMContext(vm).WithPluginConfiguration(lhConfig(t, nil)))
	defer reset()
	if st := host.StartPlugin(); st != types.OnPluginStartStatusOK {
		t.Fatalf("plugin start: %v", st)
	}
	if cs := host.GetCalloutAttributesFromContext(proxytest.PluginContextID); len(cs) != 0 {
		t.Fatalf("OnPluginStart sent %d callout(s); the first fetch belongs to the first tick", len(cs))
	}
	if got := host.GetTickPeriod(); got != uint32(firstTickPeriod/time.Millisecond) {
		t.Errorf("tick period after start %d ms, want %d", got, firstTickPeriod/time.Millisecond)
	}
	host.Tick()
	cs := host.GetCalloutAttributesFromContext(proxytest.PluginContextID)
	if len(cs) != 1 || lhHeader(cs[0].Headers, ":path") != "/.well-known/openid-configuration" {
		t.Fatalf("first tick: %d callouts, want discovery", len(cs))
	}
	if got := host.GetTickPeriod(); got != uint32(firstTickPeriod/time.Millisecond) {
		t.Errorf("tick period after the first tick %d ms, want %d (the bearer issuers' fetch is next)", got, firstTickPeriod/time.Millisecond)
	}
	host.Tick()
	if got := host.GetTickPeriod(); got != uint32(tickPeriod/time.Millisecond) {
		t.Errorf("tick period after the second tick %d ms, want %d", got, tickPeriod/time.Millisecond)
	}
}

func TestProviderStartupThenReady(t *testing.T) {
	l := newLH(t, nil)
	// Until discovery and the keys are in, logins get 503 with Retry-After, not a hang.
	r := l.navigate("/")
	if r.status() != 503 || r.header("retry-after") == "" || r.header("x-correlation-id") == "" {
		t.Fatalf("before metadata: %d retry-after %q", r.status(), r.header("retry-after"))
	}
	l.answer(l.expectCallout("/.well-known/openid-configuration"), "200", "application/json", l.discoveryJSON())
	c := l.expectCallout("/jwks")
	if got := lhHeader(c.Headers, ":authority"); got != "op.example.com" {
		t.Errorf("JWKS callout :authority %q", got)
	}
	if r := l.navigate("/"); r.status() != 503 {
		t.Errorf("metadata without keys: %d, want 503", r.status())
	}
	l.answer(c, "200", "application/json", l.jwksJSON())
	if r := l.navigate("/"); r.status() != 302 || !strings.HasPrefix(r.header("location"), lhIssuer+"/authorize?") {
		t.Errorf("ready: %d %q", r.status(), r.header("location"))
	}
	// Nothing more is fetched until the refresh interval.
	l.host.Tick()
	if cs := l.rootCallouts(); len(cs) != 0 {
		t.Errorf("%d callouts on a tick with fresh metadata", len(cs))
	}
	if got := l.counter("oidc_proxy.callout.discovery.ok"); got != 1 {
		t.Errorf("callout.discovery.ok = %d", got)
	}
}

func TestProviderFailureBacksOffForEveryVM(t *testing.T) {
	l := newLH(t, nil)
	pr := l.p.provider
	l.answer(l.expectCallout("/.well-known/openid-configuration"), "500", "text/plain", "oops")
	if got := l.counter("oidc_proxy.callout.discovery.http_5xx"); got != 1 {
		t.Errorf("callout.discovery.http_5xx = %d", got)
	}
	if !strings.Contains(pr.notReadyReason(), "HTTP 500") {
		t.Errorf("not-ready reason %q", pr.notReadyReason())
	}
	now := time.Now()
	until, backoff := readLease(pr.discovery.lease())
	if backoff != minBackoff || until.Before(now) || until.After(now.Add(minBackoff+time.Second)) {
		t.Fatalf("lease after a failure: until %v (now %v), backoff %v", until, now, backoff)
	}
	// Within the backoff neither this VM nor another fetches.
	pr.tick(now)
	other := newProvider(l.p.cfg, l.p.metrics, l.p.contextID)
	other.tick(now)
	if cs := l.rootCallouts(); len(cs) != 0 {
		t.Fatalf("%d fetches within the backoff", len(cs))
	}
	// The other VM, which fetched nothing itself, gives the same reason (in Envoy the VM
	// that fetched is often the main thread's, which serves no request).
	if got := other.notReadyReason(); !strings.Contains(got, "HTTP 500") {
		t.Errorf("another VM's not-ready reason %q, want the failure another VM recorded", got)
	}
	// After it, one VM fetches; a second failure doubles the backoff, shared.
	other.tick(now.Add(minBackoff + 10*time.Millisecond))
	pr.tick(now.Add(minBackoff + 10*time.Millisecond))
	c := l.expectCallout("/.well-known/openid-configuration")
	l.answer(c, "200", "text/html", "<html>maintenance</html>")
	if _, b := readLease(pr.discovery.lease()); b != 2*minBackoff {
		t.Errorf("backoff after the second failure: %v, want %v", b, 2*minBackoff)
	}
	if got := l.counter("oidc_proxy.callout.discovery.invalid"); got != 1 {
		t.Errorf("callout.discovery.invalid = %d", got)
	}
	// Recovery: the lease is released and the backoff forgotten.
	pr.tick(time.Now().Add(time.Minute))
	l.answer(l.expectCallout("/.well-known/openid-configuration"), "200", "application/json", l.discoveryJSON())
	l.answer(l.expectCallout("/jwks"), "200", "application/json", l.jwksJSON())
	if !pr.ready() {
		t.Fatalf("not ready after recovery: %s", pr.notReadyReason())
	}
	if until, b := readLease(pr.discovery.lease()); !until.IsZero() || b != 0 {
		t.Errorf("lease after success: until %v backoff %v, want released", until, b)
	}
	if r := leaseReason(pr.discovery.lease()); r != "" {
		t.Errorf("lease after success still says %q", r)
	}
}

// TestProviderSharedAcrossVMs: a second VM takes what the first published instead of
// fetching, on its tick or when a request needs it.
func TestProviderSharedAcrossVMs(t *testing.T) {
	l := newLH(t, nil)
	l.ready()
	other := newProvider(l.p.cfg, l.p.metrics, l.p.contextID)
	if !other.readyNow(time.Now()) {
		t.Fatalf("a second VM is not ready from shared data: %s", other.notReadyReason())
	}
	third := newProvider(l.p.cfg, l.p.metrics, l.p.contextID)
	third.tick(time.Now())
	if !third.ready() {
		t.Fatalf("a third VM's tick did not adopt shared data")
	}
	if cs := l.rootCallouts(); len(cs) != 0 {
		t.Errorf("%d fetches by VMs that could share", len(cs))
	}
}

// TestJWKSRefetchRateLimited: an unknown kid asks for one refetch, sent by the next tick from
// the root context; more unknown kids within the interval, on any VM, are refused at once.
func TestJWKSRefetchRateLimited(t *testing.T) {
	l := newLH(t, nil)
	l.ready()
	pr := l.p.provider
	req := l.host.InitializeHttpContext()
	var woke []error
	pr.refetch(time.Now(), req, func(err error) { woke = append(woke, err) })
	if len(woke) != 0 || !pr.refetchWanted {
		t.Fatalf("the refetch did not wait for the tick: woke %v", woke)
	}
	if cs := l.rootCallouts(); len(cs) != 0 {
		t.Fatalf("the refetch was sent from the request's context")
	}
	// A second request while the refetch is pending waits for the same fetch.
	req2 := l.host.InitializeHttpContext()
	pr.refetch(time.Now(), req2, func(err error) { woke = append(woke, err) })
	l.host.Tick()
	l.answer(l.expectCallout("/jwks"), "200", "application/json", l.jwksJSON())
	if len(woke) != 2 || woke[0] != nil || woke[1] != nil {
		t.Fatalf("waiters woken with %v, want two nil", woke)
	}

	// Within the interval: refused at once, on this VM and on another.
	woke = nil
	pr.refetch(time.Now(), req, func(err error) { woke = append(woke, err) })
	other := newProvider(l.p.cfg, l.p.metrics, l.p.contextID)
	other.readyNow(time.Now())
	other.refetch(time.Now(), req2, func(err error) { woke = append(woke, err) })
	l.host.Tick()
	other.tick(time.Now())
	if len(woke) != 2 {
		t.Fatalf("%d waiters answered at once, want 2", len(woke))
	}
	if cs := l.rootCallouts(); len(cs) != 0 {
		t.Errorf("%d fetches within the refetch interval", len(cs))
	}
	if got := l.counter("oidc_proxy.jwks.refetch_limited"); got != 2 {
		t.Errorf("jwks.refetch_limited = %d, want 2", got)
	}
	// After the interval a refetch is allowed again, and a failed one counts too.
	later := time.Now().Add(31 * time.Second)
	pr.refetch(later, req, func(err error) { woke = append(woke, err) })
	pr.tick(later)
	l.answer(l.expectCallout("/jwks"), "503", "text/plain", "upstream connect error or disconnect/reset before headers. reset reason: connection failure")
	if last := woke[len(woke)-1]; last == nil || !strings.Contains(last.Error(), "unreachable") {
		t.Errorf("waiter of a failed refetch got %v", last)
	}
	n := len(woke)
	pr.refetch(later.Add(time.Second), req, func(err error) { woke = append(woke, err) })
	if len(woke) != n+1 || pr.refetchWanted {
		t.Errorf("a refetch right after a failed one was not refused")
	}
}

// TestJWKSWaiterOfAGoneRequest: a request that went away while waiting is skipped.
func TestJWKSWaiterOfAGoneRequest(t *testing.T) {
	l := newLH(t, nil)
	l.ready()
	pr := l.p.provider
	gone := l.host.InitializeHttpContext()
	l.host.CompleteHttpContext(gone)
	pr.refetch(time.Now(), gone, func(error) {})
	l.host.Tick()
	l.answer(l.expectCallout("/jwks"), "200", "application/json", l.jwksJSON())
	// proxytest accepts any effective context, so this only checks the provider is not stuck.
	if pr.jwks.busy || pr.refetchWanted || len(pr.waiters) != 0 {
		t.Errorf("provider stuck after a waiter went away: busy %v wanted %v waiters %d", pr.jwks.busy, pr.refetchWanted, len(pr.waiters))
	}
}

func TestClaimInterval(t *testing.T) {
	newLH(t, nil) // for shared data
	now := time.Now()
	if !claimInterval("k", now, time.Minute) {
		t.Fatal("first claim refused")
	}
	if claimInterval("k", now.Add(30*time.Second), time.Minute) {
		t.Error("claim within the interval granted")
	}
	if !claimInterval("k", now.Add(61*time.Second), time.Minute) {
		t.Error("claim after the interval refused")
	}
	_, cas, _ := proxywasm.GetSharedData("k")
	if err := proxywasm.SetSharedData("k", []byte("junk"), cas); err != nil {
		t.Fatal(err)
	}
	if !claimInterval("k", now.Add(62*time.Second), time.Minute) {
		t.Error("claim over a malformed value refused")
	}
}
