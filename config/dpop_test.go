package config

import (
	"crypto/rand"
	"encoding/json"
	"strings"
	"testing"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/jwt"
)

func TestDPoPConfig(t *testing.T) {
	if c := mustParse(t, with(t, `{}`)); c.DPoP.Enabled || c.DPoP.SigningKey != nil {
		t.Fatalf("default: %+v", c.DPoP)
	}
	c := mustParse(t, with(t, `{"dpop":{"enabled":true}}`))
	if !c.DPoP.Enabled || c.DPoP.SigningKey != nil || c.DPoP.SigningAlg != "ES256" {
		t.Fatalf("generated ES256: %+v", c.DPoP)
	}
	k, err := jwt.GenerateSigningKey(c.DPoP.SigningAlg, rand.Reader) // what the filter generates
	if err != nil || k.Algorithm != "ES256" {
		t.Fatalf("GenerateKey: %v %v", k, err)
	}
	if c := mustParse(t, with(t, `{"dpop":{"enabled":true,"signing_alg":"EdDSA"}}`)); c.DPoP.SigningAlg != "EdDSA" {
		t.Errorf("EdDSA: %+v", c.DPoP)
	}
	keyPEM := testKeyPEM(t)
	q, _ := json.Marshal(keyPEM)
	c = mustParse(t, with(t, `{"dpop":{"enabled":true,"private_key":`+string(q)+`}}`))
	if c.DPoP.SigningKey == nil || c.DPoP.SigningAlg != "ES256" {
		t.Fatalf("inline key: %+v", c.DPoP)
	}
	c, err = ParseWithEnv(with(t, `{"dpop":{"enabled":true,"private_key_env":"DPOP_KEY"}}`), envOf(map[string]string{"DPOP_KEY": keyPEM}))
	if err != nil || c.DPoP.SigningKey == nil {
		t.Fatalf("env key: %v", err)
	}
	c = mustParse(t, with(t, `{"dpop":{"enabled":true},"routes":[{"name":"api","match":{"prefix":"/api/"},"upstream_dpop":true,"upstream_url":"https://Reports.Internal:8443/"}]}`))
	if !c.Routes[0].UpstreamDPoP || c.Routes[0].UpstreamURL != "https://reports.internal:8443" {
		t.Errorf("routes[0].upstream_dpop %v, upstream_url %q", c.Routes[0].UpstreamDPoP, c.Routes[0].UpstreamURL)
	}
}

func TestDPoPConfigErrors(t *testing.T) {
	keyPEM := testKeyPEM(t)
	q, _ := json.Marshal(keyPEM)
	for _, tc := range []struct{ config, env, want string }{
		{`{"dpop":{"private_key":` + string(q) + `}}`, "", "dpop.private_key: needs dpop.enabled"},
		{`{"dpop":{"signing_alg":"ES256"}}`, "", "dpop.signing_alg: needs dpop.enabled"},
		{`{"dpop":{"enabled":true,"signing_alg":"HS256"}}`, "", "dpop.signing_alg: must be one of"},
		{`{"dpop":{"enabled":true,"signing_alg":"RS512"}}`, "", "dpop.signing_alg: must be one of"},
		{`{"dpop":{"enabled":true,"private_key":` + string(q) + `,"private_key_env":"DPOP_KEY"}}`, keyPEM, "dpop.private_key_env: set at most one"},
		{`{"dpop":{"enabled":true,"private_key_env":"DPOP_KEY"}}`, "", "dpop.private_key_env: environment variable DPOP_KEY is not set or empty"},
		{`{"dpop":{"enabled":true,"private_key_env":"1X"}}`, "", "dpop.private_key_env: must be an environment variable name"},
		{`{"dpop":{"enabled":true,"private_key":"not a key"}}`, "", "dpop.private_key: not a usable DPoP key: neither PEM"},
		{`{"dpop":{"enabled":true,"private_key":` + string(q) + `,"signing_alg":"RS256"}}`, "", "dpop.private_key: not a usable DPoP key: alg RS256 does not fit this EC key"},
		{`{"dpop":{"enabled":true,"private_key":"enabled"},"dpop_typo":1}`, "", "dpop_typo"},
		{`{"routes":[{"name":"api","match":{"prefix":"/api/"},"upstream_dpop":true}]}`, "", "routes[0].upstream_dpop: needs dpop.enabled"},
		{`{"dpop":{"enabled":true},"routes":[{"name":"api","match":{"prefix":"/api/"},"auth":"bearer","upstream_dpop":true,"upstream_url":"http://app"}]}`, "", "routes[0].upstream_dpop: needs auth session"},
		// The proof's htu comes from configuration, never from the client's :authority.
		{`{"dpop":{"enabled":true},"routes":[{"name":"api","match":{"prefix":"/api/"},"upstream_dpop":true}]}`, "", "routes[0].upstream_url: required with upstream_dpop"},
		{`{"dpop":{"enabled":true},"routes":[{"name":"api","match":{"prefix":"/api/"},"upstream_dpop":true,"upstream_url":"https://app/base"}]}`, "", "routes[0].upstream_url: must be an origin"},
		{`{"dpop":{"enabled":true},"routes":[{"name":"api","match":{"prefix":"/api/"},"upstream_dpop":true,"upstream_url":"/api"}]}`, "", "routes[0].upstream_url: must be an absolute URL"},
		{`{"routes":[{"name":"api","match":{"prefix":"/api/"},"upstream_url":"https://app"}]}`, "", "routes[0].upstream_url: only with upstream_dpop"},
		{`{"dpop":{"enabled":true},"routes":[{"name":"api","match":{"prefix":"/api/"},"upstream_dpop":true,"upstream_url":"http://app","exchange":{"type":"rfc8693","audience":"x"}}]}`, "", "routes[0].upstream_dpop: not with exchange.header Authorization"},
		{`{"dpop":{"enabled":true},"routes":[{"name":"api","match":{"prefix":"/api/"},"exchange":{"type":"entra_obo","scope":"api://x/.default"}}]}`, "", "routes[0].exchange.type: entra_obo is not possible with dpop.enabled"},
	} {
		env := map[string]string{}
		if tc.env != "" {
			env["DPOP_KEY"] = tc.env
		}
		_, err := ParseWithEnv(with(t, tc.config), envOf(env))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.config, err, tc.want)
			continue
		}
		if strings.Contains(err.Error(), "PRIVATE KEY-----\n") {
			t.Errorf("%s: error quotes the key", tc.config)
		}
	}
}
