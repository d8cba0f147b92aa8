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

// Generation is the sign-out list's generation: two counters in one shared-data value,
// sign-outs (by login id), then provider logouts (by sid or sub). A session is looked up only
// under the kinds of entry that exist, so plain sign-outs keep costing one slot read per
// session and generation.
type Generation struct{ SignOuts, ProviderLogouts uint64 }

// DecodeGeneration reads a generation: 16 bytes, or 8 (written before provider logouts
// existed: the first counter alone); ok is false for anything else.
func DecodeGeneration(v []byte) (g Generation, ok bool) {
	switch len(v) {
	case 8:
		return Generation{SignOuts: binary.BigEndian.Uint64(v)}, true
	case 16:
		return Generation{binary.BigEndian.Uint64(v), binary.BigEndian.Uint64(v[8:])}, true
	}
	return Generation{}, false
}

// Encode is the generation's 16-byte value.
func (g Generation) Encode() []byte {
	return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(make([]byte, 0, 16), g.SignOuts), g.ProviderLogouts)
}

// Sum changes whenever either counter does: what a session remembers it was checked at.
func (g Generation) Sum() uint64 { return g.SignOuts + g.ProviderLogouts }

// ProviderLogoutKeys are the deny-list values of a provider's logout: "sid:" and "sub:" (a
// session ref, SessionRef, starts "login:" or "v1:", so they cannot meet). A session is
// looked up under both; empty values are left out.
func ProviderLogoutKeys(sid, sub string) []string {
	keys := make([]string, 0, 2)
	if sid != "" {
		keys = append(keys, "sid:"+sid)
	}
	if sub != "" {
		keys = append(keys, "sub:"+sub)
	}
	return keys
}

// EncodeExchanged is an exchanged token as a flight parks it (sealed) for the other VMs: 8
// bytes of its expiry in unix ns (0: unknown), then the token.
func EncodeExchanged(token string, exp time.Time) []byte {
	var n uint64
	if !exp.IsZero() {
		n = uint64(exp.UnixNano())
	}
	return append(binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(token)), n), token...)
}

// DecodeExchanged reads what EncodeExchanged wrote; ok is false when it is too short. A zero
// (or negative) expiry is the zero time.
func DecodeExchanged(v []byte) (token string, exp time.Time, ok bool) {
	if len(v) < 8 {
		return "", time.Time{}, false
	}
	if n := int64(binary.BigEndian.Uint64(v[:8])); n > 0 {
		exp = time.Unix(0, n)
	}
	return string(v[8:]), exp, true
}
