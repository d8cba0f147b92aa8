package filter

import (
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/config"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/engine"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/proxytest"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

// Unit tests of flight.go's state machine against the SDK's emulated host: real HTTP streams
// (paused by join, resumed by wake), the real shared queue hop, shared data with CAS and the
// tick period. Two flights values over one emulator are two VMs of one Envoy: they share
// shared data and nothing else. The spec's run sends a callout (so the test sees from which
// context) and hands its finish to the test, which plays the provider.

type flightEnv struct {
	t       *testing.T
	host    proxytest.HostEmulator
	now     time.Time
	a, b    *flights // two VMs; their root contexts are the emulator's one
	ticking *flights // whose OnTick host.Tick runs
	spec    *flightSpec
	finish  []func(res *flightResult, payload []byte, keep time.Duration)
	// deliver: the emulator calls OnQueueReady synchronously from the enqueue; false leaves
	// the queued item for later (the hop "has not happened yet").
	deliver bool
	join    func(ctxID uint32) types.Action // what the next request's headers do
}

// tick runs fl's tick as the host does: OnTick, in the root context.
func (e *flightEnv) tick(fl *flights) {
	e.ticking = fl
	e.host.Tick()
}

func (e *flightEnv) calls() int { return len(e.finish) }

type flightTestVM struct {
	types.DefaultVMContext
	e *flightEnv
}

func (v *flightTestVM) NewPluginContext(uint32) types.PluginContext { return &flightTestPlugin{e: v.e} }

type flightTestPlugin struct {
	types.DefaultPluginContext
	e *flightEnv
}

func (p *flightTestPlugin) NewHttpContext(id uint32) types.HttpContext {
	return &flightTestHTTP{e: p.e, id: id}
}

func (p *flightTestPlugin) OnTick() { p.e.ticking.tick(p.e.now) }

func (p *flightTestPlugin) OnQueueReady(q uint32) {
	if p.e.deliver {
		p.e.a.onQueueReady(q)
		p.e.b.onQueueReady(q)
	}
}

type flightTestHTTP struct {
	types.DefaultHttpContext
	e  *flightEnv
	id uint32
}

func (h *flightTestHTTP) OnHttpRequestHeaders(int, bool) types.Action { return h.e.join(h.id) }
func (h *flightTestHTTP) OnHttpStreamDone()                           { h.e.a.unwait(h.id); h.e.b.unwait(h.id) }

func newFlightEnv(t *testing.T) *flightEnv {
	t.Helper()
	e := &flightEnv{t: t, now: time.Unix(1700000000, 0), deliver: true}
	host, reset := proxytest.NewHostEmulator(proxytest.NewEmulatorOption().WithVMContext(&flightTestVM{e: e}))
	t.Cleanup(reset)
	e.host = host
	if _, err := proxywasm.RegisterSharedQueue("the emulator's queue 0"); err != nil { // 0 means none
		t.Fatal(err)
	}
	vm := func(id uint32) *flights {
		p := &pluginContext{contextID: id, now: func() time.Time { return e.now }, rand: rand.Reader,
			cfg: &config.Config{Provider: config.Provider{Issuer: "https://op.test"}}}
		fl := newFlights(p, 64)
		if fl.queue == 0 {
			t.Fatal("no shared queue")
		}
		return fl
	}
	e.a, e.b = vm(proxytest.PluginContextID), vm(proxytest.PluginContextID) // each VM's root context
	e.spec = &flightSpec{
		kind: "refresh", store: &slotStore{prefix: "flight/", slots: 1, maxEntries: 8}, lease: 5 * time.Second,
		run: func(finish func(*flightResult, []byte, time.Duration)) {
			if _, err := proxywasm.DispatchHttpCall("op", [][2]string{{":path", "/token"}}, nil, nil, 1000, func(int, int, int) {}); err != nil {
				t.Errorf("callout: %v", err)
			}
			e.finish = append(e.finish, finish)
		},
		decode: func(_ engine.FlightKey, payload []byte, _ time.Time) (any, error) {
			if string(payload) == "garbled" {
				return nil, errors.New("does not open")
			}
			return string(payload), nil
		},
		counters: defineCounters("test.flight.", []string{"waited", "waited_remote"}),
	}
	return e
}

// flightReq is one request's view: what its continuation was given, and how often.
type flightReq struct {
	e     *flightEnv
	id    uint32
	first types.Action // what OnHttpRequestHeaders returned
	res   *flightResult
	fresh bool
	n     int
	then  types.Action // what the continuation returns
}

func (r *flightReq) cont(res *flightResult, fresh bool) types.Action {
	r.res, r.fresh = res, fresh
	r.n++
	return r.then
}

// request sends a request to VM fl whose headers join flight k.
func (e *flightEnv) request(fl *flights, k engine.FlightKey) *flightReq {
	e.t.Helper()
	r := &flightReq{e: e, then: types.ActionContinue}
	r.id = e.host.InitializeHttpContext()
	e.join = func(ctxID uint32) types.Action { return fl.join(ctxID, k, e.spec, r.cont) }
	r.first = e.host.CallOnRequestHeaders(r.id, nil, false)
	return r
}

// paused: the request waits and nothing continued it.
func (r *flightReq) paused() bool {
	return r.first == types.ActionPause && r.n == 0 && r.e.host.GetCurrentHttpStreamAction(r.id) == types.ActionPause
}

// answered: continued once with status, fresh as said, and its stream is going on.
func (r *flightReq) answered(t *testing.T, status engine.FlightStatus, fresh bool) {
	t.Helper()
	if r.n != 1 || r.res.status != status || r.fresh != fresh {
		t.Fatalf("request %d: continued %d times with %+v fresh %v; want once with status %d fresh %v", r.id, r.n, r.res, r.fresh, status, fresh)
	}
	if got := r.e.host.GetCurrentHttpStreamAction(r.id); got != types.ActionContinue {
		t.Fatalf("request %d: stream %v, want Continue", r.id, got)
	}
}

func (e *flightEnv) counter(name string) uint64 {
	v, err := e.host.GetCounterMetric("test.flight." + name)
	if err != nil {
		e.t.Fatal(err)
	}
	return v
}

// calloutsFrom counts the provider calls sent from context id.
func (e *flightEnv) calloutsFrom(id uint32) int {
	return len(e.host.GetCalloutAttributesFromContext(id))
}

func (e *flightEnv) state(fl *flights, k engine.FlightKey) flightState {
	if f := fl.byKey[k]; f != nil {
		return f.state
	}
	return 0 // idle
}

var flightK = engine.NewFlightKey("refresh", "rt-1")

// Join, claim, park, wake: the first request leads (the call sent from the root context
// after the queue hop), a second request of the VM waits for it ("waited"), both resume with
// the answer, and a later request gets the parked result at once without a provider call.
func TestFlightLeaderWakesItsWaiters(t *testing.T) {
	e := newFlightEnv(t)
	r1 := e.request(e.a, flightK)
	r2 := e.request(e.a, flightK)
	if !r1.paused() || !r2.paused() {
		t.Fatalf("requests not paused: %+v %+v", r1, r2)
	}
	if e.calls() != 1 || e.calloutsFrom(e.a.p.contextID) != 1 || e.state(e.a, flightK) != flightLeading {
		t.Fatalf("%d provider calls (%d from the root), state %d; want 1 from the root, leading", e.calls(), e.calloutsFrom(e.a.p.contextID), e.state(e.a, flightK))
	}
	if e.counter("waited") != 1 || e.counter("waited_remote") != 0 {
		t.Fatalf("waited %d, waited_remote %d; want 1, 0", e.counter("waited"), e.counter("waited_remote"))
	}
	e.finish[0](&flightResult{status: engine.FlightOK, value: "fresh"}, []byte("fresh"), time.Minute)
	r1.answered(t, engine.FlightOK, true)
	r2.answered(t, engine.FlightOK, true)
	if r1.res.value != "fresh" || e.state(e.a, flightK) != flightParked {
		t.Fatalf("value %v state %d", r1.res.value, e.state(e.a, flightK))
	}
	e.now = e.now.Add(30 * time.Second)
	r3 := e.request(e.a, flightK)
	r3.answered(t, engine.FlightOK, false)
	if r3.first != types.ActionContinue || e.calls() != 1 {
		t.Fatalf("parked result: first %v, %d calls", r3.first, e.calls())
	}
	// The parked result is also in shared data, for the other VMs.
	if got, _ := e.spec.store.lookup(flightK, e.now); got == nil || string(got.Payload) != "fresh" {
		t.Fatalf("shared record %+v", got)
	}
	// Past its time the result is dropped and the next request leads a new flight.
	e.now = e.now.Add(31 * time.Second)
	r4 := e.request(e.a, flightK)
	if !r4.paused() || e.calls() != 2 {
		t.Fatalf("after the park: %+v, %d calls; want a new flight", r4, e.calls())
	}
}

// A continuation that answers itself (Pause: it sent a local reply, or a callout of its own)
// is not resumed; a request that went away is not continued at all.
func TestFlightWakeResumesOnlyWhatContinues(t *testing.T) {
	e := newFlightEnv(t)
	r1 := e.request(e.a, flightK)
	r1.then = types.ActionPause
	r2 := e.request(e.a, flightK)
	r3 := e.request(e.a, flightK)
	e.host.CompleteHttpContext(r3.id)
	e.finish[0](&flightResult{status: engine.FlightEnded, code: "invalid_grant"}, []byte("ignored"), 0)
	if r1.n != 1 || e.host.GetCurrentHttpStreamAction(r1.id) != types.ActionPause {
		t.Fatalf("a continuation that returned Pause: n %d, stream %v; want continued, not resumed", r1.n, e.host.GetCurrentHttpStreamAction(r1.id))
	}
	r2.answered(t, engine.FlightEnded, true)
	if r3.n != 0 {
		t.Fatalf("a request that went away was continued")
	}
	// A failure parks no payload, only its status and code, for at least minPark.
	got, _ := e.spec.store.lookup(flightK, e.now.Add(minPark-time.Millisecond))
	if got == nil || got.Status != engine.FlightEnded || got.Code != "invalid_grant" || len(got.Payload) != 0 {
		t.Fatalf("parked failure %+v", got)
	}
	// finish is once: a second call changes nothing.
	e.finish[0](&flightResult{status: engine.FlightOK}, []byte("late"), time.Minute)
	if r2.n != 1 || e.byKeyRes(e.a).status != engine.FlightEnded {
		t.Fatalf("a second finish took effect")
	}
}

func (e *flightEnv) byKeyRes(fl *flights) *flightResult { return fl.byKey[flightK].res }

// A provider call that fails before it is sent (finish called inside run, here without a
// queue) answers the leading request from join itself, fresh.
func TestFlightAnsweredInsideJoin(t *testing.T) {
	e := newFlightEnv(t)
	e.a.queue = 0
	e.spec.run = func(finish func(*flightResult, []byte, time.Duration)) {
		e.finish = append(e.finish, finish)
		finish(&flightResult{status: engine.FlightTransient, err: errors.New("provider not ready")}, nil, 0)
	}
	r := e.request(e.a, flightK)
	if r.first != types.ActionContinue {
		t.Fatalf("join returned %v, want the continuation's Continue", r.first)
	}
	r.answered(t, engine.FlightTransient, true)
	if len(e.a.byCtx) != 0 {
		t.Fatalf("the request is still noted as waiting: %v", e.a.byCtx)
	}
}

// Without a queue the call is sent from the request's context.
func TestFlightHopWithoutQueue(t *testing.T) {
	e := newFlightEnv(t)
	e.a.queue = 0
	r := e.request(e.a, flightK)
	if !r.paused() || e.calloutsFrom(r.id) != 1 {
		t.Fatalf("without a queue: %+v, %d callouts from the request", r, e.calloutsFrom(r.id))
	}
}

// A queue item not delivered yet: the tick runs the queued flight, once, from the root.
func TestFlightHopLate(t *testing.T) {
	e := newFlightEnv(t)
	e.deliver = false
	r := e.request(e.a, flightK)
	if !r.paused() || e.calls() != 0 || e.state(e.a, flightK) != flightQueued {
		t.Fatalf("before the hop: %+v, %d calls, state %d; want queued", r, e.calls(), e.state(e.a, flightK))
	}
	e.tick(e.a)
	if e.calls() != 1 || e.calloutsFrom(e.a.p.contextID) != 1 || e.state(e.a, flightK) != flightLeading {
		t.Fatalf("after the tick: %d calls, state %d", e.calls(), e.state(e.a, flightK))
	}
	// The late delivery finds the flight running: no second call. Other queues' items and
	// malformed ones are not this VM's.
	e.a.onQueueReady(e.b.queue)
	if err := proxywasm.EnqueueSharedQueue(e.a.queue, []byte("short")); err != nil {
		t.Fatal(err)
	}
	long := append(append([]byte{}, flightK[:]...), 'x') // not a key, though it starts with one
	if err := proxywasm.EnqueueSharedQueue(e.a.queue, long); err != nil {
		t.Fatal(err)
	}
	e.deliver = true
	e.a.onQueueReady(e.a.queue)
	e.tick(e.a)
	if e.calls() != 1 {
		t.Fatalf("%d calls, want 1", e.calls())
	}
	if n := e.host.GetQueueSize(e.a.queue); n != 0 {
		t.Fatalf("%d items left in the queue", n)
	}
}

// A queue that does not take the item: the call is sent from the request at once.
func TestFlightHopQueueFails(t *testing.T) {
	e := newFlightEnv(t)
	e.a.queue = 77 // no such queue
	r := e.request(e.a, flightK)
	if !r.paused() || e.calls() != 1 || e.calloutsFrom(r.id) != 1 {
		t.Fatalf("%+v, %d calls, %d from the request; want one, from the request", r, e.calls(), e.calloutsFrom(r.id))
	}
}

// Only an item of exactly a key's length names a flight.
func TestFlightQueueItemNotAKey(t *testing.T) {
	e := newFlightEnv(t)
	e.deliver = false
	e.request(e.a, flightK)
	long := append(append([]byte{}, flightK[:]...), 'x')
	if err := proxywasm.EnqueueSharedQueue(e.a.queue, long); err != nil {
		t.Fatal(err)
	}
	e.a.onQueueReady(e.a.queue) // drains the real item too: run once
	if e.calls() != 1 {
		t.Fatalf("%d calls, want 1", e.calls())
	}
	e2 := e.a.byKey[flightK]
	e2.state = flightQueued // as if not run: a second, malformed item must not run it
	if err := proxywasm.EnqueueSharedQueue(e.a.queue, long); err != nil {
		t.Fatal(err)
	}
	e.a.onQueueReady(e.a.queue)
	if e.calls() != 1 {
		t.Fatalf("%d calls after an item that is not a key, want 1", e.calls())
	}
}

// A VM runs only what its own queue names, and only flights it knows: VM b neither drains
// a's queue nor runs a key it has no flight for.
func TestFlightQueueItemForOtherVM(t *testing.T) {
	e := newFlightEnv(t)
	e.deliver = false
	e.request(e.a, flightK)
	if err := proxywasm.EnqueueSharedQueue(e.b.queue, flightK[:]); err != nil {
		t.Fatal(err)
	}
	e.b.onQueueReady(e.b.queue) // b knows no such flight
	e.b.onQueueReady(e.a.queue) // nor is a's queue b's to drain
	if e.calls() != 0 || e.host.GetQueueSize(e.a.queue) != 1 {
		t.Fatalf("%d calls, a's queue %d items; want 0, 1", e.calls(), e.host.GetQueueSize(e.a.queue))
	}
	e.a.onQueueReady(e.a.queue)
	if e.calls() != 1 {
		t.Fatalf("%d calls after a's delivery, want 1", e.calls())
	}
}

// Cross-VM polling: VM b's request finds a's lease and polls (waited_remote, fast ticks);
// polling inside the lease changes nothing; when a parks its answer, b's tick wakes it, and
// the tick period goes back to normal.
func TestFlightPollsAnotherVM(t *testing.T) {
	e := newFlightEnv(t)
	ra := e.request(e.a, flightK)
	rb := e.request(e.b, flightK)
	rb2 := e.request(e.b, flightK)
	if !ra.paused() || !rb.paused() || !rb2.paused() || e.state(e.b, flightK) != flightPolling {
		t.Fatalf("b's state %d; want polling and every request paused", e.state(e.b, flightK))
	}
	if e.counter("waited_remote") != 2 || e.calls() != 1 {
		t.Fatalf("waited_remote %d, %d calls; want 2, 1", e.counter("waited_remote"), e.calls())
	}
	if got := e.host.GetTickPeriod(); got != uint32(flightTickPeriod/time.Millisecond) {
		t.Fatalf("tick period %d ms while b polls, want %v", got, flightTickPeriod)
	}
	e.now = e.now.Add(time.Second)
	e.tick(e.b)
	if rb.n != 0 || e.calls() != 1 || e.host.GetTickPeriod() != uint32(flightTickPeriod/time.Millisecond) {
		t.Fatalf("a poll inside the lease: %+v, %d calls, period %d", rb, e.calls(), e.host.GetTickPeriod())
	}
	e.finish[0](&flightResult{status: engine.FlightOK, value: "fresh"}, []byte("fresh"), time.Minute)
	ra.answered(t, engine.FlightOK, true)
	if rb.n != 0 {
		t.Fatal("b's request was answered before b polled")
	}
	e.tick(e.b)
	rb.answered(t, engine.FlightOK, true)
	rb2.answered(t, engine.FlightOK, true)
	if rb.res.value != "fresh" || e.state(e.b, flightK) != flightParked {
		t.Fatalf("b: value %v state %d", rb.res.value, e.state(e.b, flightK))
	}
	if got := e.host.GetTickPeriod(); got != uint32(tickPeriod/time.Millisecond) {
		t.Fatalf("tick period %d ms after the poll, want %v", got, tickPeriod)
	}
	// A new request on b: from b's own parked copy, without reading shared data.
	realGet := getSharedData
	getSharedData = func(string) ([]byte, uint32, error) { t.Fatal("shared data read"); return nil, 0, nil }
	defer func() { getSharedData = realGet }()
	e.request(e.b, flightK).answered(t, engine.FlightOK, false)
}

// A request on a VM that knows nothing finds the result another VM parked: it continues at
// once (not fresh); a parked payload that does not open is a transient failure.
func TestFlightJoinFindsParkedResult(t *testing.T) {
	e := newFlightEnv(t)
	e.request(e.a, flightK)
	e.finish[0](&flightResult{status: engine.FlightOK}, []byte("fresh"), time.Minute)
	rb := e.request(e.b, flightK)
	rb.answered(t, engine.FlightOK, false)
	if rb.first != types.ActionContinue || rb.res.value != "fresh" || e.calls() != 1 {
		t.Fatalf("b: %+v, %d calls", rb, e.calls())
	}
	k2 := engine.NewFlightKey("refresh", "rt-2")
	e.request(e.a, k2)
	e.finish[1](&flightResult{status: engine.FlightOK}, []byte("garbled"), time.Minute)
	rb = e.request(e.b, k2)
	rb.answered(t, engine.FlightTransient, false)
	if rb.res.err == nil {
		t.Fatal("no error for a payload that does not open")
	}
}

// Lease takeover: a's lease expires with no answer (its VM died); b's poll takes the lease,
// says so in an audit line, and sends the call itself; its answer wakes b's request.
func TestFlightTakeover(t *testing.T) {
	e := newFlightEnv(t)
	e.request(e.a, flightK)
	rb := e.request(e.b, flightK)
	e.now = e.now.Add(5*time.Second - time.Millisecond)
	e.tick(e.b)
	if e.calls() != 1 || e.state(e.b, flightK) != flightPolling {
		t.Fatalf("inside a's lease: %d calls, b's state %d; want 1, polling", e.calls(), e.state(e.b, flightK))
	}
	e.now = e.now.Add(time.Millisecond) // a's lease has expired
	e.tick(e.b)
	if e.calls() != 2 || e.state(e.b, flightK) != flightLeading || rb.n != 0 {
		t.Fatalf("%d calls, b's state %d, b's request %+v; want b leading, the request waiting", e.calls(), e.state(e.b, flightK), rb)
	}
	if !strings.Contains(strings.Join(e.host.GetInfoLogs(), "\n"), "event=refresh_takeover") {
		t.Fatal("no refresh_takeover audit line")
	}
	if e.calloutsFrom(proxytest.PluginContextID) != 2 || e.calloutsFrom(rb.id) != 0 {
		t.Fatalf("%d calls from the root context, %d from b's request; want 2, 0", e.calloutsFrom(proxytest.PluginContextID), e.calloutsFrom(rb.id))
	}
	e.tick(e.b) // leading now: no poll, no second call
	if e.calls() != 2 {
		t.Fatalf("%d calls after another tick, want 2", e.calls())
	}
	e.finish[1](&flightResult{status: engine.FlightOK}, []byte("taken over"), time.Minute)
	rb.answered(t, engine.FlightOK, true)
}

// wake goes back to the root context: a call sent after a wake (a takeover later in the same
// tick) is the root's, not the request's woken last.
func TestFlightWakeBackToRoot(t *testing.T) {
	e := newFlightEnv(t)
	e.request(e.a, flightK)
	rb := e.request(e.b, flightK)
	e.finish[0](&flightResult{status: engine.FlightOK}, []byte("x"), time.Minute)
	e.tick(e.b)
	rb.answered(t, engine.FlightOK, true)
	if _, err := proxywasm.DispatchHttpCall("op", nil, nil, nil, 1000, func(int, int, int) {}); err != nil {
		t.Fatal(err)
	}
	if n := e.calloutsFrom(rb.id); n != 0 {
		t.Fatalf("a call after the wake was sent from the woken request's context (%d)", n)
	}
	if n := e.calloutsFrom(proxytest.PluginContextID); n != 2 {
		t.Fatalf("%d calls from the root, want 2", n)
	}
}

// Waiters' timeout, polling: with the lease renewed by a third VM and no answer, b's waiters
// give up after patience (2 leases + 1 s) with one transient failure each; b forgets the
// flight, so a later request starts afresh.
func TestFlightPollingGivesUp(t *testing.T) {
	e := newFlightEnv(t)
	e.request(e.a, flightK)
	rb := e.request(e.b, flightK)
	e.now = e.now.Add(11 * time.Second) // patience: 2 leases of 5 s + 1 s; not yet past it
	if _, claimed, _ := e.spec.store.claim(flightK, e.now, 5*time.Second); !claimed {
		t.Fatal("a third VM's takeover")
	}
	e.tick(e.b)
	if rb.n != 0 {
		t.Fatalf("b gave up at its patience, not after: %+v", rb)
	}
	e.now = e.now.Add(time.Millisecond)
	e.tick(e.b)
	rb.answered(t, engine.FlightTransient, true)
	if e.state(e.b, flightK) != 0 || e.calls() != 1 {
		t.Fatalf("b's state %d, %d calls; want idle, 1", e.state(e.b, flightK), e.calls())
	}
}

// Waiters' timeout, leading: a leader whose call never answers gives its waiters a transient
// failure after patience; the late answer is still parked, here and in shared data.
func TestFlightLeaderGivesUp(t *testing.T) {
	e := newFlightEnv(t)
	r := e.request(e.a, flightK)
	e.now = e.now.Add(11 * time.Second) // patience: 2 leases of 5 s + 1 s
	e.tick(e.a)
	if r.n != 0 {
		t.Fatal("gave up at patience, not after")
	}
	e.now = e.now.Add(time.Millisecond)
	e.tick(e.a)
	r.answered(t, engine.FlightTransient, true)
	if e.state(e.a, flightK) != 0 {
		t.Fatalf("state %d after giving up, want idle", e.state(e.a, flightK))
	}
	e.finish[0](&flightResult{status: engine.FlightOK}, []byte("late"), time.Minute)
	if e.state(e.a, flightK) != flightParked {
		t.Fatal("the late answer is not parked here")
	}
	if got, _ := e.spec.store.lookup(flightK, e.now); got == nil || string(got.Payload) != "late" {
		t.Fatalf("shared record %+v", got)
	}
}

// The last waiter of a polled flight going away makes the VM forget it (nothing to poll for);
// a leader's flight stays (its answer is still parked for others).
func TestFlightUnwait(t *testing.T) {
	e := newFlightEnv(t)
	ra := e.request(e.a, flightK)
	rb1 := e.request(e.b, flightK)
	rb2 := e.request(e.b, flightK)
	e.host.CompleteHttpContext(rb1.id)
	if e.state(e.b, flightK) != flightPolling {
		t.Fatal("b forgot the flight while a request still waits")
	}
	e.host.CompleteHttpContext(rb2.id)
	if e.state(e.b, flightK) != 0 {
		t.Fatalf("b's state %d after its last waiter left, want idle", e.state(e.b, flightK))
	}
	e.host.CompleteHttpContext(ra.id)
	if e.state(e.a, flightK) != flightLeading {
		t.Fatalf("a's state %d after its request left, want leading", e.state(e.a, flightK))
	}
	e.a.unwait(12345) // unknown: nothing
}

// Shared data failing: the VM goes ahead alone rather than wait for nobody.
func TestFlightSharedDataDown(t *testing.T) {
	e := newFlightEnv(t)
	realGet := getSharedData
	getSharedData = func(string) ([]byte, uint32, error) { return nil, 0, types.ErrorStatusBadArgument }
	defer func() { getSharedData = realGet }()
	r := e.request(e.a, flightK)
	if !r.paused() || e.calls() != 1 || e.state(e.a, flightK) != flightLeading {
		t.Fatalf("%+v, %d calls, state %d; want a flight led alone", r, e.calls(), e.state(e.a, flightK))
	}
	// Polling with shared data down neither takes over nor answers: it waits out patience.
	e.b.byKey[flightK] = &flight{key: flightK, spec: e.spec, state: flightPolling, until: e.now.Add(time.Second)}
	e.tick(e.b)
	if e.calls() != 1 || e.state(e.b, flightK) != flightPolling {
		t.Fatalf("poll with shared data down: %d calls, state %d", e.calls(), e.state(e.b, flightK))
	}
}

// Sweep: parked results past their time go on the next tick after 5 s; a full map drops
// parked results to make room, never pending flights.
func TestFlightSweep(t *testing.T) {
	e := newFlightEnv(t)
	e.a.max = 4
	for i := range 3 {
		e.request(e.a, engine.NewFlightKey("refresh", string(rune('a'+i))))
		e.finish[i](&flightResult{status: engine.FlightOK}, []byte("x"), time.Duration(i+1)*time.Minute)
	}
	pending := engine.NewFlightKey("refresh", "pending")
	e.request(e.a, pending)
	e.request(e.a, engine.NewFlightKey("refresh", "one more")) // full: parked ones dropped
	if e.state(e.a, pending) != flightLeading {
		t.Fatal("a full map dropped a pending flight")
	}
	if len(e.a.byKey) > 3 {
		t.Fatalf("%d flights kept in a full map of 4, want parked ones dropped", len(e.a.byKey))
	}
}

func TestFlightSweepExpired(t *testing.T) {
	e := newFlightEnv(t)
	var keys []engine.FlightKey
	for i := range 3 {
		keys = append(keys, engine.NewFlightKey("refresh", string(rune('a'+i))))
	}
	e.request(e.a, keys[0])
	e.finish[0](&flightResult{status: engine.FlightOK}, []byte("x"), time.Minute)
	e.request(e.a, keys[1])
	e.finish[1](&flightResult{status: engine.FlightOK}, []byte("x"), 3*time.Minute)
	e.now = e.now.Add(2 * time.Minute)
	e.tick(e.a)
	if e.state(e.a, keys[0]) != 0 || e.state(e.a, keys[1]) != flightParked {
		t.Fatalf("after the sweep: %d %d; want the expired one gone, the live one kept", e.state(e.a, keys[0]), e.state(e.a, keys[1]))
	}
	e.request(e.a, keys[2])
	e.finish[2](&flightResult{status: engine.FlightOK}, []byte("x"), 0) // parked minPark
	e.now = e.now.Add(4 * time.Second)                                  // expired, but within 5 s of the last sweep
	e.tick(e.a)
	if e.state(e.a, keys[2]) != flightParked {
		t.Fatal("swept within 5 s of the last sweep")
	}
	e.now = e.now.Add(2 * time.Second)
	e.tick(e.a)
	if e.state(e.a, keys[2]) != 0 {
		t.Fatal("not swept 6 s after the last sweep")
	}
}
