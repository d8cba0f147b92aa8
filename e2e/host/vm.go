package host

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// A vm is one instance of the plugin: one simulated Envoy worker thread. Every
// call into it, and every host call it makes, happens with mu held.
type vm struct {
	h   *Host
	idx int
	ctx context.Context // carries the vm to host functions
	mod api.Module
	fn  exports

	mu     sync.Mutex
	stack  [8]uint64
	failed error

	// Current call: the context the host called into, the effective context
	// the plugin selected, and the call-scoped state Envoy keeps on the root
	// context (plugin configuration, callout response).
	curID, effID uint32
	configuring  bool
	callResp     *calloutResponse

	nextID   uint32
	streams  map[uint32]*stream
	nextCall uint32
	callouts map[uint32]context.CancelFunc

	metricIDs  map[uint32]*metric
	nextMetric [3]uint32

	tickPeriod time.Duration
	tickGen    uint64
	tickTimer  *time.Timer

	statusCode    uint32 // proxy_get_status, set by a callout reset
	statusMessage string

	pendingDone bool
	doneCh      chan struct{}

	stdout, stderr *stdioLog
	calls          uint64
}

// exports are the plugin's entry points; a nil one is not exported.
type exports struct {
	alloc, onContextCreate, onVMStart, onConfigure, onDone, onLog, onDelete api.Function
	onRequestHeaders, onRequestBody, onRequestTrailers                      api.Function
	onResponseHeaders, onResponseBody, onResponseTrailers                   api.Function
	onHTTPCallResponse, onTick, onQueueReady                                api.Function
}

type vmKey struct{}

func vmFrom(ctx context.Context) *vm { return ctx.Value(vmKey{}).(*vm) }

// newVM instantiates the compiled plugin as VM idx: it runs _initialize, then
// creates the root context and calls proxy_on_vm_start and proxy_on_configure.
func (h *Host) newVM(ctx context.Context, compiled wazero.CompiledModule, idx int) (*vm, error) {
	v := &vm{
		h: h, idx: idx, nextID: rootContextID + 1, streams: map[uint32]*stream{},
		nextCall: 1, callouts: map[uint32]context.CancelFunc{}, metricIDs: map[uint32]*metric{},
	}
	for k := range v.nextMetric {
		v.nextMetric[k] = uint32(k)
	}
	v.ctx = context.WithValue(context.Background(), vmKey{}, v)
	v.stdout = &stdioLog{store: h.logs, vm: idx, level: LogInfo}
	v.stderr = &stdioLog{store: h.logs, vm: idx, level: LogError}

	start := "_start"
	if _, ok := compiled.ExportedFunctions()["_initialize"]; ok {
		start = "_initialize"
	}
	mc := wazero.NewModuleConfig().
		WithName(fmt.Sprintf("vm-%d", idx)).
		WithStartFunctions(start).
		WithSysWalltime().
		WithSysNanotime().
		WithRandSource(rand.Reader).
		WithStdout(v.stdout).
		WithStderr(v.stderr)
	// Like Envoy, the environment is only what the configuration gives (wazero's default,
	// too, is empty); in a fixed order, so every VM sees the same environ.
	for _, name := range slices.Sorted(maps.Keys(h.cfg.Env)) {
		mc = mc.WithEnv(name, h.cfg.Env[name])
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	mod, err := h.runtime.InstantiateModule(v.ctx, compiled, mc)
	if err != nil {
		v.stderr.flush()
		return nil, fmt.Errorf("vm %d: instantiate: %w", idx, err)
	}
	v.mod = mod
	v.lookupExports()
	if v.fn.alloc == nil {
		return nil, fmt.Errorf("vm %d: the module exports neither proxy_on_memory_allocate nor malloc", idx)
	}
	if _, err := v.call(v.fn.onContextCreate, rootContextID, rootContextID, 0); err != nil {
		return nil, fmt.Errorf("vm %d: proxy_on_context_create: %w", idx, err)
	}
	if ok, err := v.callBool(v.fn.onVMStart, rootContextID, rootContextID, uint64(len(h.cfg.VMConfig))); err != nil {
		return nil, fmt.Errorf("vm %d: proxy_on_vm_start: %w", idx, err)
	} else if !ok {
		return nil, fmt.Errorf("vm %d: proxy_on_vm_start returned false", idx)
	}
	v.configuring = true
	ok, err := v.callBool(v.fn.onConfigure, rootContextID, rootContextID, uint64(len(h.cfg.PluginConfig)))
	v.configuring = false
	if err != nil {
		return nil, fmt.Errorf("vm %d: proxy_on_configure: %w", idx, err)
	} else if !ok {
		return nil, fmt.Errorf("vm %d: proxy_on_configure returned false: the plugin refused its configuration", idx)
	}
	return v, nil
}

func (v *vm) lookupExports() {
	f := func(name string) api.Function { return v.mod.ExportedFunction(name) }
	v.fn = exports{
		alloc:              f("proxy_on_memory_allocate"),
		onContextCreate:    f("proxy_on_context_create"),
		onVMStart:          f("proxy_on_vm_start"),
		onConfigure:        f("proxy_on_configure"),
		onDone:             f("proxy_on_done"),
		onLog:              f("proxy_on_log"),
		onDelete:           f("proxy_on_delete"),
		onRequestHeaders:   f("proxy_on_request_headers"),
		onRequestBody:      f("proxy_on_request_body"),
		onRequestTrailers:  f("proxy_on_request_trailers"),
		onResponseHeaders:  f("proxy_on_response_headers"),
		onResponseBody:     f("proxy_on_response_body"),
		onResponseTrailers: f("proxy_on_response_trailers"),
		onHTTPCallResponse: f("proxy_on_http_call_response"),
		onTick:             f("proxy_on_tick"),
		onQueueReady:       f("proxy_on_queue_ready"),
	}
	if v.fn.alloc == nil {
		v.fn.alloc = f("malloc")
	}
}

// errVMFailed is returned for calls into a VM that trapped earlier.
var errVMFailed = errors.New("host: vm failed")

// call invokes fn for context ctxID with args; v.mu must be held. A missing
// export returns 0 with no error. A trap marks the VM failed, as Envoy does:
// later streams on it get a 503.
func (v *vm) call(fn api.Function, ctxID uint32, args ...uint64) (uint64, error) {
	if v.failed != nil {
		return 0, v.failed
	}
	if fn == nil {
		return 0, nil
	}
	savedCur, savedEff := v.curID, v.effID
	v.curID, v.effID = ctxID, 0
	stack := v.stack[:max(len(args), 1)]
	copy(stack, args)
	v.calls++
	err := fn.CallWithStack(v.ctx, stack)
	v.curID, v.effID = savedCur, savedEff
	if err != nil {
		v.fail(err)
		return 0, v.failed
	}
	return stack[0], nil
}

// callBool is call for callbacks returning a bool, true when not exported.
func (v *vm) callBool(fn api.Function, ctxID uint32, args ...uint64) (bool, error) {
	if fn == nil {
		return v.failed == nil, v.failed
	}
	r, err := v.call(fn, ctxID, args...)
	return err == nil && uint32(r) != 0, err
}

func (v *vm) fail(err error) {
	v.stdout.flush()
	v.stderr.flush()
	v.failed = fmt.Errorf("%w: vm %d: %v", errVMFailed, v.idx, err)
	v.h.logs.add(v.idx, LogCritical, fmt.Sprintf("host: wasm vm %d failed, its streams now get 503: %v", v.idx, err))
	for _, s := range v.streams {
		s.notify()
	}
}

// newContextID allocates a stream context id; ids are never reused while live.
func (v *vm) newContextID() uint32 {
	for {
		id := v.nextID
		v.nextID++
		if v.nextID == 0 {
			v.nextID = rootContextID + 1
		}
		if _, used := v.streams[id]; !used && id > rootContextID {
			return id
		}
	}
}

// active resolves the context a host call acts on: the effective context if
// the plugin set one that still exists, else the context being called. It
// returns the stream, or nil for the root context.
func (v *vm) active() *stream {
	id := v.curID
	if v.effID != 0 {
		if _, ok := v.streams[v.effID]; ok || v.effID == rootContextID {
			id = v.effID
		}
	}
	return v.streams[id]
}

// read returns a view of guest memory; it is invalid after any allocation.
func (v *vm) read(ptr, size uint32) ([]byte, bool) {
	if size == 0 {
		return nil, true
	}
	return v.mod.Memory().Read(ptr, size)
}

func (v *vm) readString(ptr, size uint32) (string, bool) {
	b, ok := v.read(ptr, size)
	return string(b), ok
}

func (v *vm) writeU32(ptr, val uint32) bool { return v.mod.Memory().WriteUint32Le(ptr, val) }

func (v *vm) writeU64(ptr uint32, val uint64) bool { return v.mod.Memory().WriteUint64Le(ptr, val) }

// copyOut allocates guest memory for data, copies it in, and writes its
// address and size at ptrPtr and sizePtr (proxy-wasm-cpp-host's
// copyToPointerSize: empty data is written as address 0, size 0).
func (v *vm) copyOut(data []byte, ptrPtr, sizePtr uint32) status {
	var addr uint32
	if len(data) > 0 {
		a, err := v.alloc(uint32(len(data)))
		if err != nil || a == 0 || !v.mod.Memory().Write(a, data) {
			return statusInvalidMemoryAccess
		}
		addr = a
	}
	if !v.writeU32(ptrPtr, addr) || !v.writeU32(sizePtr, uint32(len(data))) {
		return statusInvalidMemoryAccess
	}
	return statusOK
}

// alloc calls the plugin's allocator from inside a host call.
func (v *vm) alloc(size uint32) (uint32, error) {
	var stack [1]uint64
	stack[0] = uint64(size)
	if err := v.fn.alloc.CallWithStack(v.ctx, stack[:]); err != nil {
		return 0, err
	}
	return uint32(stack[0]), nil
}
