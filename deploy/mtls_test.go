package deploy_test

import (
	"strings"
	"testing"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/config"
)

// TestEnvoyMTLSExample: docs/examples/envoy-mtls.yaml, the bootstrap docs/mtls.md shows, is a
// valid Envoy bootstrap whose plugin uses tls_client_auth through a cluster that presents a
// client certificate and checks the provider's.
func TestEnvoyMTLSExample(t *testing.T) {
	src := repoFile(t, "docs/examples/envoy-mtls.yaml")
	s, err := loadEnvoy(src)
	if err != nil {
		t.Fatal(err)
	}
	placeholderSecrets(t, "docs/examples/envoy-mtls.yaml", s.pluginJSON, s.env)
	if s.cfg.Client.AuthMethod != config.TLSClientAuth || s.cfg.Client.Secret != "" {
		t.Errorf("client %v: want tls_client_auth without a secret", s.cfg.Client)
	}
	if s.cfg.Provider.MTLSCluster != "oidc_mtls" {
		t.Errorf("provider.mtls_cluster %q", s.cfg.Provider.MTLSCluster)
	}
	for _, tt := range []struct{ name, old, new, want string }{
		{"no client certificate", "          tls_certificates:\n          - certificate_chain:\n              filename: /etc/envoy/client-tls/tls.crt\n            private_key:\n              filename: /etc/envoy/client-tls/tls.key\n", "", "no common_tls_context.tls_certificates"},
		{"no private key", "            private_key:\n              filename: /etc/envoy/client-tls/tls.key\n", "", "certificate_chain and private_key"},
		{"mtls cluster undefined", `"mtls_cluster": "oidc_mtls"`, `"mtls_cluster": "oidc_mtl"`, `cluster "oidc_mtl", which is not defined`},
		{"mtls cluster without an mTLS method", `"auth_method": "tls_client_auth"`, `"auth_method": "private_key_jwt"`, "provider.mtls_cluster: only with client.auth_method"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadEnvoy(mutate(t, src, tt.old, tt.new))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
}
