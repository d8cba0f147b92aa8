package filter

import (
	"errors"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/engine"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

// Shared data is how the VMs of one Envoy share what they fetched: a stamped value (the time
// it was fetched, then the body), a lease that lets one VM fetch for all, and an interval
// claim that rate limits an action across VMs.

// The host's shared data. Every access of the filter goes through these two, so that tests
// can make another VM write between a read and its compare-and-swap at a chosen moment
// (singleflight_cas_test.go); nothing else replaces them.
var (
	getSharedData = proxywasm.GetSharedData
	setSharedData = proxywasm.SetSharedData
)

// readStamped reads a shared-data value written by writeStamped (engine.DecodeStamped).
func readStamped(key string) (time.Time, []byte, bool) {
	v, _, err := getSharedData(key)
	if err != nil {
		return time.Time{}, nil, false
	}
	return engine.DecodeStamped(v)
}

// writeStamped publishes body with the time it was fetched; a failure is logged, not fatal.
func writeStamped(key string, at time.Time, body []byte) {
	if err := setShared(key, engine.EncodeStamped(at, body)); err != nil {
		logAt(levelWarn, "shared data write failed", "key", key, "err", err)
	}
}

// setShared overwrites a shared-data value, whatever it holds.
func setShared(key string, v []byte) error {
	return updateShared(key, func([]byte) ([]byte, error) { return v, nil })
}

// errContention is updateShared giving up after casAttempts.
var errContention = errors.New("filter: shared data: too much contention")

// casAttempts is the one retry rule of every shared-data writer: a write whose cas lost to
// another VM's reads the key again and decides again, up to casAttempts times. Each attempt
// is a read and a write of one key, microseconds apart; losing 32 times in a row means
// dozens of VMs writing one key at once, and the writer then reports errContention.
const casAttempts = 32

// updateShared is the one compare-and-swap loop of the filter: an atomic read-modify-write of
// one shared-data key across VMs. It reads the value (nil when absent), lets decide compute
// the next one, and writes it with the cas it read; on CasMismatch it starts over, so decide
// sees the other VM's value and decides afresh (it must keep no state between attempts).
// decide returning an error aborts with that error; nil bytes and no error write nothing. An
// absent key is created with absentCAS, so two VMs creating it at once cannot both win. A
// read that fails otherwise (no shared data) is returned as is.
func updateShared(key string, decide func(old []byte) ([]byte, error)) error {
	for range casAttempts {
		v, cas, err := getSharedData(key)
		switch {
		case errors.Is(err, types.ErrorStatusNotFound):
			v, cas = nil, absentCAS
		case err != nil:
			return err
		}
		next, err := decide(v)
		if err != nil || next == nil {
			return err
		}
		err = setSharedData(key, next, cas)
		if !errors.Is(err, types.ErrorStatusCasMismatch) {
			return err
		}
	}
	return errContention
}

// A lease (engine.Lease) says until when a VM fetches for all, the backoff of the last
// failure, and why it failed, so that every VM's 503 says why, not only the VM that fetched.
// In Envoy that is often none of the workers: the main thread's VM ticks and fetches too.
func readLease(key string) (until time.Time, backoff time.Duration) {
	l := sharedLease(key)
	return l.Until, l.Backoff
}

// leaseReason is why the last fetch under the lease failed, "" after a success.
func leaseReason(key string) string { return sharedLease(key).Reason }

func sharedLease(key string) engine.Lease {
	v, _, err := getSharedData(key)
	if err != nil {
		return engine.Lease{}
	}
	l, _ := engine.DecodeLease(v)
	return l
}

// takeLease claims the fetch lease in shared data so that one VM fetches for all. It fails
// while another VM's fetch is under way or a failure's backoff runs. A lease whose holder
// died (its VM crashed mid-fetch) expires after ttl.
func takeLease(key string, now time.Time, ttl time.Duration) bool {
	err := updateShared(key, func(v []byte) ([]byte, error) {
		l, _ := engine.DecodeLease(v)
		if l.HeldAt(now) {
			return nil, errBusy
		}
		l.Until = now.Add(ttl)
		return l.Encode(), nil
	})
	switch {
	case err == nil:
		return true
	case errors.Is(err, errBusy), errors.Is(err, errContention):
		return false
	default:
		return true // shared data unavailable: fetch anyway
	}
}

// errBusy: the lease or interval is held by someone else.
var errBusy = errors.New("filter: shared data: held by another VM")

// releaseLease ends our hold on the lease: at once after a success (and the backoff is
// forgotten), or at until after a failure, which reason explains.
func releaseLease(key string, until time.Time, backoff time.Duration, reason string) {
	if err := setShared(key, engine.Lease{Until: until, Backoff: backoff, Reason: reason}.Encode()); err != nil {
		logAt(levelWarn, "shared data write failed", "key", key, "err", err)
	}
}

// claimInterval claims the right to act now, if nobody did within interval before, for every
// VM sharing the data. It holds the time of the last claim. Without shared data it refuses
// rather than risk a flood.
func claimInterval(key string, now time.Time, interval time.Duration) bool {
	return updateShared(key, func(v []byte) ([]byte, error) {
		if engine.ClaimedWithin(v, now, interval) {
			return nil, errBusy
		}
		return engine.EncodeInstant(now), nil
	}) == nil
}

// absentCAS is the cas sent to create a key that should not exist yet. Envoy inserts an absent
// key whatever the cas; when the key does exist (another VM created it in the meantime) a
// nonzero cas that is not the current one makes the set fail with CasMismatch instead of
// overwriting. Envoy's cas counter starts at 1 and counts up, so this value is never current
// in practice.
const absentCAS = ^uint32(0)
