package filter

import (
	"errors"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/engine"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

// Single flight across the VMs of one Envoy: the per-VM state machine.
//
// A flight is one call to the provider that many requests need the answer to: a refresh of
// one session's tokens, or one on-behalf-of exchange. Requests of one session arrive on every
// worker (VM) at once, and a provider that rotates refresh tokens accepts each refresh token
// only once, so exactly one VM may call it; the others must wait for that answer.
//
// The unit is three files: this one (what one VM knows of each flight and what it does next),
// singleflight.go (the record in shared data every VM reads and writes with compare-and-swap:
// slotStore, over the codec engine.SlotEntry) and flighthost.go (the host calls: the hop to
// the root context, resuming a request, the tick period). refresh.go and exchange.go each
// give a flightSpec: how to call the provider, how to open a parked result.
//
// One VM's view of one flight is in one of these states:
//
//	idle     not in flights.byKey: nothing known here. join claims the record: a parked
//	         result -> parked; the lease taken -> queued; another VM's live lease -> polling.
//	queued   this VM holds the lease; the hop to the root context (flighthost.go hop) has not
//	         run the flight yet. onQueueReady, or the next tick, runs it -> leading.
//	leading  this VM holds the lease and its provider call is out. finish parks the answer in
//	         shared data and wakes the waiters -> parked. Past the waiters' patience the tick
//	         answers them with a transient failure -> idle (a late answer is still parked).
//	polling  another VM holds the lease; this VM's waiters poll the record from the tick (fast
//	         ticks while any do): a parked result -> parked and wake; the lease expired (its
//	         leader died) -> this VM takes it over -> leading; past patience -> idle with a
//	         transient failure; the last waiter gone -> idle.
//	parked   the answer is known here until f.until: join continues new requests with it at
//	         once; sweep drops it after.
//
// A request continues in one way only: its flightCont, called with the flight's result, either
// returned from join (a result already parked, or a provider call that failed before it was
// sent) or from wake (the request resumed when its Action is Continue).
//
// Failure modes:
//
//   - The leader's VM dies (or the callout never answers) mid-flight: its lease expires after
//     the provider timeout plus a second, and the next waiter (or request) takes the lease and
//     calls the provider itself. If the dead leader's request had already reached a provider
//     that rotates refresh tokens, that retry gets invalid_grant and the user logs in again;
//     nothing stale is forwarded meanwhile.
//   - A request that leads a flight and goes away: the callout is sent from the plugin's root
//     context (the hop), so Envoy does not cancel it with the stream and its answer is still
//     parked for the others.
//   - Shared data is per Envoy: replicas do not see each other's leases. Two replicas serving
//     the same session at the same instant (no session affinity, a page's fetches spread over
//     pods) can both refresh; with rotation one of them gets invalid_grant and that request's
//     user logs in again. Session affinity (consistent hashing on the session cookie) or a
//     provider with a reuse grace period for rotated refresh tokens removes the race.

// flightState is what one VM knows of a flight; idle is the absence of an entry.
type flightState uint8

const (
	flightQueued  flightState = iota + 1 // leader; the provider call not sent yet
	flightLeading                        // leader; the provider call is out
	flightPolling                        // another VM leads; waiters poll from the tick
	flightParked                         // the result is known until until
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
	status engine.FlightStatus
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
	// replicated: with a store, one replica runs it for all (store.go runFlight).
	replicated bool
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
	state   flightState
	res     *flightResult // parked: the result
	until   time.Time     // queued, leading, polling: when waiters give up; parked: when the result is dropped
	waiters []flightWaiter
	remote  *remoteFlight // leading here while the store is asked (store.go)
}

func (f *flight) leads() bool { return f.state == flightQueued || f.state == flightLeading }

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

// join makes the request ctxID take part in flight key: it continues at once with a result
// parked earlier, or waits for the flight (leading it if nobody does) and returns Pause.
func (fl *flights) join(ctxID uint32, key engine.FlightKey, spec *flightSpec, cont flightCont) types.Action {
	now := fl.p.now()
	if f := fl.byKey[key]; f != nil {
		if f.state != flightParked {
			fl.wait(f, ctxID, cont)
			if f.leads() {
				count(spec.counters, "waited")
			} else {
				count(spec.counters, "waited_remote")
			}
			return types.ActionPause
		}
		if now.Before(f.until) {
			return cont(f.res, false)
		}
		// Past its time: the claim below replaces it.
	}
	e, claimed, err := spec.store.claim(key, now, spec.lease)
	if err != nil {
		logAt(levelWarn, "single flight: shared data failed, going ahead alone", "kind", spec.kind, "err", err)
		claimed = true
	}
	f := &flight{key: key, spec: spec, until: now.Add(fl.patience(spec))}
	switch {
	case e != nil && e.State == engine.EntryResult:
		f.state, f.res, f.until = flightParked, fl.decode(spec, e, now), e.Exp
		fl.add(f, now)
		return cont(f.res, false)
	case !claimed:
		f.state = flightPolling
		fl.add(f, now)
		fl.wait(f, ctxID, cont)
		count(spec.counters, "waited_remote")
		fl.setFast(true)
		return types.ActionPause
	}
	f.state = flightQueued
	fl.add(f, now)
	fl.hop(f)
	if f.state == flightParked { // answered at once: the callout could not even be sent
		return cont(f.res, true)
	}
	fl.wait(f, ctxID, cont)
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
	if f.state == flightPolling && len(f.waiters) == 0 {
		delete(fl.byKey, key) // nobody here waits for another VM's answer any more
	}
}

// run sends a queued flight's provider call: queued -> leading.
func (fl *flights) run(f *flight) {
	if f.state != flightQueued {
		return
	}
	f.state = flightLeading
	finish := func(res *flightResult, payload []byte, keep time.Duration) {
		fl.finish(f, res, payload, keep)
	}
	if f.spec.replicated && fl.p.store != nil {
		fl.p.store.runFlight(fl, f, finish)
		return
	}
	f.spec.run(finish)
}

// current reports whether f is still the flight this VM leads for its key.
func (fl *flights) current(f *flight) bool {
	return fl.byKey[f.key] == f && f.state == flightLeading
}

// finish parks a flight's result in shared data and wakes the VM's waiters: leading -> parked.
func (fl *flights) finish(f *flight, res *flightResult, payload []byte, keep time.Duration) {
	if f.state == flightParked {
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
	f.state, f.res, f.until = flightParked, res, now.Add(keep)
	if fl.byKey[f.key] == nil { // answered after the waiters gave up: parked here again
		fl.byKey[f.key] = f
	}
	fl.wake(f, res)
}

// giveUp answers f's waiters with a transient failure and forgets f: -> idle.
func (fl *flights) giveUp(f *flight, why string) {
	delete(fl.byKey, f.key)
	fl.wake(f, &flightResult{status: engine.FlightTransient, err: errors.New(why)})
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

// tick moves every flight this VM's requests wait for: a queued one is run (its hop did not
// happen), a leading one past patience gives up (the callout has its own timeout, so this is
// a safety net), a polling one reads the record: a parked result wakes the waiters, an expired
// lease is taken over, past patience they give up.
func (fl *flights) tick(now time.Time) {
	remote := false
	for _, f := range fl.pending() {
		switch f.state {
		case flightQueued:
			fl.run(f)
			continue
		case flightLeading:
			if now.After(f.until) {
				fl.giveUp(f, "filter: no answer in time")
			} else if f.remote != nil {
				fl.p.store.pollFlight(fl, f, now) // another replica leads it
				remote = true
			}
			continue
		}
		e, claimed, err := f.spec.store.claim(f.key, now, f.spec.lease)
		switch {
		case err == nil && e != nil && e.State == engine.EntryResult:
			f.state, f.res, f.until = flightParked, fl.decode(f.spec, e, now), e.Exp
			fl.wake(f, f.res)
		case err == nil && claimed:
			// audit events: refresh_takeover, exchange_takeover
			auditInfo(f.spec.kind+"_takeover", "key", f.key.String()[:8], "reason", "leader_lease_expired")
			f.state, f.until = flightQueued, now.Add(fl.patience(f.spec))
			fl.run(f)
		case now.After(f.until):
			fl.giveUp(f, "filter: waited too long for another worker's answer")
		default:
			remote = true
		}
	}
	fl.setFast(remote)
	if now.Sub(fl.lastSweep) > 5*time.Second {
		fl.sweep(now, false)
	}
}

// pending lists the flights not parked yet.
func (fl *flights) pending() []*flight {
	var out []*flight
	for _, f := range fl.byKey {
		if f.state != flightParked {
			out = append(out, f)
		}
	}
	return out
}

// sweep drops results past their time; when full, it drops parked flights regardless.
func (fl *flights) sweep(now time.Time, full bool) {
	fl.lastSweep = now
	for k, f := range fl.byKey {
		if f.state == flightParked && (!now.Before(f.until) || full && len(fl.byKey) >= fl.max/2) {
			delete(fl.byKey, k)
		}
	}
}
