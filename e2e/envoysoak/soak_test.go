package envoysoak

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/internal/testplugin"
)

// TestEnvoySoak sends 100,000 mixed requests (SOAK_REQUESTS) through plugin.wasm in real
// Envoy from 4 clients (make soak; skipped unless SOAK=1): the mix of Soak. Every answer
// must be the expected one, and Envoy's resident memory after 100,000 requests must be
// within a tenth of what it was after 10,000, once the caches have filled. As in the host's
// soak (e2e/soak_test.go), the session cache is bounded at 500 entries, so it is full early
// and flat memory is visible within the run (SOAK_SESSION_CACHE=0 keeps the plugin's default).
func TestEnvoySoak(t *testing.T) {
	if os.Getenv("SOAK") == "" {
		t.Skip("set SOAK=1 (make soak) to run the 100,000-request soak through Envoy")
	}
	total := int64(100_000)
	if v, err := strconv.ParseInt(os.Getenv("SOAK_REQUESTS"), 10, 64); err == nil && v >= 10_000 {
		total = v
	}
	cache := 500
	if v, err := strconv.Atoi(os.Getenv("SOAK_SESSION_CACHE")); err == nil && v >= 0 {
		cache = v // 0: the plugin's default (10,000 entries and the cache's byte bound)
	}
	wasm := testplugin.Path(t)
	rig, err := NewRig(Options{WasmPath: wasm, SessionCacheSize: cache})
	if err != nil {
		t.Fatal(err)
	}
	defer rig.Close()
	rep := newReport(t, "SOAK_OUT", ".cache/soak-envoy/report.md")
	environment(rep, wasm)
	ctx := timeout(t, 14*time.Minute)
	e, st, err := rig.StartEnvoy(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := e.Close(); err != nil {
			t.Error(err)
		}
	}()
	before, _ := pluginErrors(e) // the bearer route's 503s while its keys were not fetched yet
	sk, err := rig.NewSoak(ctx, e.URL)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ReadMemory(e.PID())
	if err != nil {
		t.Fatal(err)
	}
	cacheNote := fmt.Sprint("session.cache_size ", cache)
	if cache == 0 {
		cacheNote = "session.cache_size default (10,000, and 8 MiB per VM)"
	}
	rep.line("- Envoy pid %d, plugin serving %s after exec, bearer route %s; %s, jwt.leeway 5m; 4 clients", e.PID(), ms(st.Serving), ms(st.Bearer), cacheNote)
	rep.line("")
	rep.line("| requests | failed | elapsed | req/s (this step) | Envoy VmRSS | vs 10k |")
	rep.line("|--:|--:|--:|--:|--:|--:|")
	rep.line("| 0 (after 1 login, 100 sessions minted) | 0 | 0 s | | %s | |", MiB(m.RSS))
	start := time.Now()
	var at10k uint64
	var last uint64
	prevDone, prevT := int64(0), start
	for step := int64(10_000); step <= total; step += 10_000 {
		if err := sk.Run(ctx, step, 4); err != nil {
			t.Fatalf("at %d requests: %v", sk.Done(), err)
		}
		m, err := ReadMemory(e.PID())
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		rate := float64(sk.Done()-prevDone) / now.Sub(prevT).Seconds()
		prevDone, prevT = sk.Done(), now
		if at10k == 0 {
			at10k = m.RSS
		}
		last = m.RSS
		t.Logf("soak: %d requests, %d failed, %s: VmRSS %s (HWM %s)", sk.Done(), sk.Failed(), now.Sub(start).Round(time.Second), MiB(m.RSS), MiB(m.HWM))
		rep.line("| %d | %d | %s | %.0f | %s | %+.1f%% |", sk.Done(), sk.Failed(), now.Sub(start).Round(time.Second), rate,
			MiB(m.RSS), 100*(float64(m.RSS)/float64(at10k)-1))
		if e.Exited() {
			t.Fatalf("Envoy ended during the soak:\n%s", e.Log())
		}
	}
	nerr, first := pluginErrors(e)
	mh, _ := ReadMemory(e.PID())
	rep.line("")
	rep.line("- mix: %s", sk.Mix())
	rep.line("- failures: %d of %d; first: %v", sk.Failed(), sk.Done(), sk.Failures())
	rep.line("- Envoy VmHWM (peak) at the end: %s", MiB(mh.HWM))
	rep.line("- plugin metrics: %s", metrics(e, "session.cache_hit", "session.cache_miss", "bearer.cache_hit", "bearer.cache_miss",
		"bearer.accepted", "bearer.rejected.signature", "login.started", "login.succeeded"))
	rep.line("- plugin warning/error log lines: %d before the soak (start-up), %d during it; first: %v", before, nerr-before, first)
	rep.line("- load average at end: %s", loadavg())
	rep.write()
	if n := sk.Failed(); n > 0 {
		t.Errorf("%d of %d requests got an unexpected answer; first: %v", n, sk.Done(), sk.Failures())
	}
	if last > at10k+at10k/10 {
		t.Errorf("Envoy's VmRSS grew from %s after 10,000 requests to %s after %d: more than 10%%", MiB(at10k), MiB(last), sk.Done())
	}
}
