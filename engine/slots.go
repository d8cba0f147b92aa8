package engine

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"time"
)

// FlightKey names a single flight (a refresh of one session, one on-behalf-of exchange) in
// shared data: a hash of its secret input, never the input itself.
type FlightKey [16]byte

// NewFlightKey hashes label and parts (each length-prefixed, so no two lists collide).
func NewFlightKey(label string, parts ...string) FlightKey {
	h := sha256.New()
	h.Write([]byte(label))
	for _, p := range parts {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(p)))
		h.Write(n[:])
		h.Write([]byte(p))
	}
	var k FlightKey
	copy(k[:], h.Sum(nil))
	return k
}

func (k FlightKey) String() string { return hex.EncodeToString(k[:]) }

// Slot reports which of n slot keys holds k's entry.
func (k FlightKey) Slot(n int) int { return int(binary.BigEndian.Uint32(k[12:]) % uint32(n)) }

// EntryState is what a flight's entry holds: a lease or a parked result.
type EntryState uint8

// Entry states.
const (
	EntryLease  EntryState = 1 // a VM is calling the provider until Exp
	EntryResult EntryState = 2 // the answer, parked until Exp
)

// FlightStatus is how a flight ended.
type FlightStatus uint8

// Flight statuses.
const (
	FlightOK        FlightStatus = 0 // Payload holds the sealed result
	FlightEnded     FlightStatus = 1 // the grant is dead (invalid_grant, a rejected ID token): the session ends
	FlightDenied    FlightStatus = 2 // the provider refused (exchange): 403
	FlightTransient FlightStatus = 3 // unreachable, timeout, 5xx, garbage: try again later
	FlightFailed    FlightStatus = 4 // any other failure: 502
)

// SlotEntry is one flight in a slot.
type SlotEntry struct {
	Key     FlightKey
	State   EntryState
	Status  FlightStatus
	Exp     time.Time // lease expiry, or until when the result is parked
	Code    string    // provider error code (a fixed vocabulary, never a token)
	Payload []byte    // sealed result
}

const slotEntryHeader = 16 + 1 + 1 + 8 + 2 + 4

// EncodeSlot is the shared-data value of a slot holding es.
func EncodeSlot(es []*SlotEntry) []byte {
	n := 0
	for _, e := range es {
		n += slotEntryHeader + len(e.Code) + len(e.Payload)
	}
	b := make([]byte, 0, n)
	for _, e := range es {
		b = append(b, e.Key[:]...)
		b = append(b, byte(e.State), byte(e.Status))
		b = binary.BigEndian.AppendUint64(b, uint64(e.Exp.UnixNano()))
		b = binary.BigEndian.AppendUint16(b, uint16(len(e.Code)))
		b = append(b, e.Code...)
		b = binary.BigEndian.AppendUint32(b, uint32(len(e.Payload)))
		b = append(b, e.Payload...)
	}
	return b
}

// DecodeSlot parses a slot; it stops at the first malformed entry (shared data is written
// only by this plugin, so that means a version mismatch: the rest is dropped on next write).
func DecodeSlot(b []byte) []*SlotEntry {
	var out []*SlotEntry
	for len(b) >= slotEntryHeader {
		e := &SlotEntry{State: EntryState(b[16]), Status: FlightStatus(b[17])}
		copy(e.Key[:], b[:16])
		e.Exp = time.Unix(0, int64(binary.BigEndian.Uint64(b[18:26])))
		cl := int(binary.BigEndian.Uint16(b[26:28]))
		b = b[28:]
		if len(b) < cl+4 {
			break
		}
		e.Code = string(b[:cl])
		b = b[cl:]
		pl := int(binary.BigEndian.Uint32(b[:4]))
		b = b[4:]
		if len(b) < pl {
			break
		}
		e.Payload = b[:pl:pl]
		b = b[pl:]
		out = append(out, e)
	}
	return out
}

// UpdateSlot is the next value of a slot: k's live entry (nil if none) is given to decide,
// whose replacement is added (the oldest entries dropped beyond maxEntries) with expired
// entries removed. next is nil when decide returns nil: nothing to write.
func UpdateSlot(v []byte, k FlightKey, now time.Time, maxEntries int, decide func(*SlotEntry) *SlotEntry) (next []byte) {
	var cur *SlotEntry
	live := make([]*SlotEntry, 0, 8)
	for _, e := range DecodeSlot(v) {
		if !now.Before(e.Exp) {
			continue
		}
		if e.Key == k {
			cur = e
			continue
		}
		live = append(live, e)
	}
	repl := decide(cur)
	if repl == nil {
		return nil
	}
	live = append(live, repl)
	if len(live) > maxEntries {
		live = live[len(live)-maxEntries:]
	}
	return EncodeSlot(live)
}

// LookupSlot returns k's live entry in a slot value, if any.
func LookupSlot(v []byte, k FlightKey, now time.Time) *SlotEntry {
	for _, e := range DecodeSlot(v) {
		if e.Key == k && now.Before(e.Exp) {
			return e
		}
	}
	return nil
}
