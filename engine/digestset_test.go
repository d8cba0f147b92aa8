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
