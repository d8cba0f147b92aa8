package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/envoy"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/envoyrig"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/stack"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/internal/sessionmint"
)

// rig is everything the rows run on: the embedded provider, the bearer issuer, the app, the
// Envoy processes (each with one worker) and oauth2-proxy, with one logged-in session for
// each of them.
type rig struct {
	*envoyrig.Rig // the provider, the bearer issuer, the session key
	app           *upstream

	none, plugin, oauth2, jwt, o2pEdge *envoy.Envoy
	noop, shim, shimGet, shimRead      *envoy.Envoy // the floor rows (nil without -noop-wasm)
	o2p                                *oauth2Proxy
	// alt are other builds of the plugin (-variant name=path), same configuration, for
	// before/after rows in one run; altReady their start times, noopReady the no-op plugin's,
	// each timed as often as the plugin's and interleaved with its starts (startPlugin).
	alt       map[string]*envoy.Envoy
	altReady  map[string][]time.Duration
	noopReady []time.Duration
	// altStartCPU and noopStartCPU are Envoy's CPU time by then: less moved by the machine's
	// other load than the wall-clock times.
	altStartCPU  map[string][]time.Duration
	noopStartCPU []time.Duration

	pluginCookie, oauth2Cookie, o2pCookie string // Cookie headers from real logins
	minter                                *sessionmint.Minter
	token                                 string // the bearer token of the "hit" rows

	// ready are the plugin's start times (Envoy's exec to the first protected navigation
	// answered 302 to the provider), one per start; startCPU Envoy's CPU time by then.
	ready, startCPU []time.Duration
	closers         []func()
}

type rigOptions struct {
	wasm, oauth2Proxy, noopWasm string
	alt                         [][2]string // name, path
	starts                      int
	log                         io.Writer
}

func newRig(ctx context.Context, o rigOptions) (*rig, error) {
	r := &rig{}
	ok := false
	defer func() {
		if !ok {
			r.Close()
		}
	}()
	var err error
	if r.Rig, err = envoyrig.New(false); err != nil {
		return nil, err
	}
	r.closers = append(r.closers, r.Rig.Close)
	if r.app, err = startUpstream(); err != nil {
		return nil, err
	}
	r.closers = append(r.closers, r.app.Close)
	if r.token, err = token(r.Iss, "hit"); err != nil {
		return nil, err
	}
	clusters := r.Clusters()
	login := func(base string) (string, error) {
		c, _, err := envoyrig.Login(ctx, nil, r.OP, base, "/app/page")
		return c, err
	}
	start := func(name string, b envoy.Bootstrap) (*envoy.Envoy, error) {
		b.Clusters, b.Upstream = clusters, r.app.url
		if b.WasmPath == "" {
			b.WasmPath = o.wasm // replaced or removed by b.Edit, but the renderer wants a path
		}
		e, err := envoy.Start(ctx, envoy.Config{Bootstrap: b, Concurrency: 1, LogWriter: o.log,
			StatsFlushInterval: "5s", BaseLogLevel: "warning", LogLevel: "warning"})
		if err != nil {
			return nil, fmt.Errorf("envoy (%s): %w", name, err)
		}
		r.closers = append(r.closers, func() { e.Close() })
		return e, nil
	}

	if r.none, err = start("no filter", envoy.Bootstrap{Edit: envoyrig.WithFilters()}); err != nil {
		return nil, err
	}
	if err := r.startPlugin(ctx, o, start); err != nil {
		return nil, err
	}
	if r.pluginCookie, err = login(r.plugin.URL); err != nil {
		return nil, err
	}
	if len(o.alt) > 0 {
		cfg, err := r.pluginConfig()
		if err != nil {
			return nil, err
		}
		r.alt = map[string]*envoy.Envoy{}
		for _, a := range o.alt {
			e, err := start("plugin "+a[0], envoy.Bootstrap{WasmPath: a[1], PluginConfig: cfg})
			if err != nil {
				return nil, err
			}
			if err := r.waitServing(ctx, e, time.Now()); err != nil {
				return nil, err
			}
			r.alt[a[0]] = e
		}
	}
	if r.minter, err = sessionmint.FromLogin(r.Key.ID, r.Key.Secret, r.pluginCookie); err != nil {
		return nil, err
	}

	ep := r.OP.Endpoints()
	oauth2 := envoy.Bootstrap{Edit: func(doc map[string]any) error {
		hmac := make([]byte, 32)
		rand.Read(hmac)
		addSecrets(doc, map[string]string{"oauth2-token": stack.ClientSecret,
			"oauth2-hmac": base64.StdEncoding.EncodeToString(hmac)})
		return envoyrig.WithFilters(oauth2Filter(ep.Authorize, ep.Token, stack.ClientID))(doc)
	}}
	if r.oauth2, err = start("oauth2", oauth2); err != nil {
		return nil, err
	}
	if r.oauth2Cookie, err = login(r.oauth2.URL); err != nil {
		return nil, fmt.Errorf("envoy's oauth2 filter: %w", err)
	}

	if o.noopWasm != "" {
		if r.noop, err = start("no-op plugin", envoy.Bootstrap{WasmPath: o.noopWasm, PluginConfig: []byte("{}")}); err != nil {
			return nil, err
		}
		shim, err := json.Marshal(r.warmShim())
		if err != nil {
			return nil, err
		}
		if r.shim, err = start("shim plugin", envoy.Bootstrap{WasmPath: o.noopWasm, PluginConfig: shim}); err != nil {
			return nil, err
		}
		sg := r.warmShim()
		sg["get"] = selectedHeaders
		if shim, err = json.Marshal(sg); err != nil {
			return nil, err
		}
		if r.shimGet, err = start("shim plugin, selected headers", envoy.Bootstrap{WasmPath: o.noopWasm, PluginConfig: shim}); err != nil {
			return nil, err
		}
		sr := r.warmShim()
		sr["set"] = [][2]string{{"x-auth-request-user", "5f3c1a2b-9d8e-4f70-a1b2-c3d4e5f60718"}}
		if shim, err = json.Marshal(sr); err != nil {
			return nil, err
		}
		if r.shimRead, err = start("shim plugin, one header set", envoy.Bootstrap{WasmPath: o.noopWasm, PluginConfig: shim}); err != nil {
			return nil, err
		}
	}

	if r.jwt, err = start("jwt_authn", envoy.Bootstrap{Edit: envoyrig.WithFilters(jwtAuthnFilter(r.Iss.URL()))}); err != nil {
		return nil, err
	}

	if o.oauth2Proxy != "" {
		edge, err := freeAddr()
		if err != nil {
			return nil, err
		}
		if r.o2p, err = startOAuth2Proxy(ctx, o.oauth2Proxy, r.OP.Issuer(), stack.ClientID, stack.ClientSecret,
			"http://"+edge+"/oauth2/callback", r.app.url); err != nil {
			return nil, err
		}
		r.closers = append(r.closers, r.o2p.Close)
		e, err := envoy.Start(ctx, envoy.Config{Bootstrap: envoy.Bootstrap{Listen: edge, WasmPath: o.wasm,
			Clusters: clusters, Upstream: r.o2p.url, Edit: envoyrig.WithFilters()}, Concurrency: 1, LogWriter: o.log,
			StatsFlushInterval: "5s", LogLevel: "warning"})
		if err != nil {
			return nil, fmt.Errorf("envoy (in front of oauth2-proxy): %w", err)
		}
		r.closers = append(r.closers, func() { e.Close() })
		r.o2pEdge = e
		if r.o2pCookie, err = login(e.URL); err != nil {
			return nil, fmt.Errorf("oauth2-proxy: %w", err)
		}
	}
	ok = true
	return r, nil
}

// warmShim configures internal/noopplugin to make the host calls the plugin makes for a warm
// session, with nothing between them: read all request headers, increment a counter, and set
// the six headers it forwards (four claim headers as in internal/filterbench, and this
// session's own access and ID tokens).
func (r *rig) warmShim() map[string]any {
	return map[string]any{"metric": "oidc_proxy.session.cache_hit", "set": [][2]string{
		{"x-auth-request-user", "5f3c1a2b-9d8e-4f70-a1b2-c3d4e5f60718"},
		{"x-auth-request-email", "demo@example.com"},
		{"x-auth-request-groups", "engineering,oncall,grafana-editors"},
		{"x-auth-request-preferred-username", "demo"},
		{"x-forwarded-access-token", r.minter.Template.AccessToken},
		{"x-forwarded-id-token", r.minter.Template.IDToken},
	}}
}

// selectedHeaders are the request headers a warm session needs, read one by one in the
// "selected headers" shim row: the pseudo-headers routing uses, the cookie, and what tells an
// API call from a navigation.
var selectedHeaders = []string{":method", ":path", ":authority", "cookie", "authorization",
	"accept", "sec-fetch-mode", "x-requested-with"}

// pluginConfig is the rig's plugin configuration (envoyrig.Rig.PluginConfig: `make run`'s, plus
// a bearer route for /api/ accepting the issuer's RS256 tokens for bearerAudience).
func (r *rig) pluginConfig() ([]byte, error) {
	return json.Marshal(r.PluginConfig("bench", bearerAudience))
}

// startPlugin starts the plugin's Envoy o.starts times (keeping the last), each time timing
// Envoy's exec to the plugin serving: a protected navigation answered 302 to the provider,
// then a bearer token accepted. After each of the plugin's starts it times one start of each
// variant (the same way) and of the no-op plugin (exec to a request answered by the app
// through it), so that all start times come from the same moments of the machine's load.
func (r *rig) startPlugin(ctx context.Context, o rigOptions, start func(string, envoy.Bootstrap) (*envoy.Envoy, error)) error {
	cfg, err := r.pluginConfig()
	if err != nil {
		return err
	}
	r.altReady, r.altStartCPU = map[string][]time.Duration{}, map[string][]time.Duration{}
	timed := func(name string, b envoy.Bootstrap, serving func(context.Context, *envoy.Envoy, time.Time) error) (*envoy.Envoy, time.Duration, error) {
		t0 := time.Now()
		e, err := start(name, b)
		if err != nil {
			return nil, 0, err
		}
		if err := serving(ctx, e, t0); err != nil {
			return nil, 0, err
		}
		return e, time.Since(t0), nil
	}
	discard := func(e *envoy.Envoy) {
		e.Close()
		r.closers = r.closers[:len(r.closers)-1]
	}
	for i := range max(o.starts, 1) {
		e, d, err := timed("plugin", envoy.Bootstrap{WasmPath: o.wasm, PluginConfig: cfg}, r.waitServing)
		if err != nil {
			return err
		}
		r.ready = append(r.ready, d)
		if cpu, err := envoyrig.ProcessCPU(e.PID()); err == nil {
			r.startCPU = append(r.startCPU, cpu)
		}
		if i < max(o.starts, 1)-1 {
			discard(e)
		} else {
			r.plugin = e
		}
		for _, a := range o.alt {
			e, d, err := timed("plugin "+a[0], envoy.Bootstrap{WasmPath: a[1], PluginConfig: cfg}, r.waitServing)
			if err != nil {
				return err
			}
			r.altReady[a[0]] = append(r.altReady[a[0]], d)
			if cpu, err := envoyrig.ProcessCPU(e.PID()); err == nil {
				r.altStartCPU[a[0]] = append(r.altStartCPU[a[0]], cpu)
			}
			discard(e)
		}
		if o.noopWasm != "" {
			e, d, err := timed("no-op plugin", envoy.Bootstrap{WasmPath: o.noopWasm, PluginConfig: []byte("{}")}, waitPassing)
			if err != nil {
				return err
			}
			r.noopReady = append(r.noopReady, d)
			if cpu, err := envoyrig.ProcessCPU(e.PID()); err == nil {
				r.noopStartCPU = append(r.noopStartCPU, cpu)
			}
			discard(e)
		}
	}
	return nil
}

// waitServing waits until the plugin's Envoy e (started at t0) serves: a protected navigation
// answered 302 to the provider, then a bearer token accepted.
func (r *rig) waitServing(ctx context.Context, e *envoy.Envoy, t0 time.Time) error {
	_, err := envoyrig.WaitServing(ctx, e.URL, e.PID(), t0, envoyrig.Probes{Page: "/app/page",
		Authorize: r.OP.Endpoints().Authorize, API: "/api/data", Token: r.token})
	return err
}

// waitPassing waits until a request through the no-op plugin's Envoy e reaches the app (200).
func waitPassing(ctx context.Context, e *envoy.Envoy, _ time.Time) error {
	c := &http.Client{Timeout: 10 * time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", e.URL+"/app/page", nil)
		if resp, err := c.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if ctx.Err() != nil {
			return fmt.Errorf("no-op plugin at %s did not pass a request: %w", e.URL, ctx.Err())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// verify sends one request of a row (variant i) through Envoy with net/http and checks that the app
// received it with the header the row's filter forwards (the proof that a peer's session or
// token was accepted, not answered with a redirect or 401).
func (r *rig) verify(ctx context.Context, base string, head []byte, vary func([]byte, int) []byte, i int, forwarded string) error {
	raw := append([]byte(nil), head...)
	if vary != nil {
		raw = vary(raw, i)
	}
	lines := strings.Split(strings.TrimRight(string(raw), "\r\n"), "\r\n")
	method, target, _ := strings.Cut(lines[0], " ")
	target, _, _ = strings.Cut(target, " ")
	u, err := url.Parse(base + target)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return err
	}
	for _, l := range lines[1:] {
		k, v, _ := strings.Cut(l, ": ")
		if strings.EqualFold(k, "Host") {
			continue
		}
		req.Header.Add(k, v)
	}
	c := &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s%s answered %d %q, not 200 from the app", base, target, resp.StatusCode, resp.Header.Get("Location"))
	}
	if forwarded != "" && r.app.lastHeader().Get(forwarded) == "" {
		var got []string
		for k := range r.app.lastHeader() {
			got = append(got, k)
		}
		sort.Strings(got)
		return fmt.Errorf("%s%s reached the app without %s (it got %v)", base, target, forwarded, got)
	}
	return nil
}

// Close stops everything, last started first.
func (r *rig) Close() {
	for i := len(r.closers) - 1; i >= 0; i-- {
		r.closers[i]()
	}
	r.closers = nil
}
