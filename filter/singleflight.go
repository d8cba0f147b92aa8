package filter

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strconv"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

// Single flight across the VMs of one Envoy.
//
// A flight is one call to the provider that many requests need the answer to: a refresh of
// one session's tokens, or one on-behalf-of exchange. Requests of one session arrive on every
// worker (VM) at once, and a provider that rotates refresh tokens accepts each refresh token
// only once, so exactly one VM may call it; the others must wait for that answer.
//
// Coordination is in shared data, which is per Envoy and has compare-and-swap:
//
//   - A flight is named by a flightKey: a hash of its secret input (the refresh token, or the
//     subject token and route), never the input itself.
//   - The first VM to need it writes a lease entry with CAS (a short expiry: the provider
//     timeout plus a second) and calls the provider. Others see the live lease and wait.
//   - The leader parks the answer in the same entry: the fresh tokens sealed with the sealer
//     (purpose session, a name bound to the flight key, so a parked value never opens as a
//     cookie or under another key), or the failure code. It stays for a while (a refresh
//     result for refreshParkTime, an exchanged token until it expires within its margin), so
//     requests still carrying the old cookie pick it up instead of spending a rotated refresh
//     token again.
//   - Waiters in the leader's VM are resumed from the callout's callback. Waiters in other VMs
//     are polled from the plugin's tick, which runs every flightTickPeriod while any VM-local
//     request waits for another VM (proxy-wasm has no per-request timers).
//
// Failure modes:
//
//   - The leader's VM dies (or the callout never answers) mid-flight: its lease expires after
//     the provider timeout plus a second, and the next waiter (or request) takes the lease and
//     calls the provider itself. If the dead leader's request had already reached a provider
//     that rotates refresh tokens, that retry gets invalid_grant and the user logs in again;
//     nothing stale is forwarded meanwhile.
//   - A request that leads a flight and goes away: the callout is sent from the plugin's root
//     context (a hop through a VM-local shared queue), so Envoy does not cancel it with the
//     stream and its answer is still parked for the others.
//   - Shared data is per Envoy: replicas do not see each other's leases. Two replicas serving
//     the same session at the same instant (no session affinity, a page's fetches spread over
//     pods) can both refresh; with rotation one of them gets invalid_grant and that request's
//     user logs in again. Session affinity (consistent hashing on the session cookie) or a
//     provider with a reuse grace period for rotated refresh tokens removes the race.
//
// Envoy's shared data has no delete, so entries live in a fixed number of slot keys per
// store; each write of a slot drops its expired entries, which bounds memory.

// flightKey names a flight in shared data.
type flightKey [16]byte

func newFlightKey(label string, parts ...string) flightKey {
	h := sha256.New()
	h.Write([]byte(label))
	for _, p := range parts {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(p)))
		h.Write(n[:])
		h.Write([]byte(p))
	}
	var k flightKey
	copy(k[:], h.Sum(nil))
	return k
}

func (k flightKey) String() string { return hex.EncodeToString(k[:]) }

// Entry states and result statuses.
const (
	entryLease  = 1
	entryResult = 2

	flightOK        = 0 // payload holds the sealed result
	flightEnded     = 1 // the grant is dead (invalid_grant, a rejected ID token): the session ends
	flightDenied    = 2 // the provider refused (exchange): 403
	flightTransient = 3 // unreachable, timeout, 5xx, garbage: try again later
	flightFailed    = 4 // any other failure: 502
)

// slotEntry is one flight in a slot.
type slotEntry struct {
	key     flightKey
	state   uint8
	status  uint8
	exp     time.Time // lease expiry, or until when the result is parked
	code    string    // provider error code (a fixed vocabulary, never a token)
	payload []byte    // sealed result
}

const slotEntryHeader = 16 + 1 + 1 + 8 + 2 + 4

// slotStore keeps flight entries in shared data, spread over a fixed number of keys.
type slotStore struct {
	prefix     string
	slots      int
	maxEntries int // per slot; beyond it the oldest entries are dropped
}

func (st *slotStore) slotKey(k flightKey) string {
	return st.prefix + strconv.Itoa(int(binary.BigEndian.Uint32(k[12:])%uint32(st.slots)))
}

// lookup returns k's live entry, if any.
func (st *slotStore) lookup(k flightKey, now time.Time) (*slotEntry, error) {
	v, _, err := getSharedData(st.slotKey(k))
	if errors.Is(err, types.ErrorStatusNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	for _, e := range decodeSlot(v) {
		if e.key == k && now.Before(e.exp) {
			return e, nil
		}
	}
	return nil, nil
}

// claim returns k's live entry if there is one; otherwise it writes a lease for k until
// now+lease and reports claimed.
//
// The decision is made afresh on every attempt of the CAS loop: an attempt whose write lost
// to another VM must not leave "claimed" behind for the attempt that then sees that VM's
// lease (two leaders, two refreshes, and a rotated refresh token spent twice).
func (st *slotStore) claim(k flightKey, now time.Time, lease time.Duration) (cur *slotEntry, claimed bool, err error) {
	err = st.update(k, now, func(e *slotEntry) *slotEntry {
		cur, claimed = e, e == nil
		if e != nil {
			return nil
		}
		return &slotEntry{key: k, state: entryLease, exp: now.Add(lease)}
	})
	if err != nil {
		return nil, false, err
	}
	return cur, claimed, nil
}

// put writes e, replacing k's entry whatever it holds.
func (st *slotStore) put(e *slotEntry, now time.Time) error {
	return st.update(e.key, now, func(*slotEntry) *slotEntry { return e })
}

// update reads k's slot, lets fn decide on k's live entry (nil if none), and writes the slot
// back with fn's replacement, expired entries dropped, unless fn returns nil. CAS makes the
// read-decide-write atomic across VMs.
func (st *slotStore) update(k flightKey, now time.Time, fn func(*slotEntry) *slotEntry) error {
	key := st.slotKey(k)
	return updateShared(key, func(v []byte) ([]byte, error) {
		var cur *slotEntry
		live := make([]*slotEntry, 0, 8)
		for _, e := range decodeSlot(v) {
			if !now.Before(e.exp) {
				continue
			}
			if e.key == k {
				cur = e
				continue
			}
			live = append(live, e)
		}
		next := fn(cur)
		if next == nil {
			return nil, nil
		}
		live = append(live, next)
		if len(live) > st.maxEntries {
			live = live[len(live)-st.maxEntries:]
		}
		return encodeSlot(live), nil
	})
}

func encodeSlot(es []*slotEntry) []byte {
	n := 0
	for _, e := range es {
		n += slotEntryHeader + len(e.code) + len(e.payload)
	}
	b := make([]byte, 0, n)
	for _, e := range es {
		b = append(b, e.key[:]...)
		b = append(b, e.state, e.status)
		b = binary.BigEndian.AppendUint64(b, uint64(e.exp.UnixNano()))
		b = binary.BigEndian.AppendUint16(b, uint16(len(e.code)))
		b = append(b, e.code...)
		b = binary.BigEndian.AppendUint32(b, uint32(len(e.payload)))
		b = append(b, e.payload...)
	}
	return b
}

// decodeSlot parses a slot; it stops at the first malformed entry (shared data is written
// only by this plugin, so that means a version mismatch: the rest is dropped on next write).
func decodeSlot(b []byte) []*slotEntry {
	var out []*slotEntry
	for len(b) >= slotEntryHeader {
		e := &slotEntry{state: b[16], status: b[17]}
		copy(e.key[:], b[:16])
		e.exp = time.Unix(0, int64(binary.BigEndian.Uint64(b[18:26])))
		cl := int(binary.BigEndian.Uint16(b[26:28]))
		b = b[28:]
		if len(b) < cl+4 {
			break
		}
		e.code = string(b[:cl])
		b = b[cl:]
		pl := int(binary.BigEndian.Uint32(b[:4]))
		b = b[4:]
		if len(b) < pl {
			break
		}
		e.payload = b[:pl:pl]
		b = b[pl:]
		out = append(out, e)
	}
	return out
}
