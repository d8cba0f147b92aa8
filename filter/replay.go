package filter

import (
	"errors"
	"strconv"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/engine"
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
	set    engine.DigestSet
}

// replaySet: 64 slot keys, at most 4,096 live entries each (beyond that the oldest are dropped).
var replaySet = engine.DigestSet{Slots: 64, MaxPerSlot: 4096}

var errReplayed = errors.New("filter: login state already used")

func newReplayGuard(issuer string) *replayGuard {
	return &replayGuard{prefix: sharedUsedState.slots(issuer), set: replaySet}
}

// use records the value as used until expires and reports errReplayed if it was used before.
func (g *replayGuard) use(value string, expires, now time.Time) error {
	digest, slot := g.set.Digest(value)
	return updateShared(g.prefix+strconv.Itoa(slot), func(v []byte) ([]byte, error) {
		next, seen := g.set.Add(v, digest, expires, now)
		if seen {
			return nil, errReplayed
		}
		return next, nil
	})
}

// seen reports whether value was recorded (use) and has not expired. It reads one slot.
func (g *replayGuard) seen(value string, now time.Time) bool {
	digest, slot := g.set.Digest(value)
	v, _, err := getSharedData(g.prefix + strconv.Itoa(slot))
	return err == nil && g.set.Has(v, digest, now)
}
