package filter

import (
	"encoding/hex"
	"errors"
	"io"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/engine"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

// flightTickPeriod is the tick period while a request of this VM waits for a flight another
// VM leads: the wait is polled from the tick, and the period goes back to tickPeriod as soon
// as nobody waits. Measured in the e2e host (TestRefreshSingleFlight, 20 requests over two
// VMs, slowest request): 500 ms ticks 530-550 ms, 20 ms ticks 34-38 ms, 5 ms ticks 35-50 ms:
// below 20 ms the refresh itself (provider round trip, ID token verification) dominates.
const flightTickPeriod = 20 * time.Millisecond

// minPark is the least time a flight's result stays parked, so that requests already waiting
// or about to arrive with the same cookie see it.
const minPark = 2 * time.Second

// flightResult is a flight's outcome as one VM sees it.
type flightResult struct {
	status uint8  // engine.FlightOK, engine.FlightEnded, ...
	code   string // the provider's error code, if it gave one
	value  any    // the decoded result when status is engine.FlightOK
	err    error  // why it failed, for the log (in the VM that ran it)
}

// flightSpec says how to run a flight and how to read its parked result.
type flightSpec struct {
	kind  string // for logs: "refresh", "exchange"
	store *slotStore
	lease time.Duration
	// run calls the provider and calls finish exactly once. It runs in the plugin's root
	// context (or, without a shared queue, in the first request's).
	run func(finish func(res *flightResult, payload []byte, keep time.Duration))
	// decode opens a parked payload.
	decode func(k engine.FlightKey, payload []byte, now time.Time) (any, error)
	// counters count requests that waited for a flight of this VM ("waited") or of another
	// ("waited_remote").
	counters map[string]proxywasm.MetricCounter
}

// flightCont continues a request with a flight's result. fresh says the request waited for
// this answer (false: it picked up one parked earlier).
type flightCont func(res *flightResult, fresh bool) types.Action

type flightWaiter struct {
	ctxID uint32
	cont  flightCont
}

type flight struct {
	key     engine.FlightKey
	spec    *flightSpec
	leader  bool // this VM holds the lease and runs the flight
	started bool
	inJoin  bool // being started synchronously inside join
	done    bool
	res     *flightResult
	until   time.Time // pending: when waiters give up; done: when the result is dropped
	waiters []flightWaiter
}

// flights is one VM's view of the flights: those it leads, those its requests wait for, and
// recent results (a per-VM cache in front of shared data).
type flights struct {
	p         *pluginContext
	byKey     map[engine.FlightKey]*flight
	byCtx     map[uint32]engine.FlightKey
	queue     uint32 // this VM's shared queue for hops to the root context; 0 if none
	fast      bool
	lastSweep time.Time
	max       int
}

func newFlights(p *pluginContext, max int) *flights {
	fl := &flights{p: p, byKey: map[engine.FlightKey]*flight{}, byCtx: map[uint32]engine.FlightKey{}, max: max}
	var id [8]byte
	if _, err := io.ReadFull(p.rand, id[:]); err == nil {
		// One queue per VM (in Envoy the last registration of a name owns it), so the name is random.
		// Envoy keeps a registered queue for the life of the process: a reloaded plugin
		// leaves its old, empty queues behind.
		name := "oidc-proxy/" + p.cfg.Provider.Issuer + "/flights/" + hex.EncodeToString(id[:])
		if q, err := proxywasm.RegisterSharedQueue(name); err == nil {
			fl.queue = q
		} else {
			logAt(levelWarn, "no shared queue: refreshes are sent from the request's context", "err", err)
		}
	}
	return fl
}

// join makes the request ctxID take part in flight key: it continues at once with a result
// parked earlier, or waits for the flight (leading it if nobody does) and returns Pause.
func (fl *flights) join(ctxID uint32, key engine.FlightKey, spec *flightSpec, cont flightCont) types.Action {
	now := fl.p.now()
	if f := fl.byKey[key]; f != nil {
		if !f.done {
			fl.wait(f, ctxID, cont)
			if f.leader {
				count(spec.counters, "waited")
			} else {
				count(spec.counters, "waited_remote")
			}
			return types.ActionPause
		}
		if now.Before(f.until) {
			return cont(f.res, false)
		}
		delete(fl.byKey, key)
	}
	e, claimed, err := spec.store.claim(key, now, spec.lease)
	if err != nil {
		logAt(levelWarn, "single flight: shared data failed, going ahead alone", "kind", spec.kind, "err", err)
		claimed = true
	}
	if e != nil && e.State == engine.EntryResult {
		f := &flight{key: key, spec: spec, done: true, res: fl.decode(spec, e, now), until: e.Exp}
		fl.add(f, now)
		return cont(f.res, false)
	}
	f := &flight{key: key, spec: spec, leader: claimed, until: now.Add(fl.patience(spec))}
	fl.add(f, now)
	fl.wait(f, ctxID, cont)
	if !claimed {
		count(spec.counters, "waited_remote")
		fl.setFast(true)
		return types.ActionPause
	}
	f.inJoin = true
	fl.start(f, false)
	f.inJoin = false
	if f.done { // answered synchronously: the callout could not even be sent
		fl.unwait(ctxID)
		return cont(f.res, true)
	}
	return types.ActionPause
}

// patience is how long a request waits for a flight before it gives up with a 503: long
// enough for a leader to finish, or for its lease to expire and another VM to take over.
func (fl *flights) patience(spec *flightSpec) time.Duration { return 2*spec.lease + time.Second }

func (fl *flights) add(f *flight, now time.Time) {
	if len(fl.byKey) >= fl.max {
		fl.sweep(now, true)
	}
	fl.byKey[f.key] = f
}

func (fl *flights) wait(f *flight, ctxID uint32, cont flightCont) {
	f.waiters = append(f.waiters, flightWaiter{ctxID: ctxID, cont: cont})
	fl.byCtx[ctxID] = f.key
}

// unwait forgets the request ctxID (it went away, or no longer waits).
func (fl *flights) unwait(ctxID uint32) {
	key, ok := fl.byCtx[ctxID]
	if !ok {
		return
	}
	delete(fl.byCtx, ctxID)
	f := fl.byKey[key]
	if f == nil {
		return
	}
	for i, w := range f.waiters {
		if w.ctxID == ctxID {
			f.waiters = append(f.waiters[:i], f.waiters[i+1:]...)
			break
		}
	}
	if !f.done && !f.leader && len(f.waiters) == 0 {
		delete(fl.byKey, key) // nobody here waits for another VM's answer any more
	}
}

// start runs a flight this VM leads. From a request it hops to the root context first (a
// VM-local shared queue; OnQueueReady runs it), so that the callout belongs to the plugin
// and outlives the request.
func (fl *flights) start(f *flight, fromRoot bool) {
	if !fromRoot && fl.queue != 0 {
		err := proxywasm.EnqueueSharedQueue(fl.queue, f.key[:])
		if err == nil {
			return
		}
		logAt(levelWarn, "shared queue failed, sending from the request", "kind", f.spec.kind, "err", err)
	}
	fl.run(f)
}

func (fl *flights) run(f *flight) {
	if f.started || f.done {
		return
	}
	f.started = true
	f.spec.run(func(res *flightResult, payload []byte, keep time.Duration) {
		fl.finish(f, res, payload, keep)
	})
}

// onQueueReady runs the flights queued by this VM's requests, now in the root context.
func (fl *flights) onQueueReady(queueID uint32) {
	if queueID != fl.queue {
		return
	}
	for {
		item, err := proxywasm.DequeueSharedQueue(queueID)
		if err != nil {
			return
		}
		var k engine.FlightKey
		if len(item) != len(k) {
			continue
		}
		copy(k[:], item)
		if f := fl.byKey[k]; f != nil && f.leader {
			fl.run(f)
		}
	}
}

// finish parks a flight's result in shared data and resumes the VM's waiters.
func (fl *flights) finish(f *flight, res *flightResult, payload []byte, keep time.Duration) {
	if f.done {
		return
	}
	now := fl.p.now()
	keep = max(keep, minPark)
	if res.status != engine.FlightOK {
		payload = nil
	}
	e := &engine.SlotEntry{Key: f.key, State: engine.EntryResult, Status: res.status, Exp: now.Add(keep), Code: res.code, Payload: payload}
	if err := f.spec.store.put(e, now); err != nil {
		logAt(levelWarn, "single flight: parking the result failed", "kind", f.spec.kind, "err", err)
	}
	f.done, f.res, f.until = true, res, now.Add(keep)
	if fl.byKey[f.key] == nil {
		fl.byKey[f.key] = f
	}
	if !f.inJoin {
		fl.wake(f, res)
	}
}

// wake continues every request waiting for f with res.
func (fl *flights) wake(f *flight, res *flightResult) {
	ws := f.waiters
	f.waiters = nil
	for _, w := range ws {
		if k, ok := fl.byCtx[w.ctxID]; !ok || k != f.key {
			continue
		}
		delete(fl.byCtx, w.ctxID)
		if err := proxywasm.SetEffectiveContext(w.ctxID); err != nil {
			continue // the request is gone
		}
		if w.cont(res, true) == types.ActionContinue {
			if err := proxywasm.ResumeHttpRequest(); err != nil {
				logAt(levelWarn, "resuming a request failed", "kind", f.spec.kind, "err", err)
			}
		}
	}
	if len(ws) > 0 {
		// Back to the root context: a callout sent after this (a takeover in the tick)
		// must belong to the plugin, not to the last request woken.
		_ = proxywasm.SetEffectiveContext(fl.p.contextID)
	}
}

// decode turns a parked entry into a result; a payload that does not open counts as a
// transient failure (the next request tries again).
func (fl *flights) decode(spec *flightSpec, e *engine.SlotEntry, now time.Time) *flightResult {
	res := &flightResult{status: e.Status, code: e.Code}
	if e.Status == engine.FlightOK {
		v, err := spec.decode(e.Key, e.Payload, now)
		if err != nil {
			return &flightResult{status: engine.FlightTransient, err: err}
		}
		res.value = v
	}
	return res
}

// tick polls the flights this VM's requests wait for in other VMs, takes over a flight
// whose leader's lease expired, and gives up on waits that took too long.
func (fl *flights) tick(now time.Time) {
	remote := false
	for _, f := range fl.pending() {
		if f.leader {
			switch {
			case !f.started:
				fl.run(f) // the hop through the queue has not happened: run from here
			case now.After(f.until):
				// The callout has its own timeout, so this is a safety net: answer the
				// waiters, and let new requests start afresh. A late answer is still parked.
				delete(fl.byKey, f.key)
				fl.wake(f, &flightResult{status: engine.FlightTransient, err: errors.New("filter: no answer in time")})
			}
			continue
		}
		e, claimed, err := f.spec.store.claim(f.key, now, f.spec.lease)
		switch {
		case err == nil && e != nil && e.State == engine.EntryResult:
			f.done, f.res, f.until = true, fl.decode(f.spec, e, now), e.Exp
			fl.wake(f, f.res)
		case err == nil && claimed:
			// audit events: refresh_takeover, exchange_takeover
			auditInfo(f.spec.kind+"_takeover", "key", f.key.String()[:8], "reason", "leader_lease_expired")
			f.leader, f.until = true, now.Add(fl.patience(f.spec))
			fl.run(f)
		case now.After(f.until):
			delete(fl.byKey, f.key)
			fl.wake(f, &flightResult{status: engine.FlightTransient, err: errors.New("filter: waited too long for another worker's answer")})
		default:
			remote = true
		}
	}
	fl.setFast(remote)
	if now.Sub(fl.lastSweep) > 5*time.Second {
		fl.sweep(now, false)
	}
}

func (fl *flights) pending() []*flight {
	var out []*flight
	for _, f := range fl.byKey {
		if !f.done {
			out = append(out, f)
		}
	}
	return out
}

// sweep drops results past their time; when full, it drops finished flights regardless.
func (fl *flights) sweep(now time.Time, full bool) {
	fl.lastSweep = now
	for k, f := range fl.byKey {
		if f.done && (!now.Before(f.until) || full && len(fl.byKey) >= fl.max/2) {
			delete(fl.byKey, k)
		}
	}
}

// resetTick sets the tick period this VM needs now (after the short first tick).
func (fl *flights) resetTick() {
	fl.fast = !fl.fast
	fl.setFast(!fl.fast)
}

// setFast switches between the fast tick (someone here waits for another VM) and the
// normal one.
func (fl *flights) setFast(on bool) {
	if on == fl.fast {
		return
	}
	fl.fast = on
	period := tickPeriod
	if on {
		period = flightTickPeriod
	}
	// Older Envoys apply a new period to a running timer only after its next tick; stopping
	// the timer first makes the new period take effect now.
	_ = proxywasm.SetTickPeriodMilliSeconds(0)
	if err := proxywasm.SetTickPeriodMilliSeconds(uint32(period / time.Millisecond)); err != nil {
		logAt(levelWarn, "setting the tick period failed", "err", err)
	}
}
