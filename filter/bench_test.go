//go:build !wasip1

package filter

import (
	"io"
	"log"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/proxytest"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/internal/filterbench"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/internal/noopplugin"
)

// The native half of `make bench`'s filter report: each scenario of internal/filterbench runs
// through the SDK's proxytest, the same way e2e/bench runs it through plugin.wasm in the e2e
// host. filter-ns/op is the time inside the calls into the filter (the emulator's own work on
// the host side of those calls included, as the wasm side includes the host functions), and
// filter-B/op and filter-allocs/op what the process allocated during them.

var benchFixture = sync.OnceValues(filterbench.New)

func BenchmarkFilter(b *testing.B) {
	fx, err := benchFixture()
	if err != nil {
		b.Fatal(err)
	}
	for _, sc := range fx.Scenarios() {
		b.Run(sc.Name, func(b *testing.B) { benchScenario(b, fx, sc) })
	}
}

func benchScenario(b *testing.B, fx *filterbench.Fixture, sc *filterbench.Scenario) {
	out := log.Writer()
	log.SetOutput(io.Discard) // proxytest logs every host log call and callout; Discard skips the formatting
	defer log.SetOutput(out)
	nh := newNativeHost(b, fx, sc)
	for _, r := range fx.FillRequests(sc.Fill) {
		nh.run(b, r, nil)
	}
	req := sc.Prepare(b.N)
	r := nh.run(b, req(0), sc.Answer)
	if err := sc.Want.Check(r.forwarded, r.status, r.callouts, r.upstream); err != nil {
		b.Fatalf("%s: %v", sc.Name, err)
	}
	before := nh.counter(sc.Want.Counter)
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	var inside time.Duration
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ResetTimer()
	cpu0 := filterbench.ThreadCPU()
	for i := 1; i <= b.N; i++ {
		inside += nh.run(b, req(i), sc.Answer).elapsed
	}
	cpu := filterbench.ThreadCPU() - cpu0
	b.StopTimer()
	runtime.ReadMemStats(&ms1)
	if got := nh.counter(sc.Want.Counter) - before; sc.Want.Counter != "" && got != uint64(b.N) {
		b.Fatalf("%s: %s grew by %d over %d requests", sc.Name, sc.Want.Counter, got, b.N)
	}
	b.ReportMetric(float64(inside.Nanoseconds())/float64(b.N), "filter-ns/op")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/float64(b.N), "filter-B/op")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(b.N), "filter-allocs/op")
}

// BenchmarkVMStart is the native side of e2e/bench's VM start: the plugin's configuration
// (proxy_on_vm_start, proxy_on_configure: the config parsed and validated, keys derived,
// metrics defined) in a fresh emulator.
func BenchmarkVMStart(b *testing.B) {
	fx, err := benchFixture()
	if err != nil {
		b.Fatal(err)
	}
	out := log.Writer()
	log.SetOutput(io.Discard)
	defer log.SetOutput(out)
	cfg := fx.Config()
	var total time.Duration
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		host, reset := proxytest.NewHostEmulator(proxytest.NewEmulatorOption().WithVMContext(NewVMContext()).WithPluginConfiguration(cfg))
		ok := host.StartVM() == types.OnVMStartStatusOK && host.StartPlugin() == types.OnPluginStartStatusOK
		total += time.Since(t0)
		reset()
		if !ok {
			b.Fatal("plugin did not start")
		}
	}
	b.ReportMetric(float64(total.Nanoseconds())/float64(b.N), "start-ns/op")
}

// nativeHost is a proxytest emulator running the filter (or the no-op plugin) with the
// provider's answers at hand.
type nativeHost struct {
	host     proxytest.HostEmulator
	fx       *filterbench.Fixture
	answered map[uint32]int // callouts answered, per context
}

type nativeResult struct {
	forwarded bool
	status    int
	callouts  int
	upstream  [][2]string
	elapsed   time.Duration
}

// newNativeHost starts the plugin and answers its provider fetches until they are done.
func newNativeHost(b testing.TB, fx *filterbench.Fixture, sc *filterbench.Scenario) *nativeHost {
	var vm types.VMContext = NewVMContext()
	if sc.Noop {
		vm = &noopplugin.VM{} // the native floor: the same plugin as e2e/bench/noop
	}
	host, reset := proxytest.NewHostEmulator(proxytest.NewEmulatorOption().WithVMContext(vm).
		WithPluginConfiguration(fx.PluginConfig(sc)))
	b.Cleanup(reset)
	nh := &nativeHost{host: host, fx: fx, answered: map[uint32]int{}}
	if host.StartVM() != types.OnVMStartStatusOK || host.StartPlugin() != types.OnPluginStartStatusOK {
		b.Fatalf("plugin did not start: %v", host.GetCriticalLogs())
	}
	for range 4 {
		for nh.answer(proxytest.PluginContextID, func(path string) *filterbench.Response { return fx.Provider(path) }) {
		}
		host.Tick()
	}
	return nh
}

// answer answers the newest unanswered callout of context ctx, if any, with what reply gives
// for its :path. Answering the newest first keeps proxytest's callout ids (the number of
// callouts in flight) unique.
func (nh *nativeHost) answer(ctx uint32, reply func(path string) *filterbench.Response) bool {
	all := nh.host.GetCalloutAttributesFromContext(ctx)
	if nh.answered[ctx] >= len(all) {
		return false
	}
	c := all[len(all)-1]
	nh.answered[ctx]++
	var path string
	for _, h := range c.Headers {
		if h[0] == ":path" {
			path = h[1]
		}
	}
	r := reply(path)
	if r == nil {
		nh.host.CallOnHttpCallResponse(c.CalloutID, nil, nil, nil)
		return true
	}
	nh.host.CallOnHttpCallResponse(c.CalloutID, r.Pairs(), nil, r.Body)
	return true
}

// run sends one request through its whole life, as e2e/host's Driver does: request headers,
// callouts answered with a, response headers (the upstream's or the local reply's), log and
// delete. elapsed is the time inside those calls.
func (nh *nativeHost) run(b testing.TB, req [][2]string, a *filterbench.Response) nativeResult {
	var r nativeResult
	reply := func(string) *filterbench.Response { return a }
	t0 := time.Now()
	id := nh.host.InitializeHttpContext()
	act := nh.host.CallOnRequestHeaders(id, req, true)
	for act == types.ActionPause && nh.host.GetSentLocalResponse(id) == nil {
		if !nh.answer(id, reply) && !nh.answer(proxytest.PluginContextID, reply) {
			b.Fatalf("request paused with no callout to answer")
		}
		r.callouts++
		act = nh.host.GetCurrentHttpStreamAction(id)
	}
	resp := filterbench.Upstream
	if lr := nh.host.GetSentLocalResponse(id); lr != nil {
		r.status = int(lr.StatusCode)
		resp = append([][2]string{{":status", itoa(r.status)}}, lr.Headers...)
	} else {
		r.forwarded, r.status = true, 200
	}
	nh.host.CallOnResponseHeaders(id, resp, true)
	nh.host.CompleteHttpContext(id)
	r.elapsed = time.Since(t0)
	r.upstream = nh.host.GetCurrentRequestHeaders(id)
	return r
}

func (nh *nativeHost) counter(name string) uint64 {
	if name == "" {
		return 0
	}
	v, _ := nh.host.GetCounterMetric(name)
	return v
}

func itoa(n int) string {
	return string(rune('0'+n/100)) + string(rune('0'+n/10%10)) + string(rune('0'+n%10))
}
