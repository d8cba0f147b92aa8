package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/envoy"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/op"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/proxy"
)

// mtlsPKI is a test CA with the certificates an mTLS login needs, written as PEM files.
type mtlsPKI struct {
	dir    string
	ca     *x509.Certificate
	caKey  *ecdsa.PrivateKey
	caFile string
}

func newMTLSPKI(t *testing.T) *mtlsPKI {
	t.Helper()
	p := &mtlsPKI{dir: t.TempDir()}
	p.ca, p.caKey = p.issue(t, "ca", &x509.Certificate{Subject: pkix.Name{CommonName: "mtls test CA"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}, nil, nil)
	p.caFile = filepath.Join(p.dir, "ca.crt")
	return p
}

// issue makes a certificate from tmpl, signed by parent (self-signed when nil), and writes
// name.crt and name.key.
func (p *mtlsPKI) issue(t *testing.T, name string, tmpl *x509.Certificate, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = big.NewInt(time.Now().UnixNano())
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	if parent == nil {
		parent, parentKey = tmpl, k
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &k.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalPKCS8PrivateKey(k)
	if err := os.WriteFile(filepath.Join(p.dir, name+".crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p.dir, name+".key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}), 0o600); err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c, k
}

// mtlsTokenEndpoint is the provider's mutual-TLS token endpoint: it requires a client
// certificate from the test CA, authenticates the client by the certificate's subject
// (tls_client_auth, RFC 8705 2.1: the registered subject DN CN=<client id>), refuses a request
// that carries any other credential, and redeems the grant at the embedded provider's token
// endpoint on the client's behalf.
func mtlsTokenEndpoint(t *testing.T, p *mtlsPKI, provider *op.Server, calls *atomic.Int32) *httptest.Server {
	t.Helper()
	srvCert, srvKey := p.issue(t, "server", &x509.Certificate{Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}, p.ca, p.caKey)
	pool := x509.NewCertPool()
	pool.AddCert(p.ca)
	var disc struct {
		TokenEndpoint string `json:"token_endpoint"`
	}
	resp, err := http.Get(provider.Issuer() + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&disc)
	resp.Body.Close()
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		switch {
		case r.TLS == nil || len(r.TLS.PeerCertificates) == 0:
			http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
			return
		case r.TLS.PeerCertificates[0].Subject.String() != "CN="+op.DefaultClientID || form.Get("client_id") != op.DefaultClientID:
			http.Error(w, `{"error":"invalid_client","error_description":"certificate not bound to the client"}`, http.StatusUnauthorized)
			return
		case r.Header.Get("Authorization") != "" || form.Has("client_secret") || form.Has("client_assertion"):
			http.Error(w, `{"error":"invalid_request","error_description":"more than one client authentication"}`, http.StatusBadRequest)
			return
		}
		form.Del("client_id")
		req, _ := http.NewRequest("POST", disc.TokenEndpoint, bytes.NewBufferString(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(op.DefaultClientID, op.DefaultClientSecret)
		up, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer up.Body.Close()
		w.Header().Set("Content-Type", up.Header.Get("Content-Type"))
		w.WriteHeader(up.StatusCode)
		io.Copy(w, up.Body)
	}))
	s.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool, MinVersion: tls.VersionTLS12,
		Certificates: []tls.Certificate{{Certificate: [][]byte{srvCert.Raw}, PrivateKey: srvKey}}}
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

// startMTLSEnvoy runs the plugin in Envoy with tls_client_auth: the token endpoint is
// mtlsURL, reached through the cluster oidc_mtls, which presents certName's certificate.
func startMTLSEnvoy(t *testing.T, p *mtlsPKI, provider *op.Server, mtlsURL, certName string, app string) *proxy.Proxy {
	t.Helper()
	cfg, _ := json.Marshal(map[string]any{
		"provider": map[string]any{"issuer": provider.Issuer(), "insecure_allow_http": true, "cluster": "oidc",
			"mtls_cluster": "oidc_mtls", "token_endpoint": mtlsURL + "/token", "timeout": "3s"},
		"client": map[string]any{"id": op.DefaultClientID, "auth_method": "tls_client_auth"},
		"keys":   []any{map[string]any{"id": "k1", "secret": "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE"}},
		"scopes": []any{"openid", "profile", "offline_access"},
		"cookie": map[string]any{"secure": false},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	e, err := envoy.Start(ctx, envoy.Config{Bootstrap: envoy.Bootstrap{
		WasmPath: pluginWasm(t), PluginConfig: cfg, Upstream: app,
		Clusters: map[string]string{"oidc": provider.Issuer(), "oidc_mtls": mtlsURL},
		CAFile:   p.caFile,
		Edit: func(b map[string]any) error {
			for _, c := range b["static_resources"].(map[string]any)["clusters"].([]any) {
				c := c.(map[string]any)
				if c["name"] != "oidc_mtls" {
					continue
				}
				ctc := c["transport_socket"].(map[string]any)["typed_config"].(map[string]any)["common_tls_context"].(map[string]any)
				if certName != "" {
					ctc["tls_certificates"] = []any{map[string]any{
						"certificate_chain": map[string]any{"filename": filepath.Join(p.dir, certName+".crt")},
						"private_key":       map[string]any{"filename": filepath.Join(p.dir, certName+".key")},
					}}
				}
			}
			return nil
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Error(err)
		}
	})
	return &proxy.Proxy{URL: e.URL, Kind: proxy.Envoy, Envoy: e}
}

// TestMTLSClientAuthThroughEnvoy: with client.auth_method tls_client_auth, Envoy's cluster
// presents the client certificate to the provider's mutual-TLS token endpoint, which
// authenticates the client by it; a cluster with another certificate, or none, is refused by
// the provider, and the login ends on a 502 page with a correlation id. The refresh goes the
// same way.
func TestMTLSClientAuthThroughEnvoy(t *testing.T) {
	if !onEnvoy() {
		t.Skip("Envoy only: the client certificate is the Envoy cluster's upstream TLS; e2e/host's callouts have no TLS client")
	}
	// A 2 s access token: shorter than twice the refresh margin, the plugin refreshes it once
	// half its lifetime has passed, through the same mutual-TLS endpoint.
	provider, err := op.Start(op.Config{AccessTokenLifetime: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { provider.Close() })
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("app")) }))
	t.Cleanup(app.Close)
	p := newMTLSPKI(t)
	p.issue(t, "client", &x509.Certificate{Subject: pkix.Name{CommonName: op.DefaultClientID},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}, p.ca, p.caKey)
	p.issue(t, "other", &x509.Certificate{Subject: pkix.Name{CommonName: "someone-else"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}, p.ca, p.caKey)
	var calls atomic.Int32
	front := mtlsTokenEndpoint(t, p, provider, &calls)

	for _, tc := range []struct {
		name, cert string
		ok         bool
	}{{"bound certificate", "client", true}, {"another client's certificate", "other", false}, {"no certificate", "", false}} {
		t.Run(tc.name, func(t *testing.T) {
			px := startMTLSEnvoy(t, p, provider, front.URL, tc.cert, app.URL)
			b := newBrowser(t)
			var r response
			for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
				if r = b.get(px.URL + "/app/"); r.status == http.StatusFound {
					break
				}
			}
			if r.status != http.StatusFound {
				t.Fatalf("navigation: %d %.300s", r.status, r.body)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			cb, err := provider.Login(ctx, r.header.Get("Location"))
			if err != nil {
				t.Fatal(err)
			}
			before := calls.Load()
			r = b.get(cb)
			if !tc.ok {
				wantErrorPage(t, px, r, http.StatusBadGateway, "")
				return
			}
			if r.status != http.StatusFound || r.header.Get("Location") != "/app/" {
				t.Fatalf("callback: %d %q %.300s\n%s", r.status, r.header.Get("Location"), r.body, px.Envoy.Log())
			}
			if calls.Load() != before+1 {
				t.Errorf("the mTLS token endpoint got %d calls, want 1", calls.Load()-before)
			}
			if r = b.get(px.URL + "/app/"); r.status != http.StatusOK || r.body != "app" {
				t.Errorf("after login: %d %.200s", r.status, r.body)
			}
			time.Sleep(1200 * time.Millisecond) // past half the access token's lifetime
			if r = b.get(px.URL + "/app/"); r.status != http.StatusOK || r.body != "app" {
				t.Errorf("after the refresh: %d %.200s", r.status, r.body)
			}
			// The code, and at least one refresh (the first request may already refresh).
			if n := calls.Load() - before; n < 2 || !strings.Contains(px.Envoy.Log(), "event=token_refreshed") {
				t.Errorf("the mTLS token endpoint got %d calls, want the code and a refresh\n%s", n, px.Envoy.Log())
			}
		})
	}
}
