package filter

import (
	"bytes"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/config"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/engine"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

// Deterministic cross-VM races. In one Envoy the VMs share shared data and nothing else, so
// two flights values over one emulated host are two VMs. interleave makes "the other VM"
// write just before this VM's next compare-and-swap of a key, which then fails with
// CasMismatch: the moment a real race has, chosen instead of hoped for.

// interleave runs other (with the real shared data, not intercepted) just before the next
// set of a key starting with prefix, once.
func interleave(t *testing.T, prefix string, other func()) {
	t.Helper()
	realSet := setSharedData
	done := false
	setSharedData = func(key string, v []byte, cas uint32) error {
		if !done && strings.HasPrefix(key, prefix) {
			done = true
			setSharedData = realSet
			other()
			setSharedData = realSet
		}
		return realSet(key, v, cas)
	}
	t.Cleanup(func() {
		setSharedData = realSet
		if !done {
			t.Errorf("no set of %q happened: the race was never staged", prefix)
		}
	})
}

func casStore() *slotStore { return &slotStore{prefix: "cas/", slots: 1, maxEntries: 8} }

// Claim: VM B claims between VM A's read and write. A must see B's lease and wait, not lead
// too (the defect: A's first attempt set claimed, its retry kept it).
func TestClaimLosesCASRaceToAnotherVM(t *testing.T) {
	withHost(t, func() {
		st, now, k := casStore(), time.Unix(1700000000, 0), engine.NewFlightKey("t", "rt")
		interleave(t, "cas/", func() {
			if _, claimed, err := st.claim(k, now, 5*time.Second); !claimed || err != nil {
				t.Fatalf("VM B's claim: %v %v", claimed, err)
			}
		})
		cur, claimed, err := st.claim(k, now, 5*time.Second)
		if err != nil || claimed || cur == nil || cur.State != engine.EntryLease {
			t.Fatalf("VM A after losing the race: cur %+v claimed %v err %v; want B's lease and claimed=false", cur, claimed, err)
		}
	})
}

// Lease takeover: the leader died, its lease expired, and two VMs' waiters poll at once. One
// takes over; the other must keep waiting.
func TestTakeoverLosesCASRaceToAnotherVM(t *testing.T) {
	withHost(t, func() {
		st, now, k := casStore(), time.Unix(1700000000, 0), engine.NewFlightKey("t", "rt")
		if _, claimed, _ := st.claim(k, now, time.Second); !claimed {
			t.Fatal("the dead leader's claim")
		}
		later := now.Add(2 * time.Second) // its lease has expired
		interleave(t, "cas/", func() {
			if _, claimed, err := st.claim(k, later, 5*time.Second); !claimed || err != nil {
				t.Fatalf("VM B's takeover: %v %v", claimed, err)
			}
		})
		cur, claimed, err := st.claim(k, later, 5*time.Second)
		if err != nil || claimed || cur == nil || !cur.Exp.Equal(later.Add(5*time.Second)) {
			t.Fatalf("VM A's takeover after losing the race: cur %+v claimed %v err %v; want B's new lease", cur, claimed, err)
		}
	})
}

// Park: the leader parks its result while another VM claims a different flight in the same
// slot. Neither write may be lost.
func TestParkKeepsAnotherVMsConcurrentWrite(t *testing.T) {
	withHost(t, func() {
		st, now := casStore(), time.Unix(1700000000, 0)
		k1, k2 := engine.NewFlightKey("t", "one"), engine.NewFlightKey("t", "two")
		if _, claimed, _ := st.claim(k1, now, 5*time.Second); !claimed {
			t.Fatal("claim k1")
		}
		interleave(t, "cas/", func() {
			if _, claimed, err := st.claim(k2, now, 5*time.Second); !claimed || err != nil {
				t.Fatalf("VM B's claim of k2: %v %v", claimed, err)
			}
		})
		if err := st.put(&engine.SlotEntry{Key: k1, State: engine.EntryResult, Exp: now.Add(time.Minute), Payload: []byte("sealed")}, now); err != nil {
			t.Fatal(err)
		}
		e1, _ := st.lookup(k1, now)
		e2, _ := st.lookup(k2, now)
		if e1 == nil || e1.State != engine.EntryResult || !bytes.Equal(e1.Payload, []byte("sealed")) {
			t.Errorf("k1's parked result: %+v", e1)
		}
		if e2 == nil || e2.State != engine.EntryLease {
			t.Errorf("k2's lease, written by the other VM meanwhile: %+v", e2)
		}
	})
}

// twoVMs is two VMs' flights over one emulated Envoy's shared data, and a spec whose run
// counts the provider calls and parks what finish is given.
type twoVMs struct {
	a, b   *flights
	spec   *flightSpec
	calls  int
	finish []func(res *flightResult, payload []byte, keep time.Duration)
	now    time.Time
}

func newTwoVMs(t *testing.T) *twoVMs {
	t.Helper()
	v := &twoVMs{now: time.Unix(1700000000, 0)}
	vm := func(id uint32) *flights {
		p := &pluginContext{contextID: id, now: func() time.Time { return v.now }, rand: rand.Reader,
			cfg: &config.Config{Provider: config.Provider{Issuer: "https://op.test"}}}
		return newFlights(p, 64)
	}
	v.a, v.b = vm(1), vm(2)
	v.spec = &flightSpec{
		kind: "refresh", store: casStore(), lease: 5 * time.Second,
		run: func(finish func(*flightResult, []byte, time.Duration)) {
			v.calls++
			v.finish = append(v.finish, finish)
		},
		decode: func(_ engine.FlightKey, payload []byte, _ time.Time) (any, error) { return string(payload), nil },
	}
	return v
}

type outcome struct {
	res   *flightResult
	fresh bool
	n     int
}

func (o *outcome) cont(res *flightResult, fresh bool) types.Action {
	o.res, o.fresh = res, fresh
	o.n++
	return types.ActionPause // the emulator has no such stream to resume
}

// Join: a request on each VM joins the same flight and their claims race. Exactly one
// provider call; the loser is answered from the tick with the winner's result.
func TestJoinRaceOneProviderCall(t *testing.T) {
	withHost(t, func() {
		v := newTwoVMs(t)
		k := engine.NewFlightKey("refresh", "rt-1")
		var onB outcome
		interleave(t, "cas/", func() {
			if act := v.b.join(20, k, v.spec, onB.cont); act != types.ActionPause {
				t.Fatalf("VM B's join: %v, want Pause", act)
			}
		})
		var onA outcome
		if act := v.a.join(10, k, v.spec, onA.cont); act != types.ActionPause {
			t.Fatalf("VM A's join: %v, want Pause", act)
		}
		v.a.tick(v.now)
		v.b.tick(v.now) // B's hop through its queue has not happened: it runs from the tick
		if v.calls != 1 {
			t.Fatalf("%d provider calls, want 1", v.calls)
		}
		v.finish[0](&flightResult{status: engine.FlightOK, value: "fresh"}, []byte("fresh"), time.Minute)
		if onB.n != 1 || onB.res.status != engine.FlightOK {
			t.Fatalf("the leader's request: %+v", onB)
		}
		v.now = v.now.Add(20 * time.Millisecond)
		v.a.tick(v.now)
		if onA.n != 1 || onA.res.status != engine.FlightOK || onA.res.value != "fresh" || !onA.fresh {
			t.Fatalf("the other VM's request: %+v, want the parked result", onA)
		}
		if v.calls != 1 {
			t.Fatalf("%d provider calls after the waiter's poll, want 1", v.calls)
		}
	})
}

// Waiters' poll racing the leader's park: the poll must see the result, not take the lease
// and call the provider again with a spent refresh token.
func TestWaiterPollRacesPark(t *testing.T) {
	withHost(t, func() {
		v := newTwoVMs(t)
		k := engine.NewFlightKey("refresh", "rt-2")
		var onB, onA outcome
		v.b.join(20, k, v.spec, onB.cont)
		v.b.tick(v.now) // B leads and calls the provider
		v.a.join(10, k, v.spec, onA.cont)
		// The lease expires while the provider is slow; B's answer is parked just as A polls.
		v.now = v.now.Add(6 * time.Second)
		interleave(t, "cas/", func() {
			v.finish[0](&flightResult{status: engine.FlightOK, value: "fresh"}, []byte("fresh"), time.Minute)
		})
		v.a.tick(v.now)
		if v.calls != 1 {
			t.Fatalf("%d provider calls, want 1 (A took over a flight whose result was being parked)", v.calls)
		}
		if onA.n != 1 || onA.res.status != engine.FlightOK {
			t.Fatalf("A's request: %+v, want the parked result", onA)
		}
	})
}

// Waiters' timeout: a waiter whose leader never answers, and whose lease another VM keeps
// renewing, gives up with a transient failure after its patience, once.
func TestWaiterGivesUpAfterPatience(t *testing.T) {
	withHost(t, func() {
		v := newTwoVMs(t)
		k := engine.NewFlightKey("refresh", "rt-3")
		var onB, onA outcome
		v.b.join(20, k, v.spec, onB.cont)
		v.b.tick(v.now)
		v.a.join(10, k, v.spec, onA.cont)
		v.now = v.now.Add(4 * time.Second)
		v.a.tick(v.now)
		if onA.n != 0 {
			t.Fatalf("A gave up inside the lease: %+v", onA)
		}
		// Past A's patience (2 leases + 1 s), with another VM holding a fresh lease.
		v.now = v.now.Add(8 * time.Second)
		if _, claimed, _ := v.spec.store.claim(k, v.now, 5*time.Second); !claimed {
			t.Fatal("a third VM's takeover")
		}
		v.a.tick(v.now)
		if onA.n != 1 || onA.res.status != engine.FlightTransient {
			t.Fatalf("A after its patience: %+v, want one transient failure", onA)
		}
		if v.calls != 1 {
			t.Fatalf("%d provider calls, want 1", v.calls)
		}
	})
}

// The fetch lease and the interval claim race the same way: the VM whose write lost sees the
// winner's value on its next attempt and stands back.
func TestLeaseAndIntervalLoseCASRace(t *testing.T) {
	withHost(t, func() {
		now := time.Unix(1700000000, 0)
		interleave(t, "lease", func() {
			if !takeLease("lease", now, 5*time.Second) {
				t.Fatal("VM B's lease")
			}
		})
		if takeLease("lease", now, 5*time.Second) {
			t.Error("VM A took a lease VM B holds")
		}
		if !takeLease("lease", now.Add(6*time.Second), 5*time.Second) {
			t.Error("the expired lease was not taken")
		}
	})
	withHost(t, func() {
		now := time.Unix(1700000000, 0)
		interleave(t, "interval", func() {
			if !claimInterval("interval", now, time.Minute) {
				t.Fatal("VM B's claim")
			}
		})
		if claimInterval("interval", now, time.Minute) {
			t.Error("VM A claimed an interval VM B had just claimed")
		}
	})
}
