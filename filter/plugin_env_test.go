package filter

import (
	"strings"
	"testing"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/proxytest"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

// envVM is a VM context whose plugin sees env as its environment.
type envVM struct {
	types.DefaultVMContext
	env map[string]string
	p   *pluginContext
}

func (v *envVM) NewPluginContext(id uint32) types.PluginContext {
	v.p = newPluginContext(id)
	v.p.env = func(name string) (string, bool) {
		s, ok := v.env[name]
		return s, ok
	}
	return v.p
}

// TestPluginReadsSecretsFromItsEnvironment: with client.secret_env and keys[].secret_env the
// plugin takes its secrets from the VM's environment; without the variables it refuses to
// start, naming them and never a value.
func TestPluginReadsSecretsFromItsEnvironment(t *testing.T) {
	const key = "ZqIPG8Yl743hWnpJnBfsq3MsEw0l-tYY9LIU0mVIA2Z36j7BPcjsJEvyai5oV5nS"
	cfg := lhConfig(t, func(c map[string]any) {
		c["client"] = map[string]any{"id": lhClient, "secret_env": "OIDC_CLIENT_SECRET"}
		c["keys"] = []any{map[string]any{"id": "k1", "secret_env": "OIDC_SESSION_KEY"}}
	})
	// One emulator at a time: the next waits for the previous one's reset.
	start := func(env map[string]string) (*envVM, proxytest.HostEmulator, types.OnPluginStartStatus, func()) {
		vm := &envVM{env: env}
		host, reset := proxytest.NewHostEmulator(proxytest.NewEmulatorOption().WithVMContext(vm).WithPluginConfiguration(cfg))
		return vm, host, host.StartPlugin(), reset
	}

	vm, host, st, reset := start(map[string]string{"OIDC_CLIENT_SECRET": lhSecret, "OIDC_SESSION_KEY": key})
	if st != types.OnPluginStartStatusOK {
		reset()
		t.Fatalf("plugin start: %v; logs %v", st, host.GetCriticalLogs())
	}
	if vm.p.client.Secret != lhSecret || vm.p.cfg.Keys[0].SecretEnv != "OIDC_SESSION_KEY" || len(vm.p.cfg.Keys[0].Secret) != 48 {
		t.Errorf("client secret %q, key from %q (%d bytes)", vm.p.client.Secret, vm.p.cfg.Keys[0].SecretEnv, len(vm.p.cfg.Keys[0].Secret))
	}
	reset()

	_, host, st, reset = start(map[string]string{"OIDC_SESSION_KEY": "c2hvcnQ="})
	defer reset()
	if st != types.OnPluginStartStatusFailed {
		t.Fatalf("started without OIDC_CLIENT_SECRET")
	}
	logs := strings.Join(host.GetCriticalLogs(), "\n")
	for _, want := range []string{
		"client.secret_env: environment variable OIDC_CLIENT_SECRET is not set",
		"keys[0].secret_env: environment variable OIDC_SESSION_KEY: decodes to 5 bytes, need at least 32",
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("no %q in the critical logs:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "c2hvcnQ") {
		t.Errorf("a secret value was logged:\n%s", logs)
	}
}
