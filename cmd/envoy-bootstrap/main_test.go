package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/envoy"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/op"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/internal/testplugin"
	"sigs.k8s.io/yaml"
)

func pluginConfig(issuer string, clientSecret map[string]any) map[string]any {
	client := map[string]any{"id": op.DefaultClientID}
	for k, v := range clientSecret {
		client[k] = v
	}
	return map[string]any{
		"provider": map[string]any{"issuer": issuer, "insecure_allow_http": true, "cluster": "oidc"},
		"client":   client,
		"keys": []any{map[string]any{"id": "k1",
			"secret": base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))}},
		"cookie": map[string]any{"secure": false},
	}
}

func writeJSON(t *testing.T, v any) (string, []byte) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "plugin.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p, b
}

func fakeWasm(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "plugin.wasm")
	if err := os.WriteFile(p, []byte("\x00asm"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func noEnv(string) (string, bool) { return "", false }

// render runs the command with args and returns the decoded YAML bootstrap.
func render(t *testing.T, lookup func(string) (string, bool), args ...string) (map[string]any, string) {
	t.Helper()
	var out, errb bytes.Buffer
	if err := run(context.Background(), args, &out, &errb, lookup); err != nil {
		t.Fatalf("run %q: %v\n%s", args, err, errb.String())
	}
	js, err := yaml.YAMLToJSON(out.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(js, &doc); err != nil {
		t.Fatal(err)
	}
	return doc, out.String()
}

func at(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			s, _ := v.([]any)
			if k >= len(s) {
				return nil
			}
			v = s[k]
		}
	}
	return v
}

func clusters(doc map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, c := range at(doc, "static_resources", "clusters").([]any) {
		m := c.(map[string]any)
		out[m["name"].(string)] = m
	}
	return out
}

func wasmFilterConfig(t *testing.T, doc map[string]any) map[string]any {
	t.Helper()
	for _, f := range at(doc, "static_resources", "listeners", 0, "filter_chains", 0, "filters").([]any) {
		for _, h := range at(f, "typed_config", "http_filters").([]any) {
			if at(h, "name") == "envoy.filters.http.wasm" {
				return at(h, "typed_config", "config").(map[string]any)
			}
		}
	}
	t.Fatal("no wasm filter")
	return nil
}

func TestRenderHTTPS(t *testing.T) {
	cfgPath, cfg := writeJSON(t, pluginConfig("https://login.example.com", map[string]any{"secret_env": "MY_CLIENT_SECRET"}))
	lookup := func(n string) (string, bool) {
		if n == "MY_CLIENT_SECRET" {
			return "s3cr3t-value", true
		}
		return "", false
	}
	wasm := fakeWasm(t)
	doc, text := render(t, lookup, "-plugin-config", cfgPath, "-provider", "https://login.example.com",
		"-upstream", "http://127.0.0.1:3000", "-listen", "127.0.0.1:18080", "-admin", "127.0.0.1:19901",
		"-wasm", wasm, "-env", "MY_CLIENT_SECRET")

	w := wasmFilterConfig(t, doc)
	if got := at(w, "configuration", "value"); got != string(cfg) {
		t.Errorf("configuration value = %v, want the user's JSON %s", got, cfg)
	}
	if got := at(w, "vm_config", "code", "local", "filename"); got != wasm {
		t.Errorf("wasm file = %v, want %s", got, wasm)
	}
	keys := at(w, "vm_config", "environment_variables", "host_env_keys")
	if k, _ := keys.([]any); len(k) != 1 || k[0] != "MY_CLIENT_SECRET" {
		t.Errorf("host_env_keys = %v", keys)
	}
	if kv := at(w, "vm_config", "environment_variables", "key_values"); kv != nil {
		t.Errorf("key_values = %v, want none", kv)
	}
	if strings.Contains(text, "s3cr3t-value") {
		t.Error("the secret's value is in the bootstrap")
	}
	// Besides the plugin's own secret_env, the name is only in host_env_keys.
	delete(w, "configuration")
	rest, _ := json.Marshal(doc)
	if n := strings.Count(string(rest), "MY_CLIENT_SECRET"); n != 1 {
		t.Errorf("MY_CLIENT_SECRET appears %d times outside the plugin configuration, want once (host_env_keys)", n)
	}

	if got := at(doc, "admin", "address", "socket_address"); at(got, "address") != "127.0.0.1" || at(got, "port_value") != float64(19901) {
		t.Errorf("admin = %v", got)
	}
	la := at(doc, "static_resources", "listeners", 0, "address", "socket_address")
	if at(la, "address") != "127.0.0.1" || at(la, "port_value") != float64(18080) {
		t.Errorf("listener = %v", la)
	}

	cs := clusters(doc)
	oidc := cs["oidc"]
	if oidc == nil {
		t.Fatalf("no oidc cluster: %v", cs)
	}
	if got := at(oidc, "transport_socket", "typed_config", "sni"); got != "login.example.com" {
		t.Errorf("oidc sni = %v", got)
	}
	ep := at(oidc, "load_assignment", "endpoints", 0, "lb_endpoints", 0, "endpoint", "address", "socket_address")
	if at(ep, "address") != "login.example.com" || at(ep, "port_value") != float64(443) {
		t.Errorf("oidc endpoint = %v", ep)
	}
	app := cs["app"]
	ep = at(app, "load_assignment", "endpoints", 0, "lb_endpoints", 0, "endpoint", "address", "socket_address")
	if at(ep, "address") != "127.0.0.1" || at(ep, "port_value") != float64(3000) {
		t.Errorf("app endpoint = %v", ep)
	}
	if _, tls := app["transport_socket"]; tls {
		t.Error("http app cluster has TLS")
	}
}

func TestRenderHTTPDropsTLS(t *testing.T) {
	cfgPath, _ := writeJSON(t, pluginConfig("http://127.0.0.1:9000", map[string]any{"secret": op.DefaultClientSecret}))
	doc, text := render(t, noEnv, "-plugin-config", cfgPath, "-provider", "http://127.0.0.1:9000", "-wasm", fakeWasm(t))
	oidc := clusters(doc)["oidc"]
	if _, tls := oidc["transport_socket"]; tls {
		t.Errorf("http oidc cluster keeps TLS: %v", oidc["transport_socket"])
	}
	if strings.Contains(text, "host_env_keys") {
		t.Error("host_env_keys without -env")
	}
	// The defaults.
	la := at(doc, "static_resources", "listeners", 0, "address", "socket_address")
	if at(la, "port_value") != float64(8080) || at(doc, "admin", "address", "socket_address", "port_value") != float64(9901) {
		t.Errorf("default addresses: listener %v admin %v", la, at(doc, "admin"))
	}
}

func TestWritesFile(t *testing.T) {
	cfgPath, _ := writeJSON(t, pluginConfig("http://127.0.0.1:9000", map[string]any{"secret": op.DefaultClientSecret}))
	out := filepath.Join(t.TempDir(), "envoy.local.yaml")
	var stdout bytes.Buffer
	err := run(context.Background(), []string{"-plugin-config", cfgPath, "-provider", "http://127.0.0.1:9000",
		"-wasm", fakeWasm(t), "-o", out}, &stdout, &bytes.Buffer{}, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout with -o: %q", stdout.String())
	}
	b, err := os.ReadFile(out)
	if err != nil || !bytes.Contains(b, []byte("envoy.filters.http.wasm")) {
		t.Fatalf("file: %v %.200s", err, b)
	}
}

func TestFlagErrors(t *testing.T) {
	good, _ := writeJSON(t, pluginConfig("http://127.0.0.1:9000", map[string]any{"secret": op.DefaultClientSecret}))
	wasm := fakeWasm(t)
	base := []string{"-plugin-config", good, "-wasm", wasm}
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"no plugin config", []string{"-provider", "http://127.0.0.1:9000"}, "-plugin-config is required"},
		{"no provider", base, "-provider is required"},
		{"provider not a URL", append(base, "-provider", "login.example.com"), "-provider"},
		{"bad upstream", append(base, "-provider", "http://127.0.0.1:9000", "-upstream", "ftp://x"), "-upstream"},
		{"bad listen", append(base, "-provider", "http://127.0.0.1:9000", "-listen", "8080"), "-listen"},
		{"bad admin", append(base, "-provider", "http://127.0.0.1:9000", "-admin", "nope"), "-admin"},
		{"unknown flag", append(base, "-nope"), "not defined"},
		{"missing config file", []string{"-plugin-config", filepath.Join(t.TempDir(), "none.json"), "-provider", "http://127.0.0.1:9000"}, "no such file"},
		{"missing wasm", []string{"-plugin-config", good, "-provider", "http://127.0.0.1:9000", "-wasm", filepath.Join(t.TempDir(), "x.wasm")}, "-wasm"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var errb bytes.Buffer
			err := run(context.Background(), c.args, &bytes.Buffer{}, &errb, noEnv)
			if err == nil || !strings.Contains(err.Error()+errb.String(), c.want) {
				t.Fatalf("err = %v (stderr %q), want %q", err, errb.String(), c.want)
			}
		})
	}
}

func TestBadPluginConfig(t *testing.T) {
	wasm := fakeWasm(t)
	cfg := pluginConfig("http://127.0.0.1:9000", map[string]any{"secret_env": "UNSET_SECRET"})
	cfg["cookie"] = map[string]any{"secure": "no"}
	cfg["sesion"] = map[string]any{}
	p, _ := writeJSON(t, cfg)
	err := run(context.Background(), []string{"-plugin-config", p, "-provider", "http://127.0.0.1:9000", "-wasm", wasm, "-env", "UNSET_SECRET"},
		&bytes.Buffer{}, &bytes.Buffer{}, noEnv)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"cookie.secure", "sesion", "client.secret_env", "UNSET_SECRET"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %q:\n%v", want, err)
		}
	}

	// A secret_env the user did not pass with -env is not read from the environment.
	cfg = pluginConfig("http://127.0.0.1:9000", map[string]any{"secret_env": "HOME"})
	p, _ = writeJSON(t, cfg)
	err = run(context.Background(), []string{"-plugin-config", p, "-provider", "http://127.0.0.1:9000", "-wasm", wasm},
		&bytes.Buffer{}, &bytes.Buffer{}, os.LookupEnv)
	if err == nil || !strings.Contains(err.Error(), "client.secret_env") || !strings.Contains(err.Error(), "-env") {
		t.Errorf("secret_env without -env: %v", err)
	}

	// The provider cluster must be "oidc".
	cfg = pluginConfig("http://127.0.0.1:9000", map[string]any{"secret": op.DefaultClientSecret})
	cfg["provider"].(map[string]any)["cluster"] = "idp"
	p, _ = writeJSON(t, cfg)
	err = run(context.Background(), []string{"-plugin-config", p, "-provider", "http://127.0.0.1:9000", "-wasm", wasm},
		&bytes.Buffer{}, &bytes.Buffer{}, noEnv)
	if err == nil || !strings.Contains(err.Error(), "provider.cluster") {
		t.Errorf("cluster idp: %v", err)
	}
}

// TestRunsInEnvoy renders a bootstrap for the embedded provider and runs it in real Envoy: a
// protected navigation is sent to the provider.
func TestRunsInEnvoy(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Envoy")
	}
	wasm := testplugin.Path(t)
	srv, err := op.Start(op.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	issuer := srv.Issuer()
	t.Setenv("BOOTSTRAP_TEST_SECRET", op.DefaultClientSecret)
	cfgPath, _ := writeJSON(t, pluginConfig(issuer, map[string]any{"secret_env": "BOOTSTRAP_TEST_SECRET"}))
	o, err := parseFlags([]string{"-plugin-config", cfgPath, "-provider", issuer, "-wasm", wasm,
		"-listen", "127.0.0.1:0", "-admin", "127.0.0.1:0", "-upstream", "http://127.0.0.1:1",
		"-env", "BOOTSTRAP_TEST_SECRET"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	plugin, _ := os.ReadFile(cfgPath)
	if err := checkPlugin(plugin, o.env, os.LookupEnv); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	e, err := envoy.Start(ctx, envoy.Config{Bootstrap: bootstrapOf(o, plugin)})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := e.Close(); err != nil {
			t.Error(err)
		}
	}()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 5 * time.Second}
	deadline := time.Now().Add(20 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		req, _ := http.NewRequest("GET", e.URL+"/private", nil)
		req.Header.Set("Accept", "text/html")
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			loc := resp.Header.Get("Location")
			if resp.StatusCode == http.StatusFound && strings.HasPrefix(loc, issuer) && resp.Header.Get("Server") == "envoy" {
				return
			}
			last = resp.Status + " location=" + loc + " server=" + resp.Header.Get("Server")
		} else {
			last = err.Error()
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("no 302 to the provider within 20 s; last: %s\nEnvoy's log:\n%s", last, e.Log())
}
