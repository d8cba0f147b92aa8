package apps

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/proxy"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/stack"
)

// Token lifetimes at the provider and the plugin's refresh margin: short, so that tokens
// expire several times inside one scenario.
const (
	ttl    = 10 * time.Second
	margin = "3s"
)

// rig is one app behind the plugin in real Envoy, with what the test watches: the upgrade
// requests that reach the app, and the app's on-behalf-of calls.
type rig struct {
	t    *testing.T
	kind appKind
	s    *stack.Stack
	app  *appProc
	up   *upstream
	obo  *oboRecorder
}

// newRig starts the provider and Envoy with the plugin (stack), the app behind them, and the
// recorder the app sends its on-behalf-of calls through (to the provider's Entra-style
// endpoint, with the plugin's client: the access token's audience).
func newRig(t *testing.T, kind appKind) *rig {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	r := &rig{t: t, kind: kind, obo: newOBORecorder(t)}
	addr, err := proxy.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(addr)
	r.up = &upstream{target: &url.URL{Scheme: "http", Host: addr}}

	// The app and Envoy start side by side: both take seconds.
	r.app = startApp(t, kind, port, map[string]string{
		"OBO_TOKEN_URL": r.obo.srv.URL, "OBO_CLIENT_ID": stack.ClientID, "OBO_CLIENT_SECRET": stack.ClientSecret,
		"OBO_SCOPE": "api://downstream/.default",
	})
	began := time.Now()
	r.s, err = stack.Start(ctx, stack.Options{
		Proxy: proxy.Envoy, PluginWasm: pluginWasm(t),
		AccessTTL: ttl, IDTTL: ttl, RefreshTTL: time.Hour,
		Upstream: r.up.wrap,
		Configure: func(cfg map[string]any) {
			cfg["session"] = map[string]any{"refresh": true, "refresh_margin": margin}
			cfg["endpoints"].(map[string]any)["token"] = true
			fwd := cfg["forward"].(map[string]any)
			fwd["claims"] = map[string]any{"X-Auth-Request-User": "sub", "X-Auth-Request-Email": "email"}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.s.Close)
	r.obo.target.Store(r.s.OP.Endpoints().EntraToken)
	if err := r.s.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.app.waitReady(ctx, kind.ready); err != nil {
		t.Fatalf("%s: %v", kind.name, err)
	}
	t.Logf("%s and Envoy ready in %s", kind.name, time.Since(began).Round(100*time.Millisecond))
	return r
}

// upgrade is one WebSocket upgrade request that reached the app: when, where, and the
// identity headers the plugin set on it.
type upgrade struct {
	at                 time.Time
	path               string
	access, id, user   string
	email, secFetchMod string
}

// upstream is the app as Envoy sees it: a reverse proxy to the app (WebSockets included) that
// keeps the Host the browser sent (Streamlit checks a socket's Origin against it), records
// each upgrade request, and itself answers /healthz (a pass-through path of the plugin config:
// a same-origin page on which no app runs, so nothing refreshes the session).
type upstream struct {
	target   *url.URL
	mu       sync.Mutex
	upgrades []upgrade
}

func (u *upstream) wrap(http.Handler) http.Handler {
	rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(u.target)
		pr.Out.Host = pr.In.Host
	}}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			io.WriteString(w, "<!doctype html><title>ok</title><p id=ok>ok</p>")
			return
		}
		if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			u.mu.Lock()
			u.upgrades = append(u.upgrades, upgrade{
				at: time.Now(), path: r.URL.Path,
				access: r.Header.Get("X-Forwarded-Access-Token"), id: r.Header.Get("X-Forwarded-Id-Token"),
				user: r.Header.Get("X-Auth-Request-User"), email: r.Header.Get("X-Auth-Request-Email"),
				secFetchMod: r.Header.Get("Sec-Fetch-Mode"),
			})
			u.mu.Unlock()
		}
		rp.ServeHTTP(w, r)
	})
}

// upgradesTo returns the upgrades to path so far.
func (u *upstream) upgradesTo(path string) []upgrade {
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []upgrade
	for _, g := range u.upgrades {
		if g.path == path {
			out = append(out, g)
		}
	}
	return out
}

// oboRecorder stands between the app and the provider's on-behalf-of endpoint: it keeps the
// token each call presents (the assertion, or an RFC 8693 subject_token), so the test can
// check the token the app's server held, then forwards the call unchanged.
type oboRecorder struct {
	srv    *httptest.Server
	target atomic.Value // string: the provider's endpoint
	mu     sync.Mutex
	calls  []oboCall
}

type oboCall struct {
	at     time.Time
	token  string
	status int
}

func newOBORecorder(t *testing.T) *oboRecorder {
	o := &oboRecorder{}
	o.srv = httptest.NewServer(http.HandlerFunc(o.serve))
	t.Cleanup(o.srv.Close)
	return o
}

func (o *oboRecorder) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	form, _ := url.ParseQuery(string(body))
	tok := form.Get("assertion")
	if tok == "" {
		tok = form.Get("subject_token")
	}
	target, _ := o.target.Load().(string)
	req, _ := http.NewRequestWithContext(r.Context(), r.Method, target, bytes.NewReader(body))
	for _, h := range []string{"Content-Type", "Authorization", "Accept"} {
		if v := r.Header.Get(h); v != "" {
			req.Header.Set(h, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, "the provider: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	o.mu.Lock()
	o.calls = append(o.calls, oboCall{at: time.Now(), token: tok, status: resp.StatusCode})
	o.mu.Unlock()
	w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

func (o *oboRecorder) recorded() []oboCall {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]oboCall(nil), o.calls...)
}
