package engine

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestDigestSetAdd(t *testing.T) {
	g := DigestSet{Slots: 64, MaxPerSlot: 4096}
	now := time.Now()
	d := func(c byte) []byte { return bytes.Repeat([]byte{c}, DigestLen) }
	v, seen := g.Add(nil, d(1), now.Add(time.Minute), now)
	if seen || len(v) != digestEntryLen {
		t.Fatalf("first entry: %d bytes, seen %v", len(v), seen)
	}
	v, _ = g.Add(v, d(2), now.Add(time.Second), now)
	if _, seen := g.Add(v, d(1), now.Add(time.Minute), now); !seen {
		t.Error("a live digest was not seen")
	}
	// Expired entries are pruned on the next write.
	later := now.Add(2 * time.Second)
	v2, seen := g.Add(v, d(3), later.Add(time.Minute), later)
	if seen || len(v2) != 2*digestEntryLen || bytes.Contains(v2, d(2)) {
		t.Errorf("pruning: %d bytes, seen %v", len(v2), seen)
	}
	// A full slot drops its oldest entries and stays bounded.
	full := bytes.Repeat(append(d(9), v[DigestLen:digestEntryLen]...), g.MaxPerSlot)
	v3, _ := g.Add(full, d(4), now.Add(time.Minute), now)
	if len(v3) != g.MaxPerSlot*digestEntryLen || !bytes.HasSuffix(v3[:len(v3)-8], d(4)) {
		t.Errorf("full slot: %d bytes, want %d with the new digest last", len(v3), g.MaxPerSlot*digestEntryLen)
	}
	// Truncated garbage in the slot is ignored, not a panic.
	if _, seen := g.Add([]byte(strings.Repeat("z", digestEntryLen+3)), d(5), now.Add(time.Minute), now); seen {
		t.Error("garbage matched")
	}
}

func TestDigestSetHas(t *testing.T) {
	g := DigestSet{Slots: 64, MaxPerSlot: 4096}
	now := time.Now()
	da, slot := g.Digest("value-a")
	db, _ := g.Digest("value-b")
	if slot < 0 || slot >= g.Slots || len(da) != DigestLen {
		t.Fatalf("digest %d bytes, slot %d", len(da), slot)
	}
	v, _ := g.Add(nil, da, now.Add(time.Minute), now)
	if !g.Has(v, da, now) || g.Has(v, db, now) || g.Has(v, da, now.Add(time.Minute)) || g.Has(nil, da, now) {
		t.Error("Has: a live digest not found, another found, or an expired one found")
	}
}

func TestDigestSetPutAndExpiry(t *testing.T) {
	g := DigestSet{Slots: 64, MaxPerSlot: 4}
	now := time.Unix(1_700_000_000, 0)
	d := func(c byte) []byte { return bytes.Repeat([]byte{c}, DigestLen) }
	v := g.Put(nil, d(1), now.Add(time.Minute), now)
	v = g.Put(v, d(2), now.Add(time.Hour), now)
	if exp, ok := g.Expiry(v, d(1), now); !ok || !exp.Equal(now.Add(time.Minute)) {
		t.Fatalf("expiry %v %v", exp, ok)
	}
	// A later Put moves the expiry forward and keeps one entry per digest.
	v = g.Put(v, d(1), now.Add(2*time.Minute), now)
	if exp, _ := g.Expiry(v, d(1), now); !exp.Equal(now.Add(2*time.Minute)) || len(v) != 2*digestEntryLen {
		t.Errorf("after a later put: %v, %d bytes", exp, len(v))
	}
	// An earlier one does not move it back.
	v = g.Put(v, d(1), now.Add(time.Second), now)
	if exp, _ := g.Expiry(v, d(1), now); !exp.Equal(now.Add(2*time.Minute)) || len(v) != 2*digestEntryLen {
		t.Errorf("after an earlier put: %v, %d bytes", exp, len(v))
	}
	if _, ok := g.Expiry(v, d(1), now.Add(3*time.Minute)); ok {
		t.Error("expired entry found")
	}
	if _, ok := g.Expiry(v, d(3), now); ok {
		t.Error("absent entry found")
	}
	// Bounded like Add.
	for c := byte(10); c < 20; c++ {
		v = g.Put(v, d(c), now.Add(time.Hour), now)
	}
	if len(v) != g.MaxPerSlot*digestEntryLen {
		t.Errorf("%d bytes, want %d", len(v), g.MaxPerSlot*digestEntryLen)
	}
}
