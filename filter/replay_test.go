package filter

import (
	"errors"
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
