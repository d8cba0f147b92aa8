package engine

import (
	"encoding/binary"
	"time"
)

// The small records the filter keeps in shared data beside the flight slots (slots.go): a
// stamped value, a fetch lease and an interval claim. filter/shareddata.go reads and writes
// them with one compare-and-swap loop; here is only their byte layout.

// EncodeStamped is a fetched value with the time it was fetched: 8 bytes of unix ns, then
// the body.
func EncodeStamped(at time.Time, body []byte) []byte {
	v := make([]byte, 8+len(body))
	binary.BigEndian.PutUint64(v, uint64(at.UnixNano()))
	copy(v[8:], body)
	return v
}

// DecodeStamped reads a value written by EncodeStamped; ok is false when it is too short.
func DecodeStamped(v []byte) (at time.Time, body []byte, ok bool) {
	if len(v) < 8 {
		return time.Time{}, nil, false
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(v[:8]))), v[8:], true
}

// MaxLeaseReason bounds the failure text kept in a lease.
const MaxLeaseReason = 512

// Lease is a fetch lease: 16 bytes, until when it is held (unix ns; 0: not held) and the
// backoff of the last failure (ns), so that every VM honours it; then, after a failure, why
// it failed, so that every VM's 503 says why, not only the VM that fetched.
type Lease struct {
	Until   time.Time // zero: not held
	Backoff time.Duration
	Reason  string // "" after a success
}

// Encode is the lease's shared-data value; the reason is cut to MaxLeaseReason bytes.
func (l Lease) Encode() []byte {
	reason := l.Reason
	if len(reason) > MaxLeaseReason {
		reason = reason[:MaxLeaseReason]
	}
	v := make([]byte, 16, 16+len(reason))
	if !l.Until.IsZero() {
		binary.BigEndian.PutUint64(v, uint64(l.Until.UnixNano()))
	}
	binary.BigEndian.PutUint64(v[8:], uint64(l.Backoff))
	return append(v, reason...)
}

// DecodeLease reads a lease; ok is false when v is shorter than a lease.
func DecodeLease(v []byte) (l Lease, ok bool) {
	if len(v) < 16 {
		return Lease{}, false
	}
	if ns := int64(binary.BigEndian.Uint64(v[:8])); ns != 0 {
		l.Until = time.Unix(0, ns)
	}
	l.Backoff = time.Duration(binary.BigEndian.Uint64(v[8:16]))
	l.Reason = string(v[16:])
	return l, true
}

// HeldAt reports whether someone holds the lease at now.
func (l Lease) HeldAt(now time.Time) bool { return !l.Until.IsZero() && now.Before(l.Until) }

// EncodeInstant is an interval claim's value: the time of the last claim, unix ns.
func EncodeInstant(at time.Time) []byte {
	return binary.BigEndian.AppendUint64(nil, uint64(at.UnixNano()))
}

// ClaimedWithin reports whether v, an interval claim, was made less than interval before now.
// Anything that is not a claim (absent, another length) is not one.
func ClaimedWithin(v []byte, now time.Time, interval time.Duration) bool {
	return len(v) == 8 && now.Sub(time.Unix(0, int64(binary.BigEndian.Uint64(v)))) < interval
}
