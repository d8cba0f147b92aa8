package replicas

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/envoy"
)

// needSuite skips a scenario outside the replica suite (scripts/replicas-suite.sh sets
// REPLICAS_SUITE=1), so a plain `go test ./...` starts no etcd and no Envoy.
func needSuite(t *testing.T) {
	t.Helper()
	if os.Getenv("REPLICAS_SUITE") != "1" {
		t.Skip("the replica suite runs from scripts/replicas-suite.sh (make test); REPLICAS_SUITE=1 runs it here")
	}
}

// pluginWasm is $PLUGIN_WASM, else the repository's plugin.wasm (make build).
func pluginWasm(t *testing.T) string {
	t.Helper()
	p := os.Getenv("PLUGIN_WASM")
	if p == "" {
		root, err := envoy.Root()
		if err != nil {
			t.Fatal(err)
		}
		p = filepath.Join(root, "plugin.wasm")
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("plugin.wasm: %v (make build, or set PLUGIN_WASM)", err)
	}
	return p
}
