package envoysoak

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/demoapp"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/envoy"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/envoyrig"
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

// Rig is the shared load rig (e2e/envoyrig: the provider, the bearer issuer, the session
// key) and the demo app; Envoy processes are started on it with StartEnvoy.
type Rig struct {
	*envoyrig.Rig
	App    *httptest.Server
	Config []byte // the plugin configuration
	opts   Options
}

// NewRig starts the provider (tokens valid for an hour, so no refresh happens during a run),
// the demo app and the bearer issuer (RS256 and EdDSA keys).
func NewRig(o Options) (*Rig, error) {
	r := &Rig{opts: o}
	var err error
	if r.Rig, err = envoyrig.New(true); err != nil {
		return nil, err
	}
	r.App = httptest.NewServer(demoapp.Handler(demoapp.Config{Issuer: r.OP.Issuer(),
		Keys: func(context.Context) (*jose.JSONWebKeySet, error) { ks := r.OP.JWKS(); return &ks, nil }}))
	cfg := r.PluginConfig("soak", BearerAudience)
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
	if r.App != nil {
		r.App.Close()
	}
	r.Rig.Close()
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
	// first served (envoyrig.ProcessCPU): less sensitive to other load on the machine than
	// the wall times.
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
		Clusters: r.Clusters(),
	}, Concurrency: r.opts.Concurrency, LogWriter: r.opts.LogWriter, BaseLogLevel: "warning"})
	if err != nil {
		return nil, st, err
	}
	st.Ready = time.Since(t0)
	tok, err := r.bearerToken("rs", "ready", time.Now().Add(time.Hour))
	if err != nil {
		e.Close()
		return nil, st, err
	}
	sv, err := envoyrig.WaitServing(ctx, e.URL, e.PID(), t0, envoyrig.Probes{Page: "/app1/start",
		Authorize: r.OP.Endpoints().Authorize, API: "/api/whoami", Token: tok})
	st.Serving, st.Bearer, st.CPU = sv.Page, sv.Bearer, sv.CPU
	st.NotReady, st.BearerNotReady, st.Other = sv.NotReady, sv.BearerNotReady, sv.Other
	if err != nil {
		e.Close()
		return nil, st, err
	}
	st.BaseWasm, st.Compile = compileTimes(e.Log(), t0)
	return e, st, nil
}

// noRedirects is a client that returns redirects instead of following them.
func noRedirects() *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// StartBaseline starts Envoy with the same bootstrap but without the Wasm filter (the
// listener goes straight to the router and the app), to tell Envoy's own start and memory
// from the plugin's. It returns when admin /ready answers LIVE.
func (r *Rig) StartBaseline(ctx context.Context) (*envoy.Envoy, time.Duration, error) {
	t0 := time.Now()
	e, err := envoy.Start(ctx, envoy.Config{Bootstrap: envoy.Bootstrap{
		WasmPath: r.opts.WasmPath, PluginConfig: r.Config, Upstream: r.App.URL,
		Clusters: r.Clusters(), Edit: envoyrig.WithFilters(),
	}, Concurrency: r.opts.Concurrency, LogWriter: r.opts.LogWriter})
	if err != nil {
		return nil, 0, err
	}
	return e, time.Since(t0), nil
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
