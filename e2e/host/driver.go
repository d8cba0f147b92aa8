package host

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tetratelabs/wazero"
)

// A Driver runs streams on one VM directly, without HTTP, for benchmarks of
// the plugin's own work (e2e/bench). A stream goes through the same VM calls
// as ServeHTTP makes, in Envoy's order, but synchronously and under the VM's
// mutex from start to end: callouts the plugin makes are answered by the
// caller instead of a cluster, shared queue notifications are delivered in
// line, and the time spent inside calls into the VM (guest code plus the host
// functions it calls) is measured.
type Driver struct {
	h *Host
	v *vm
}

// Driver returns a driver for VM i (0 <= i < Config.VMs).
func (h *Host) Driver(i int) *Driver { return &Driver{h: h, v: h.vms[i]} }

// Answer is a canned callout response: headers with ":status" first. A nil
// *Answer is a reset, delivered with zero headers.
type Answer struct {
	Headers  [][2]string
	Body     []byte
	Trailers [][2]string
}

// Outcome is what the plugin did with one driven stream.
type Outcome struct {
	// Forwarded reports that the request went on to the upstream; else the
	// plugin answered with a local reply of Status.
	Forwarded bool
	Status    int
	// Request holds the request headers as the upstream would get them;
	// Response the response headers as the client would get them.
	Request, Response [][2]string
	Body              []byte // the local reply's body
	Callouts          int    // callouts the plugin made, all answered
	VMCalls           int    // calls into the VM
	// GuestTime is the time spent inside the calls into the VM.
	GuestTime time.Duration
}

// ErrStalled is returned when a paused stream has nothing left to wait for:
// no callout and no queue notification is pending.
var ErrStalled = errors.New("host: driven stream paused with nothing pending")

// Run drives one stream: context create, request headers (end of stream),
// then, while the request is paused, each queue notification for this VM and
// each callout the plugin made (answer(i) answers the i-th callout of the
// stream), then response headers (upstream's, or the local reply's, and its
// body if any), log, done and delete. upstream is the upstream's response
// headers, ":status" first, answered without a body.
func (d *Driver) Run(req, upstream [][2]string, answer func(i int) *Answer) (Outcome, error) {
	v := d.v
	v.mu.Lock()
	defer v.mu.Unlock()
	var out Outcome
	if v.failed != nil {
		return out, v.failed
	}
	call := func(fn func() (uint64, error)) (uint64, error) {
		t0 := time.Now()
		r, err := fn()
		out.GuestTime += time.Since(t0)
		out.VMCalls++
		return r, err
	}
	known := make(map[uint32]bool, len(v.callouts))
	for t := range v.callouts {
		known[t] = true
	}
	s := &stream{h: d.h, v: v, req: &headerMap{pairs: clonePairs(req)}, wake: make(chan struct{}, 1),
		ctx: context.Background(), start: time.Now(), protocol: "HTTP/1.1"}
	s.id = v.newContextID()
	v.streams[s.id] = s
	s.created = true
	defer delete(v.streams, s.id)
	id := uint64(s.id)
	if _, err := call(func() (uint64, error) { return v.call(v.fn.onContextCreate, s.id, id, rootContextID) }); err != nil {
		return out, err
	}
	s.reqOpen = true
	act, err := call(func() (uint64, error) { return v.call(v.fn.onRequestHeaders, s.id, id, uint64(s.req.len()), 1) })
	for err == nil && uint32(act) != actionContinue && !s.contReq && s.local == nil && !s.reset {
		act = 1
		if q := d.readyQueue(); q != 0 {
			_, err = call(func() (uint64, error) { return v.call(v.fn.onQueueReady, rootContextID, rootContextID, uint64(q)) })
			continue
		}
		token, ok := d.newCallout(known)
		if !ok {
			err = ErrStalled
			break
		}
		a := answer(out.Callouts)
		out.Callouts++
		_, err = call(func() (uint64, error) { return d.deliver(token, a) })
	}
	s.reqOpen = false
	if err != nil {
		return out, err
	}
	if s.reset {
		return out, errors.New("host: the plugin reset the stream")
	}
	out.Request = clonePairs(s.req.pairs)
	if lr := s.local; lr != nil {
		s.local = nil
		s.resp, out.Status, out.Body = localHeaders(lr), lr.code, lr.body
	} else {
		s.resp, out.Forwarded = &headerMap{pairs: clonePairs(upstream)}, true
		out.Status = statusOf(upstream)
	}
	eos := len(out.Body) == 0
	s.respOpen = true
	_, err = call(func() (uint64, error) {
		return v.call(v.fn.onResponseHeaders, s.id, id, uint64(s.resp.len()), boolArg(eos))
	})
	if err == nil && !eos {
		s.respBody, s.respBodyOpen = out.Body, true
		_, err = call(func() (uint64, error) { return v.call(v.fn.onResponseBody, s.id, id, uint64(len(s.respBody)), 1) })
		s.respBodyOpen = false
	}
	s.respOpen = false
	if err != nil {
		return out, err
	}
	out.Response = clonePairs(s.resp.pairs)
	s.logPhase = true
	_, err = call(func() (uint64, error) { return v.call(v.fn.onLog, s.id, id) })
	s.logPhase = false
	if err == nil {
		_, err = call(func() (uint64, error) { return v.call(v.fn.onDone, s.id, id) })
	}
	if err == nil {
		_, err = call(func() (uint64, error) { return v.call(v.fn.onDelete, s.id, id) })
	}
	return out, err
}

// readyQueue returns a shared queue this VM owns that has items, or 0. The
// notification ServeHTTP's streams would get from a goroutine is delivered in
// line; that goroutine still runs later and finds the queue empty.
func (d *Driver) readyQueue() uint32 {
	q := d.h.queues
	q.mu.Lock()
	defer q.mu.Unlock()
	for id, sq := range q.queues {
		if sq.owner == d.v && len(sq.items) > 0 {
			return id
		}
	}
	return 0
}

// newCallout takes over a callout made during this stream: the cluster
// request is cancelled (its goroutine then delivers nothing) and the token is
// returned for the caller's answer.
func (d *Driver) newCallout(known map[uint32]bool) (uint32, bool) {
	v := d.v
	var token uint32
	for t := range v.callouts {
		if !known[t] && (token == 0 || t < token) {
			token = t
		}
	}
	if token == 0 {
		return 0, false
	}
	v.callouts[token]()
	delete(v.callouts, token)
	return token, true
}

// deliver calls proxy_on_http_call_response with a canned answer, as
// deliverCallout does with a cluster's.
func (d *Driver) deliver(token uint32, a *Answer) (uint64, error) {
	v := d.v
	if a == nil {
		v.statusCode, v.statusMessage = statusBrokenConnection, "reset"
		r, err := v.call(v.fn.onHTTPCallResponse, rootContextID, rootContextID, uint64(token), 0, 0, 0)
		v.statusMessage = ""
		return r, err
	}
	v.callResp = &calloutResponse{headers: &headerMap{pairs: clonePairs(a.Headers)}, body: a.Body,
		trailers: &headerMap{pairs: clonePairs(a.Trailers)}}
	r, err := v.call(v.fn.onHTTPCallResponse, rootContextID, rootContextID, uint64(token),
		uint64(len(a.Headers)), uint64(len(a.Body)), uint64(len(a.Trailers)))
	v.callResp = nil
	return r, err
}

// Tick calls proxy_on_tick now, as the VM's timer would at its next period, so a benchmark
// need not wait for the plugin's first timer-driven fetches.
func (d *Driver) Tick() error {
	v := d.v
	v.mu.Lock()
	defer v.mu.Unlock()
	_, err := v.call(v.fn.onTick, rootContextID, rootContextID)
	return err
}

// StopTicks stops the VM's timer (as proxy_set_tick_period_milliseconds(0) would), so that no
// tick runs between or during measured streams. Tick still works.
func (d *Driver) StopTicks() {
	d.v.mu.Lock()
	defer d.v.mu.Unlock()
	d.v.setTickPeriod(0)
}

// CallExport calls an exported function of the VM that takes no arguments
// and returns one i64 or i32 (a benchmark probe), under the VM's mutex.
func (d *Driver) CallExport(name string) (uint64, error) {
	v := d.v
	v.mu.Lock()
	defer v.mu.Unlock()
	fn := v.mod.ExportedFunction(name)
	if fn == nil {
		return 0, fmt.Errorf("host: the module does not export %s", name)
	}
	r, err := fn.Call(v.ctx)
	if err != nil {
		return 0, err
	}
	if len(r) == 0 {
		return 0, nil
	}
	return r[0], nil
}

// MemoryBytes is the VM's linear memory size.
func (d *Driver) MemoryBytes() uint32 {
	d.v.mu.Lock()
	defer d.v.mu.Unlock()
	return d.v.mod.Memory().Size()
}

// A VMStarter starts extra VMs of a host's plugin, to measure VM start-up.
type VMStarter struct {
	h        *Host
	compiled wazero.CompiledModule
	n        int
}

// NewVMStarter compiles the host's plugin (wazero reuses the compiled code
// the host has) for StartVM.
func (h *Host) NewVMStarter(ctx context.Context) (*VMStarter, error) {
	c, err := h.runtime.CompileModule(ctx, h.cfg.wasm)
	if err != nil {
		return nil, err
	}
	return &VMStarter{h: h, compiled: c}, nil
}

// StartVM instantiates one more VM and configures the plugin in it exactly as
// New does for each VM (_initialize, root context, proxy_on_vm_start,
// proxy_on_configure), and returns the time that took and the VM's linear
// memory size; then it tears the VM down (timer stopped, callouts
// cancelled, module closed). The VM never serves requests.
func (s *VMStarter) StartVM(ctx context.Context) (time.Duration, uint32, error) {
	s.n++
	t0 := time.Now()
	v, err := s.h.newVM(ctx, s.compiled, 1000+s.n)
	elapsed := time.Since(t0)
	if err != nil {
		return 0, 0, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	mem := v.mod.Memory().Size()
	v.setTickPeriod(0)
	for t, cancel := range v.callouts {
		cancel()
		delete(v.callouts, t)
	}
	v.failed = errors.New("host: benchmark VM closed")
	return elapsed, mem, v.mod.Close(ctx)
}

func clonePairs(p [][2]string) [][2]string { return append([][2]string(nil), p...) }

func statusOf(h [][2]string) int {
	for _, p := range h {
		if p[0] == ":status" {
			n := 0
			for _, c := range p[1] {
				if c < '0' || c > '9' {
					return 0
				}
				n = n*10 + int(c-'0')
			}
			return n
		}
	}
	return 0
}
