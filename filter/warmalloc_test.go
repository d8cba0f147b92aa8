//go:build !wasip1

package filter

import (
	"io"
	"log"
	"runtime"
	"strings"
	"testing"
)

// The warm paths allocate nothing in the plugin's own code but the request's context (the
// httpContext the SDK asks for on every request): a warm session and a cached bearer token
// cost the plugin exactly what the pass-through path does. The SDK's copy of the request
// headers, and the emulator's own work (its copies of the headers, of every header written),
// are not the plugin's and are not counted. Each allocation of the plugin in wasm is heap the
// Go collector has to catch up with, in proportion to what the caches hold.
func TestWarmPathsAllocateOnlyTheContext(t *testing.T) {
	fx, err := benchFixture()
	if err != nil {
		t.Fatal(err)
	}
	out := log.Writer()
	log.SetOutput(io.Discard)
	defer log.SetOutput(out)
	got := map[string]float64{}
	for _, sc := range fx.Scenarios() {
		switch sc.Name {
		case "pass-through", "session-warm", "bearer-RS256-hit":
		default:
			continue
		}
		t.Run(sc.Name, func(t *testing.T) {
			nh := newNativeHost(t, fx, sc)
			for _, r := range fx.FillRequests(sc.Fill) {
				nh.run(t, r, nil)
			}
			req := sc.Prepare(1)(0)
			if r := nh.run(t, req, sc.Answer); !r.forwarded {
				t.Fatalf("not forwarded: %d", r.status)
			}
			const n = 200
			sites := pluginAllocs(func() {
				for range n {
					nh.run(t, req, sc.Answer)
				}
			})
			total := 0
			for site, c := range sites {
				total += c
				t.Logf("%s: %.2f per request", site, float64(c)/n)
			}
			got[sc.Name] = float64(total) / n
		})
	}
	if got["pass-through"] != 1 {
		t.Errorf("pass-through: %.2f allocations per request in the plugin's code, want 1 (the context)", got["pass-through"])
	}
	for _, name := range []string{"session-warm", "bearer-RS256-hit"} {
		if got[name] != got["pass-through"] {
			t.Errorf("%s: %.2f allocations per request in the plugin's code, pass-through %.2f", name, got[name], got["pass-through"])
		}
	}
}

// pluginAllocs runs f with every allocation profiled and counts, per allocating function,
// those made by this module's code: the innermost frame outside the Go runtime and standard
// library is this module's, and not the test's harness (nativeHost, the fixture).
func pluginAllocs(f func()) map[string]int {
	old := runtime.MemProfileRate
	runtime.MemProfileRate = 1
	defer func() { runtime.MemProfileRate = old }()
	snapshot := func() map[[32]uintptr]int64 {
		runtime.GC()
		runtime.GC() // the profile is published up to two cycles late
		var recs []runtime.MemProfileRecord
		n, _ := runtime.MemProfile(nil, true)
		for {
			recs = make([]runtime.MemProfileRecord, n+50)
			var ok bool
			if n, ok = runtime.MemProfile(recs, true); ok {
				break
			}
		}
		m := map[[32]uintptr]int64{}
		for _, r := range recs[:n] {
			m[r.Stack0] += r.AllocObjects
		}
		return m
	}
	before := snapshot()
	f()
	after := snapshot()
	const self = "github.com/oidc-proxy-wasm/oidc-proxy-wasm/"
	sites := map[string]int{}
	for stack, c := range after {
		d := c - before[stack]
		if d <= 0 {
			continue
		}
		frames := runtime.CallersFrames(stack[:])
		for {
			fr, more := frames.Next()
			name := fr.Function
			if i := strings.Index(name, "/"); i > 0 && strings.Contains(name[:i], ".") {
				// The first frame outside the standard library decides.
				if strings.HasPrefix(name, self) && !strings.Contains(name, "nativeHost") &&
					!strings.Contains(name, "filterbench") && !strings.Contains(name, ".Test") && !strings.Contains(name, "pluginAllocs") {
					sites[name] += int(d)
				}
				break
			}
			if !more {
				break
			}
		}
	}
	return sites
}
