package engine

import (
	"bytes"
	"testing"
	"time"
)

func testEntries(now time.Time) []*SlotEntry {
	return []*SlotEntry{
		{Key: NewFlightKey("t", "a"), State: EntryLease, Exp: now.Add(time.Second)},
		{Key: NewFlightKey("t", "b"), State: EntryResult, Status: FlightOK, Exp: now.Add(time.Minute), Payload: []byte("sealed")},
		{Key: NewFlightKey("t", "c"), State: EntryResult, Status: FlightEnded, Exp: now.Add(time.Minute), Code: "invalid_grant"},
	}
}

func TestSlotEncodingRoundTrip(t *testing.T) {
	now := time.Unix(1700000000, 123456789)
	in := testEntries(now)
	b := EncodeSlot(in)
	out := DecodeSlot(b)
	if len(out) != len(in) {
		t.Fatalf("decoded %d entries, want %d", len(out), len(in))
	}
	for i := range in {
		a, o := in[i], out[i]
		if a.Key != o.Key || a.State != o.State || a.Status != o.Status || !a.Exp.Equal(o.Exp) || a.Code != o.Code || !bytes.Equal(a.Payload, o.Payload) {
			t.Errorf("entry %d: got %+v, want %+v", i, o, a)
		}
	}
	// Every truncation decodes to whole entries only, without panicking.
	for n := range len(b) {
		for _, e := range DecodeSlot(b[:n]) {
			if e.Key != in[0].Key && e.Key != in[1].Key {
				t.Fatalf("truncated at %d: decoded an entry that was not whole", n)
			}
		}
	}
}

func FuzzDecodeSlot(f *testing.F) {
	f.Add(EncodeSlot(testEntries(time.Unix(1700000000, 0))))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		es := DecodeSlot(b)
		// What decodes re-encodes to the bytes it came from.
		if enc := EncodeSlot(es); !bytes.HasPrefix(b, enc) {
			t.Fatalf("re-encoding %d entries does not give a prefix of the input", len(es))
		}
	})
}

func TestUpdateAndLookupSlot(t *testing.T) {
	now := time.Unix(1700000000, 0)
	k1, k2, k3 := NewFlightKey("t", "1"), NewFlightKey("t", "2"), NewFlightKey("t", "3")
	lease := func(k FlightKey, d time.Duration) func(*SlotEntry) *SlotEntry {
		return func(*SlotEntry) *SlotEntry { return &SlotEntry{Key: k, State: EntryLease, Exp: now.Add(d)} }
	}
	v := UpdateSlot(nil, k1, now, 2, lease(k1, time.Second))
	v = UpdateSlot(v, k2, now, 2, lease(k2, time.Minute))
	if e := LookupSlot(v, k1, now); e == nil || e.State != EntryLease {
		t.Fatalf("k1: %+v", e)
	}
	var seen *SlotEntry
	if next := UpdateSlot(v, k1, now, 2, func(e *SlotEntry) *SlotEntry { seen = e; return nil }); next != nil || seen == nil || seen.Key != k1 {
		t.Errorf("a decision to write nothing: next %d bytes, saw %+v", len(next), seen)
	}
	// An expired entry is dropped and not given to decide; beyond maxEntries the oldest go.
	later := now.Add(2 * time.Second)
	v = UpdateSlot(v, k1, later, 2, func(e *SlotEntry) *SlotEntry {
		if e != nil {
			t.Errorf("decide got k1's expired entry")
		}
		return &SlotEntry{Key: k1, State: EntryResult, Exp: later.Add(time.Minute)}
	})
	v = UpdateSlot(v, k3, later, 2, lease(k3, time.Hour))
	if LookupSlot(v, k2, later) != nil || LookupSlot(v, k1, later) == nil || LookupSlot(v, k3, later) == nil {
		t.Errorf("bounded to 2 entries, oldest (k2) first out: got %d entries", len(DecodeSlot(v)))
	}
	if LookupSlot(v, k3, later.Add(2*time.Hour)) != nil {
		t.Error("an expired entry was found")
	}
}

func TestFlightKey(t *testing.T) {
	a, b := NewFlightKey("refresh", "ab", "c"), NewFlightKey("refresh", "a", "bc")
	if a == b {
		t.Error("length prefixes do not separate the parts")
	}
	if len(a.String()) != 32 || a.Slot(7) < 0 || a.Slot(7) >= 7 {
		t.Errorf("String %q, Slot %d", a.String(), a.Slot(7))
	}
}
