package deploy_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

// TestEnvoyValidatesMTLSExample: Envoy itself accepts docs/examples/envoy-mtls.yaml, the
// client certificate loaded from files and the plugin started with tls_client_auth; a key that
// does not match the certificate is refused by Envoy.
func TestEnvoyValidatesMTLSExample(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	crt, key := writeClientCert(t, dir, "a"), filepath.Join(dir, "a.key")
	src := repoFile(t, "docs/examples/envoy-mtls.yaml")
	src = mutate(t, src, "/etc/envoy/client-tls/tls.crt", crt)
	good := mutate(t, src, "/etc/envoy/client-tls/tls.key", key)
	out, ok := envoyValidate(t, good)
	if !ok {
		t.Fatalf("envoy --mode validate refuses envoy-mtls.yaml:\n%s", out)
	}
	if !strings.Contains(out, "started issuer=") {
		t.Errorf("validation did not start the plugin:\n%s", out)
	}
	writeClientCert(t, dir, "b")
	out, ok = envoyValidate(t, mutate(t, src, "/etc/envoy/client-tls/tls.key", filepath.Join(dir, "b.key")))
	if ok {
		t.Fatalf("envoy --mode validate accepted a client key that does not match the certificate:\n%s", out)
	}
}

// writeClientCert writes a self-signed client certificate and its key as dir/name.crt and
// dir/name.key and returns the certificate's path.
func writeClientCert(t *testing.T, dir, name string) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "apps-gateway"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	crt := filepath.Join(dir, name+".crt")
	if err := os.WriteFile(crt, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}), 0o600); err != nil {
		t.Fatal(err)
	}
	return crt
}
