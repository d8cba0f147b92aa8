package filter

import "github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"

// bearerMetrics count bearer requests and the issuers' key fetches. Names are fixed at
// start-up and reasons come from a closed set, so cardinality is bounded.
//
//	oidc_proxy.bearer.accepted                 tokens accepted (and authorized)
//	oidc_proxy.bearer.cache_hit|cache_miss     per-VM cache of verified tokens
//	oidc_proxy.bearer.reject_cache_hit         refusals answered from the per-VM cache of refused tokens
//	oidc_proxy.bearer.rejected.<reason>        tokens refused, by bearerRejectReasons
//	oidc_proxy.bearer.denied                   verified tokens refused by authorization rules
//	oidc_proxy.bearer.jwks.refetch_limited     unknown-kid refetches refused by the rate limit
//	oidc_proxy.bearer.<kind>.<outcome>         discovery and JWKS fetches, by calloutOutcomes
type bearerMetrics struct {
	accepted, hit, miss, denied proxywasm.MetricCounter
	rejectHit                   proxywasm.MetricCounter
	rejected                    map[string]proxywasm.MetricCounter
	refetchLimited              proxywasm.MetricCounter
	fetches                     map[string]map[string]proxywasm.MetricCounter
}

var bearerRejectReasons = []string{"missing", "malformed", "issuer", "signature", "algorithm",
	"expired", "not_yet_valid", "audience", "claims", "not_ready", "type"}

func newBearerMetrics() *bearerMetrics {
	m := &bearerMetrics{
		accepted:       proxywasm.DefineCounterMetric("oidc_proxy.bearer.accepted"),
		hit:            proxywasm.DefineCounterMetric("oidc_proxy.bearer.cache_hit"),
		miss:           proxywasm.DefineCounterMetric("oidc_proxy.bearer.cache_miss"),
		rejectHit:      proxywasm.DefineCounterMetric("oidc_proxy.bearer.reject_cache_hit"),
		denied:         proxywasm.DefineCounterMetric("oidc_proxy.bearer.denied"),
		rejected:       map[string]proxywasm.MetricCounter{},
		refetchLimited: proxywasm.DefineCounterMetric("oidc_proxy.bearer.jwks.refetch_limited"),
		fetches:        map[string]map[string]proxywasm.MetricCounter{},
	}
	for _, r := range bearerRejectReasons {
		m.rejected[r] = proxywasm.DefineCounterMetric("oidc_proxy.bearer.rejected." + r)
	}
	for _, k := range []string{"discovery", "jwks"} {
		m.fetches[k] = map[string]proxywasm.MetricCounter{}
		for _, o := range calloutOutcomes {
			m.fetches[k][o] = proxywasm.DefineCounterMetric("oidc_proxy.bearer." + k + "." + o)
		}
	}
	return m
}

func (m *bearerMetrics) reject(reason string) {
	if c, ok := m.rejected[reason]; ok {
		c.Increment(1)
	}
}

// fetch counts one key fetch by its outcome (see metrics.callout).
func (m *bearerMetrics) fetch(kind string, err error, r *calloutResponse) {
	if byOutcome, ok := m.fetches[kind]; ok {
		byOutcome[calloutOutcome(err, r)].Increment(1)
	}
}
