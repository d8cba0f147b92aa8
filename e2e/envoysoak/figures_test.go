package envoysoak

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/envoy"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/envoyrig"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/internal/testplugin"
)

// TestEnvoyFigures measures (make bench; skipped unless ENVOY_FIGURES=1), with the plugin's
// configuration of `make run` (stack.PluginConfig) plus a bearer route:
//
//   - over ENVOY_FIGURES_STARTS starts (5), the time from Envoy's exec to admin /ready, to
//     the first protected navigation answered 302 to the provider, and to the first valid
//     bearer token accepted; and the same Envoy without the Wasm filter, once;
//   - Envoy's VmRSS without the plugin, with the plugin and no session, and after 10,000
//     distinct sessions sent once each (every one must be answered 200 by the demo app).
func TestEnvoyFigures(t *testing.T) {
	if os.Getenv("ENVOY_FIGURES") == "" {
		t.Skip("set ENVOY_FIGURES=1 (make bench) to measure the plugin in Envoy")
	}
	starts := 5
	if v, err := strconv.Atoi(os.Getenv("ENVOY_FIGURES_STARTS")); err == nil && v > 0 {
		starts = v
	}
	conc, _ := strconv.Atoi(os.Getenv("ENVOY_FIGURES_CONCURRENCY")) // Envoy's workers; 2 by default
	wasm := testplugin.Path(t)
	var logw io.Writer
	if p := os.Getenv("ENVOY_FIGURES_LOG"); p != "" { // Envoy's log of every start, for diagnosis
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		logw = f
	}
	rig, err := NewRig(Options{WasmPath: wasm, Concurrency: conc, LogWriter: logw})
	if err != nil {
		t.Fatal(err)
	}
	defer rig.Close()
	rep := newReport(t, "ENVOY_FIGURES_OUT", ".cache/bench-envoy/figures.md")
	environment(rep, wasm)
	ctx := timeout(t, 10*time.Minute)

	base, baseReady, err := rig.StartBaseline(ctx)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	mBase, err := ReadMemory(base.PID())
	if err != nil {
		t.Fatal(err)
	}
	if err := base.Close(); err != nil {
		t.Error(err)
	}
	t.Logf("without the plugin: ready %v, VmRSS %s", baseReady, MiB(mBase.RSS))

	var ready, serving, bearer, compile, baseWasm, cpu []time.Duration
	var notReady, bearerNotReady []string
	var e *envoy.Envoy
	for i := range starts {
		var st StartTimes
		if e, st, err = rig.StartEnvoy(ctx); err != nil {
			t.Fatalf("start %d: %v", i+1, err)
		}
		t.Logf("start %d: base Wasm %v, compile %v, CPU %v, ready %v, serving %v, bearer %v (503s before: %d navigation, %d bearer; other answers %v)",
			i+1, st.BaseWasm, st.Compile, st.CPU, st.Ready, st.Serving, st.Bearer, st.NotReady, st.BearerNotReady, st.Other)
		ready, serving, bearer = append(ready, st.Ready), append(serving, st.Serving), append(bearer, st.Bearer)
		compile, baseWasm, cpu = append(compile, st.Compile), append(baseWasm, st.BaseWasm), append(cpu, st.CPU)
		notReady, bearerNotReady = append(notReady, fmt.Sprint(st.NotReady)), append(bearerNotReady, fmt.Sprint(st.BearerNotReady))
		if len(st.Other) > 0 {
			t.Errorf("start %d: answers other than 503 before the plugin served: %v", i+1, st.Other)
		}
		if i < starts-1 {
			if err := e.Close(); err != nil {
				t.Error(err)
			}
		}
	}
	defer func() {
		if err := e.Close(); err != nil {
			t.Error(err)
		}
	}()

	// Memory: the last Envoy, once serving, with no session; then 10,000 distinct sessions.
	time.Sleep(2 * time.Second)
	m0, err := ReadMemory(e.PID())
	if err != nil {
		t.Fatal(err)
	}
	minter, _, err := rig.NewMinter(ctx, e.URL)
	if err != nil {
		t.Fatal(err)
	}
	const sessions = 10_000
	cookies := make([]string, sessions)
	for i := range cookies {
		if cookies[i], err = minter.Mint(fmt.Sprint("fig-", i)); err != nil {
			t.Fatal(err)
		}
	}
	var next, failed atomic.Int64
	var firstFail atomic.Value
	client := noRedirects()
	start := time.Now()
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := next.Add(1) - 1; j < sessions; j = next.Add(1) - 1 {
				status, loc, err := envoyrig.Navigate(ctx, client, e.URL+"/app1/figures", "Cookie", cookies[j])
				if err != nil || status != 200 {
					failed.Add(1)
					firstFail.CompareAndSwap(nil, fmt.Sprintf("%d %q %v", status, loc, err))
				}
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	time.Sleep(2 * time.Second)
	m10k, err := ReadMemory(e.PID())
	if err != nil {
		t.Fatal(err)
	}
	if n := failed.Load(); n > 0 {
		t.Errorf("%d of %d distinct sessions not answered 200; first: %v", n, sessions, firstFail.Load())
	}
	nerr, first := pluginErrors(e)
	rep.line("- load average at end: %s", loadavg())
	rep.line("")
	rep.line("| figure | value |")
	rep.line("|---|--:|")
	rep.line("| Envoy without the Wasm filter: exec -> admin `/ready` (one start) | %s |", ms(baseReady))
	rep.line("| exec -> Envoy's log \"Base Wasm created\" (Envoy's own start), median | %s |", ms(median(baseWasm)))
	rep.line("| then -> first \"Thread-Local Wasm created\" (V8 compiling plugin.wasm, the main thread's VM), median | %s |", ms(median(compile)))
	rep.line("| exec -> Envoy ready (admin `/ready` LIVE, listener bound), median of %d | **%s** |", starts, ms(median(ready)))
	rep.line("| exec -> plugin serving (first navigation answered 302 to the provider), median | **%s** |", ms(median(serving)))
	rep.line("| exec -> bearer route serving (first valid token answered 200), median | %s |", ms(median(bearer)))
	rep.line("| Envoy's CPU time (user + system) when the plugin first served, median | %s |", ms(median(cpu)))
	rep.line("| each start: ready / serving / bearer | %s |", perStart(ready, serving, bearer))
	rep.line("| 503s before serving, each start: navigation / bearer (polled every 5 ms) | %s / %s |", strings.Join(notReady, ", "), strings.Join(bearerNotReady, ", "))
	rep.line("| Envoy VmRSS without the Wasm filter | %s |", MiB(mBase.RSS))
	rep.line("| Envoy VmRSS, plugin serving, 0 sessions | **%s** |", MiB(m0.RSS))
	rep.line("| Envoy VmRSS after 10,000 distinct sessions (each sent once) | **%s** |", MiB(m10k.RSS))
	rep.line("| growth over the 10,000 sessions | %s (%.1f KiB per session) |", MiB(m10k.RSS-m0.RSS), float64(int64(m10k.RSS)-int64(m0.RSS))/sessions/1024)
	rep.line("| Envoy VmHWM (peak) after the sessions | %s |", MiB(m10k.HWM))
	rep.line("| 10,000 sessions from 4 clients: wall time, failures | %s (%.0f req/s), %d |", took.Round(time.Millisecond), sessions/took.Seconds(), failed.Load())
	rep.line("")
	rep.line("- plugin metrics: %s", metrics(e, "session.cache_miss", "session.cache_hit", "login.started", "login.succeeded"))
	rep.line("- plugin warning/error log lines: %d %v", nerr, first)
	rep.line("- %s", uptime())
	rep.write()
}

func perStart(ready, serving, bearer []time.Duration) string {
	var parts []string
	for i := range ready {
		parts = append(parts, ms(ready[i])+" / "+ms(serving[i])+" / "+ms(bearer[i]))
	}
	return strings.Join(parts, "; ")
}
