package engine

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestStampedRoundTrip(t *testing.T) {
	at := time.Unix(1700000000, 42)
	v := EncodeStamped(at, []byte("body"))
	got, body, ok := DecodeStamped(v)
	if !ok || !got.Equal(at) || string(body) != "body" {
		t.Fatalf("DecodeStamped: %v %q %v", got, body, ok)
	}
	if _, body, ok := DecodeStamped(v[:8]); !ok || len(body) != 0 {
		t.Fatalf("an empty body: %q %v", body, ok)
	}
	if _, _, ok := DecodeStamped(v[:7]); ok {
		t.Fatal("7 bytes decoded as a stamped value")
	}
}

func TestLeaseRoundTrip(t *testing.T) {
	now := time.Unix(1700000000, 0)
	for _, l := range []Lease{
		{},
		{Until: now.Add(5 * time.Second)},
		{Until: now, Backoff: 3 * time.Second, Reason: "discovery: 503"},
		{Backoff: time.Minute, Reason: "x"},
	} {
		v := l.Encode()
		got, ok := DecodeLease(v)
		if !ok || !got.Until.Equal(l.Until) || got.Until.IsZero() != l.Until.IsZero() || got.Backoff != l.Backoff || got.Reason != l.Reason {
			t.Errorf("%+v: decoded %+v %v", l, got, ok)
		}
	}
	if v := (Lease{}).Encode(); !bytes.Equal(v, make([]byte, 16)) {
		t.Errorf("the empty lease is %x, want 16 zero bytes", v)
	}
	long := Lease{Reason: strings.Repeat("r", MaxLeaseReason+10)}
	if got, _ := DecodeLease(long.Encode()); len(got.Reason) != MaxLeaseReason {
		t.Errorf("a long reason kept %d bytes, want %d", len(got.Reason), MaxLeaseReason)
	}
	if _, ok := DecodeLease(make([]byte, 15)); ok {
		t.Error("15 bytes decoded as a lease")
	}
}

func TestLeaseHeldAt(t *testing.T) {
	now := time.Unix(1700000000, 0)
	l := Lease{Until: now.Add(time.Second)}
	if !l.HeldAt(now) || !l.HeldAt(now.Add(time.Second-1)) {
		t.Error("not held before Until")
	}
	if l.HeldAt(now.Add(time.Second)) {
		t.Error("held at Until")
	}
	if (Lease{Backoff: time.Hour}).HeldAt(now) {
		t.Error("a lease without Until is held")
	}
}

func TestClaimedWithin(t *testing.T) {
	now := time.Unix(1700000000, 0)
	v := EncodeInstant(now)
	if !ClaimedWithin(v, now.Add(time.Minute-1), time.Minute) {
		t.Error("not claimed within the interval")
	}
	if ClaimedWithin(v, now.Add(time.Minute), time.Minute) {
		t.Error("claimed at the interval's end")
	}
	if ClaimedWithin(nil, now, time.Minute) || ClaimedWithin(append(v, 0), now, time.Minute) {
		t.Error("a value that is not a claim counts as one")
	}
}

func TestGeneration(t *testing.T) {
	g := Generation{SignOuts: 3, ProviderLogouts: 5}
	got, ok := DecodeGeneration(g.Encode())
	if !ok || got != g || got.Sum() != 8 {
		t.Fatalf("round trip: %+v %v", got, ok)
	}
	old := []byte{0, 0, 0, 0, 0, 0, 0, 7} // before provider logouts: sign-outs alone
	if got, ok := DecodeGeneration(old); !ok || got != (Generation{SignOuts: 7}) {
		t.Fatalf("8-byte generation: %+v %v", got, ok)
	}
	for _, n := range []int{0, 7, 9, 15, 17} {
		if _, ok := DecodeGeneration(make([]byte, n)); ok {
			t.Errorf("%d bytes decoded as a generation", n)
		}
	}
}

func TestProviderLogoutKeys(t *testing.T) {
	if got := ProviderLogoutKeys("s1", "u1"); len(got) != 2 || got[0] != "sid:s1" || got[1] != "sub:u1" {
		t.Errorf("both: %q", got)
	}
	if got := ProviderLogoutKeys("", "u1"); len(got) != 1 || got[0] != "sub:u1" {
		t.Errorf("sub only: %q", got)
	}
	if got := ProviderLogoutKeys("s1", ""); len(got) != 1 || got[0] != "sid:s1" {
		t.Errorf("sid only: %q", got)
	}
	if got := ProviderLogoutKeys("", ""); len(got) != 0 {
		t.Errorf("none: %q", got)
	}
}

func TestExchangedRoundTrip(t *testing.T) {
	exp := time.Unix(1_800_000_000, 123)
	for _, c := range []struct {
		token string
		exp   time.Time
	}{{"eyJ.a.b", exp}, {"opaque", time.Time{}}, {"", exp}} {
		v := EncodeExchanged(c.token, c.exp)
		if len(v) != 8+len(c.token) {
			t.Errorf("%q: %d bytes, want %d", c.token, len(v), 8+len(c.token))
		}
		tok, got, ok := DecodeExchanged(v)
		if !ok || tok != c.token || !got.Equal(c.exp) {
			t.Errorf("%q %v: decoded %q %v %v", c.token, c.exp, tok, got, ok)
		}
	}
	if _, _, ok := DecodeExchanged(make([]byte, 7)); ok {
		t.Error("7 bytes decoded")
	}
	if _, got, _ := DecodeExchanged(EncodeExchanged("x", time.Unix(0, -5))); !got.IsZero() {
		t.Errorf("a negative expiry decoded as %v, want zero", got)
	}
}
