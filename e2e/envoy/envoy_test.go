package envoy_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/envoy"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/op"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/internal/testplugin"
)

func pluginConfig(issuer string) []byte {
	b, _ := json.Marshal(map[string]any{
		"provider": map[string]any{"issuer": issuer, "insecure_allow_http": true, "cluster": "oidc", "timeout": "3s"},
		"client":   map[string]any{"id": op.DefaultClientID, "secret_env": "TEST_CLIENT_SECRET"},
		"keys":     []any{map[string]any{"id": "k1", "secret": "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE"}},
		"cookie":   map[string]any{"secure": false},
		"api":      map[string]any{"prefixes": []any{"/api/"}},
	})
	return b
}

func TestEnvoyRunsThePlugin(t *testing.T) {
	provider, err := op.Start(op.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer provider.Close()
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("app")) }))
	defer app.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	wasm := testplugin.Path(t)
	t0 := time.Now()
	e, err := envoy.Start(ctx, envoy.Config{Bootstrap: envoy.Bootstrap{
		WasmPath: wasm, PluginConfig: pluginConfig(provider.Issuer()),
		Clusters: map[string]string{"oidc": provider.Issuer()}, Upstream: app.URL,
		Env: map[string]string{"TEST_CLIENT_SECRET": op.DefaultClientSecret},
	}})
	if err != nil {
		t.Fatal(err)
	}
	ready := time.Now()
	defer func() {
		if err := e.Close(); err != nil {
			t.Error(err)
		}
	}()

	// The plugin loads discovery by its tick; a navigation then redirects to the provider.
	var resp *http.Response
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		req, _ := http.NewRequest("GET", e.URL+"/deep?x=1", nil)
		req.Header.Set("Accept", "text/html")
		if resp, err = c.Do(req); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusFound {
			break
		}
	}
	t.Logf("Envoy ready after %v; the plugin served a login redirect after %v", ready.Sub(t0).Round(time.Millisecond), time.Since(t0).Round(time.Millisecond))
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), provider.Issuer()) {
		t.Fatalf("navigation: %d %q, want 302 to the provider\n%s", resp.StatusCode, resp.Header.Get("Location"), e.Log())
	}
	if got := resp.Header.Get("Server"); got != "envoy" {
		t.Errorf("server header %q, want envoy", got)
	}
	var started int
	for _, l := range e.Logs() {
		if strings.HasPrefix(l.Message, "started issuer=") {
			started++
		}
	}
	if started < 2 {
		t.Errorf("%d plugin start lines, want one per VM (at least 2)\n%s", started, e.Log())
	}
	if v, ok := e.Metric("oidc_proxy.login.started"); !ok || v == 0 {
		all, _ := e.Stats("^wasmcustom")
		t.Errorf("metric oidc_proxy.login.started = %d, %v; plugin metrics: %v", v, ok, all)
	}
	// A histogram: its sample count (merged at the stats flush).
	if v, ok := e.Metric("oidc_proxy.callout.jwks.ms"); !ok || v == 0 {
		body, _ := e.Admin("/stats?format=prometheus&filter=" + url.QueryEscape(`(^|\.)oidc_proxy\.callout\.jwks\.ms$`))
		t.Errorf("histogram oidc_proxy.callout.jwks.ms: %d samples (%v), want at least 1\n%s", v, ok, body)
	}
	if e.PID() <= 0 {
		t.Error("no process id")
	}
}

func TestEnvoyReportsAPluginThatRefusesItsConfig(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	e, err := envoy.Start(ctx, envoy.Config{Bootstrap: envoy.Bootstrap{
		WasmPath: testplugin.Path(t), PluginConfig: []byte(`{"provider":{"issuer":"not a url"}}`),
		Clusters: map[string]string{"oidc": "http://127.0.0.1:9"}, Upstream: "http://127.0.0.1:9",
	}})
	if err == nil {
		e.Close()
		t.Fatal("Envoy started with a plugin configuration the plugin refuses")
	}
	if !strings.Contains(err.Error(), "provider.issuer") {
		t.Errorf("the error does not quote the plugin's complaint about provider.issuer:\n%v", err)
	}
}

func TestCloseReportsACrash(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	e, err := envoy.Start(ctx, envoy.Config{Bootstrap: envoy.Bootstrap{
		WasmPath: testplugin.Path(t), PluginConfig: pluginConfig("http://127.0.0.1:9"),
		Clusters: map[string]string{"oidc": "http://127.0.0.1:9"}, Upstream: "http://127.0.0.1:9",
		Env: map[string]string{"TEST_CLIENT_SECRET": "x"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	e.Kill()
	if err := e.Close(); err == nil || !strings.Contains(err.Error(), "ended before Close") {
		t.Errorf("Close after a crash: %v, want an error", err)
	}
}
