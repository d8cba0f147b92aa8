package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/host"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/internal/filterbench"
)

var (
	pluginPath, noopPath, cacheDir string
	fixture                        = sync.OnceValues(filterbench.New)
)

var tmpDir string

func TestMain(m *testing.M) {
	pluginPath, noopPath, cacheDir = os.Getenv("FILTERBENCH_PLUGIN"), os.Getenv("FILTERBENCH_NOOP"), os.Getenv("FILTERBENCH_CACHE")
	code := m.Run()
	if tmpDir != "" {
		os.RemoveAll(tmpDir)
	}
	os.Exit(code)
}

var buildOnce sync.Once

// plugins builds the benchmark plugins the environment does not name, once, on the first
// benchmark that needs them (so `go test ./...` pays nothing here).
func plugins(tb testing.TB) {
	buildOnce.Do(func() {
		var err error
		if tmpDir, err = os.MkdirTemp("", "filterbench-"); err != nil {
			return
		}
		switch cacheDir {
		case "":
			cacheDir = filepath.Join(tmpDir, "cache")
		case "off": // every run compiles: perf maps (-tags perfmap) are written only then
			cacheDir = ""
		}
		for _, p := range []struct {
			path *string
			pkg  string
		}{{&pluginPath, "./plugin"}, {&noopPath, "./noop"}} {
			if *p.path != "" {
				continue
			}
			*p.path = filepath.Join(tmpDir, filepath.Base(p.pkg)+".wasm")
			cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", *p.path, p.pkg)
			cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
			if out, err := cmd.CombinedOutput(); err != nil {
				fmt.Fprintf(os.Stderr, "building %s: %v\n%s", p.pkg, err, out)
				*p.path = ""
			}
		}
	})
	if pluginPath == "" || noopPath == "" {
		tb.Fatal("the benchmark plugins could not be built")
	}
}

// side is a host running one plugin with the provider behind its cluster.
type side struct {
	h *host.Host
	d *host.Driver
}

// hosts keeps one host per scenario for the process: b.N's ramp-up reuses it.
var hosts = map[string]*side{}

// start runs the plugin (or the no-op plugin) in a one-VM host whose cluster is an httptest
// server serving the fixture's provider, and waits until the provider's and the bearer
// issuer's keys are loaded. ctx may carry a wazero function listener factory.
func start(tb testing.TB, ctx context.Context, fx *filterbench.Fixture, sc *filterbench.Scenario) *side {
	tb.Helper()
	plugins(tb)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp := fx.Provider(r.URL.Path)
		if resp == nil {
			http.NotFound(w, r)
			return
		}
		for _, h := range resp.Headers {
			w.Header().Add(h[0], h[1])
		}
		w.WriteHeader(resp.Status)
		_, _ = w.Write(resp.Body)
	}))
	wasm := pluginPath
	if sc.Noop {
		wasm = noopPath
	}
	h, err := host.New(ctx, host.Config{
		WasmPath: wasm, PluginConfig: fx.PluginConfig(sc), PluginName: "oidc-proxy", RootID: "oidc-proxy", VMs: 1,
		Clusters: map[string]string{filterbench.Cluster: srv.URL}, CacheDir: cacheDir,
		LogLevel: host.LogInfo, LogWriter: io.Discard, // Envoy's default level
	})
	if err != nil {
		srv.Close()
		tb.Fatal(err)
	}
	s := &side{h: h, d: h.Driver(0)}
	if !sc.Noop {
		deadline := time.Now().Add(20 * time.Second)
		for !s.counted("oidc_proxy.callout.jwks.ok") || !s.counted("oidc_proxy.bearer.jwks.ok") {
			if time.Now().After(deadline) {
				tb.Fatalf("the provider's keys were not loaded; plugin log: %v", h.Logs())
			}
			if err := s.d.Tick(); err != nil { // fetch now rather than at the timer's next period
				tb.Fatal(err)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	// The provider is loaded; no request path here needs the timer, and a tick between
	// requests would only add noise (and host calls BenchmarkHostCalls would count).
	s.d.StopTicks()
	return s
}

func (s *side) counted(name string) bool {
	v, _ := s.h.Metric(name)
	return v > 0
}

func (s *side) metric(name string) int64 {
	if name == "" {
		return 0
	}
	v, _ := s.h.Metric(name)
	return v
}

func answerer(sc *filterbench.Scenario) func(int) *host.Answer {
	if sc.Answer == nil {
		return func(int) *host.Answer { return nil }
	}
	a := &host.Answer{Headers: sc.Answer.Pairs(), Body: sc.Answer.Body}
	return func(int) *host.Answer { return a }
}

// BenchmarkFilter runs each scenario in wasm; see the package doc for the metrics.
func BenchmarkFilter(b *testing.B) {
	fx, err := fixture()
	if err != nil {
		b.Fatal(err)
	}
	for _, sc := range fx.Scenarios() {
		b.Run(sc.Name, func(b *testing.B) {
			s := hosts[sc.Name]
			if s == nil {
				s = start(b, context.Background(), fx, sc)
				for _, req := range fx.FillRequests(sc.Fill) {
					if _, err := s.d.Run(req, filterbench.Upstream, nil); err != nil {
						b.Fatal(err)
					}
				}
				hosts[sc.Name] = s
			}
			benchScenario(b, s, sc)
		})
	}
}

func benchScenario(b *testing.B, s *side, sc *filterbench.Scenario) {
	req, answer := sc.Prepare(b.N), answerer(sc)
	out, err := s.d.Run(req(0), filterbench.Upstream, answer)
	if err == nil {
		err = sc.Want.Check(out.Forwarded, out.Status, out.Callouts, out.Request)
	}
	if err != nil {
		b.Fatalf("%s: %v; plugin log: %v", sc.Name, err, s.h.Logs())
	}
	before := s.metric(sc.Want.Counter)
	bytes0, allocs0 := s.probe(b)
	gc0, _ := s.d.CallExport("oidc_bench_num_gc")
	var inside time.Duration
	calls := 0
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ResetTimer()
	cpu0 := filterbench.ThreadCPU()
	for i := 1; i <= b.N; i++ {
		out, err := s.d.Run(req(i), filterbench.Upstream, answer)
		if err != nil {
			b.Fatal(err)
		}
		inside += out.GuestTime
		calls += out.VMCalls
	}
	cpu := filterbench.ThreadCPU() - cpu0
	b.StopTimer()
	bytes1, allocs1 := s.probe(b)
	gc1, _ := s.d.CallExport("oidc_bench_num_gc")
	if got := s.metric(sc.Want.Counter) - before; sc.Want.Counter != "" && got != int64(b.N) {
		b.Fatalf("%s: %s grew by %d over %d requests", sc.Name, sc.Want.Counter, got, b.N)
	}
	n := float64(b.N)
	b.ReportMetric(float64(inside.Nanoseconds())/n, "filter-ns/op")
	b.ReportMetric(float64(cpu.Nanoseconds())/n, "cpu-ns/op")
	b.ReportMetric(float64(bytes1-bytes0)/n, "filter-B/op")
	b.ReportMetric(float64(allocs1-allocs0)/n, "filter-allocs/op")
	b.ReportMetric(float64(calls)/n, "vmcalls/op")
	b.ReportMetric(float64(gc1-gc0)*1000/n, "gc/1000op")
}

// probe reads the guest runtime's allocation counters.
func (s *side) probe(tb testing.TB) (bytes, allocs uint64) {
	bytes, err := s.d.CallExport("oidc_bench_total_alloc")
	if err == nil {
		allocs, err = s.d.CallExport("oidc_bench_mallocs")
	}
	if err != nil {
		tb.Fatal(err)
	}
	return bytes, allocs
}

// BenchmarkVMStart times one VM's start: instantiation (the Go runtime's and packages'
// initialization) and the plugin's configuration (proxy_on_vm_start, proxy_on_configure),
// as each Envoy worker pays it. linear-MiB is the fresh VM's memory.
func BenchmarkVMStart(b *testing.B) {
	fx, err := fixture()
	if err != nil {
		b.Fatal(err)
	}
	s := start(b, context.Background(), fx, fx.Scenario("session-warm"))
	defer s.h.Close(context.Background())
	st, err := s.h.NewVMStarter(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	var total time.Duration
	var mem uint32
	b.ResetTimer()
	for range b.N {
		d, m, err := st.StartVM(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		total, mem = total+d, m
	}
	b.StopTimer()
	b.ReportMetric(float64(total.Nanoseconds())/float64(b.N), "start-ns/op")
	b.ReportMetric(float64(mem)/(1<<20), "linear-MiB")
}

// BenchmarkMemory10k sends 10,000 requests with distinct sessions (each opened and cached: the
// default session.cache_size is 10,000) through a fresh VM and reports its linear memory and
// the guest's live heap. Run it with -benchtime 1x: it is a measurement, not a loop.
func BenchmarkMemory10k(b *testing.B) {
	fx, err := fixture()
	if err != nil {
		b.Fatal(err)
	}
	for range b.N {
		s := start(b, context.Background(), fx, fx.Scenario("session-warm"))
		mem0 := s.d.MemoryBytes()
		heap0, err := s.d.CallExport("oidc_bench_heap_alloc")
		if err != nil {
			b.Fatal(err)
		}
		cold := fx.Scenario("session-cold")
		req := cold.Prepare(10000)
		for i := range 10000 {
			if _, err := s.d.Run(req(i), filterbench.Upstream, answerer(cold)); err != nil {
				b.Fatal(err)
			}
		}
		if got := s.metric("oidc_proxy.session.cache_miss"); got != 10000 {
			b.Fatalf("%d cache misses, want 10000", got)
		}
		heap, err := s.d.CallExport("oidc_bench_heap_alloc")
		if err != nil {
			b.Fatal(err)
		}
		inuse, err := s.d.CallExport("oidc_bench_heap_inuse")
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(mem0)/(1<<20), "fresh-MiB")
		b.ReportMetric(float64(heap0)/(1<<20), "fresh-heap-MiB")
		b.ReportMetric(float64(s.d.MemoryBytes())/(1<<20), "linear-MiB")
		b.ReportMetric(float64(heap)/(1<<20), "heap-MiB")
		b.ReportMetric(float64(inuse)/(1<<20), "inuse-MiB")
		sys, _ := s.d.CallExport("oidc_bench_heap_sys")
		b.ReportMetric(float64(sys)/(1<<20), "heapsys-MiB")
		s.h.Close(context.Background())
	}
}
