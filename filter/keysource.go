package filter

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/config"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/jwt"
)

// keySource is one VM's view of a token signer's keys: the provider's, or a bearer issuer's.
//
// The JWKS is at a configured URL, or at the one a discovery document names. Both are
// fetched by callout from the root context, driven by the tick (callouts cannot run during
// configuration, and a callout sent from a request dies with the request), and published in
// shared data with the time they were fetched, so that N VMs of one Envoy do one fetch: a VM
// first looks in shared data, and only fetches when what is there is missing or stale and no
// other VM holds the fetch lease. Failures back off exponentially, and the backoff is kept in
// the lease so that every VM honours it. Timeouts and refresh intervals are the provider's.
//
// A token signed with an unknown key asks for one JWKS refetch; refetches are rate limited
// per key source and per Envoy (provider.jwks_min_refetch_interval, claimed in shared data),
// so a flood of tokens with made-up key ids cannot become a flood of fetches.
type keySource struct {
	o   keySourceOptions
	env *fetchEnv

	discovery *docSource // nil when the JWKS URL is configured
	jwks      *docSource
	url       string // of the JWKS: configured, or from discovery
	verifier  *jwt.Verifier

	minRefetch time.Duration

	refetchWanted bool
	waiters       []jwksWaiter
}

// keySourceOptions say where a key source fetches and how it reports. They are fixed when
// the configuration is loaded.
type keySourceOptions struct {
	scope      string // shared-data scope (sharedkeys.go) of its discovery, JWKS and refetch records
	jwksURI    string // the configured JWKS URL
	issuer     string // whose discovery document is at issuer/.well-known/openid-configuration
	algorithms []string
	// hmacSecret, when set (jwt.allow_hmac, the provider only), is also a key: HS256/384/512
	// ID tokens keyed with the client secret (OpenID Connect Core 10.1), for tokens without
	// a kid. Bearer issuers never get one.
	hmacSecret []byte
	rootID     uint32 // the root context, made effective again after waking waiters

	// discover, when set, parses the discovery document and returns the JWKS URL it names
	// (the JWKS is then fetched once discovery succeeded, even with jwksURI set).
	discover                    func(body []byte) (jwksURI string, err error)
	discoveryTarget, jwksTarget target

	server, logPrefix string
	name              string // issuer=NAME in audit lines: the bearer issuer's name, the provider's issuer
	count             func(kind string, err error, r *calloutResponse)
	refetchLimited    proxywasm.MetricCounter
}

// jwksWaiter is a request paused until a JWKS refetch is over.
type jwksWaiter struct {
	owner uint32 // its HTTP context
	done  func(error)
}

func newKeySource(cfg *config.Config, o keySourceOptions) *keySource {
	env := &fetchEnv{server: o.server, logPrefix: o.logPrefix, count: o.count,
		refresh: cfg.Provider.MetadataRefreshInterval, leaseTTL: cfg.Provider.Timeout + 2*time.Second}
	ks := &keySource{o: o, env: env, url: o.jwksURI, minRefetch: cfg.Provider.JWKSMinRefetchInterval}
	ks.jwks = &docSource{env: env, kind: "jwks", key: sharedJWKS.key(o.scope), leaseKey: sharedFetchLease.key("jwks", o.scope), target: o.jwksTarget,
		maxBytes: cfg.Limits.MaxJWKSBytes, parse: ks.parseJWKS}
	if o.discover != nil {
		ks.discovery = &docSource{env: env, kind: "discovery", key: sharedDiscovery.key(o.scope), leaseKey: sharedFetchLease.key("discovery", o.scope), target: o.discoveryTarget,
			maxBytes: cfg.Limits.MaxTokenResponseBytes, parse: ks.parseDiscovery}
	}
	return ks
}

// ready reports whether tokens can be verified.
func (ks *keySource) ready() bool { return ks.verifier != nil }

// readyNow is ready, after adopting what another VM of this Envoy fetched into shared data
// since this VM's last tick: a request that reaches this VM first is not answered 503 for it.
func (ks *keySource) readyNow(now time.Time) bool {
	if !ks.ready() {
		ks.adoptShared(now)
	}
	return ks.ready()
}

// failure is why the last fetch failed, or nil when it succeeded: this VM's own, else the one
// another VM recorded in the fetch lease (the VM that fetched may not be the one asked).
func (ks *keySource) failure() error {
	if ks.env.lastErr != nil {
		return ks.env.lastErr
	}
	for _, d := range []*docSource{ks.discovery, ks.jwks} {
		if d == nil {
			continue
		}
		if r := leaseReason(d.lease()); r != "" {
			return errors.New(r)
		}
	}
	return nil
}

func (ks *keySource) parseDiscovery(body []byte) error {
	u, err := ks.o.discover(body)
	if err == nil {
		ks.url = u
	}
	return err
}

// parseJWKS replaces the keys with a parsed JWKS. A JWKS without one usable key is refused,
// so the keys in use (if any) stay.
func (ks *keySource) parseJWKS(body []byte) error {
	if len(body) > ks.jwks.maxBytes {
		return fmt.Errorf("filter: JWKS of %d bytes, limit %d", len(body), ks.jwks.maxBytes)
	}
	set, err := jwt.ParseJWKS(body)
	if err != nil {
		return err
	}
	if set.Len() == 0 {
		return errors.New("filter: the JWKS has no usable signing key")
	}
	for _, e := range set.Skipped() {
		logAt(levelWarn, ks.o.logPrefix+"jwks: skipped a key", "err", e)
	}
	opts := jwt.Options{Algorithms: algorithms(ks.o.algorithms)}
	if len(ks.o.hmacSecret) > 0 {
		set, opts.AllowHMAC = set.With(&jwt.Key{Public: ks.o.hmacSecret}), true
	}
	ks.verifier = jwt.NewVerifier(set, opts)
	return nil
}

// tick sends a refetch a request asked for, and fetches whatever is missing or stale: the
// discovery document first, then the keys. It runs in the root context, so the callouts it
// sends outlive any request.
func (ks *keySource) tick(now time.Time) {
	if ks.refetchWanted && !ks.jwks.busy {
		ks.refetchWanted = false
		if !ks.adoptSharedKeys(now, false) {
			ks.jwks.fetch(now, ks.url, true, ks.fetched)
		}
		if !ks.jwks.busy {
			ks.wake(errors.New("filter: the JWKS refetch could not start"))
		}
	}
	if d := ks.discovery; d != nil && now.Sub(d.at) > ks.env.refresh {
		ks.loadDiscovery(now)
		if d.at.IsZero() || d.busy {
			return // the keys follow the discovery document
		}
	}
	if ks.verifier == nil || now.Sub(ks.jwks.at) > ks.env.refresh {
		ks.loadKeys(now)
	}
}

// adoptShared takes, without sending a callout, the fresh discovery document (when there is
// none yet) and keys that other VMs published: a request reaching a VM whose tick has not
// yet looked there is served rather than told to wait.
func (ks *keySource) adoptShared(now time.Time) {
	if d := ks.discovery; d != nil && d.at.IsZero() && !d.adoptShared(now, true) {
		return
	}
	ks.adoptSharedKeys(now, true)
}

// loadDiscovery brings the discovery document up to date (from shared data, else by a fetch
// under the lease and backoff) and then the keys at the JWKS URL it names.
func (ks *keySource) loadDiscovery(now time.Time) {
	if ks.discovery.adoptShared(now, true) {
		ks.loadKeys(now)
		return
	}
	url := strings.TrimSuffix(ks.o.issuer, "/") + "/.well-known/openid-configuration"
	ks.discovery.fetch(now, url, false, func(now time.Time, err error) {
		if err == nil {
			ks.loadKeys(now)
		}
	})
}

// loadKeys brings the keys up to date: fresh ones from shared data, else by a fetch under
// the lease and backoff. Waiting requests are woken either way once there is an outcome.
func (ks *keySource) loadKeys(now time.Time) {
	if !ks.adoptSharedKeys(now, true) {
		ks.jwks.fetch(now, ks.url, false, ks.fetched)
	}
}

// adoptSharedKeys is jwks.adoptShared, waking the requests waiting for keys when it adopts.
func (ks *keySource) adoptSharedKeys(now time.Time, fresh bool) bool {
	if !ks.jwks.adoptShared(now, fresh) {
		return false
	}
	ks.wake(nil)
	return true
}

// fetched wakes the requests waiting for keys once a JWKS fetch is over.
func (ks *keySource) fetched(_ time.Time, err error) { ks.wake(err) }

// refetch is called when a token names a key id we do not know: the signer may have rotated
// its keys. It calls done once the attempt is over, with the fetch's error if it failed;
// done runs with owner as the effective context.
//
// Keys another VM fetched since ours are adopted at once. Otherwise the refetch is claimed
// in shared data, at most once per provider.jwks_min_refetch_interval per key source for the
// whole Envoy, and the next tick (in the root context) fetches; when the claim fails, done is
// called at once and the token is rejected. Requests arriving while a refetch is pending
// wait for it.
func (ks *keySource) refetch(now time.Time, owner uint32, done func(error)) {
	if ks.jwks.adoptShared(now, false) {
		done(nil)
		return
	}
	if !ks.refetchWanted && !ks.jwks.busy {
		interval := ks.minRefetch
		if !claimInterval(sharedJWKSRefetch.key(ks.o.scope), now, interval) {
			ks.o.refetchLimited.Increment(1)
			auditInfo("jwks_refetch_limited", "issuer", ks.o.name, "min_interval", interval)
			done(nil)
			return
		}
		ks.refetchWanted = true
	}
	ks.waiters = append(ks.waiters, jwksWaiter{owner: owner, done: done})
}

// wake resumes the requests waiting for keys, each in its own context; those whose request
// went away are dropped. The root context is effective again afterwards.
func (ks *keySource) wake(err error) {
	ws := ks.waiters
	ks.waiters = nil
	if len(ws) == 0 {
		return
	}
	for _, w := range ws {
		if proxywasm.SetEffectiveContext(w.owner) != nil {
			continue
		}
		w.done(err)
	}
	_ = proxywasm.SetEffectiveContext(ks.o.rootID)
}

func algorithms(names []string) []jwt.Algorithm {
	out := make([]jwt.Algorithm, len(names))
	for i, n := range names {
		out[i] = jwt.Algorithm(n)
	}
	return out
}
