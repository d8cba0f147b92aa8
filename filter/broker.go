package filter

import (
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/engine"
)

// broker is one VM's token broker: it refreshes sessions before their tokens expire and
// exchanges them on behalf of the user, each as a single flight per Envoy (flight.go: the
// states; singleflight.go: the shared-data record), and counts what it does.
type broker struct {
	p             *pluginContext
	flights       *flights
	refreshStore  *slotStore
	exchangeStore *slotStore
	lease         time.Duration // a flight's lease: the provider timeout and a second
	m             brokerMetrics
}

func newBroker(p *pluginContext) *broker {
	cfg := p.cfg
	b := &broker{
		p:             p,
		refreshStore:  &slotStore{prefix: sharedRefreshSlot.slots(cfg.Provider.Issuer), slots: 256, maxEntries: 256},
		exchangeStore: &slotStore{prefix: sharedExchangeSlot.slots(cfg.Provider.Issuer), slots: 1024, maxEntries: 256},
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

// tick polls the flights other VMs lead; see flights.tick.
func (b *broker) tick(now time.Time) { b.flights.tick(now) }

// parkName is the sealing name of a parked result: bound to its kind and flight, and not a
// possible cookie name, so a parked value opens for nothing else.
func (p *pluginContext) parkName(kind string, k engine.FlightKey) string {
	return p.cfg.Cookie.Name + "." + kind + "/" + k.String()
}
