package filter

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"strconv"
	"time"
)

// replayGuard makes each login state usable once across all VMs of an Envoy.
//
// Used states are recorded in shared data, spread over a fixed number of slot keys so that
// memory stays bounded (Envoy's shared data has no delete): each slot holds entries of a
// 12-byte state digest and an 8-byte expiry, and expired entries are dropped whenever a slot
// is rewritten. Updates use CAS, so two VMs racing on one state cannot both win.
//
// Across replicas the guard does not reach; there the provider's single use of the
// authorization code (bound to this state's PKCE verifier) is what stops a replay.
type replayGuard struct {
	prefix string
}

const (
	replaySlots     = 64
	replayDigestLen = 12
	replayEntryLen  = replayDigestLen + 8
	replayMaxSlot   = 4096 // entries per slot; beyond that the oldest are dropped
)

var errReplayed = errors.New("filter: login state already used")

func newReplayGuard(issuer string) *replayGuard {
	return &replayGuard{prefix: "oidc-proxy/" + issuer + "/used-state/"}
}

// use records the state as used until expires and reports errReplayed if it was used before.
func (g *replayGuard) use(stateValue string, expires, now time.Time) error {
	sum := sha256.Sum256([]byte(stateValue))
	digest := sum[:replayDigestLen]
	key := g.prefix + strconv.Itoa(int(sum[replayDigestLen])%replaySlots)
	return updateShared(key, func(v []byte) ([]byte, error) {
		next, seen := g.update(v, digest, expires, now)
		if seen {
			return nil, errReplayed
		}
		return next, nil
	})
}

// update returns the slot's new value with digest added and expired entries removed, or
// seen=true when digest is already there and still live.
func (g *replayGuard) update(v, digest []byte, expires, now time.Time) (next []byte, seen bool) {
	nowN := now.UnixNano()
	next = make([]byte, 0, len(v)+replayEntryLen)
	for off := 0; off+replayEntryLen <= len(v); off += replayEntryLen {
		e := v[off : off+replayEntryLen]
		if int64(binary.BigEndian.Uint64(e[replayDigestLen:])) <= nowN {
			continue
		}
		if bytes.Equal(e[:replayDigestLen], digest) {
			return nil, true
		}
		next = append(next, e...)
	}
	if len(next) >= replayMaxSlot*replayEntryLen {
		next = next[len(next)-(replayMaxSlot-1)*replayEntryLen:]
	}
	var exp [8]byte
	binary.BigEndian.PutUint64(exp[:], uint64(expires.UnixNano()))
	next = append(next, digest...)
	next = append(next, exp[:]...)
	return next, false
}
