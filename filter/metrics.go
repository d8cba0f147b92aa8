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
type metrics struct {
	loginStarted, loginSucceeded proxywasm.MetricCounter
	loginFailed                  map[string]proxywasm.MetricCounter
	sessionHit, sessionMiss      proxywasm.MetricCounter
	callouts                     map[string]map[string]proxywasm.MetricCounter
	calloutMS                    map[string]proxywasm.MetricHistogram
	refetchLimited               proxywasm.MetricCounter
}

// loginFailReasons is the closed set of reasons a login can fail for.
var loginFailReasons = []string{
	"provider_error", "bad_callback", "bad_state", "expired_state", "binding", "replay",
	"token_endpoint", "id_token", "userinfo", "unreachable", "timeout", "not_ready", "loop", "session",
	"token_expired", "session_too_large",
}

var calloutKinds = []string{"discovery", "jwks", "token", "refresh", "exchange", "revoke", "userinfo"}

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
		loginSucceeded: proxywasm.DefineCounterMetric("oidc_proxy.login.succeeded"),
		loginFailed:    map[string]proxywasm.MetricCounter{},
		sessionHit:     proxywasm.DefineCounterMetric("oidc_proxy.session.cache_hit"),
		sessionMiss:    proxywasm.DefineCounterMetric("oidc_proxy.session.cache_miss"),
		callouts:       map[string]map[string]proxywasm.MetricCounter{},
		calloutMS:      map[string]proxywasm.MetricHistogram{},
		refetchLimited: proxywasm.DefineCounterMetric("oidc_proxy.jwks.refetch_limited"),
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
