package filter

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/config"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/jwt"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/oidc"
)

// issuers holds one VM's view of the bearer issuers' signing keys (config bearer_issuers).
//
// It is the provider's key machinery, keyed per issuer: each issuer's JWKS (at its configured
// jwks_uri, or at the one its discovery document names) is fetched by callout from the root
// context, driven by the tick, and published in shared data with the time it was fetched, so
// N VMs of one Envoy do one fetch. Fetches hold a lease in shared data, failures back off
// (the backoff is kept in the lease, so every VM honours it), and a token with an unknown
// kid asks for one refetch, rate limited per issuer and per Envoy by
// provider.jwks_min_refetch_interval. Timeouts and refresh intervals are the provider's.
type issuers struct {
	cfg    *config.Config
	leases *provider // its lease helpers; their TTL follows provider.timeout
	m      *bearerMetrics
	rootID uint32
	all    []*issuer
}

// issuer is one bearer issuer's keys in this VM.
type issuer struct {
	set *issuers
	bi  *config.BearerIssuer

	jwksURI  string    // configured, or from discovery
	mdAt     time.Time // when the discovery document in use was fetched
	keys     *jwt.KeySet
	verifier *jwt.Verifier
	jwksAt   time.Time // when the keys in use were fetched

	mdBusy, jwksBusy bool
	nextTry          time.Time
	backoff          time.Duration
	lastErr          error

	refetchWanted bool
	waiters       []jwksWaiter

	keyMD, keyJWKS, keyRefetch string
}

func newIssuers(cfg *config.Config, leases *provider, m *bearerMetrics, rootID uint32) *issuers {
	s := &issuers{cfg: cfg, leases: leases, m: m, rootID: rootID}
	for i := range cfg.BearerIssuers {
		bi := &cfg.BearerIssuers[i]
		// The namespace names what is fetched, not the issuer's name in this config, so
		// another plugin configuration with the same issuer and JWKS shares the keys.
		ns := "oidc-proxy/bearer/" + bi.Issuer + "|" + bi.JWKSURI
		s.all = append(s.all, &issuer{set: s, bi: bi, jwksURI: bi.JWKSURI,
			keyMD: ns + "/discovery", keyJWKS: ns + "/jwks", keyRefetch: ns + "/jwks.refetch"})
	}
	return s
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

// ready reports whether tokens of this issuer can be verified.
func (it *issuer) ready() bool { return it.verifier != nil }

// notReadyReason explains, for the log, why the keys are not there.
func (it *issuer) notReadyReason() error {
	if it.lastErr != nil {
		return fmt.Errorf("filter: bearer issuer %s: %w", it.bi.Name, it.lastErr)
	}
	return fmt.Errorf("filter: bearer issuer %s: keys not fetched yet", it.bi.Name)
}

func (it *issuer) target() target {
	return target{cluster: it.bi.Cluster, authority: it.bi.Authority, timeout: it.set.cfg.Provider.Timeout}
}

func (it *issuer) tick(now time.Time) {
	if it.refetchWanted && !it.jwksBusy {
		it.refetchWanted = false
		if !it.adoptShared(now, false) {
			it.fetchJWKS(now, true)
		}
		if !it.jwksBusy {
			it.wake(errors.New("filter: the JWKS refetch could not start"))
		}
	}
	refresh := it.set.cfg.Provider.MetadataRefreshInterval
	if it.bi.JWKSURI == "" && (it.jwksURI == "" || now.Sub(it.mdAt) > refresh) {
		it.loadMetadata(now)
		if it.jwksURI == "" || it.mdBusy {
			return // the keys follow the discovery document
		}
	}
	if it.keys == nil || now.Sub(it.jwksAt) > refresh {
		it.loadJWKS(now)
	}
}

func (it *issuer) loadMetadata(now time.Time) {
	refresh := it.set.cfg.Provider.MetadataRefreshInterval
	if at, body, ok := readStamped(it.keyMD); ok && at.After(it.mdAt) && now.Sub(at) < refresh {
		if it.adoptMetadata(body, at) == nil {
			it.loadJWKS(now)
			return
		}
	}
	lease := it.keyMD + ".lease"
	if it.mdBusy || now.Before(it.nextTry) || !it.set.leases.takeLease(lease, now) {
		return
	}
	it.mdBusy = true
	url := strings.TrimSuffix(it.bi.Issuer, "/") + "/.well-known/openid-configuration"
	req := oidc.Request{Method: "GET", URL: url, Headers: [][2]string{{"accept", "application/json"}}}
	dispatch(it.target(), req, it.set.cfg.Limits.MaxTokenResponseBytes, time.Now, func(r *calloutResponse, err error) {
		it.mdBusy = false
		now := time.Now()
		if err == nil {
			err = statusOK("discovery", r)
		}
		if err == nil {
			err = it.adoptMetadata(r.body, now)
		}
		it.set.m.fetch("discovery", err, r)
		if err != nil {
			it.failed(now, lease, "discovery", err)
			it.wake(err)
			return
		}
		writeStamped(it.keyMD, now, r.body)
		it.set.leases.releaseLease(lease, time.Time{}, 0)
		it.loadJWKS(now)
	})
}

// adoptMetadata takes the jwks_uri from a discovery document, which must name this issuer.
func (it *issuer) adoptMetadata(body []byte, at time.Time) error {
	md, err := oidc.ParseDiscovery(body, it.bi.Issuer, it.bi.InsecureAllowHTTP)
	if err != nil {
		return err
	}
	it.jwksURI, it.mdAt = md.JWKSURI, at
	return nil
}

func (it *issuer) loadJWKS(now time.Time) {
	if it.adoptShared(now, true) {
		return
	}
	it.fetchJWKS(now, false)
}

// adoptShared takes the keys another VM published when they are newer than ours (and, if
// fresh is set, not stale), and wakes requests waiting for keys.
func (it *issuer) adoptShared(now time.Time, fresh bool) bool {
	at, body, ok := readStamped(it.keyJWKS)
	if !ok || !at.After(it.jwksAt) || fresh && now.Sub(at) >= it.set.cfg.Provider.MetadataRefreshInterval {
		return false
	}
	if it.adoptJWKS(body, at) != nil {
		return false
	}
	it.wake(nil)
	return true
}

// fetchJWKS fetches the keys. A forced fetch (an unknown kid, already rate limited) ignores
// the backoff and the lease.
func (it *issuer) fetchJWKS(now time.Time, forced bool) {
	if it.jwksBusy || it.jwksURI == "" {
		return
	}
	lease := it.keyJWKS + ".lease"
	if !forced && (now.Before(it.nextTry) || !it.set.leases.takeLease(lease, now)) {
		return
	}
	it.jwksBusy = true
	req := oidc.Request{Method: "GET", URL: it.jwksURI, Headers: [][2]string{{"accept", "application/json"}}}
	dispatch(it.target(), req, it.set.cfg.Limits.MaxJWKSBytes, time.Now, func(r *calloutResponse, err error) {
		it.jwksBusy = false
		now := time.Now()
		if err == nil {
			err = statusOK("jwks", r)
		}
		if err == nil {
			err = it.adoptJWKS(r.body, now)
		}
		it.set.m.fetch("jwks", err, r)
		if err != nil {
			it.failed(now, lease, "jwks", err)
		} else {
			writeStamped(it.keyJWKS, now, r.body)
			if !forced {
				it.set.leases.releaseLease(lease, time.Time{}, 0)
			}
		}
		it.wake(err)
	})
}

// adoptJWKS replaces the keys with a parsed JWKS. A JWKS without one usable key is refused,
// so the keys in use (if any) stay.
func (it *issuer) adoptJWKS(body []byte, at time.Time) error {
	if len(body) > it.set.cfg.Limits.MaxJWKSBytes {
		return fmt.Errorf("filter: JWKS of %d bytes, limit %d", len(body), it.set.cfg.Limits.MaxJWKSBytes)
	}
	ks, err := jwt.ParseJWKS(body)
	if err != nil {
		return err
	}
	if ks.Len() == 0 {
		return errors.New("filter: the JWKS has no usable signing key")
	}
	for _, e := range ks.Skipped() {
		proxywasm.LogWarnf("oidc-proxy: bearer issuer %s: jwks: skipped a key: %v", it.bi.Name, e)
	}
	it.keys, it.jwksAt = ks, at
	it.verifier = jwt.NewVerifier(ks, jwt.Options{Algorithms: algorithms(it.bi.Algorithms)})
	it.lastErr, it.backoff, it.nextTry = nil, 0, time.Time{}
	return nil
}

func statusOK(what string, r *calloutResponse) error {
	if r.status != 200 {
		return fmt.Errorf("filter: %s: issuer answered HTTP %d", what, r.status)
	}
	return nil
}

// failed records a failed fetch and backs off, like the provider: the next attempt, by any
// VM, is after the backoff, which doubles with each failure up to maxBackoff.
func (it *issuer) failed(now time.Time, lease, what string, err error) {
	it.lastErr = err
	_, shared := readLease(lease)
	b := max(it.backoff, shared)
	if b == 0 {
		b = minBackoff
	} else if b *= 2; b > maxBackoff {
		b = maxBackoff
	}
	it.backoff = b
	it.nextTry = now.Add(b)
	it.set.leases.releaseLease(lease, it.nextTry, b)
	proxywasm.LogWarnf("oidc-proxy: bearer issuer %s: %s fetch failed (retry in %s): %v", it.bi.Name, what, b, err)
}

// refetch is called when a token names a key id this issuer's keys lack: the issuer may have
// rotated them. It calls done once the attempt is over (with owner as the effective
// context), with the fetch's error if it failed.
//
// Keys another VM fetched since ours are adopted at once. Otherwise the refetch is claimed in
// shared data, at most once per provider.jwks_min_refetch_interval per issuer for the whole
// Envoy, and the next tick fetches; when the claim fails, done is called at once and the
// token is rejected. Requests arriving while a refetch is pending wait for it.
func (it *issuer) refetch(now time.Time, owner uint32, done func(error)) {
	if at, body, ok := readStamped(it.keyJWKS); ok && at.After(it.jwksAt) && it.adoptJWKS(body, at) == nil {
		done(nil)
		return
	}
	if !it.refetchWanted && !it.jwksBusy {
		if !claimInterval(it.keyRefetch, now, it.set.cfg.Provider.JWKSMinRefetchInterval) {
			it.set.m.refetchLimited.Increment(1)
			proxywasm.LogInfof("oidc-proxy: audit event=jwks_refetch_limited issuer=%s: a JWKS refetch was done less than %s ago",
				it.bi.Name, it.set.cfg.Provider.JWKSMinRefetchInterval)
			done(nil)
			return
		}
		it.refetchWanted = true
	}
	it.waiters = append(it.waiters, jwksWaiter{owner: owner, done: done})
}

// wake resumes the requests waiting for keys, each in its own context; those whose request
// went away are dropped.
func (it *issuer) wake(err error) {
	ws := it.waiters
	it.waiters = nil
	if len(ws) == 0 {
		return
	}
	for _, w := range ws {
		if proxywasm.SetEffectiveContext(w.owner) != nil {
			continue
		}
		w.done(err)
	}
	_ = proxywasm.SetEffectiveContext(it.set.rootID)
}
