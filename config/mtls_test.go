package config

import (
	"strings"
	"testing"
)

func TestMTLSClientAuthMethods(t *testing.T) {
	for _, m := range []string{TLSClientAuth, SelfSignedTLSClientAuth} {
		// No secret, no key: the certificate of the cluster authenticates the client.
		c := mustParse(t, with(t, `{"client":{"auth_method":"`+m+`","secret":""}}`))
		if c.Client.AuthMethod != m || c.Client.Secret != "" || c.Client.SigningKey != nil {
			t.Fatalf("%s: %+v", m, c.Client)
		}
		if c.Provider.MTLSCluster == "" || c.Provider.MTLSCluster != c.Provider.Cluster {
			t.Fatalf("%s: mtls_cluster %q defaults to provider.cluster %q", m, c.Provider.MTLSCluster, c.Provider.Cluster)
		}
		c = mustParse(t, with(t, `{"provider":{"mtls_cluster":"idp_mtls"},"client":{"auth_method":"`+m+`","secret":""}}`))
		if c.Provider.MTLSCluster != "idp_mtls" {
			t.Fatalf("%s: mtls_cluster %q", m, c.Provider.MTLSCluster)
		}
	}
	c := mustParse(t, with(t, `{}`))
	if c.Provider.MTLSCluster != "" {
		t.Fatalf("mtls_cluster %q without an mTLS method", c.Provider.MTLSCluster)
	}
	for _, tc := range []struct{ config, want string }{
		{`{"provider":{"mtls_cluster":"idp_mtls"}}`, "provider.mtls_cluster: only with client.auth_method tls_client_auth or self_signed_tls_client_auth"},
		{`{"provider":{"mtls_cluster":"bad cluster"},"client":{"auth_method":"tls_client_auth","secret":""}}`, "provider.mtls_cluster: "},
		{`{"client":{"auth_method":"self_signed_tls_client_auth","secret":"a\nb"}}`, "client.secret: must not contain control characters"},
	} {
		_, err := Parse(with(t, tc.config))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: want %q, got %v", tc.config, tc.want, err)
		}
	}
}
