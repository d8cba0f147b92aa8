package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/envoy"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/op"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/proxy"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/testpki"
)

// mtlsTokenEndpoint is the provider's mutual-TLS token endpoint: it requires a client
// certificate from the test CA, authenticates the client by the certificate's subject
// (tls_client_auth, RFC 8705 2.1: the registered subject DN CN=<client id>), refuses a request
// that carries any other credential, and redeems the grant at the embedded provider's token
// endpoint on the client's behalf.
func mtlsTokenEndpoint(t *testing.T, p *testpki.PKI, provider *op.Server, calls *atomic.Int32) *httptest.Server {
	t.Helper()
	if _, err := p.Server("server"); err != nil {
		t.Fatal(err)
	}
	srv, err := tls.LoadX509KeyPair(p.Path("server.crt"), p.Path("server.key"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(p.CA)
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
		Certificates: []tls.Certificate{srv}}
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

// startMTLSEnvoy runs the plugin in Envoy with tls_client_auth: the token endpoint is
// mtlsURL, reached through the cluster oidc_mtls, which presents certName's certificate.
func startMTLSEnvoy(t *testing.T, p *testpki.PKI, provider *op.Server, mtlsURL, certName string, app string) *proxy.Proxy {
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
		CAFile:   p.CAFile,
		Edit: func(b map[string]any) error {
			for _, c := range b["static_resources"].(map[string]any)["clusters"].([]any) {
				c := c.(map[string]any)
				if c["name"] != "oidc_mtls" {
					continue
				}
				ctc := c["transport_socket"].(map[string]any)["typed_config"].(map[string]any)["common_tls_context"].(map[string]any)
				if certName != "" {
					ctc["tls_certificates"] = []any{map[string]any{
						"certificate_chain": map[string]any{"filename": p.Path(certName + ".crt")},
						"private_key":       map[string]any{"filename": p.Path(certName + ".key")},
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
	p, err := testpki.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Client("client", op.DefaultClientID); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Client("other", "someone-else"); err != nil {
		t.Fatal(err)
	}
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
