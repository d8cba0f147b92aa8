package engine

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"time"
)

// DigestSet is the codec of a set of values kept in shared data until each expires: used
// login states (single use) and signed-out sessions (the deny list). Values are spread over
// Slots keys by their digest; a slot is a list of entries of DigestLen bytes of SHA-256 and
// an 8-byte expiry (unix ns), at most MaxPerSlot live ones (the oldest are dropped).
type DigestSet struct {
	Slots, MaxPerSlot int
}

// DigestLen is the bytes of SHA-256 kept per value: 96 bits, no collision in practice at the
// sizes a slot holds.
const DigestLen = 12

const digestEntryLen = DigestLen + 8

// Digest is value's digest and the slot it belongs to.
func (d DigestSet) Digest(value string) (digest []byte, slot int) {
	sum := sha256.Sum256([]byte(value))
	return d.FromSum(sum[:])
}

// FromSum is the digest and slot of the value whose SHA-256 begins with sum (at least
// DigestLen+1 bytes): Digest for a value known only by its digest.
func (d DigestSet) FromSum(sum []byte) (digest []byte, slot int) {
	return sum[:DigestLen], int(sum[DigestLen]) % d.Slots
}

// Add returns the slot's new value with digest added until expires and expired entries
// removed, or seen=true (and no value) when digest is already there and live.
func (d DigestSet) Add(v, digest []byte, expires, now time.Time) (next []byte, seen bool) {
	nowN := now.UnixNano()
	next = make([]byte, 0, len(v)+digestEntryLen)
	for off := 0; off+digestEntryLen <= len(v); off += digestEntryLen {
		e := v[off : off+digestEntryLen]
		if int64(binary.BigEndian.Uint64(e[DigestLen:])) <= nowN {
			continue
		}
		if bytes.Equal(e[:DigestLen], digest) {
			return nil, true
		}
		next = append(next, e...)
	}
	if len(next) >= d.MaxPerSlot*digestEntryLen {
		next = next[len(next)-(d.MaxPerSlot-1)*digestEntryLen:]
	}
	next = append(next, digest...)
	next = binary.BigEndian.AppendUint64(next, uint64(expires.UnixNano()))
	return next, false
}

// Put returns the slot's new value with digest live until expires, or until the expiry it
// already had if that is later, and expired entries removed: the deny list's upsert (a second
// sign-out of one subject moves its time forward; Add would keep the first).
func (d DigestSet) Put(v, digest []byte, expires, now time.Time) []byte {
	if old, ok := d.Expiry(v, digest, now); ok && old.After(expires) {
		expires = old
	}
	nowN := now.UnixNano()
	kept := make([]byte, 0, len(v))
	for off := 0; off+digestEntryLen <= len(v); off += digestEntryLen {
		e := v[off : off+digestEntryLen]
		if int64(binary.BigEndian.Uint64(e[DigestLen:])) > nowN && !bytes.Equal(e[:DigestLen], digest) {
			kept = append(kept, e...)
		}
	}
	next, _ := d.Add(kept, digest, expires, now)
	return next
}

// Has reports whether the slot value v holds digest, live at now.
func (d DigestSet) Has(v, digest []byte, now time.Time) bool {
	_, ok := d.Expiry(v, digest, now)
	return ok
}

// Expiry returns the expiry digest was added with (Add), when the slot value v holds it live
// at now: a caller that derives a time from it (the deny list's "signed out at") reads it
// here.
func (d DigestSet) Expiry(v, digest []byte, now time.Time) (time.Time, bool) {
	nowN := now.UnixNano()
	for off := 0; off+digestEntryLen <= len(v); off += digestEntryLen {
		e := v[off : off+digestEntryLen]
		if exp := int64(binary.BigEndian.Uint64(e[DigestLen:])); bytes.Equal(e[:DigestLen], digest) && exp > nowN {
			return time.Unix(0, exp), true
		}
	}
	return time.Time{}, false
}
