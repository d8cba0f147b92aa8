package host

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// Host runs a plugin in front of an upstream. It is an http.Handler.
type Host struct {
	cfg     *resolved
	runtime wazero.Runtime
	vms     []*vm
	logs    *logStore
	shared  *sharedData
	queues  *sharedQueues
	metrics *metrics
	client  *http.Client

	baseCtx context.Context // cancelled by Close: ends callouts and streams
	cancel  context.CancelFunc
	wg      sync.WaitGroup // callouts and queue notifications
	streams sync.WaitGroup
	closed  atomic.Bool
	next    atomic.Uint64
}

// New compiles the plugin, starts cfg.VMs VMs and configures the plugin in
// each. If any VM refuses to start (proxy_on_vm_start or proxy_on_configure
// returned false, or the module trapped), New fails with an error that quotes
// the plugin's log lines.
func New(ctx context.Context, cfg Config) (*Host, error) {
	rc, err := resolve(cfg)
	if err != nil {
		return nil, err
	}
	h := &Host{
		cfg:     rc,
		logs:    &logStore{max: rc.MaxLogEntries, level: rc.LogLevel, w: rc.LogWriter, prefix: logPrefix(rc)},
		shared:  newSharedData(),
		queues:  newSharedQueues(),
		metrics: newMetrics(),
	}
	h.baseCtx, h.cancel = context.WithCancel(context.Background())
	h.client = newClient(rc)
	if err := h.start(ctx); err != nil {
		h.closed.Store(true)
		h.cancel()
		if h.runtime != nil {
			_ = h.runtime.Close(ctx)
		}
		return nil, h.startError(err)
	}
	return h, nil
}

func logPrefix(c *resolved) string {
	var b strings.Builder
	for _, s := range []string{c.PluginName, c.RootID, c.VMID} {
		if s != "" {
			b.WriteString(" " + s)
		}
	}
	return b.String()
}

func (h *Host) start(ctx context.Context) error {
	rcfg := wazero.NewRuntimeConfigCompiler()
	if h.cfg.CacheDir != "" {
		cache, err := wazero.NewCompilationCacheWithDir(h.cfg.CacheDir)
		if err != nil {
			return fmt.Errorf("host: compilation cache: %w", err)
		}
		rcfg = rcfg.WithCompilationCache(cache)
	}
	h.runtime = wazero.NewRuntimeWithConfig(ctx, rcfg)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, h.runtime); err != nil {
		return fmt.Errorf("host: wasi: %w", err)
	}
	if err := instantiateEnv(ctx, h.runtime); err != nil {
		return fmt.Errorf("host: env module: %w", err)
	}
	compiled, err := h.runtime.CompileModule(ctx, h.cfg.wasm)
	if err != nil {
		return fmt.Errorf("host: compile plugin: %w", err)
	}
	if err := checkABI(compiled); err != nil {
		return err
	}
	for i := 0; i < h.cfg.VMs; i++ {
		v, err := h.newVM(ctx, compiled, i)
		if err != nil {
			return err
		}
		h.vms = append(h.vms, v)
	}
	return nil
}

// checkABI requires the marker export of a proxy-wasm 0.2.x module.
func checkABI(m wazero.CompiledModule) error {
	ex := m.ExportedFunctions()
	for _, marker := range []string{"proxy_abi_version_0_2_1", "proxy_abi_version_0_2_0"} {
		if _, ok := ex[marker]; ok {
			return nil
		}
	}
	return errors.New("host: the module exports no proxy_abi_version_0_2_x marker: not a proxy-wasm 0.2 plugin")
}

// startError appends the plugin's log lines, which usually say why.
func (h *Host) startError(err error) error {
	var b strings.Builder
	for _, e := range h.logs.snapshot() {
		b.WriteString("\n  ")
		b.WriteString(e.String())
	}
	if b.Len() == 0 {
		return err
	}
	return fmt.Errorf("%w; plugin logs:%s", err, b.String())
}

func newClient(c *resolved) *http.Client {
	t := &http.Transport{
		Proxy:               nil, // never the environment's proxy
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     c.TLSClientConfig,
		DisableCompression:  true,
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
	}
	return &http.Client{
		Transport:     t,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// pick chooses the VM (worker thread) for a request.
func (h *Host) pick(r *http.Request) *vm {
	if h.cfg.PinPerConnection {
		var x uint64 = 14695981039346656037
		for i := 0; i < len(r.RemoteAddr); i++ {
			x = (x ^ uint64(r.RemoteAddr[i])) * 1099511628211
		}
		return h.vms[x%uint64(len(h.vms))]
	}
	return h.vms[(h.next.Add(1)-1)%uint64(len(h.vms))]
}

// ServeHTTP runs one request through the plugin and, unless the plugin
// answers it, the upstream.
func (h *Host) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.closed.Load() {
		http.Error(w, "host is shutting down", http.StatusServiceUnavailable)
		return
	}
	h.streams.Add(1)
	defer h.streams.Done()
	s := h.newStream(h.pick(r), w, r)
	s.serve()
}

// Logs returns the plugin's log lines kept in memory, oldest first.
func (h *Host) Logs() []LogEntry { return h.logs.snapshot() }

// Metric returns a metric's value by name: a counter's or gauge's value, or
// a histogram's sample count.
func (h *Host) Metric(name string) (int64, bool) {
	m, ok := h.metrics.lookup(name)
	return m.Value, ok
}

// Metrics returns every metric the plugin defined, in any VM.
func (h *Host) Metrics() map[string]MetricValue { return h.metrics.snapshot() }

// SharedData returns a shared data value and its cas, as the plugin sees it.
func (h *Host) SharedData(key string) ([]byte, uint32, bool) {
	v, cas, ok := h.shared.get(key)
	return append([]byte(nil), v...), cas, ok
}

// SetSharedData writes shared data as a plugin would (cas 0: unconditional).
func (h *Host) SetSharedData(key string, value []byte, cas uint32) error {
	if st := h.shared.set(key, value, cas); st != statusOK {
		return fmt.Errorf("host: set shared data %q: cas mismatch", key)
	}
	return nil
}

// VMStat describes one VM, for benchmarks and soak tests.
type VMStat struct {
	Index       int
	MemoryBytes uint32 // linear memory size
	Calls       uint64 // calls from the host into the VM
	Streams     int    // live stream contexts
	Failed      bool
}

// VMStats returns a snapshot of every VM.
func (h *Host) VMStats() []VMStat {
	out := make([]VMStat, len(h.vms))
	for i, v := range h.vms {
		v.mu.Lock()
		out[i] = VMStat{Index: i, Calls: v.calls, Streams: len(v.streams), Failed: v.failed != nil}
		if v.failed == nil {
			out[i].MemoryBytes = v.mod.Memory().Size()
		}
		v.mu.Unlock()
	}
	return out
}

// Close stops the host: new requests get 503, paused streams and callouts are
// cancelled, then each root context gets proxy_on_done (waiting for
// proxy_done, within ctx, if it returns false) and proxy_on_delete, and the
// runtime is closed.
func (h *Host) Close(ctx context.Context) error {
	if h.closed.Swap(true) {
		return nil
	}
	h.cancel()
	done := make(chan struct{})
	go func() {
		h.streams.Wait()
		h.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
	for _, v := range h.vms {
		v.shutdown(ctx)
	}
	return h.runtime.Close(context.Background())
}

// shutdown runs the root context's end of life, like Envoy's plugin shutdown.
func (v *vm) shutdown(ctx context.Context) {
	v.mu.Lock()
	v.setTickPeriod(0)
	if v.failed != nil {
		v.mu.Unlock()
		return
	}
	v.pendingDone = true
	v.doneCh = make(chan struct{})
	ok, err := v.callBool(v.fn.onDone, rootContextID, rootContextID)
	if ok || err != nil {
		v.pendingDone = false
	}
	wait := v.pendingDone
	v.mu.Unlock()
	if wait {
		select {
		case <-v.doneCh:
		case <-ctx.Done():
		}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	_, _ = v.call(v.fn.onDelete, rootContextID, rootContextID)
}
