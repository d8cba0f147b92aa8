package filter

import (
	"crypto/rand"
	"strings"
	"testing"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/proxytest"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/config"
)

// TestDPoPKeySharedAcrossVMs: without a configured key the first VM generates the DPoP key
// and stores it in shared data; every later VM (here: later loads in the same host) takes
// that key, so all workers sign with one key.
func TestDPoPKeySharedAcrossVMs(t *testing.T) {
	_, reset := proxytest.NewHostEmulator(proxytest.NewEmulatorOption().WithVMContext(NewVMContext()))
	defer reset()
	cfg, err := config.Parse(lhConfig(t, func(c map[string]any) { c["dpop"] = map[string]any{"enabled": true} }))
	if err != nil {
		t.Fatal(err)
	}
	first, err := loadDPoPKey(cfg, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	second, err := loadDPoPKey(cfg, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if first.Thumbprint() != second.Thumbprint() || first.Algorithm != "ES256" {
		t.Errorf("second VM's key %s (%s), first's %s", second.Thumbprint(), second.Algorithm, first.Thumbprint())
	}
	// A corrupt shared value is an error at start, not a silently different key.
	if err := setShared(dpopKeyKey(cfg), []byte("junk")); err != nil {
		t.Fatal(err)
	}
	if _, err := loadDPoPKey(cfg, rand.Reader); err == nil || !strings.Contains(err.Error(), "shared key is unusable") {
		t.Errorf("corrupt shared key: %v", err)
	}
}
