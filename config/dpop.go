package config

import (
	"slices"
	"strings"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/jwt"
)

// DPoP is sender-constrained tokens with RFC 9449 proofs of possession.
type DPoP struct {
	// Enabled sends a DPoP proof with every token endpoint and PAR request
	// and expects token_type "DPoP" back (dpop.enabled).
	Enabled bool
	// SigningKey is the configured proof key (dpop.private_key or
	// dpop.private_key_env), or nil: the plugin then generates one for
	// SigningAlg at start and shares it across its VMs.
	SigningKey *jwt.SigningKey
	// SigningAlg is the alg of proofs (dpop.signing_alg, default ES256, or
	// the configured key's alg).
	SigningAlg jwt.Algorithm
}

type rawDPoP struct {
	Enabled       bool   `json:"enabled"`
	PrivateKey    string `json:"private_key"`
	PrivateKeyEnv string `json:"private_key_env"`
	SigningAlg    string `json:"signing_alg"`
}

// dpopAlgs are the algs a proof may use: asymmetric, as RFC 9449 4.2 asks.
var dpopAlgs = []string{"ES256", "ES384", "ES512", "RS256", "PS256", "EdDSA"}

// dpop validates the dpop section and routes[].upstream_dpop.
func (v *validator) dpop() {
	r, c := &v.r.DPoP, &v.c.DPoP
	c.Enabled = r.Enabled
	for i := range v.r.Routes {
		if x := v.c.Routes[i].Exchange; r.Enabled && x != nil && x.Type == EntraOBO {
			v.add(indexPath("routes", i)+".exchange.type", "entra_obo is not possible with dpop.enabled: Entra ID issues no DPoP-bound tokens, and the plugin refuses unbound ones when it sent a proof")
		}
		if v.r.Routes[i].UpstreamDPoP {
			p := indexPath("routes", i) + ".upstream_dpop"
			switch {
			case !r.Enabled:
				v.add(p, "needs dpop.enabled: only a DPoP-bound access token can be forwarded with a proof")
			case v.c.Routes[i].Auth != AuthSession:
				v.add(p, "needs auth session: the forwarded token is the session's access token")
			case v.c.Routes[i].Exchange != nil && v.c.Routes[i].Exchange.Header == "authorization":
				v.add(p, "not with exchange.header Authorization: the exchanged token would replace the DPoP-bound one the proof is for")
			}
			v.c.Routes[i].UpstreamDPoP = true
			v.c.Routes[i].UpstreamURL = v.upstreamURL(i)
		} else if v.r.Routes[i].UpstreamURL != "" {
			v.add(indexPath("routes", i)+".upstream_url", "only with upstream_dpop: it is the htu of the proofs")
		}
	}
	if !r.Enabled {
		for _, k := range []struct{ path, val string }{{"dpop.private_key", r.PrivateKey}, {"dpop.private_key_env", r.PrivateKeyEnv}, {"dpop.signing_alg", r.SigningAlg}} {
			if k.val != "" {
				v.add(k.path, "needs dpop.enabled")
			}
		}
		return
	}
	alg := r.SigningAlg
	if alg != "" {
		if _, ok := v.enum("dpop.signing_alg", alg, false, dpopAlgs...); !ok {
			return
		}
	}
	material, at, _, ok := v.privateKey("dpop", r.PrivateKey, r.PrivateKeyEnv)
	if !ok {
		return
	}
	if material == "" {
		if alg == "" {
			alg = "ES256"
		}
		c.SigningAlg = jwt.Algorithm(alg)
		return
	}
	k, err := jwt.ParseSigningKey([]byte(material), jwt.Algorithm(alg), "")
	if err != nil {
		v.add(at, "not a usable DPoP key: %s", keyMessage(err))
		return
	}
	if !slices.Contains(dpopAlgs, string(k.Algorithm)) {
		v.add(at, "the key's alg %s is not one of %v: set dpop.signing_alg", k.Algorithm, dpopAlgs)
		return
	}
	c.SigningKey, c.SigningAlg = k, k.Algorithm
}

// upstreamURL checks routes[i].upstream_url, which an upstream_dpop route needs: the origin
// its proofs' htu names. Taken from the request's :authority instead, a client's Host would
// choose which server a proof is good for.
func (v *validator) upstreamURL(i int) string {
	p := indexPath("routes", i) + ".upstream_url"
	s := v.r.Routes[i].UpstreamURL
	if s == "" {
		v.add(p, "required with upstream_dpop: the app's own origin (like https://reports.internal:8443), the htu of its proofs")
		return ""
	}
	u, msg := checkURL(s, urlRules{allowHTTP: true})
	switch {
	case msg != "":
		v.add(p, "%s", msg)
		return ""
	case u.Path != "" && u.Path != "/" || u.RawPath != "":
		v.add(p, "must be an origin (scheme://host[:port]) without a path: the request's path is added to it")
		return ""
	}
	return u.Scheme + "://" + strings.ToLower(u.Host)
}
