package filter

import (
	"errors"
	"strconv"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/engine"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

// Single flight's record in shared data (flight.go has the per-VM states).
//
// Coordination is in shared data, which is per Envoy and has compare-and-swap:
//
//   - A flight is named by an engine.FlightKey: a hash of its secret input (the refresh
//     token, or the subject token and route), never the input itself.
//   - The first VM to need it writes a lease entry with CAS (claim; a short expiry: the
//     provider timeout plus a second) and calls the provider. Others see the live lease and
//     wait.
//   - The leader parks the answer in the same entry (put): the fresh tokens sealed with the
//     sealer (purpose session, a name bound to the flight key, so a parked value never opens
//     as a cookie or under another key), or the failure code. It stays for a while (a refresh
//     result for refreshPark, an exchanged token until it expires within its margin), so
//     requests still carrying the old cookie pick it up instead of spending a rotated refresh
//     token again.
//
// The record's codec is engine/slots.go (engine.SlotEntry, engine.UpdateSlot): Envoy's shared
// data has no delete, so entries live in a fixed number of slot keys per store; each write of
// a slot drops its expired entries, which bounds memory. Every write is one updateShared
// (shareddata.go), the filter's one CAS loop.

// slotStore keeps flight entries (engine.SlotEntry) in shared data, spread over a fixed
// number of keys.
type slotStore struct {
	prefix     string
	slots      int
	maxEntries int // per slot; beyond it the oldest entries are dropped
}

func (st *slotStore) slotKey(k engine.FlightKey) string {
	return st.prefix + strconv.Itoa(k.Slot(st.slots))
}

// lookup returns k's live entry, if any.
func (st *slotStore) lookup(k engine.FlightKey, now time.Time) (*engine.SlotEntry, error) {
	v, _, err := getSharedData(st.slotKey(k))
	if errors.Is(err, types.ErrorStatusNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return engine.LookupSlot(v, k, now), nil
}

// claim returns k's live entry if there is one; otherwise it writes a lease for k until
// now+lease and reports claimed.
//
// The decision is made afresh on every attempt of the CAS loop: an attempt whose write lost
// to another VM must not leave "claimed" behind for the attempt that then sees that VM's
// lease (two leaders, two refreshes, and a rotated refresh token spent twice).
func (st *slotStore) claim(k engine.FlightKey, now time.Time, lease time.Duration) (cur *engine.SlotEntry, claimed bool, err error) {
	err = st.update(k, now, func(e *engine.SlotEntry) *engine.SlotEntry {
		cur, claimed = e, e == nil
		if e != nil {
			return nil
		}
		return &engine.SlotEntry{Key: k, State: engine.EntryLease, Exp: now.Add(lease)}
	})
	if err != nil {
		return nil, false, err
	}
	return cur, claimed, nil
}

// put writes e, replacing k's entry whatever it holds.
func (st *slotStore) put(e *engine.SlotEntry, now time.Time) error {
	return st.update(e.Key, now, func(*engine.SlotEntry) *engine.SlotEntry { return e })
}

// update reads k's slot, lets decide rule on k's live entry (nil if none), and writes the
// slot back with decide's replacement, expired entries dropped, unless decide returns nil.
// CAS makes the read-decide-write atomic across VMs.
func (st *slotStore) update(k engine.FlightKey, now time.Time, decide func(*engine.SlotEntry) *engine.SlotEntry) error {
	return updateShared(st.slotKey(k), func(v []byte) ([]byte, error) {
		return engine.UpdateSlot(v, k, now, st.maxEntries, decide), nil
	})
}
