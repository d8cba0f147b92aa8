package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/demoapp"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/proxy"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/stack"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/internal/testplugin"
)

// pluginWasm is the compiled plugin ($PLUGIN_WASM, else built once).
func pluginWasm(t testing.TB) string { return testplugin.Path(t) }

// startTimeout bounds starting a proxy (Envoy: V8 compiling plugin.wasm, 5-10 s on two free
// cores) until the plugin is ready. On a loaded 2-core machine the compile alone took over
// 30 s, and whole Envoy suites failed "not ready" (load average 10-17).
const startTimeout = 90 * time.Second

// start runs a stack for the test and waits until the plugin has the provider's metadata.
func start(t testing.TB, o stack.Options) *stack.Stack {
	t.Helper()
	o.PluginWasm = pluginWasm(t)
	if o.CacheDir == "" {
		if d, err := os.UserCacheDir(); err == nil {
			o.CacheDir = filepath.Join(d, "oidc-proxy-wasm", "wazero")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	s, err := stack.Start(ctx, o)
	if err != nil {
		t.Fatalf("starting the stack: %v", err)
	}
	t.Cleanup(s.Close)
	if err := s.WaitReady(ctx); err != nil {
		t.Fatalf("%v\nplugin log:\n%s", err, logText(s))
	}
	return s
}

func logText(s *stack.Stack) string { return s.LogText() }

// startProxy starts the plugin behind the proxy the run is for ($E2E_PROXY) and stops it
// when the test ends, failing the test if Envoy had crashed.
func startProxy(t testing.TB, ctx context.Context, c proxy.Config) *proxy.Proxy {
	t.Helper()
	p, err := proxy.Start(ctx, proxy.FromEnv(), c)
	if err != nil {
		t.Fatalf("starting the proxy: %v", err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("stopping the proxy: %v", err)
		}
	})
	return p
}

// onEnvoy reports whether the run is on Envoy; envoyOr picks the outcome Envoy gives where
// Envoy itself (the shipped connection manager settings) answers before the plugin runs.
func onEnvoy() bool { return proxy.FromEnv() == proxy.Envoy }

func envoyOr(onEnvoyStatus, onHostStatus int) int {
	if onEnvoy() {
		return onEnvoyStatus
	}
	return onHostStatus
}

// proxyName names the proxy of the run in closing lines.
func proxyName() string {
	if onEnvoy() {
		return "Envoy"
	}
	return "e2e/host"
}

// hostOnly skips a test on Envoy: it needs what only e2e/host can do (its shared data, VM
// statistics or fault injection). e2e/README.md lists these tests.
func hostOnly(t testing.TB, why string) {
	t.Helper()
	if proxy.FromEnv() != proxy.Host {
		t.Skip("host only: " + why)
	}
}

// browser is an HTTP client with a cookie jar that does not follow redirects, so tests see
// each hop like a browser's network log.
type browser struct {
	t   testing.TB
	c   *http.Client
	jar *cookiejar.Jar
}

func newBrowser(t testing.TB) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, jar: jar, c: &http.Client{Jar: jar, Timeout: 15 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type response struct {
	status int
	header http.Header
	body   string
}

// get sends a navigation (Accept: text/html, Sec-Fetch-Mode: navigate) unless headers say otherwise.
func (b *browser) get(rawURL string, headers ...string) response {
	b.t.Helper()
	req, err := http.NewRequest("GET", rawURL, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	req.Header.Set("Sec-Fetch-Mode", "navigate")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("GET %s: %v", rawURL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	return response{status: resp.StatusCode, header: resp.Header, body: string(body)}
}

// api sends a fetch()-style JSON request.
func (b *browser) api(rawURL string) response {
	return b.get(rawURL, "Accept", "application/json", "Sec-Fetch-Mode", "cors")
}

// login runs a whole login through the proxy, starting at path, and returns the callback URL
// the provider redirected to (already consumed) and the final response.
func (b *browser) login(s *stack.Stack, path string) (callback string, final response) {
	b.t.Helper()
	r := b.get(s.URL + path)
	if r.status != http.StatusFound {
		b.t.Fatalf("GET %s: status %d, want 302 to the provider; body %.300s", path, r.status, r.body)
	}
	authz := r.header.Get("Location")
	if !strings.HasPrefix(authz, s.OP.Issuer()) {
		b.t.Fatalf("redirected to %q, want the provider %s", authz, s.OP.Issuer())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	callback, err := s.OP.Login(ctx, authz)
	if err != nil {
		b.t.Fatalf("login at the provider: %v", err)
	}
	return callback, b.get(callback)
}

func (b *browser) whoami(s *stack.Stack) (demoapp.WhoAmI, response) {
	b.t.Helper()
	r := b.api(s.URL + "/api/whoami")
	var w demoapp.WhoAmI
	if r.status == http.StatusOK {
		if err := json.Unmarshal([]byte(r.body), &w); err != nil {
			b.t.Fatalf("whoami: %v: %.300s", err, r.body)
		}
	}
	return w, r
}

// cookie returns the jar's cookie for the proxy's origin.
func (b *browser) cookie(s *stack.Stack, name string) (string, bool) {
	u, _ := url.Parse(s.URL)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == name {
			return c.Value, true
		}
	}
	return "", false
}

// assertNoTokenInLogs fails if any log line holds a token or cookie value seen in the test.
func assertNoSecretsInLogs(t testing.TB, s *stack.Stack, secrets ...string) {
	t.Helper()
	logs := logText(s)
	for _, sec := range secrets {
		if len(sec) >= 16 && strings.Contains(logs, sec) {
			t.Errorf("a secret value (%.8s…) appears in the plugin log", sec)
		}
	}
}
