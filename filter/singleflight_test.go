package filter

import (
	"fmt"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/engine"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/proxytest"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

// withHost runs f against the SDK's emulated host (shared data with CAS).
func withHost(t *testing.T, f func()) {
	t.Helper()
	opt := proxytest.NewEmulatorOption().WithVMContext(&types.DefaultVMContext{})
	_, reset := proxytest.NewHostEmulator(opt)
	defer reset()
	f()
}

func TestSlotStoreLease(t *testing.T) {
	withHost(t, func() {
		st := &slotStore{prefix: "test/", slots: 4, maxEntries: 8}
		now := time.Unix(1700000000, 0)
		k := engine.NewFlightKey("test", "refresh-token-1")
		lease := 5 * time.Second

		cur, claimed, err := st.claim(k, now, lease)
		if err != nil || !claimed || cur != nil {
			t.Fatalf("first claim: %v %v %v, want claimed", cur, claimed, err)
		}
		cur, claimed, err = st.claim(k, now.Add(time.Second), lease)
		if err != nil || claimed || cur == nil || cur.State != engine.EntryLease {
			t.Fatalf("claim while leased: %+v %v %v, want the live lease", cur, claimed, err)
		}
		// A dead leader's lease expires: the next claim wins.
		if _, claimed, _ = st.claim(k, now.Add(lease), lease); !claimed {
			t.Fatalf("claim after the lease expired: not claimed")
		}
		res := &engine.SlotEntry{Key: k, State: engine.EntryResult, Status: engine.FlightOK, Exp: now.Add(time.Minute), Payload: []byte("x")}
		if err := st.put(res, now.Add(lease)); err != nil {
			t.Fatal(err)
		}
		cur, claimed, _ = st.claim(k, now.Add(30*time.Second), lease)
		if claimed || cur == nil || cur.State != engine.EntryResult || string(cur.Payload) != "x" {
			t.Fatalf("claim with a parked result: %+v %v, want the result", cur, claimed)
		}
		if e, _ := st.lookup(k, now.Add(time.Minute)); e != nil {
			t.Errorf("result still there after it expired")
		}
	})
}

func TestSlotStoreBounded(t *testing.T) {
	withHost(t, func() {
		st := &slotStore{prefix: "test/", slots: 1, maxEntries: 8}
		now := time.Unix(1700000000, 0)
		for i := range 20 {
			k := engine.NewFlightKey("test", fmt.Sprint(i))
			if _, claimed, err := st.claim(k, now, time.Minute); err != nil || !claimed {
				t.Fatalf("claim %d: %v %v", i, claimed, err)
			}
		}
		v, _, _ := proxywasm.GetSharedData(st.slotKey(engine.NewFlightKey("test", "0")))
		if n := len(engine.DecodeSlot(v)); n != 8 {
			t.Errorf("slot holds %d entries, want maxEntries 8", n)
		}
		// Expired entries are dropped on the next write.
		if _, _, err := st.claim(engine.NewFlightKey("test", "late"), now.Add(2*time.Minute), time.Minute); err != nil {
			t.Fatal(err)
		}
		v, _, _ = proxywasm.GetSharedData(st.slotKey(engine.NewFlightKey("test", "0")))
		if n := len(engine.DecodeSlot(v)); n != 1 {
			t.Errorf("slot holds %d entries after the others expired, want 1", n)
		}
	})
}
