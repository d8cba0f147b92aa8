package filter

import (
	"fmt"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/config"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/oidc"
)

// issuers holds one VM's view of the bearer issuers' signing keys (config bearer_issuers).
//
// Each issuer has its own keySource, so its keys are fetched, shared between VMs, refreshed
// and refetched on an unknown kid as the provider's are (see keySource), at its configured
// jwks_uri or at the one its discovery document names.
type issuers struct {
	all []*issuer
}

// issuer is one bearer issuer's keys in this VM.
type issuer struct {
	*keySource // tick, ready, refetch, verifier
	bi         *config.BearerIssuer
}

func newIssuers(cfg *config.Config, m *bearerMetrics, rootID uint32) *issuers {
	s := &issuers{}
	for i := range cfg.BearerIssuers {
		bi := &cfg.BearerIssuers[i]
		t := target{cluster: bi.Cluster, authority: bi.Authority, timeout: cfg.Provider.Timeout}
		// The namespace names what is fetched, not the issuer's name in this config, so
		// another plugin configuration with the same issuer and JWKS shares the keys.
		o := keySourceOptions{scope: "bearer|" + bi.Issuer + "|" + bi.JWKSURI,
			jwksURI: bi.JWKSURI, issuer: bi.Issuer, algorithms: bi.Algorithms, rootID: rootID,
			discoveryTarget: t, jwksTarget: t,
			server: "issuer", logPrefix: "bearer issuer " + bi.Name + ": ",
			name: bi.Name, count: m.fetch, refetchLimited: m.refetchLimited}
		if bi.JWKSURI == "" {
			o.discover = discoverJWKS(bi)
		}
		s.all = append(s.all, &issuer{keySource: newKeySource(cfg, o), bi: bi})
	}
	return s
}

// discoverJWKS returns a parser of the issuer's discovery document, which must name the
// issuer; it returns the jwks_uri the document names.
func discoverJWKS(bi *config.BearerIssuer) func([]byte) (string, error) {
	return func(body []byte) (string, error) {
		md, err := oidc.ParseDiscovery(body, bi.Issuer, bi.InsecureAllowHTTP)
		if err != nil {
			return "", err
		}
		return md.JWKSURI, nil
	}
}

// of returns the issuer for a configured bearer issuer, or nil.
func (s *issuers) of(bi *config.BearerIssuer) *issuer {
	for _, it := range s.all {
		if it.bi == bi {
			return it
		}
	}
	return nil
}

// tick runs each issuer's fetches; it runs in the root context.
func (s *issuers) tick(now time.Time) {
	for _, it := range s.all {
		it.tick(now)
	}
}

// notReadyReason explains, for the log, why the keys are not there.
func (it *issuer) notReadyReason() error {
	if err := it.failure(); err != nil {
		return fmt.Errorf("filter: bearer issuer %s: %w", it.bi.Name, err)
	}
	return fmt.Errorf("filter: bearer issuer %s: keys not fetched yet", it.bi.Name)
}
