package deploy_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/envoy"
)

// The secrets envoy.yaml reads from Envoy's environment, for validation only.
var validateEnv = []string{
	"OIDC_CLIENT_SECRET=validate-only-client-secret",
	"OIDC_SESSION_KEY_K1=MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE",
}

var validateBaseID atomic.Int64

func init() { validateBaseID.Store(int64(os.Getpid()%5000)*20 + 100000) }

// envoyValidate runs `envoy --mode validate` on a bootstrap whose plugin file is the
// compiled plugin.wasm (everything else as given). In validate mode Envoy loads the Wasm VM
// and runs the plugin's configuration, so a plugin configuration the plugin refuses fails the
// validation too. It returns Envoy's output and whether it said OK.
func envoyValidate(t *testing.T, src []byte) (string, bool) {
	t.Helper()
	bin, err := envoy.Binary()
	if err != nil {
		t.Fatal(err)
	}
	src = bytes.ReplaceAll(src, []byte(wasmFilename), []byte(pluginWasm(t)))
	path := filepath.Join(t.TempDir(), "envoy.yaml")
	if err := os.WriteFile(path, src, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--mode", "validate", "-c", path, "--disable-hot-restart",
		"--base-id", strconv.FormatInt(validateBaseID.Add(1), 10), "--log-level", "info")
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, validateEnv...)
	out, err := cmd.CombinedOutput()
	ok := err == nil && bytes.Contains(out, []byte("' OK"))
	return string(out), ok
}

// TestEnvoyValidatesShippedBootstrap: Envoy itself accepts envoy.yaml, plugin included.
func TestEnvoyValidatesShippedBootstrap(t *testing.T) {
	t.Parallel()
	out, ok := envoyValidate(t, repoFile(t, "envoy.yaml"))
	if !ok {
		t.Fatalf("envoy --mode validate refuses envoy.yaml:\n%s", out)
	}
	if !strings.Contains(out, "started issuer=") {
		t.Errorf("validation did not start the plugin (no start line in Envoy's output):\n%s", out)
	}
}

// TestEnvoyValidateRejectsMistakes proves the check can fail: a misspelled Envoy field and a
// plugin configuration the plugin refuses are both refused by Envoy, which names them.
func TestEnvoyValidateRejectsMistakes(t *testing.T) {
	src := repoFile(t, "envoy.yaml")
	for _, tc := range []struct {
		name, old, new, want string
	}{
		{"misspelled connection manager field", "stat_prefix: ingress_http", "stat_prefx: ingress_http", "stat_prefx"},
		{"plugin configuration the plugin refuses", `"refresh_margin": "60s"`, `"refresh_margin": "sixty"`, "session.refresh_margin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, ok := envoyValidate(t, mutate(t, src, tc.old, tc.new))
			if ok {
				t.Fatalf("envoy --mode validate accepted envoy.yaml with %q:\n%s", tc.new, out)
			}
			if !strings.Contains(out, tc.want) {
				t.Errorf("Envoy's refusal does not name %q:\n%s", tc.want, out)
			}
		})
	}
}
