package filter

import (
	"errors"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
)

// metrics are the plugin's proxy-wasm metrics. Envoy exposes them with a "wasmcustom."
// prefix. Names are fixed at start-up; reasons come from a closed set so cardinality is
// bounded.
type metrics struct {
	loginStarted, loginSucceeded proxywasm.MetricCounter
	loginFailed                  map[string]proxywasm.MetricCounter
	sessionHit, sessionMiss      proxywasm.MetricCounter
	calloutOK, calloutFailed     map[string]proxywasm.MetricCounter
	calloutMS                    map[string]proxywasm.MetricHistogram
}

// loginFailReasons is the closed set of reasons a login can fail for.
var loginFailReasons = []string{
	"provider_error", "bad_callback", "bad_state", "expired_state", "binding", "replay",
	"token_endpoint", "id_token", "unreachable", "not_ready", "loop",
}

var calloutKinds = []string{"discovery", "jwks", "token", "refresh", "exchange", "revoke", "userinfo"}

func newMetrics() *metrics {
	m := &metrics{
		loginStarted:   proxywasm.DefineCounterMetric("oidc_proxy.login.started"),
		loginSucceeded: proxywasm.DefineCounterMetric("oidc_proxy.login.succeeded"),
		loginFailed:    map[string]proxywasm.MetricCounter{},
		sessionHit:     proxywasm.DefineCounterMetric("oidc_proxy.session.cache_hit"),
		sessionMiss:    proxywasm.DefineCounterMetric("oidc_proxy.session.cache_miss"),
		calloutOK:      map[string]proxywasm.MetricCounter{},
		calloutFailed:  map[string]proxywasm.MetricCounter{},
		calloutMS:      map[string]proxywasm.MetricHistogram{},
	}
	for _, r := range loginFailReasons {
		m.loginFailed[r] = proxywasm.DefineCounterMetric("oidc_proxy.login.failed." + r)
	}
	for _, k := range calloutKinds {
		m.calloutOK[k] = proxywasm.DefineCounterMetric("oidc_proxy.callout." + k + ".ok")
		m.calloutFailed[k] = proxywasm.DefineCounterMetric("oidc_proxy.callout." + k + ".failed")
		m.calloutMS[k] = proxywasm.DefineHistogramMetric("oidc_proxy.callout." + k + ".ms")
	}
	return m
}

func (m *metrics) loginFail(reason string) {
	if c, ok := m.loginFailed[reason]; ok {
		c.Increment(1)
	}
}

// callout counts one callout of kind by outcome and records its latency when it answered.
func (m *metrics) callout(kind string, err error, r *calloutResponse) {
	if err != nil || r == nil {
		m.calloutFailed[kind].Increment(1)
	} else {
		m.calloutOK[kind].Increment(1)
	}
	if r != nil && !errors.Is(err, errUnreachable) {
		m.calloutMS[kind].Record(uint64(r.elapsed.Milliseconds()))
	}
}
