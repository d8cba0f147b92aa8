package filter

import (
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/engine"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
)

// broker is one VM's token broker: it refreshes sessions before their tokens expire and
// exchanges them on behalf of the user, each as a single flight per Envoy (see
// singleflight.go), and counts what it does.
type broker struct {
	p             *pluginContext
	flights       *flights
	refreshStore  *slotStore
	exchangeStore *slotStore
	lease         time.Duration // a flight's lease: the provider timeout and a second
	m             brokerMetrics
}

// brokerMetrics count refreshes, exchanges, the token endpoint and the ID token policy by
// outcome (closed sets, so cardinality is bounded):
//
//	oidc_proxy.refresh.<outcome>         ok, invalid_grant, id_token_rejected, failed, transient
//	                                     (one per refresh sent), waited, waited_remote (requests
//	                                     that waited for one in this VM or another), reused
//	                                     (requests that picked up a parked result)
//	oidc_proxy.exchange.<outcome>        ok, denied, failed, transient (one per exchange sent),
//	                                     cache_hit, waited, waited_remote
//	oidc_proxy.token_endpoint.<outcome>  served, refused (not same-origin)
//	oidc_proxy.id_token.<outcome>        omitted (expired, left out), reauthenticate (silent login)
type brokerMetrics struct {
	refresh, exchange, tokenEndpoint, idToken map[string]proxywasm.MetricCounter
}

var (
	refreshOutcomes       = []string{"ok", "invalid_grant", "id_token_rejected", "failed", "transient", "waited", "waited_remote", "reused"}
	exchangeOutcomes      = []string{"ok", "cache_hit", "denied", "failed", "transient", "waited", "waited_remote"}
	tokenEndpointOutcomes = []string{"served", "refused"}
	idTokenOutcomes       = []string{"omitted", "reauthenticate"}
)

func newBroker(p *pluginContext) *broker {
	cfg := p.cfg
	ns := "oidc-proxy/" + cfg.Provider.Issuer
	b := &broker{
		p:             p,
		refreshStore:  &slotStore{prefix: ns + "/refresh/", slots: 256, maxEntries: 256},
		exchangeStore: &slotStore{prefix: ns + "/exchange/", slots: 1024, maxEntries: 256},
		lease:         cfg.Provider.Timeout + time.Second,
		m: brokerMetrics{
			refresh:       defineCounters("oidc_proxy.refresh.", refreshOutcomes),
			exchange:      defineCounters("oidc_proxy.exchange.", exchangeOutcomes),
			tokenEndpoint: defineCounters("oidc_proxy.token_endpoint.", tokenEndpointOutcomes),
			idToken:       defineCounters("oidc_proxy.id_token.", idTokenOutcomes),
		},
	}
	maxFlights := max(cfg.Session.CacheSize, 1024)
	b.flights = newFlights(p, maxFlights)
	return b
}

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

// tick polls the flights other VMs lead; see flights.tick.
func (b *broker) tick(now time.Time) { b.flights.tick(now) }

// OnQueueReady runs flights queued by this VM's requests in the root context.
func (p *pluginContext) OnQueueReady(queueID uint32) {
	if p.broker != nil {
		p.broker.flights.onQueueReady(queueID)
	}
}

// OnHttpStreamDone forgets a request that was waiting for a flight.
func (h *httpContext) OnHttpStreamDone() {
	if b := h.p.broker; b != nil {
		b.flights.unwait(h.contextID)
	}
}

// parkName is the sealing name of a parked result: bound to its kind and flight, and not a
// possible cookie name, so a parked value opens for nothing else.
func (p *pluginContext) parkName(kind string, k engine.FlightKey) string {
	return p.cfg.Cookie.Name + "." + kind + "/" + k.String()
}
