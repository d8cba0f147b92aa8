package envoyrig

import (
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/op"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/stack"
)

// Rig is the provider, the bearer issuer and the session key every Envoy of a run shares.
type Rig struct {
	OP  *op.Server
	Iss *Issuer
	Key stack.Key
}

// New starts the provider (access and ID tokens valid for an hour) and the bearer issuer
// (with an EdDSA key too when eddsa), and makes the session key "k1".
func New(eddsa bool) (*Rig, error) {
	r := &Rig{}
	var err error
	if r.OP, err = op.Start(op.Config{ClientID: stack.ClientID, ClientSecret: stack.ClientSecret,
		AccessTokenLifetime: time.Hour, IDTokenLifetime: time.Hour}); err != nil {
		return nil, err
	}
	if r.Iss, err = NewIssuer(eddsa); err != nil {
		r.Close()
		return nil, err
	}
	if r.Key, err = stack.NewKey("k1"); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// Close stops the provider and the issuer.
func (r *Rig) Close() {
	if r.Iss != nil {
		r.Iss.Close()
	}
	if r.OP != nil {
		r.OP.Close()
	}
}

// Clusters are the bootstrap's clusters the plugin calls: "oidc" (the provider) and
// "issuers" (the bearer issuer).
func (r *Rig) Clusters() map[string]string {
	return map[string]string{"oidc": r.OP.Issuer(), "issuers": r.Iss.URL()}
}

// PluginConfig is `make run`'s configuration (stack.PluginConfig: the embedded provider,
// tokens forwarded as X-Forwarded-Access-Token and X-Forwarded-Id-Token, /healthz passed
// through) plus a bearer route "api" for /api/ accepting the issuer's tokens for audience,
// the issuer named name.
func (r *Rig) PluginConfig(name, audience string) map[string]any {
	cfg := stack.PluginConfig(r.OP.Issuer(), []stack.Key{r.Key})
	cfg["bearer_issuers"] = []any{map[string]any{
		"name": name, "issuer": r.Iss.URL(), "insecure_allow_http": true, "discovery": false,
		"jwks_uri": r.Iss.URL() + "/jwks", "cluster": "issuers", "audiences": []any{audience},
	}}
	cfg["routes"] = []any{map[string]any{"name": "api", "match": map[string]any{"prefix": "/api/"},
		"auth": "bearer", "bearer_issuers": []any{name}}}
	return cfg
}
