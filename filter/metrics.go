package filter

import (
	"errors"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
)

// metrics are the plugin's proxy-wasm metrics. Envoy exposes them with a "wasmcustom."
// prefix. Names are fixed at start-up; reasons and outcomes come from closed sets so
// cardinality is bounded.
//
//	oidc_proxy.login.started                  logins sent to the provider
//	oidc_proxy.login.succeeded                sessions established
//	oidc_proxy.login.failed.<reason>          logins refused, by loginFailReasons
//	oidc_proxy.session.cache_hit|cache_miss   per-VM session cache
//	oidc_proxy.callout.<kind>.<outcome>       provider callouts, by calloutOutcomes
//	oidc_proxy.callout.<kind>.ms              latency of callouts the provider answered
//	oidc_proxy.jwks.refetch_limited           unknown-kid refetches refused by the rate limit
//	oidc_proxy.backchannel_logout.<outcome>   back-channel logout requests, by backchannelOutcomes
type metrics struct {
	loginStarted, loginSucceeded proxywasm.MetricCounter
	loginPushed                  proxywasm.MetricCounter // logins started by a pushed authorization request
	sessionMaxAge                proxywasm.MetricCounter // sessions ended by session.max_age
	loginFailed                  map[string]proxywasm.MetricCounter
	sessionHit, sessionMiss      proxywasm.MetricCounter
	callouts                     map[string]map[string]proxywasm.MetricCounter
	calloutMS                    map[string]proxywasm.MetricHistogram
	refetchLimited               proxywasm.MetricCounter
	backchannelLogout            map[string]proxywasm.MetricCounter
}

// loginFailReasons is the closed set of reasons a login can fail for.
var loginFailReasons = []string{
	"provider_error", "bad_callback", "bad_state", "expired_state", "binding", "replay",
	"token_endpoint", "id_token", "userinfo", "unreachable", "timeout", "not_ready", "loop", "session",
	"token_expired", "session_too_large", "introspection", "par",
}

var calloutKinds = []string{"discovery", "jwks", "token", "refresh", "exchange", "revoke", "userinfo", "introspection", "par"}

// Callout outcomes: the provider answered 2xx/3xx with something usable (ok) or unusable
// (invalid), answered 4xx or 5xx, timed out, or could not be reached.
const (
	outcomeOK          = "ok"
	outcomeInvalid     = "invalid"
	outcome4xx         = "http_4xx"
	outcome5xx         = "http_5xx"
	outcomeTimeout     = "timeout"
	outcomeUnreachable = "unreachable"
)

var calloutOutcomes = []string{outcomeOK, outcomeInvalid, outcome4xx, outcome5xx, outcomeTimeout, outcomeUnreachable}

func newMetrics() *metrics {
	m := &metrics{
		loginStarted:   proxywasm.DefineCounterMetric("oidc_proxy.login.started"),
		loginPushed:    proxywasm.DefineCounterMetric("oidc_proxy.login.pushed"),
		sessionMaxAge:  proxywasm.DefineCounterMetric("oidc_proxy.session.max_age_ended"),
		loginSucceeded: proxywasm.DefineCounterMetric("oidc_proxy.login.succeeded"),
		loginFailed:    map[string]proxywasm.MetricCounter{},
		sessionHit:     proxywasm.DefineCounterMetric("oidc_proxy.session.cache_hit"),
		sessionMiss:    proxywasm.DefineCounterMetric("oidc_proxy.session.cache_miss"),
		callouts:       map[string]map[string]proxywasm.MetricCounter{},
		calloutMS:      map[string]proxywasm.MetricHistogram{},
		refetchLimited: proxywasm.DefineCounterMetric("oidc_proxy.jwks.refetch_limited"),

		backchannelLogout: map[string]proxywasm.MetricCounter{},
	}
	for _, o := range backchannelOutcomes {
		m.backchannelLogout[o] = proxywasm.DefineCounterMetric("oidc_proxy.backchannel_logout." + o)
	}
	for _, r := range loginFailReasons {
		m.loginFailed[r] = proxywasm.DefineCounterMetric("oidc_proxy.login.failed." + r)
	}
	for _, k := range calloutKinds {
		m.callouts[k] = map[string]proxywasm.MetricCounter{}
		for _, o := range calloutOutcomes {
			m.callouts[k][o] = proxywasm.DefineCounterMetric("oidc_proxy.callout." + k + "." + o)
		}
		m.calloutMS[k] = proxywasm.DefineHistogramMetric("oidc_proxy.callout." + k + ".ms")
	}
	return m
}

func (m *metrics) backchannel(outcome string) {
	if c, ok := m.backchannelLogout[outcome]; ok {
		c.Increment(1)
	}
}

func (m *metrics) loginFail(reason string) {
	if c, ok := m.loginFailed[reason]; ok {
		c.Increment(1)
	}
}

// callout counts one callout of kind by its outcome and records its latency when the
// provider answered. err is the callout's error, or the caller's verdict on the answer
// (a parse error): an answer with a 2xx status and an error is "invalid".
func (m *metrics) callout(kind string, err error, r *calloutResponse) {
	byOutcome, ok := m.callouts[kind]
	if !ok {
		return
	}
	o := calloutOutcome(err, r)
	byOutcome[o].Increment(1)
	if r != nil {
		m.calloutMS[kind].Record(uint64(r.elapsed.Milliseconds()))
	}
}

func calloutOutcome(err error, r *calloutResponse) string {
	switch {
	case errors.Is(err, errTimeout):
		return outcomeTimeout
	case r == nil:
		return outcomeUnreachable
	case r.status >= 500:
		return outcome5xx
	case r.status >= 400:
		return outcome4xx
	case err != nil:
		return outcomeInvalid
	}
	return outcomeOK
}

// brokerMetrics count refreshes, exchanges, the token endpoint and the ID token policy by
// outcome (closed sets, so cardinality is bounded):
//
//	oidc_proxy.refresh.<outcome>         ok, invalid_grant, id_token_rejected, failed, transient
//	                                     (one per refresh sent), waited, waited_remote (requests
//	                                     that waited for one in this VM or another), waited_replica
//	                                     (refreshes another replica ran: store.go), reused
//	                                     (requests that picked up a parked result)
//	oidc_proxy.exchange.<outcome>        ok, denied, failed, transient (one per exchange sent),
//	                                     cache_hit, waited, waited_remote
//	oidc_proxy.token_endpoint.<outcome>  served, refused (not same-origin)
//	oidc_proxy.id_token.<outcome>        omitted (expired, left out), reauthenticate (silent login)
type brokerMetrics struct {
	refresh, exchange, tokenEndpoint, idToken map[string]proxywasm.MetricCounter
}

var (
	refreshOutcomes       = []string{"ok", "invalid_grant", "id_token_rejected", "token_expired", "session_too_large", "failed", "transient", "waited", "waited_remote", "waited_replica", "reused"}
	exchangeOutcomes      = []string{"ok", "cache_hit", "denied", "failed", "transient", "waited", "waited_remote"}
	tokenEndpointOutcomes = []string{"served", "refused"}
	idTokenOutcomes       = []string{"omitted", "reauthenticate"}
)

func defineCounters(prefix string, names []string) map[string]proxywasm.MetricCounter {
	m := make(map[string]proxywasm.MetricCounter, len(names))
	for _, n := range names {
		m[n] = proxywasm.DefineCounterMetric(prefix + n)
	}
	return m
}

func count(m map[string]proxywasm.MetricCounter, outcome string) {
	if c, ok := m[outcome]; ok {
		c.Increment(1)
	}
}

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
	"expired", "not_yet_valid", "audience", "claims", "not_ready", "type", "sender_constrained"}

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
