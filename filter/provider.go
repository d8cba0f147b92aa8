package filter

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/config"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/jwt"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/oidc"
)

// provider holds one VM's view of the OpenID Provider: its metadata and its signing keys.
//
// Both are fetched by callout from the root context, driven by the tick (callouts cannot run
// during configuration, and a callout sent from a request dies with the request), and
// published in shared data with the time they were fetched, so that N VMs of one Envoy do
// one fetch: a VM first looks in shared data, and only fetches when what is there is missing
// or stale and no other VM holds the fetch lease. Failures back off exponentially, and the
// backoff is kept in the lease so that every VM honours it.
//
// A token signed with an unknown key asks for one JWKS refetch; refetches are rate limited
// per Envoy (provider.jwks_min_refetch_interval, claimed in shared data), so a flood of
// tokens with made-up key ids cannot become a flood of fetches.
type provider struct {
	cfg    *config.Config
	m      *metrics
	rootID uint32

	md       *oidc.Metadata
	keys     *jwt.KeySet
	verifier *jwt.Verifier
	mdAt     time.Time // when the metadata in use was fetched
	jwksAt   time.Time // when the keys in use were fetched

	mdBusy, jwksBusy bool
	nextTry          time.Time
	backoff          time.Duration
	lastErr          error

	refetchWanted bool
	jwksWaiters   []jwksWaiter

	keyMD, keyJWKS, keyRefetch string
}

// jwksWaiter is a request paused until a JWKS refetch is over.
type jwksWaiter struct {
	owner uint32 // its HTTP context
	done  func(error)
}

const (
	minBackoff = 500 * time.Millisecond
	maxBackoff = 60 * time.Second
)

func newProvider(cfg *config.Config, m *metrics, rootID uint32) *provider {
	ns := "oidc-proxy/" + cfg.Provider.Issuer
	pr := &provider{cfg: cfg, m: m, rootID: rootID,
		keyMD: ns + "/discovery", keyJWKS: ns + "/jwks", keyRefetch: ns + "/jwks.refetch"}
	if !cfg.Provider.Discovery {
		pr.md = staticMetadata(cfg)
	}
	return pr
}

// staticMetadata is the provider metadata when discovery is off: the configured endpoints.
func staticMetadata(cfg *config.Config) *oidc.Metadata {
	md := &oidc.Metadata{Issuer: cfg.Provider.Issuer}
	applyOverrides(md, cfg)
	return md
}

// applyOverrides lets configured endpoints win over discovered ones.
func applyOverrides(md *oidc.Metadata, cfg *config.Config) {
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	pc := cfg.Provider
	set(&md.AuthorizationEndpoint, pc.AuthorizationEndpoint)
	set(&md.TokenEndpoint, pc.TokenEndpoint)
	set(&md.UserinfoEndpoint, pc.UserinfoEndpoint)
	set(&md.JWKSURI, pc.JWKSURI)
	set(&md.EndSessionEndpoint, pc.EndSessionEndpoint)
	set(&md.RevocationEndpoint, pc.RevocationEndpoint)
	set(&md.IntrospectionEndpoint, pc.IntrospectionEndpoint)
}

// ready reports whether requests that need the provider can be served.
func (pr *provider) ready() bool { return pr.md != nil && pr.verifier != nil }

// readyNow is ready, after adopting what other VMs published in shared data: a request
// reaching a VM whose tick has not yet looked there is served rather than told to wait.
// It sends no callout.
func (pr *provider) readyNow(now time.Time) bool {
	if pr.ready() {
		return true
	}
	if pr.md == nil {
		at, body, ok := readStamped(pr.keyMD)
		if !ok || now.Sub(at) >= pr.cfg.Provider.MetadataRefreshInterval || pr.adoptMetadata(body, at) != nil {
			return false
		}
	}
	pr.adoptSharedJWKS(now, true)
	return pr.ready()
}

// notReadyReason explains, for the 503 page and the log, why the provider is not ready.
func (pr *provider) notReadyReason() string {
	if pr.lastErr != nil {
		return pr.lastErr.Error()
	}
	return "provider metadata not fetched yet"
}

func (pr *provider) providerTarget() target {
	return target{cluster: pr.cfg.Provider.Cluster, authority: pr.cfg.Provider.Authority, timeout: pr.cfg.Provider.Timeout}
}

func (pr *provider) jwksTarget() target {
	t := pr.providerTarget()
	if c := pr.cfg.Provider.JWKSCluster; c != "" {
		t.cluster = c
		t.authority = "" // the JWKS host's own authority
	}
	return t
}

// leaseTTL bounds how long a fetch may hold the lease: past it the holder is presumed dead
// (its VM crashed mid-fetch). It outlasts the callout's own timeout.
func (pr *provider) leaseTTL() time.Duration { return pr.cfg.Provider.Timeout + 2*time.Second }

// tick fetches whatever is missing or stale, and a JWKS refetch a request asked for. It runs
// in the root context, so the callouts it sends outlive any request.
func (pr *provider) tick(now time.Time) {
	if pr.refetchWanted && !pr.jwksBusy {
		pr.refetchWanted = false
		if !pr.adoptSharedJWKS(now, false) {
			pr.fetchJWKS(now, true)
		}
		if !pr.jwksBusy {
			pr.wakeJWKSWaiters(errors.New("filter: the JWKS refetch could not start"))
		}
	}
	refresh := pr.cfg.Provider.MetadataRefreshInterval
	if pr.cfg.Provider.Discovery && (pr.md == nil || now.Sub(pr.mdAt) > refresh) {
		pr.loadMetadata(now)
		if pr.md == nil || pr.mdBusy {
			return // the keys follow the metadata
		}
	}
	if pr.md != nil && (pr.keys == nil || now.Sub(pr.jwksAt) > refresh) {
		pr.loadJWKS(now)
	}
}

func (pr *provider) loadMetadata(now time.Time) {
	if at, body, ok := readStamped(pr.keyMD); ok && at.After(pr.mdAt) && now.Sub(at) < pr.cfg.Provider.MetadataRefreshInterval {
		if err := pr.adoptMetadata(body, at); err == nil {
			pr.loadJWKS(now)
			return
		}
	}
	if pr.mdBusy || now.Before(pr.nextTry) || !pr.takeLease(pr.keyMD+".lease", now) {
		return
	}
	pr.mdBusy = true
	url := strings.TrimSuffix(pr.cfg.Provider.Issuer, "/") + "/.well-known/openid-configuration"
	req := oidc.Request{Method: "GET", URL: url, Headers: [][2]string{{"accept", "application/json"}}}
	dispatch(pr.providerTarget(), req, pr.cfg.Limits.MaxTokenResponseBytes, time.Now, func(r *calloutResponse, err error) {
		pr.mdBusy = false
		now := time.Now()
		if err == nil {
			err = pr.checkStatus("discovery", r)
		}
		if err == nil {
			err = pr.adoptMetadata(r.body, now)
		}
		pr.m.callout("discovery", err, r)
		if err != nil {
			pr.failed(now, pr.keyMD+".lease", "discovery", err)
			return
		}
		writeStamped(pr.keyMD, now, r.body)
		pr.releaseLease(pr.keyMD+".lease", time.Time{}, 0)
		pr.loadJWKS(now)
	})
}

func (pr *provider) adoptMetadata(body []byte, at time.Time) error {
	md, err := oidc.ParseDiscovery(body, pr.cfg.Provider.Issuer, pr.cfg.Provider.InsecureAllowHTTP)
	if err != nil {
		return err
	}
	applyOverrides(md, pr.cfg)
	pr.md, pr.mdAt = md, at
	// The provider answers again: the keys are fetched now, not after the old backoff.
	pr.lastErr, pr.backoff, pr.nextTry = nil, 0, time.Time{}
	return nil
}

func (pr *provider) loadJWKS(now time.Time) {
	if pr.adoptSharedJWKS(now, true) {
		return
	}
	pr.fetchJWKS(now, false)
}

// adoptSharedJWKS takes the keys another VM published when they are newer than ours (and,
// if fresh is set, not stale), and wakes requests waiting for keys.
func (pr *provider) adoptSharedJWKS(now time.Time, fresh bool) bool {
	at, body, ok := readStamped(pr.keyJWKS)
	if !ok || !at.After(pr.jwksAt) || fresh && now.Sub(at) >= pr.cfg.Provider.MetadataRefreshInterval {
		return false
	}
	if pr.adoptJWKS(body, at) != nil {
		return false
	}
	pr.wakeJWKSWaiters(nil)
	return true
}

// fetchJWKS fetches the keys. A forced fetch (an unknown kid, rate limited by the caller)
// ignores the backoff and the lease.
func (pr *provider) fetchJWKS(now time.Time, forced bool) {
	if pr.jwksBusy || pr.md == nil {
		return
	}
	lease := pr.keyJWKS + ".lease"
	if !forced && (now.Before(pr.nextTry) || !pr.takeLease(lease, now)) {
		return
	}
	pr.jwksBusy = true
	req := oidc.Request{Method: "GET", URL: pr.md.JWKSURI, Headers: [][2]string{{"accept", "application/json"}}}
	dispatch(pr.jwksTarget(), req, pr.cfg.Limits.MaxJWKSBytes, time.Now, func(r *calloutResponse, err error) {
		pr.jwksBusy = false
		now := time.Now()
		if err == nil {
			err = pr.checkStatus("jwks", r)
		}
		if err == nil {
			err = pr.adoptJWKS(r.body, now)
		}
		pr.m.callout("jwks", err, r)
		if err != nil {
			pr.failed(now, lease, "jwks", err)
		} else {
			writeStamped(pr.keyJWKS, now, r.body)
			if !forced {
				pr.releaseLease(lease, time.Time{}, 0)
			}
		}
		pr.wakeJWKSWaiters(err)
	})
}

func (pr *provider) adoptJWKS(body []byte, at time.Time) error {
	ks, err := jwt.ParseJWKS(body)
	if err != nil {
		return err
	}
	if ks.Len() == 0 {
		return errors.New("filter: the JWKS has no usable signing key")
	}
	for _, e := range ks.Skipped() {
		proxywasm.LogWarnf("oidc-proxy: jwks: skipped a key: %v", e)
	}
	pr.keys, pr.jwksAt = ks, at
	pr.verifier = jwt.NewVerifier(ks, jwt.Options{Algorithms: algorithms(pr.cfg.JWT.Algorithms)})
	pr.lastErr, pr.backoff, pr.nextTry = nil, 0, time.Time{}
	return nil
}

func (pr *provider) checkStatus(what string, r *calloutResponse) error {
	if r.status != 200 {
		return fmt.Errorf("filter: %s: provider answered HTTP %d", what, r.status)
	}
	return nil
}

// failed records a failed fetch and backs off: the next attempt, by any VM, is after the
// backoff, which doubles with each failure up to maxBackoff.
func (pr *provider) failed(now time.Time, lease, what string, err error) {
	pr.lastErr = err
	_, shared := readLease(lease)
	b := max(pr.backoff, shared)
	if b == 0 {
		b = minBackoff
	} else if b *= 2; b > maxBackoff {
		b = maxBackoff
	}
	pr.backoff = b
	pr.nextTry = now.Add(b)
	pr.releaseLease(lease, pr.nextTry, b)
	proxywasm.LogWarnf("oidc-proxy: %s fetch failed (retry in %s): %v", what, b, err)
}

// refetchJWKS is called when an ID token names a key id we do not know: the provider may
// have rotated its keys. It calls done once the attempt is over, with the fetch's error if it
// failed; done runs with owner as the effective context.
//
// Keys another VM fetched since ours are adopted at once. Otherwise the refetch is claimed
// in shared data, at most once per provider.jwks_min_refetch_interval for the whole Envoy,
// and the next tick (in the root context) fetches; when the claim fails, done is called at
// once and the token is rejected. Requests that arrive while a fetch is pending wait for it.
func (pr *provider) refetchJWKS(now time.Time, owner uint32, done func(error)) {
	if at, body, ok := readStamped(pr.keyJWKS); ok && at.After(pr.jwksAt) && pr.adoptJWKS(body, at) == nil {
		done(nil)
		return
	}
	if !pr.refetchWanted && !pr.jwksBusy {
		if !claimInterval(pr.keyRefetch, now, pr.cfg.Provider.JWKSMinRefetchInterval) {
			pr.m.refetchLimited.Increment(1)
			proxywasm.LogInfof("oidc-proxy: audit event=jwks_refetch_limited: a JWKS refetch was done less than %s ago", pr.cfg.Provider.JWKSMinRefetchInterval)
			done(nil)
			return
		}
		pr.refetchWanted = true
	}
	pr.jwksWaiters = append(pr.jwksWaiters, jwksWaiter{owner: owner, done: done})
}

// wakeJWKSWaiters resumes the requests waiting for keys, each in its own context; those
// whose request went away are dropped.
func (pr *provider) wakeJWKSWaiters(err error) {
	ws := pr.jwksWaiters
	pr.jwksWaiters = nil
	if len(ws) == 0 {
		return
	}
	for _, w := range ws {
		if proxywasm.SetEffectiveContext(w.owner) != nil {
			continue
		}
		w.done(err)
	}
	_ = proxywasm.SetEffectiveContext(pr.rootID)
}

// readStamped reads a shared-data value written by writeStamped.
func readStamped(key string) (time.Time, []byte, bool) {
	v, _, err := proxywasm.GetSharedData(key)
	if err != nil || len(v) < 8 {
		return time.Time{}, nil, false
	}
	at := time.Unix(0, int64(binary.BigEndian.Uint64(v[:8])))
	return at, v[8:], true
}

func writeStamped(key string, at time.Time, body []byte) {
	v := make([]byte, 8+len(body))
	binary.BigEndian.PutUint64(v, uint64(at.UnixNano()))
	copy(v[8:], body)
	if err := setShared(key, v); err != nil {
		proxywasm.LogWarnf("oidc-proxy: shared data %s: %v", key, err)
	}
}

// setShared overwrites a shared-data value. It passes the current cas rather than 0, which
// means "unconditional" to Envoy but not to every host.
func setShared(key string, v []byte) error {
	var err error
	for range 4 {
		_, cas, gerr := proxywasm.GetSharedData(key)
		if gerr != nil {
			cas = absentCAS
		}
		if err = proxywasm.SetSharedData(key, v, cas); !errors.Is(err, types.ErrorStatusCasMismatch) {
			return err
		}
	}
	return err
}

// A lease is 16 bytes in shared data: until when it is held (unix ns), and the backoff of
// the last failure (ns), so that every VM honours it.
func readLease(key string) (until time.Time, backoff time.Duration) {
	v, _, err := proxywasm.GetSharedData(key)
	if err != nil || len(v) < 16 {
		return time.Time{}, 0
	}
	if ns := int64(binary.BigEndian.Uint64(v[:8])); ns != 0 {
		until = time.Unix(0, ns)
	}
	return until, time.Duration(binary.BigEndian.Uint64(v[8:16]))
}

func leaseValue(until time.Time, backoff time.Duration) []byte {
	v := make([]byte, 16)
	if !until.IsZero() {
		binary.BigEndian.PutUint64(v, uint64(until.UnixNano()))
	}
	binary.BigEndian.PutUint64(v[8:], uint64(backoff))
	return v
}

// takeLease claims the fetch lease in shared data so that one VM fetches for all. It fails
// while another VM's fetch is under way or a failure's backoff runs. A lease whose holder
// died expires after leaseTTL.
func (pr *provider) takeLease(key string, now time.Time) bool {
	v, cas, err := proxywasm.GetSharedData(key)
	if err != nil && !errors.Is(err, types.ErrorStatusNotFound) {
		return true // shared data unavailable: fetch anyway
	}
	var backoff time.Duration
	if err == nil && len(v) >= 16 {
		if now.UnixNano() < int64(binary.BigEndian.Uint64(v[:8])) {
			return false
		}
		backoff = time.Duration(binary.BigEndian.Uint64(v[8:16]))
	}
	if err != nil {
		cas = absentCAS
	}
	return proxywasm.SetSharedData(key, leaseValue(now.Add(pr.leaseTTL()), backoff), cas) == nil
}

// releaseLease ends our hold on the lease: at once after a success (and the backoff is
// forgotten), or at until after a failure.
func (pr *provider) releaseLease(key string, until time.Time, backoff time.Duration) {
	if err := setShared(key, leaseValue(until, backoff)); err != nil {
		proxywasm.LogWarnf("oidc-proxy: shared data %s: %v", key, err)
	}
}

// claimInterval claims the right to act now, if nobody did within interval before, for every
// VM sharing the data. It holds the time of the last claim.
func claimInterval(key string, now time.Time, interval time.Duration) bool {
	for range 4 {
		v, cas, err := proxywasm.GetSharedData(key)
		switch {
		case errors.Is(err, types.ErrorStatusNotFound):
			cas = absentCAS
		case err != nil:
			return false // no shared data: refuse rather than risk a flood
		case len(v) == 8 && now.Sub(time.Unix(0, int64(binary.BigEndian.Uint64(v)))) < interval:
			return false
		}
		stamp := make([]byte, 8)
		binary.BigEndian.PutUint64(stamp, uint64(now.UnixNano()))
		err = proxywasm.SetSharedData(key, stamp, cas)
		if err == nil {
			return true
		}
		if !errors.Is(err, types.ErrorStatusCasMismatch) {
			return false
		}
	}
	return false
}

// absentCAS is the cas sent to create a key that should not exist yet. Envoy inserts an absent
// key whatever the cas; when the key does exist (another VM created it in the meantime) a
// nonzero cas that is not the current one makes the set fail with CasMismatch instead of
// overwriting. Envoy's cas counter starts at 1 and counts up, so this value is never current
// in practice.
const absentCAS = ^uint32(0)

func algorithms(names []string) []jwt.Algorithm {
	out := make([]jwt.Algorithm, len(names))
	for i, n := range names {
		out[i] = jwt.Algorithm(n)
	}
	return out
}
