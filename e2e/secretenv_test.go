package e2e

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/stack"
)

// secretsFromEnv makes the plugin configuration name its client secret and keys by
// environment variable (OIDC_CLIENT_SECRET, OIDC_SESSION_KEY_<id>) instead of holding them.
func secretsFromEnv(keys []stack.Key) func(cfg map[string]any) {
	return func(cfg map[string]any) {
		cfg["client"] = map[string]any{"id": stack.ClientID, "secret_env": "OIDC_CLIENT_SECRET"}
		ks := make([]any, len(keys))
		for i, k := range keys {
			ks[i] = map[string]any{"id": k.ID, "secret_env": "OIDC_SESSION_KEY_" + strings.ToUpper(k.ID)}
		}
		cfg["keys"] = ks
	}
}

// TestSecretsFromTheEnvironment: with client.secret_env and keys[].secret_env the plugin
// configuration holds no secret, the VMs get them through their environment (as Envoy's
// vm_config.environment_variables gives them), and a browser logs in: the provider accepted
// the client secret and the key sealed and opened the login state and the session.
func TestSecretsFromTheEnvironment(t *testing.T) {
	key, err := stack.NewKey("k1")
	if err != nil {
		t.Fatal(err)
	}
	keys := []stack.Key{key}
	env := map[string]string{"OIDC_CLIENT_SECRET": stack.ClientSecret, "OIDC_SESSION_KEY_K1": key.Secret}
	s := start(t, stack.Options{Keys: keys, Env: env, Configure: secretsFromEnv(keys)})
	for _, secret := range []string{stack.ClientSecret, key.Secret} {
		if strings.Contains(string(s.Config), secret) {
			t.Fatalf("the plugin configuration holds a secret: %s", s.Config)
		}
	}

	b := newBrowser(t)
	if _, final := b.login(s, "/app1/"); final.status != http.StatusFound {
		t.Fatalf("login: %d %.300s\n%s", final.status, final.body, logText(s))
	}
	w, r := b.whoami(s)
	if r.status != http.StatusOK || w.User.Email != "demo@example.com" {
		t.Fatalf("whoami after login: %d %+v", r.status, w.User)
	}
	if c := s.OP.Counts(); c.Code != 1 {
		t.Errorf("code exchanges at the provider: %d, want 1", c.Code)
	}
	assertNoSecretsInLogs(t, s, stack.ClientSecret, key.Secret)
}

// TestSecretsFromTheEnvironmentMissing: a VM without the variables refuses to start and
// says which, even when the host process has them: like Envoy, the host passes on only the
// environment it was given.
func TestSecretsFromTheEnvironmentMissing(t *testing.T) {
	key, err := stack.NewKey("k1")
	if err != nil {
		t.Fatal(err)
	}
	keys := []stack.Key{key}
	t.Setenv("OIDC_CLIENT_SECRET", stack.ClientSecret) // the host's, not the VM's
	o := stack.Options{
		PluginWasm: pluginWasm(t), Keys: keys, Configure: secretsFromEnv(keys),
		Env: map[string]string{"OIDC_SESSION_KEY_K1": "dG9vIHNob3J0"},
	}
	if d, err := os.UserCacheDir(); err == nil {
		o.CacheDir = filepath.Join(d, "oidc-proxy-wasm", "wazero")
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	s, err := stack.Start(ctx, o)
	if err == nil {
		s.Close()
		t.Fatal("the plugin started without its secrets")
	}
	for _, want := range []string{
		"client.secret_env: environment variable OIDC_CLIENT_SECRET is not set",
		"keys[0].secret_env: environment variable OIDC_SESSION_KEY_K1: decodes to 9 bytes, need at least 32",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("start error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "dG9vIHNob3J0") {
		t.Errorf("the error holds a secret value: %v", err)
	}
}
