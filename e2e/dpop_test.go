package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/proxy"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/stack"
)

// TestDPoPRefusedUntilWired: the compiled plugin (on the host and on Envoy) loads its DPoP
// key through shared data and then refuses to start with dpop.enabled, because this build
// does not send proofs yet; a config mistake in the dpop section is named by its JSON path.
func TestDPoPRefusedUntilWired(t *testing.T) {
	k, err := stack.NewKey("k1")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		dpop map[string]any
		want string
	}{
		{map[string]any{"enabled": true}, "not wired into the request path"},
		{map[string]any{"enabled": true, "signing_alg": "HS256"}, "dpop.signing_alg:"},
	} {
		cfg := stack.PluginConfig("http://127.0.0.1:1", []stack.Key{k})
		cfg["dpop"] = tc.dpop
		data, err := json.Marshal(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		p, err := proxy.Start(ctx, proxy.FromEnv(), proxy.Config{WasmPath: pluginWasm(t), PluginConfig: data, VMs: 2,
			Clusters: map[string]string{"oidc": "http://127.0.0.1:1"}, Upstream: "http://127.0.0.1:1"})
		cancel()
		if err == nil {
			p.Close()
			t.Fatalf("the plugin started with dpop %v", tc.dpop)
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("dpop %v: the refusal does not say %q\n%v", tc.dpop, tc.want, err)
		}
	}
}
