package apps

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/envoy"
)

// needSuite skips a scenario outside the apps suite (scripts/apps-suite.sh sets APPS_SUITE=1),
// so a plain `go test ./...` starts no app, no Envoy and no browser.
func needSuite(t *testing.T) {
	t.Helper()
	if os.Getenv("APPS_SUITE") != "1" {
		t.Skip("the apps suite runs from scripts/apps-suite.sh (make test); APPS_SUITE=1 runs it here")
	}
}

// pluginWasm is $PLUGIN_WASM, else the repository's plugin.wasm (make build).
func pluginWasm(t *testing.T) string {
	t.Helper()
	p := os.Getenv("PLUGIN_WASM")
	if p == "" {
		p = filepath.Join(repoRoot(t), "plugin.wasm")
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("plugin.wasm: %v (make build, or set PLUGIN_WASM)", err)
	}
	return p
}

func repoRoot(t *testing.T) string {
	t.Helper()
	r, err := envoy.Root()
	if err != nil {
		t.Fatal(err)
	}
	return r
}
