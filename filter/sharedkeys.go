package filter

import (
	"strconv"
	"strings"
)

// Shared-data keys. Envoy keeps a VM group's shared data for the life of the process, across
// plugin reloads (a new plugin.wasm or configuration under the same vm_id), so a value written
// by one build can be read by the next. Every key the filter uses is built here, from a family
// that names what the value is and the version of its format, and a scope (whose value it is:
// an issuer, a client, a server). A family whose value format changes bumps its version; the
// new build then reads none of the old bytes.
type sharedFamily struct {
	name    string
	version int
}

var (
	sharedDiscovery    = sharedFamily{"discovery", 1}      // engine.EncodeStamped: fetch time, then the document
	sharedJWKS         = sharedFamily{"jwks", 1}           // engine.EncodeStamped: fetch time, then the JWKS
	sharedFetchLease   = sharedFamily{"fetch-lease", 1}    // engine.Lease of a discovery or JWKS fetch
	sharedJWKSRefetch  = sharedFamily{"jwks-refetch", 1}   // engine.EncodeInstant: the last unknown-kid refetch
	sharedRefreshSlot  = sharedFamily{"refresh", 1}        // engine.EncodeSlot: refresh flights
	sharedExchangeSlot = sharedFamily{"exchange", 1}       // engine.EncodeSlot: exchange flights
	sharedUsedState    = sharedFamily{"used-state", 1}     // engine.DigestSet: login states used
	sharedLogoutJTI    = sharedFamily{"logout-jti", 1}     // engine.DigestSet: logout tokens used
	sharedSignedOut    = sharedFamily{"signed-out", 1}     // engine.DigestSet: the deny list
	sharedSignedOutGen = sharedFamily{"signed-out.gen", 1} // engine.Generation of the deny list
	sharedDPoPKey      = sharedFamily{"dpop-key", 1}       // PKCS #8 DER of the generated DPoP key
	sharedDPoPNonce    = sharedFamily{"dpop-nonce", 1}     // a server's latest DPoP-Nonce
	sharedStoreRev     = sharedFamily{"store-rev", 1}      // decimal: the store revision the deny list is read up to
	sharedStorePoll    = sharedFamily{"store-poll", 1}     // engine.EncodeInstant: the last deny poll
)

// key is the shared-data key of the family's value for scope (its parts joined by "|").
func (f sharedFamily) key(scope ...string) string {
	return "oidc-proxy/" + f.name + "/v" + strconv.Itoa(f.version) + "/" + strings.Join(scope, "|")
}

// slots is the prefix of the keys of a family spread over slots: the prefix and the slot's
// number make the key.
func (f sharedFamily) slots(scope ...string) string { return f.key(scope...) + "#" }

// queueName is the name of a VM's shared queue (not shared data, but named the same way).
func queueName(issuer, id string) string { return "oidc-proxy/flights/" + issuer + "|" + id }
