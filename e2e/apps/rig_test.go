package apps

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/proxy"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/stack"
)

// Token lifetimes at the provider and the plugin's refresh margin: short, so that tokens
// expire several times inside one scenario.
const (
	ttl    = 10 * time.Second
	margin = 3 * time.Second
)

// rig is one app behind the plugin in real Envoy, with what the test watches: the upgrade
// requests that reach the app, and the app's on-behalf-of calls.
type rig struct {
	kind Kind
	s    *stack.Stack
	app  *App
	up   *Upstream
	obo  *Recorder
}

// newRig starts the provider and Envoy with the plugin (stack), the app behind them, and the
// recorder the app sends its on-behalf-of calls through (to the provider's Entra-style
// endpoint, with the plugin's client: the access token's audience).
func newRig(t *testing.T, kind Kind) *rig {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	r := &rig{kind: kind, obo: NewRecorder()}
	t.Cleanup(r.obo.Close)
	addr, err := proxy.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(addr)
	if r.up, err = NewUpstream("http://" + addr); err != nil {
		t.Fatal(err)
	}

	// The app and Envoy start side by side: both take seconds.
	r.app, err = Start(kind, repoRoot(t), port, t.TempDir(), map[string]string{
		"OBO_TOKEN_URL": r.obo.URL, "OBO_CLIENT_ID": stack.ClientID, "OBO_CLIENT_SECRET": stack.ClientSecret,
		"OBO_SCOPE": "api://downstream/.default", "OIDC_PROXY_EXCHANGE": "downstream",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.app.Stop)
	began := time.Now()
	r.s, err = stack.Start(ctx, stack.Options{
		Proxy: proxy.Envoy, PluginWasm: pluginWasm(t),
		AccessTTL: ttl, IDTTL: ttl, RefreshTTL: time.Hour,
		Upstream: func(http.Handler) http.Handler { return r.up.Handler() },
		Configure: func(cfg map[string]any) {
			cfg["session"] = map[string]any{"refresh": true, "refresh_margin": margin.String()}
			cfg["endpoints"].(map[string]any)["token"] = true
			// A route whose on-behalf-of token the page asks for too (Shiny's data-exchange).
			issuer := cfg["provider"].(map[string]any)["issuer"].(string)
			cfg["routes"] = []any{map[string]any{"name": "downstream", "match": map[string]any{"prefix": "/downstream/"},
				"exchange": map[string]any{"type": "entra_obo", "scope": "api://downstream/.default", "token_endpoint": issuer + "/entra/token"}}}
			fwd := cfg["forward"].(map[string]any)
			fwd["claims"] = map[string]any{"X-Auth-Request-User": "sub", "X-Auth-Request-Email": "email"}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.s.Close)
	r.obo.SetTarget(r.s.OP.Endpoints().EntraToken)
	if err := r.s.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.app.WaitReady(ctx, kind.Ready); err != nil {
		t.Fatalf("%s: %v", kind.Name, err)
	}
	t.Logf("%s and Envoy ready in %s", kind.Name, time.Since(began).Round(100*time.Millisecond))
	return r
}
