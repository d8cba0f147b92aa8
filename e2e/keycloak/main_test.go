package keycloak_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/demoapp"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/keycloak"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/proxy"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/internal/testplugin"
)

// The Keycloak suite: one Keycloak for the package (TestMain), shared by every scenario, and
// the plugin in real Envoy (two workers) configured from docs/examples/keycloak.json. It runs
// from scripts/keycloak-suite.sh (KEYCLOAK_SUITE=1), which `make test` calls once; a plain
// `go test ./...` skips it, so Keycloak never starts twice in one `make test`.

// suite is what TestMain started.
var suite struct {
	kc *keycloak.Keycloak
	// gatewaySecret and reportsSecret are the realm's client secrets.
	gatewaySecret, reportsSecret string
	// proxyAddr is the Envoy listener, known before Keycloak starts (its redirect URI).
	proxyAddr, offlineAddr string
	upstream               *httptest.Server
	wasm                   string
}

func TestMain(m *testing.M) {
	if os.Getenv("KEYCLOAK_SUITE") != "1" {
		fmt.Println("keycloak: the Keycloak suite runs from scripts/keycloak-suite.sh (make test); KEYCLOAK_SUITE=1 runs it here")
		os.Exit(0)
	}
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var err error
	if suite.proxyAddr, err = proxy.FreeAddr(); err != nil {
		return fail(err)
	}
	if suite.offlineAddr, err = proxy.FreeAddr(); err != nil {
		return fail(err)
	}
	suite.gatewaySecret, suite.reportsSecret = randomSecret(), randomSecret()
	var redirects []string
	for _, a := range []string{suite.proxyAddr, suite.offlineAddr} {
		redirects = append(redirects, "http://"+a+"/oauth2/callback")
	}
	realm := keycloak.Realm(keycloak.RealmValues{
		GatewaySecret: suite.gatewaySecret, ReportsSecret: suite.reportsSecret,
		RedirectURI:          strings.Join(redirects, `", "`),
		PostLogoutURI:        "http://" + suite.proxyAddr + "/*##http://" + suite.offlineAddr + "/*",
		BackchannelLogoutURI: "http://" + suite.proxyAddr + "/oauth2/backchannel_logout",
	})
	var logw *os.File
	if p := os.Getenv("KEYCLOAK_LOG"); p != "" {
		if logw, err = os.Create(p); err != nil {
			return fail(err)
		}
		defer logw.Close()
	}
	cfg := keycloak.Config{Realm: realm, RealmName: keycloak.RealmName}
	if logw != nil {
		cfg.LogWriter = logw
	}
	suite.kc, err = keycloak.Start(ctx, cfg)
	if err != nil {
		return fail(err)
	}
	defer suite.kc.Close()
	fmt.Printf("keycloak: Keycloak %s started in %s\n", keycloak.Version, suite.kc.Startup.Round(100*time.Millisecond))

	demo := demoapp.Handler(demoapp.Config{Issuer: suite.kc.Issuer, JWKSURL: suite.kc.JWKSURL()})
	mux := http.NewServeMux()
	mux.Handle("/admin/", http.StripPrefix("/admin", demo))
	mux.Handle("/reports/", http.StripPrefix("/reports", demo))
	mux.Handle("/", demo)
	suite.upstream = httptest.NewServer(mux)
	defer suite.upstream.Close()
	code := m.Run()
	if shared.p != nil {
		if err := shared.p.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "keycloak: Envoy:", err)
			code = 1
		}
	}
	return code
}

// shared is the Envoy most scenarios use: the example config plus testOnly.
var shared struct {
	once sync.Once
	p    *proxy.Proxy
	err  error
}

// sharedEnvoy starts the shared Envoy on first use.
func sharedEnvoy(t testing.TB) *proxy.Proxy {
	t.Helper()
	shared.once.Do(func() {
		cfg := exampleConfig(t, suite.proxyAddr, testOnly)
		shared.p, shared.err = startProxy(testplugin.Path(t), suite.proxyAddr, cfg)
	})
	if shared.err != nil {
		t.Fatalf("starting Envoy: %v", shared.err)
	}
	return shared.p
}

func fail(err error) int {
	fmt.Fprintln(os.Stderr, "keycloak: suite set-up failed:", err)
	return 1
}

func randomSecret() string {
	b := make([]byte, 24)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// exampleConfig is docs/examples/keycloak.json with only its URLs and secrets replaced, and
// then the test-only settings in extra (plain http on loopback, seconds-long tokens): merged
// into the object at each dotted key.
func exampleConfig(t testing.TB, addr string, extra map[string]any) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "docs", "examples", "keycloak.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatalf("docs/examples/keycloak.json: %v", err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	set := map[string]any{
		"provider.issuer":          suite.kc.Issuer,
		"provider.authority":       strings.TrimPrefix(suite.kc.URL, "http://"),
		"client.secret":            suite.gatewaySecret,
		"redirect_url":             "http://" + addr + "/oauth2/callback",
		"post_logout_redirect_url": "http://" + addr + "/",
	}
	for k, v := range set {
		if !setPath(c, k, v, false) {
			t.Fatalf("docs/examples/keycloak.json has no %s to substitute", k)
		}
	}
	keys, _ := c["keys"].([]any)
	if len(keys) != 1 {
		t.Fatalf("docs/examples/keycloak.json: %d keys, want 1", len(keys))
	}
	keys[0].(map[string]any)["secret"] = base64.StdEncoding.EncodeToString(key)
	for k, v := range extra {
		setPath(c, k, v, true)
	}
	out, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// setPath sets the value at a dotted path; create makes missing objects, else a missing key
// reports false.
func setPath(c map[string]any, path string, v any, create bool) bool {
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		next, ok := c[p].(map[string]any)
		if !ok {
			if !create {
				return false
			}
			next = map[string]any{}
			c[p] = next
		}
		c = next
	}
	last := parts[len(parts)-1]
	if _, ok := c[last]; !ok && !create {
		return false
	}
	c[last] = v
	return true
}

// testOnly are the settings the suite adds to the example: Keycloak and Envoy speak plain
// http on loopback, and the realm's tokens live 10 s, so a 2 s margin refreshes them 8 s in.
var testOnly = map[string]any{
	"provider.insecure_allow_http": true,
	"cookie.secure":                false,
	"session.refresh_margin":       "2s",
}

// startEnvoy starts the plugin in real Envoy (two workers) at addr with the plugin config.
func startEnvoy(t testing.TB, addr string, cfg []byte) *proxy.Proxy {
	t.Helper()
	p, err := startProxy(testplugin.Path(t), addr, cfg)
	if err != nil {
		t.Fatalf("starting Envoy: %v", err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("Envoy: %v", err)
		}
	})
	return p
}

func startProxy(wasm, addr string, cfg []byte) (*proxy.Proxy, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	began := time.Now()
	p, err := proxy.Start(ctx, proxy.Envoy, proxy.Config{
		WasmPath: wasm, PluginConfig: cfg, VMs: 2, Listen: addr,
		Clusters: map[string]string{"oidc": suite.kc.URL},
		Upstream: suite.upstream.URL,
	})
	if err != nil {
		return nil, err
	}
	// The plugin answers 503 until it has Keycloak's discovery document and keys.
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", p.URL+"/", nil)
		req.Header.Set("Accept", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusUnauthorized {
				break
			}
		}
		select {
		case <-ctx.Done():
			p.Close()
			return nil, fmt.Errorf("the plugin did not get ready (last: %v %v)\n%s", resp, err, p.LogText())
		case <-time.After(100 * time.Millisecond):
		}
	}
	fmt.Printf("keycloak: Envoy at %s serving the plugin %s after start\n", p.URL, time.Since(began).Round(100*time.Millisecond))
	return p, nil
}
