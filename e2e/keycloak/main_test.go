package keycloak_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/demoapp"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/envoy"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/keycloak"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/proxy"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/testpki"
)

// The Keycloak suite: one Keycloak for the package (TestMain), shared by every scenario, and
// the plugin in real Envoy (two workers) configured from docs/examples/keycloak.json. It runs
// from scripts/keycloak-suite.sh (KEYCLOAK_SUITE=1), which `make test` calls once; a plain
// `go test ./...` skips the scenarios, so Keycloak never starts twice in one `make test`.

// suite is what TestMain started.
var suite struct {
	on bool // KEYCLOAK_SUITE=1: Keycloak and the Envoys run
	kc *keycloak.Keycloak
	// kcURL and issuer are Keycloak's, known before it starts (the Envoys start meanwhile).
	kcURL, issuer string
	// gatewaySecret and reportsSecret are the realm's client secrets.
	gatewaySecret, reportsSecret string
	// proxyAddr and offlineAddr are the Envoy listeners, known before Keycloak starts
	// (its redirect URIs).
	proxyAddr, offlineAddr string
	upstream               *httptest.Server
	// shared is the Envoy most scenarios use (the example config plus testOnly), offline
	// the one that also asks for offline_access and serves {prefix}/token.
	shared, offline *proxy.Proxy
	// wasm is plugin.wasm's path (PLUGIN_WASM), for the scenarios' own Envoys (featureProxy).
	wasm string
	// pki is the CA of Keycloak's HTTPS listener and of the mutual-TLS clients' certificates.
	pki *testpki.PKI
}

func TestMain(m *testing.M) {
	if os.Getenv("KEYCLOAK_SUITE") != "1" {
		os.Exit(m.Run()) // the scenarios skip (needSuite); the harness's own tests run
	}
	suite.on = true
	os.Exit(runSuite(m))
}

// needSuite skips a scenario outside the Keycloak suite run.
func needSuite(t *testing.T) {
	t.Helper()
	if !suite.on {
		t.Skip("the Keycloak suite runs from scripts/keycloak-suite.sh (make test); KEYCLOAK_SUITE=1 runs it here")
	}
}

func runSuite(m *testing.M) (code int) {
	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	wasm := os.Getenv("PLUGIN_WASM")
	if wasm == "" {
		return fail(fmt.Errorf("PLUGIN_WASM is not set (make build, then PLUGIN_WASM=$PWD/plugin.wasm)"))
	}
	suite.wasm = wasm
	kcPort, err := keycloak.FreePort()
	if err != nil {
		return fail(err)
	}
	suite.kcURL = "http://127.0.0.1:" + strconv.Itoa(kcPort)
	suite.issuer = suite.kcURL + "/realms/" + keycloak.RealmName
	if suite.proxyAddr, err = proxy.FreeAddr(); err != nil {
		return fail(err)
	}
	if suite.offlineAddr, err = proxy.FreeAddr(); err != nil {
		return fail(err)
	}
	suite.gatewaySecret, suite.reportsSecret = randomSecret(), randomSecret()

	demo := demoapp.Handler(demoapp.Config{Issuer: suite.issuer, JWKSURL: suite.issuer + "/protocol/openid-connect/certs"})
	mux := http.NewServeMux()
	mux.Handle("/admin/", http.StripPrefix("/admin", demo))
	mux.Handle("/reports/", http.StripPrefix("/reports", demo))
	mux.Handle("/", demo)
	suite.upstream = httptest.NewServer(mux)
	defer suite.upstream.Close()

	realm := keycloak.Realm(keycloak.RealmValues{
		GatewaySecret: suite.gatewaySecret, ReportsSecret: suite.reportsSecret,
		RedirectURIs:         []string{"http://" + suite.proxyAddr + "/oauth2/callback", "http://" + suite.offlineAddr + "/oauth2/callback"},
		PostLogoutURIs:       []string{"http://" + suite.proxyAddr + "/*", "http://" + suite.offlineAddr + "/*"},
		BackchannelLogoutURI: "http://" + suite.proxyAddr + "/oauth2/backchannel_logout",
	})
	pkiDir, err := os.MkdirTemp("", "keycloak-pki-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(pkiDir)
	if suite.pki, err = testpki.New(pkiDir); err != nil {
		return fail(err)
	}
	if _, err := suite.pki.Server("keycloak"); err != nil {
		return fail(err)
	}
	cfg := keycloak.Config{Realm: realm, RealmName: keycloak.RealmName, Port: kcPort, TLS: &keycloak.TLS{
		CertFile: suite.pki.Path("keycloak.crt"), KeyFile: suite.pki.Path("keycloak.key"), CAFile: suite.pki.CAFile}}
	if p := os.Getenv("KEYCLOAK_LOG"); p != "" {
		logw, err := os.Create(p)
		if err != nil {
			return fail(err)
		}
		defer logw.Close()
		cfg.LogWriter = logw
	}
	suite.kc, err = keycloak.Start(ctx, cfg)
	if err != nil {
		return fail(err)
	}
	defer suite.kc.Close()
	fmt.Printf("keycloak: Keycloak %s started in %s\n", keycloak.Version, suite.kc.Startup.Round(100*time.Millisecond))

	// Then both Envoys at once. Not while Keycloak starts: on 2 cores V8's compilation of
	// plugin.wasm slowed Keycloak's start from about 30 s to 45-80 s, and the plugins, failing
	// to reach it, backed off for up to 16 s more.
	type started struct {
		p   *proxy.Proxy
		err error
	}
	envoys := make(chan started, 2)
	for _, e := range []struct {
		addr  string
		extra map[string]any
	}{{suite.proxyAddr, testOnly}, {suite.offlineAddr, offlineSettings()}} {
		go func() {
			var s started
			cfg, err := exampleConfig(e.addr, e.extra)
			if err == nil {
				s.p, err = startProxy(ctx, wasm, e.addr, cfg)
			}
			s.err = err
			envoys <- s
		}()
	}

	var envErr error
	for range 2 {
		s := <-envoys
		if s.err != nil {
			envErr = errors.Join(envErr, s.err)
			continue
		}
		defer func() {
			if err := s.p.Close(); err != nil {
				fmt.Fprintln(os.Stderr, "keycloak: Envoy:", err)
				code = 1
			}
		}()
		if s.p.URL == "http://"+suite.proxyAddr {
			suite.shared = s.p
		} else {
			suite.offline = s.p
		}
	}
	if envErr != nil {
		return fail(envErr)
	}
	for _, p := range []*proxy.Proxy{suite.shared, suite.offline} {
		if err := waitReady(ctx, p); err != nil {
			return fail(err)
		}
	}
	fmt.Printf("keycloak: Keycloak and both Envoys ready %s after the start\n", time.Since(began).Round(100*time.Millisecond))
	return m.Run()
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
// then the test-only settings in extra (plain http on loopback, seconds-long tokens): each
// dotted key set in the config, objects made as needed.
func exampleConfig(addr string, extra map[string]any) ([]byte, error) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "docs", "examples", "keycloak.json"))
	if err != nil {
		return nil, err
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("docs/examples/keycloak.json: %w", err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	set := map[string]any{
		"provider.issuer":          suite.issuer,
		"provider.authority":       strings.TrimPrefix(suite.kcURL, "http://"),
		"client.secret":            suite.gatewaySecret,
		"redirect_url":             "http://" + addr + "/oauth2/callback",
		"post_logout_redirect_url": "http://" + addr + "/",
	}
	for k, v := range set {
		if !setPath(c, k, v, false) {
			return nil, fmt.Errorf("docs/examples/keycloak.json has no %s to substitute", k)
		}
	}
	keys, _ := c["keys"].([]any)
	if len(keys) != 1 {
		return nil, fmt.Errorf("docs/examples/keycloak.json: %d keys, want 1", len(keys))
	}
	keys[0].(map[string]any)["secret"] = base64.StdEncoding.EncodeToString(key)
	for k, v := range extra {
		setPath(c, k, v, true)
	}
	return json.Marshal(c)
}

// setPath sets the value at a dotted path (nil deletes it); create makes missing objects,
// else a missing key reports false.
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
	if v == nil {
		delete(c, last)
		return true
	}
	c[last] = v
	return true
}

// testOnly are the settings the suite adds to the example: Keycloak and Envoy speak plain
// http on loopback, the realm's tokens live 10 s, so a 2 s margin refreshes them 8 s in, and
// {prefix}/token serves apps the refresh token of offline grants only.
var testOnly = map[string]any{
	"provider.insecure_allow_http":               true,
	"cookie.secure":                              false,
	"session.refresh_margin":                     "2s",
	"endpoints.token":                            true,
	"endpoints.token_include_refresh_token":      true,
	"endpoints.token_refresh_token_offline_only": true,
}

// offlineSettings are testOnly with offline_access asked for.
func offlineSettings() map[string]any {
	extra := map[string]any{"scopes": []string{"openid", "profile", "email", "offline_access"}}
	for k, v := range testOnly {
		extra[k] = v
	}
	return extra
}

// startProxy starts the plugin in real Envoy (two workers) at addr with the plugin config.
func startProxy(ctx context.Context, wasm, addr string, cfg []byte) (*proxy.Proxy, error) {
	return startTunedProxy(ctx, wasm, addr, cfg, nil)
}

// startTunedProxy is startProxy with tune, when not nil, changing Envoy's bootstrap first
// (clusters of a scenario's own, say).
func startTunedProxy(ctx context.Context, wasm, addr string, cfg []byte, tune func(*envoy.Bootstrap)) (*proxy.Proxy, error) {
	began := time.Now()
	b := envoy.Bootstrap{Listen: addr, WasmPath: wasm, PluginConfig: cfg,
		Clusters: map[string]string{"oidc": suite.kcURL}, Upstream: suite.upstream.URL}
	if tune != nil {
		tune(&b)
	}
	e, err := envoy.Start(ctx, envoy.Config{Bootstrap: b, Concurrency: 2})
	if err != nil {
		return nil, err
	}
	p := &proxy.Proxy{URL: e.URL, Kind: proxy.Envoy, Envoy: e}
	fmt.Printf("keycloak: Envoy at %s started in %s\n", p.URL, time.Since(began).Round(100*time.Millisecond))
	return p, nil
}

// waitReady waits until each worker's plugin has Keycloak's discovery document: until then
// it answers navigations with 503. It wants a run of answers from a plugin that has it, over
// fresh connections: login redirects, or the plugin's own 502 page (with its correlation id)
// when the pushed authorization request is refused, as a client with a wrong key is.
func waitReady(ctx context.Context, p *proxy.Proxy) error {
	noFollow := &http.Client{Transport: &http.Transport{DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	last := ""
	for ok := 0; ok < 6; {
		req, _ := http.NewRequestWithContext(ctx, "GET", p.URL+"/", nil)
		req.Header.Set("Accept", "text/html")
		resp, err := noFollow.Do(req)
		if err == nil {
			resp.Body.Close()
			last = resp.Status
			if resp.StatusCode == http.StatusFound ||
				resp.StatusCode == http.StatusBadGateway && resp.Header.Get("x-correlation-id") != "" {
				ok++
				continue
			}
		} else {
			last = err.Error()
		}
		ok = 0
		select {
		case <-ctx.Done():
			return fmt.Errorf("the plugin at %s did not get ready (last answer: %s)\n%s", p.URL, last, p.LogText())
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}
