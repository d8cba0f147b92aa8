package filter

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/proxytest"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

func testEntries(now time.Time) []*slotEntry {
	return []*slotEntry{
		{key: newFlightKey("t", "a"), state: entryLease, exp: now.Add(time.Second)},
		{key: newFlightKey("t", "b"), state: entryResult, status: flightOK, exp: now.Add(time.Minute), payload: []byte("sealed")},
		{key: newFlightKey("t", "c"), state: entryResult, status: flightEnded, exp: now.Add(time.Minute), code: "invalid_grant"},
	}
}

func TestSlotEncodingRoundTrip(t *testing.T) {
	now := time.Unix(1700000000, 123456789)
	in := testEntries(now)
	b := encodeSlot(in)
	out := decodeSlot(b)
	if len(out) != len(in) {
		t.Fatalf("decoded %d entries, want %d", len(out), len(in))
	}
	for i := range in {
		a, o := in[i], out[i]
		if a.key != o.key || a.state != o.state || a.status != o.status || !a.exp.Equal(o.exp) || a.code != o.code || !bytes.Equal(a.payload, o.payload) {
			t.Errorf("entry %d: got %+v, want %+v", i, o, a)
		}
	}
	// Every truncation decodes to whole entries only, without panicking.
	for n := range len(b) {
		for _, e := range decodeSlot(b[:n]) {
			if e.key != in[0].key && e.key != in[1].key {
				t.Fatalf("truncated at %d: decoded an entry that was not whole", n)
			}
		}
	}
}

func FuzzDecodeSlot(f *testing.F) {
	f.Add(encodeSlot(testEntries(time.Unix(1700000000, 0))))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		es := decodeSlot(b)
		// What decodes re-encodes to the bytes it came from.
		if enc := encodeSlot(es); !bytes.HasPrefix(b, enc) {
			t.Fatalf("re-encoding %d entries does not give a prefix of the input", len(es))
		}
	})
}

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
		k := newFlightKey("test", "refresh-token-1")
		lease := 5 * time.Second

		cur, claimed, err := st.claim(k, now, lease)
		if err != nil || !claimed || cur != nil {
			t.Fatalf("first claim: %v %v %v, want claimed", cur, claimed, err)
		}
		cur, claimed, err = st.claim(k, now.Add(time.Second), lease)
		if err != nil || claimed || cur == nil || cur.state != entryLease {
			t.Fatalf("claim while leased: %+v %v %v, want the live lease", cur, claimed, err)
		}
		// A dead leader's lease expires: the next claim wins.
		if _, claimed, _ = st.claim(k, now.Add(lease), lease); !claimed {
			t.Fatalf("claim after the lease expired: not claimed")
		}
		res := &slotEntry{key: k, state: entryResult, status: flightOK, exp: now.Add(time.Minute), payload: []byte("x")}
		if err := st.put(res, now.Add(lease)); err != nil {
			t.Fatal(err)
		}
		cur, claimed, _ = st.claim(k, now.Add(30*time.Second), lease)
		if claimed || cur == nil || cur.state != entryResult || string(cur.payload) != "x" {
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
			k := newFlightKey("test", fmt.Sprint(i))
			if _, claimed, err := st.claim(k, now, time.Minute); err != nil || !claimed {
				t.Fatalf("claim %d: %v %v", i, claimed, err)
			}
		}
		v, _, _ := proxywasm.GetSharedData(st.slotKey(newFlightKey("test", "0")))
		if n := len(decodeSlot(v)); n != 8 {
			t.Errorf("slot holds %d entries, want maxEntries 8", n)
		}
		// Expired entries are dropped on the next write.
		if _, _, err := st.claim(newFlightKey("test", "late"), now.Add(2*time.Minute), time.Minute); err != nil {
			t.Fatal(err)
		}
		v, _, _ = proxywasm.GetSharedData(st.slotKey(newFlightKey("test", "0")))
		if n := len(decodeSlot(v)); n != 1 {
			t.Errorf("slot holds %d entries after the others expired, want 1", n)
		}
	})
}
