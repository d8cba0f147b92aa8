package envoysoak

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/demoapp"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/envoy"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/op"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/stack"
)

// Options configure a Rig.
type Options struct {
	// WasmPath is plugin.wasm.
	WasmPath string
	// SessionCacheSize is the plugin's session.cache_size; 0 keeps the default (10,000 entries,
	// and the cache's own byte bound).
	SessionCacheSize int
	// Concurrency is Envoy's worker count (one VM each); 2 by default.
	Concurrency int
	// LogWriter receives Envoy's log.
	LogWriter io.Writer
}

// Rig is the provider, the app and the bearer issuer; Envoy processes are started on it
// with StartEnvoy.
type Rig struct {
	OP     *op.Server
	App    *httptest.Server
	Config []byte // the plugin configuration
	Key    stack.Key
	opts   Options
	iss    *issuer
}

// NewRig starts the provider (tokens valid for an hour, so no refresh happens during a run),
// the demo app and the bearer issuer.
func NewRig(o Options) (*Rig, error) {
	r := &Rig{opts: o}
	var err error
	if r.OP, err = op.Start(op.Config{ClientID: stack.ClientID, ClientSecret: stack.ClientSecret,
		AccessTokenLifetime: time.Hour, IDTokenLifetime: time.Hour}); err != nil {
		return nil, err
	}
	r.App = httptest.NewServer(demoapp.Handler(demoapp.Config{Issuer: r.OP.Issuer(),
		Keys: func(context.Context) (*jose.JSONWebKeySet, error) { ks := r.OP.JWKS(); return &ks, nil }}))
	if r.iss, err = newIssuer(); err != nil {
		r.Close()
		return nil, err
	}
	if r.Key, err = stack.NewKey("k1"); err != nil {
		r.Close()
		return nil, err
	}
	cfg := stack.PluginConfig(r.OP.Issuer(), []stack.Key{r.Key})
	cfg["bearer_issuers"] = []any{map[string]any{
		"name": "soak", "issuer": r.iss.URL(), "insecure_allow_http": true, "discovery": false,
		"jwks_uri": r.iss.URL() + "/jwks", "cluster": "issuers", "audiences": []any{BearerAudience},
	}}
	cfg["routes"] = []any{map[string]any{"name": "api", "match": map[string]any{"prefix": "/api/"},
		"auth": "bearer", "bearer_issuers": []any{"soak"}}}
	// The "verified every time" bearer tokens expired a second ago: the cache never keeps
	// them, and verification accepts them within this leeway.
	cfg["jwt"] = map[string]any{"leeway": "5m"}
	if o.SessionCacheSize > 0 {
		cfg["session"] = map[string]any{"cache_size": o.SessionCacheSize}
	}
	if r.Config, err = json.Marshal(cfg); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// Close stops the provider, the app and the issuer (not the Envoy processes).
func (r *Rig) Close() {
	if r.iss != nil {
		r.iss.Close()
	}
	if r.App != nil {
		r.App.Close()
	}
	if r.OP != nil {
		r.OP.Close()
	}
}

// StartTimes are the moments of one Envoy start, measured from just before Envoy's exec.
type StartTimes struct {
	Ready   time.Duration // admin /ready answered LIVE and the listener is bound
	Serving time.Duration // the first protected navigation answered 302 to the provider
	// Compile is, from Envoy's own log, the time from "Base Wasm created" to the first
	// "Thread-Local Wasm created": V8 compiling plugin.wasm and starting the main thread's VM.
	// BaseWasm is from exec to "Base Wasm created" (Envoy's own start before the plugin).
	// Both are 0 when the log lines are missing (the wasm component logging below debug).
	Compile, BaseWasm time.Duration
	// CPU is the Envoy process's CPU time (user and system, all threads) when the plugin
	// first served: less sensitive to other load on the machine than the wall times.
	CPU time.Duration
	// Bearer is when the bearer route first accepted a valid token (the bearer issuer's
	// keys are fetched from the plugin's second tick on, not the first).
	Bearer time.Duration
	// NotReady counts the navigations answered 503 (provider metadata or keys not loaded
	// yet) before the first 302, BearerNotReady the bearer requests answered 503 before the
	// first 200; Other lists any other answer seen.
	NotReady, BearerNotReady int
	Other                    []string
}

// StartEnvoy starts Envoy with the plugin and waits until the plugin serves: a protected
// navigation is redirected to the provider, and then a valid bearer token is accepted.
func (r *Rig) StartEnvoy(ctx context.Context) (*envoy.Envoy, StartTimes, error) {
	var st StartTimes
	t0 := time.Now() // envoy.Start renders and writes the bootstrap (under a millisecond), then execs
	e, err := envoy.Start(ctx, envoy.Config{Bootstrap: envoy.Bootstrap{
		WasmPath: r.opts.WasmPath, PluginConfig: r.Config, Upstream: r.App.URL,
		Clusters: map[string]string{"oidc": r.OP.Issuer(), "issuers": r.iss.URL()},
	}, Concurrency: r.opts.Concurrency, LogWriter: r.opts.LogWriter, BaseLogLevel: "warning"})
	if err != nil {
		return nil, st, err
	}
	st.Ready = time.Since(t0)
	c := noRedirects(nil)
	for {
		status, loc, err := navigate(ctx, c, e.URL+"/app1/start")
		switch {
		case err != nil && ctx.Err() != nil:
			e.Close()
			return nil, st, fmt.Errorf("envoysoak: the plugin did not serve: %w (answers: %d x 503, %v)", ctx.Err(), st.NotReady, st.Other)
		case err != nil:
			st.Other = append(st.Other, err.Error())
		case status == http.StatusFound && strings.HasPrefix(loc, r.OP.Endpoints().Authorize):
			st.Serving = time.Since(t0)
			st.CPU, _ = CPUTime(e.PID())
			st.BaseWasm, st.Compile = compileTimes(e.Log(), t0)
			if err := r.waitBearer(ctx, c, e.URL, t0, &st); err != nil {
				e.Close()
				return nil, st, err
			}
			return e, st, nil
		case status == http.StatusServiceUnavailable:
			st.NotReady++
		default:
			st.Other = append(st.Other, fmt.Sprintf("%d %s", status, loc))
		}
		if len(st.Other) > 20 {
			e.Close()
			return nil, st, fmt.Errorf("envoysoak: unexpected answers before the plugin served: %v", st.Other)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (r *Rig) waitBearer(ctx context.Context, c *http.Client, base string, t0 time.Time, st *StartTimes) error {
	tok, err := r.iss.token("rs", "ready", time.Now().Add(time.Hour))
	if err != nil {
		return err
	}
	for {
		status, _, err := get(ctx, c, base+"/api/whoami", "", "Authorization", "Bearer "+tok)
		switch {
		case err != nil && ctx.Err() != nil:
			return fmt.Errorf("envoysoak: the bearer route did not serve: %w (%d x 503)", ctx.Err(), st.BearerNotReady)
		case err != nil:
			st.Other = append(st.Other, "bearer: "+err.Error())
		case status == http.StatusOK:
			st.Bearer = time.Since(t0)
			return nil
		case status == http.StatusServiceUnavailable:
			st.BearerNotReady++
		default:
			st.Other = append(st.Other, fmt.Sprintf("bearer: %d", status))
		}
		if len(st.Other) > 20 {
			return fmt.Errorf("envoysoak: unexpected answers before the bearer route served: %v", st.Other)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// noRedirects is a client that returns redirects instead of following them.
func noRedirects(jar http.CookieJar) *http.Client {
	return &http.Client{Jar: jar, Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// navigate GETs u as a browser navigation and returns the status and Location.
func navigate(ctx context.Context, c *http.Client, u string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Accept", "text/html")
	req.Header.Set("Sec-Fetch-Mode", "navigate")
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location"), nil
}

// login is a whole browser login through Envoy: a protected navigation (302 to the
// provider), the provider's form, the callback (302 with the session cookies), and the page
// it returns to (200). The jar then holds the session. It returns how many requests went
// through Envoy.
func (r *Rig) login(ctx context.Context, base string, jar http.CookieJar, transport http.RoundTripper) (int, error) {
	c := noRedirects(jar)
	c.Transport = transport
	n := 1
	status, loc, err := navigate(ctx, c, base+"/app1/soak")
	if err != nil || status != http.StatusFound || !strings.HasPrefix(loc, r.OP.Endpoints().Authorize) {
		return n, fmt.Errorf("login: navigation: %d %q %v", status, loc, err)
	}
	cb, err := r.OP.LoginAs(ctx, nil, loc, op.DemoUsername, op.DemoPassword)
	if err != nil {
		return n, fmt.Errorf("login: provider: %w", err)
	}
	if !strings.HasPrefix(cb, base+"/oauth2/callback?") {
		return n, fmt.Errorf("login: the provider returned to %q", cb)
	}
	n++
	status, loc, err = navigate(ctx, c, cb)
	if err != nil || status != http.StatusFound || !strings.HasSuffix(loc, "/app1/soak") {
		return n, fmt.Errorf("login: callback: %d %q %v", status, loc, err)
	}
	if strings.HasPrefix(loc, "/") {
		loc = base + loc
	}
	n++
	if status, _, err = navigate(ctx, c, loc); err != nil || status != http.StatusOK {
		return n, fmt.Errorf("login: landing page: %d %v", status, err)
	}
	return n, nil
}

var errNoSession = errors.New("envoysoak: the login left no session cookie")

// get GETs u as a navigation with a Cookie header (none if empty) and further header pairs.
func get(ctx context.Context, c *http.Client, u, cookie string, header ...string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Accept", "text/html")
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location"), nil
}

// StartBaseline starts Envoy with the same bootstrap but without the Wasm filter (the
// listener goes straight to the router and the app), to tell Envoy's own start and memory
// from the plugin's. It returns when admin /ready answers LIVE.
func (r *Rig) StartBaseline(ctx context.Context) (*envoy.Envoy, time.Duration, error) {
	t0 := time.Now()
	e, err := envoy.Start(ctx, envoy.Config{Bootstrap: envoy.Bootstrap{
		WasmPath: r.opts.WasmPath, PluginConfig: r.Config, Upstream: r.App.URL,
		Clusters: map[string]string{"oidc": r.OP.Issuer(), "issuers": r.iss.URL()},
		Edit:     withoutWasm,
	}, Concurrency: r.opts.Concurrency, LogWriter: r.opts.LogWriter})
	if err != nil {
		return nil, 0, err
	}
	return e, time.Since(t0), nil
}

// withoutWasm removes the Wasm HTTP filter from the rendered bootstrap.
func withoutWasm(doc map[string]any) error {
	found := false
	for _, l := range list(doc["static_resources"], "listeners") {
		for _, fc := range list(l, "filter_chains") {
			for _, f := range list(fc, "filters") {
				tc, _ := f.(map[string]any)["typed_config"].(map[string]any)
				if tc == nil {
					continue
				}
				var keep []any
				for _, h := range list(tc, "http_filters") {
					if h.(map[string]any)["name"] == "envoy.filters.http.wasm" {
						found = true
						continue
					}
					keep = append(keep, h)
				}
				tc["http_filters"] = keep
			}
		}
	}
	if !found {
		return errors.New("envoysoak: the bootstrap has no envoy.filters.http.wasm filter to remove")
	}
	return nil
}

// list is m[key] as a list of objects, when m is an object.
func list(m any, key string) []any {
	o, _ := m.(map[string]any)
	l, _ := o[key].([]any)
	var out []any
	for _, x := range l {
		if _, ok := x.(map[string]any); ok {
			out = append(out, x)
		}
	}
	return out
}

// compileTimes reads Envoy's log lines "Base Wasm created" and the first "Thread-Local Wasm
// created" (the wasm component at debug level) and returns the time from t0 to the first and
// between the two. Envoy writes its log times in UTC with millisecond precision.
func compileTimes(log string, t0 time.Time) (base, compile time.Duration) {
	var tb, tt time.Time
	for _, l := range strings.Split(log, "\n") {
		if len(l) < 25 || l[0] != '[' {
			continue
		}
		ts, err := time.ParseInLocation("2006-01-02 15:04:05.000", l[1:24], time.UTC)
		if err != nil {
			continue
		}
		switch {
		case tb.IsZero() && strings.Contains(l, "Base Wasm created"):
			tb = ts
		case !tb.IsZero() && tt.IsZero() && strings.Contains(l, "Thread-Local Wasm created"):
			tt = ts
		}
	}
	if tb.IsZero() || tt.IsZero() {
		return 0, 0
	}
	if base = tb.Sub(t0.Truncate(time.Millisecond)); base < 0 || base > time.Hour {
		base = 0 // Envoy's clock or zone is not what this process thinks
	}
	return base, tt.Sub(tb)
}
