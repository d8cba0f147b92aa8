package filter

import (
	"encoding/hex"
	"io"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/engine"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

// The host calls of single flight (flight.go has the states): this VM's shared queue for the
// hop to the root context, resuming the requests a flight answers, and the tick period.

func newFlights(p *pluginContext, max int) *flights {
	fl := &flights{p: p, byKey: map[engine.FlightKey]*flight{}, byCtx: map[uint32]engine.FlightKey{}, max: max}
	var id [8]byte
	if _, err := io.ReadFull(p.rand, id[:]); err == nil {
		// One queue per VM (in Envoy the last registration of a name owns it), so the name is random.
		// Envoy keeps a registered queue for the life of the process: a reloaded plugin
		// leaves its old, empty queues behind.
		name := queueName(p.cfg.Provider.Issuer, hex.EncodeToString(id[:]))
		if q, err := proxywasm.RegisterSharedQueue(name); err == nil {
			fl.queue = q
		} else {
			logAt(levelWarn, "no shared queue: refreshes are sent from the request's context", "err", err)
		}
	}
	return fl
}

// hop runs a queued flight from the root context: through the VM's shared queue
// (onQueueReady runs it), so that the callout belongs to the plugin and outlives the request.
// Without a queue it runs at once, from the request's context.
func (fl *flights) hop(f *flight) {
	if fl.queue != 0 {
		err := proxywasm.EnqueueSharedQueue(fl.queue, f.key[:])
		if err == nil {
			return
		}
		logAt(levelWarn, "shared queue failed, sending from the request", "kind", f.spec.kind, "err", err)
	}
	fl.run(f)
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
		if string(item) == string(storeQueueItem) && fl.p.store != nil {
			fl.p.store.drain()
			continue
		}
		var k engine.FlightKey
		if len(item) != len(k) {
			continue
		}
		copy(k[:], item)
		if f := fl.byKey[k]; f != nil {
			fl.run(f)
		}
	}
}

// wake continues every request waiting for f with res, and resumes those whose continuation
// returns Continue.
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
	period := fl.p.normalTick()
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
