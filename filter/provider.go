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
// Both are fetched by callout, driven by the tick (callouts cannot run during configuration),
// and published in shared data with the time they were fetched, so that N VMs of one Envoy do
// one fetch: a VM first looks in shared data, and only fetches when what is there is missing
// or stale and no other VM holds the fetch lease. Failures back off exponentially.
type provider struct {
	cfg *config.Config
	m   *metrics

	md       *oidc.Metadata
	keys     *jwt.KeySet
	verifier *jwt.Verifier
	mdAt     time.Time // when the metadata in use was fetched
	jwksAt   time.Time // when the keys in use were fetched

	mdBusy, jwksBusy bool
	nextTry          time.Time
	backoff          time.Duration
	lastErr          error

	jwksWaiters []func()

	keyMD, keyJWKS string
}

const (
	minBackoff = 500 * time.Millisecond
	maxBackoff = 60 * time.Second
	leaseTTL   = 10 * time.Second
)

func newProvider(cfg *config.Config, m *metrics) *provider {
	ns := "oidc-proxy/" + cfg.Provider.Issuer
	pr := &provider{cfg: cfg, m: m, keyMD: ns + "/discovery", keyJWKS: ns + "/jwks"}
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

// tick fetches whatever is missing or stale.
func (pr *provider) tick(now time.Time) {
	refresh := pr.cfg.Provider.MetadataRefreshInterval
	if pr.cfg.Provider.Discovery && (pr.md == nil || now.Sub(pr.mdAt) > refresh) {
		pr.loadMetadata(now)
		return
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
	if pr.mdBusy || now.Before(pr.nextTry) || !takeLease(pr.keyMD+".lease", now) {
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
			pr.failed(now, "discovery", err)
			return
		}
		writeStamped(pr.keyMD, now, r.body)
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
	return nil
}

func (pr *provider) loadJWKS(now time.Time) {
	if at, body, ok := readStamped(pr.keyJWKS); ok && at.After(pr.jwksAt) && now.Sub(at) < pr.cfg.Provider.MetadataRefreshInterval {
		if err := pr.adoptJWKS(body, at); err == nil {
			pr.wakeJWKSWaiters()
			return
		}
	}
	pr.fetchJWKS(now)
}

func (pr *provider) fetchJWKS(now time.Time) {
	if pr.jwksBusy || pr.md == nil || (now.Before(pr.nextTry) && pr.keys == nil) || !takeLease(pr.keyJWKS+".lease", now) {
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
			pr.failed(now, "jwks", err)
		} else {
			writeStamped(pr.keyJWKS, now, r.body)
		}
		pr.wakeJWKSWaiters()
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

func (pr *provider) failed(now time.Time, what string, err error) {
	pr.lastErr = err
	if pr.backoff == 0 {
		pr.backoff = minBackoff
	} else if pr.backoff *= 2; pr.backoff > maxBackoff {
		pr.backoff = maxBackoff
	}
	pr.nextTry = now.Add(pr.backoff)
	proxywasm.LogWarnf("oidc-proxy: %s fetch failed (retry in %s): %v", what, pr.backoff, err)
}

// refetchJWKS is called when a token names a key id we do not know: the provider may have
// rotated its keys. It fetches the JWKS again unless that was done within the configured
// minimum interval (so a flood of unknown-kid tokens cannot cause a flood of fetches), and
// calls done when the attempt is over, whether or not the keys changed.
func (pr *provider) refetchJWKS(now time.Time, done func()) {
	if at, body, ok := readStamped(pr.keyJWKS); ok && at.After(pr.jwksAt) {
		if pr.adoptJWKS(body, at) == nil {
			done()
			return
		}
	}
	if now.Sub(pr.jwksAt) < pr.cfg.Provider.JWKSMinRefetchInterval && !pr.jwksBusy {
		done()
		return
	}
	pr.jwksWaiters = append(pr.jwksWaiters, done)
	pr.fetchJWKS(now)
	if !pr.jwksBusy {
		// Another VM holds the lease, or the fetch could not start: do not keep the request.
		pr.wakeJWKSWaiters()
	}
}

func (pr *provider) wakeJWKSWaiters() {
	ws := pr.jwksWaiters
	pr.jwksWaiters = nil
	for _, w := range ws {
		w()
	}
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
	if err := proxywasm.SetSharedData(key, v, 0); err != nil {
		proxywasm.LogWarnf("oidc-proxy: shared data %s: %v", key, err)
	}
}

// takeLease claims a short lease in shared data so that one VM fetches for all. A lease whose
// holder died expires after leaseTTL.
func takeLease(key string, now time.Time) bool {
	v, cas, err := proxywasm.GetSharedData(key)
	if err == nil && len(v) == 8 && now.UnixNano() < int64(binary.BigEndian.Uint64(v)) {
		return false
	}
	if err != nil && !errors.Is(err, types.ErrorStatusNotFound) {
		return true // shared data unavailable: fetch anyway
	}
	exp := make([]byte, 8)
	binary.BigEndian.PutUint64(exp, uint64(now.Add(leaseTTL).UnixNano()))
	if err != nil {
		cas = absentCAS
	}
	return proxywasm.SetSharedData(key, exp, cas) == nil
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
