package filter

import (
	"fmt"
	"slices"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/config"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/oidc"
)

// provider holds one VM's view of the OpenID Provider: its metadata and its signing keys.
//
// The metadata comes from discovery (or from the configured endpoints when discovery is
// off) and the keys from the JWKS; the keySource fetches, shares between VMs and refreshes
// both, and rate limits unknown-kid refetches (see keySource). Configured endpoints win over
// discovered ones.
type provider struct {
	*keySource // tick, refetch, verifier

	cfg *config.Config
	md  *oidc.Metadata // nil until discovery succeeded
}

func newProvider(cfg *config.Config, m *metrics, rootID uint32) *provider {
	pc := cfg.Provider
	pr := &provider{cfg: cfg}
	o := keySourceOptions{scope: pc.Issuer, issuer: pc.Issuer,
		algorithms: cfg.JWT.Algorithms, rootID: rootID,
		discoveryTarget: pr.providerTarget(), jwksTarget: pr.jwksTarget(),
		server: "provider", logPrefix: "", name: pc.Issuer, count: m.callout, refetchLimited: m.refetchLimited}
	if cfg.JWT.AllowHMAC {
		o.hmacSecret = []byte(cfg.Client.Secret)
	}
	if pc.Discovery {
		o.discover = pr.adoptMetadata
	} else {
		pr.md = staticMetadata(cfg)
		o.jwksURI = pr.md.JWKSURI
	}
	pr.keySource = newKeySource(cfg, o)
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
	set(&md.PushedAuthorizationRequestEndpoint, pc.PAREndpoint)
}

// adoptMetadata parses a discovery document, which must name the configured issuer, applies
// the configured endpoints over it, and returns the JWKS URL to fetch.
func (pr *provider) adoptMetadata(body []byte) (string, error) {
	md, err := oidc.ParseDiscovery(body, pr.cfg.Provider.Issuer, pr.cfg.Provider.InsecureAllowHTTP)
	if err != nil {
		return "", err
	}
	if oidc.IsMTLS(pr.cfg.Client.AuthMethod) {
		md.UseMTLSAliases() // RFC 8705 5; configured endpoints still win below
	}
	applyOverrides(md, pr.cfg)
	if m := pr.cfg.Login.ResponseMode; m != "query" && md.ResponseModesSupported != nil && !slices.Contains(md.ResponseModesSupported, m) {
		return "", fmt.Errorf("%w: login.response_mode %q is not in the provider's response_modes_supported %q", oidc.ErrUnsupported, m, md.ResponseModesSupported)
	}
	pr.md = md
	return md.JWKSURI, nil
}

// ready reports whether requests that need the provider can be served: both its metadata
// and its keys are in.
func (pr *provider) ready() bool { return pr.md != nil && pr.keySource.ready() }

// notReadyReason explains, for the 503 page and the log, why the provider is not ready.
func (pr *provider) notReadyReason() string {
	if err := pr.failure(); err != nil {
		return err.Error()
	}
	return "provider metadata not fetched yet"
}

func (pr *provider) providerTarget() target {
	return target{cluster: pr.cfg.Provider.Cluster, authority: pr.cfg.Provider.Authority, timeout: pr.cfg.Provider.Timeout}
}

// backchannelTarget is the target of the client-authenticated back-channel calls (token,
// revocation, introspection, PAR) and of userinfo: with a mutual-TLS client authentication
// method, provider.mtls_cluster, whose upstream TLS presents the client certificate (RFC 8705).
// A cluster other than provider.cluster is reached by the host of each URL (an mTLS alias
// often lives on its own host).
func (pr *provider) backchannelTarget() target {
	t := pr.providerTarget()
	if c := pr.cfg.Provider.MTLSCluster; c != "" && c != t.cluster {
		t.cluster, t.authority = c, ""
	}
	return t
}

func (pr *provider) jwksTarget() target {
	t := pr.providerTarget()
	if c := pr.cfg.Provider.JWKSCluster; c != "" {
		t.cluster = c
		t.authority = "" // the JWKS host's own authority
	}
	return t
}
