package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/proxy"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/stack"
)

// TestPluginRefusesFiveMistakes starts the compiled plugin in the host with a configuration
// holding five mistakes: the plugin must refuse to start, and its log must name every one by
// its JSON path (not just the first).
func TestPluginRefusesFiveMistakes(t *testing.T) {
	k, err := stack.NewKey("k1")
	if err != nil {
		t.Fatal(err)
	}
	cfg := stack.PluginConfig("http://127.0.0.1:1", []stack.Key{k})
	cfg["cookie"] = map[string]any{"name": "my session", "secure": false}
	cfg["session"] = map[string]any{"lifetime": "1h", "refresh_margin": "2h"}
	cfg["keys"] = []any{map[string]any{"id": "k1", "secret": "MDEyMzQ1Njc4OWFiY2RlZg"}}
	cfg["forward"] = map[string]any{"claimz": map[string]any{}}
	cfg["routes"] = []any{map[string]any{"name": "r", "match": map[string]any{"prefix": "/r/"}, "exchange": map[string]any{"type": "magic"}}}
	data, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	p, err := proxy.Start(ctx, proxy.FromEnv(), proxy.Config{WasmPath: pluginWasm(t), PluginConfig: data, VMs: 1,
		Clusters: map[string]string{"oidc": "http://127.0.0.1:1"}, Upstream: "http://127.0.0.1:1"})
	if err == nil {
		p.Close()
		t.Fatal("the plugin started with five configuration mistakes")
	}
	for _, path := range []string{"cookie.name:", "session.refresh_margin:", "keys[0].secret:", "forward.claimz:", "routes[0].exchange.type:"} {
		if !strings.Contains(err.Error(), path) {
			t.Errorf("the refusal does not name %s\n%v", path, err)
		}
	}
	if strings.Contains(err.Error(), "MDEyMzQ1Njc4OWFiY2RlZg") {
		t.Error("the refusal quotes the key's secret")
	}
}
