package filter

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestReplayGuard(t *testing.T) {
	newLH(t, nil) // for shared data
	g := newReplayGuard("https://op.example.com")
	now := time.Now()
	exp := now.Add(time.Minute)
	if err := g.use("state-a", exp, now); err != nil {
		t.Fatal(err)
	}
	if err := g.use("state-a", exp, now); !errors.Is(err, errReplayed) {
		t.Errorf("second use: %v, want errReplayed", err)
	}
	if err := g.use("state-b", exp, now); err != nil {
		t.Errorf("another state: %v", err)
	}
	// Another VM (another guard on the same shared data) sees the use too.
	if err := newReplayGuard("https://op.example.com").use("state-b", exp, now); !errors.Is(err, errReplayed) {
		t.Errorf("use on another VM: %v", err)
	}
	// Another issuer has its own namespace.
	if err := newReplayGuard("https://other.example.com").use("state-a", exp, now); err != nil {
		t.Errorf("other issuer: %v", err)
	}
	// Once the state has expired its entry is dropped (the state itself is refused anyway).
	if err := g.use("state-a", exp.Add(time.Hour), exp.Add(time.Second)); err != nil {
		t.Errorf("after expiry: %v", err)
	}
}

func TestReplaySlotUpdate(t *testing.T) {
	g := newReplayGuard("x")
	now := time.Now()
	d := func(c byte) []byte { return bytes.Repeat([]byte{c}, replayDigestLen) }
	v, seen := g.update(nil, d(1), now.Add(time.Minute), now)
	if seen || len(v) != replayEntryLen {
		t.Fatalf("first entry: %d bytes, seen %v", len(v), seen)
	}
	v, _ = g.update(v, d(2), now.Add(time.Second), now)
	if _, seen := g.update(v, d(1), now.Add(time.Minute), now); !seen {
		t.Error("a live digest was not seen")
	}
	// Expired entries are pruned on the next write.
	later := now.Add(2 * time.Second)
	v2, seen := g.update(v, d(3), later.Add(time.Minute), later)
	if seen || len(v2) != 2*replayEntryLen || bytes.Contains(v2, d(2)) {
		t.Errorf("pruning: %d bytes, seen %v", len(v2), seen)
	}
	// A full slot drops its oldest entries and stays bounded.
	full := bytes.Repeat(append(d(9), v[replayDigestLen:replayEntryLen]...), replayMaxSlot)
	v3, _ := g.update(full, d(4), now.Add(time.Minute), now)
	if len(v3) != replayMaxSlot*replayEntryLen || !bytes.HasSuffix(v3[:len(v3)-8], d(4)) {
		t.Errorf("full slot: %d bytes, want %d with the new digest last", len(v3), replayMaxSlot*replayEntryLen)
	}
	// Truncated garbage in the slot is ignored, not a panic.
	if _, seen := g.update([]byte(strings.Repeat("z", replayEntryLen+3)), d(5), now.Add(time.Minute), now); seen {
		t.Error("garbage matched")
	}
}
