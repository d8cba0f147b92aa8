// Package stack starts the whole demo on loopback: the embedded OpenID Provider, the demo app
// and plugin.wasm in front of it, in real Envoy or in e2e/host (Options.Proxy). `make run`
// (Envoy) and the end-to-end tests both use it, so what a newcomer clicks through is what
// the tests check.
package stack

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/demoapp"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/host"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/op"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/proxy"
)

// Options configure a Stack. The zero value gives the defaults of `make run`.
type Options struct {
	// Proxy is the proxy the plugin runs in: proxy.Envoy or proxy.Host; $E2E_PROXY (host when
	// unset) by default.
	Proxy proxy.Kind
	// PluginWasm is the path of the compiled plugin.
	PluginWasm string
	// Listen is the proxy's address, 127.0.0.1:0 by default; OPListen the provider's.
	Listen, OPListen string
	// VMs is the number of plugin VMs (worker threads); 2 by default.
	VMs int
	// Token lifetimes at the provider; zero means its defaults.
	AccessTTL, IDTTL, RefreshTTL time.Duration
	// OP tweaks the provider's configuration before it starts.
	OP func(*op.Config)
	// Keys are the plugin's session keys (id -> base64 secret); a fresh random key when empty.
	Keys []Key
	// Configure edits the plugin configuration (decoded JSON) before the host starts.
	Configure func(cfg map[string]any)
	// PluginConfig, when set, replaces the generated plugin configuration entirely.
	PluginConfig []byte
	// Env is the plugin VMs' environment (Envoy's vm_config.environment_variables), where
	// client.secret_env and keys[].secret_env find their secrets; empty by default.
	Env map[string]string
	// LogWriter receives the plugin's log lines.
	LogWriter io.Writer
	// CacheDir holds wazero's compilation cache (host only).
	CacheDir string
	// Upstream, when set, wraps the demo app: tests count or inspect what reaches the upstream.
	Upstream func(http.Handler) http.Handler
	// Clusters are callout clusters besides "oidc" (the provider), name -> base URL: a store
	// (config store.cluster), say.
	Clusters map[string]string
	// StopAllOnHeaderPause runs the proxy without allow_on_headers_stop_iteration (Envoy's
	// default, and Istio's): see proxy.Config.
	StopAllOnHeaderPause bool
}

// Key is one entry of the plugin's key ring.
type Key struct{ ID, Secret string }

// Stack is a running demo.
type Stack struct {
	OP *op.Server
	// Proxy is the running proxy; Host is set only when it is e2e/host (for what only our own
	// host can show: shared data, VM memory).
	Proxy   *proxy.Proxy
	Host    *host.Host
	URL     string // the proxy's base URL: what a browser opens
	AppURL  string // the demo app directly (bypassing the proxy)
	Config  []byte // the plugin configuration in use
	Keys    []Key
	app     *http.Server
	closers []func()
	opts    Options
	listen  string
}

// ClientID and ClientSecret are the plugin's client at the embedded provider.
const (
	ClientID     = "oidc-proxy"
	ClientSecret = "demo-client-secret-change-me"
)

// Start starts the provider, the app and the host. Close stops them.
func Start(ctx context.Context, o Options) (*Stack, error) {
	s := &Stack{}
	ok := false
	defer func() {
		if !ok {
			s.Close()
		}
	}()
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
	}
	if o.OPListen == "" {
		o.OPListen = "127.0.0.1:0"
	}
	if o.Proxy == "" {
		o.Proxy = proxy.FromEnv()
	}
	// The proxy's address is chosen before the provider starts: it is in the redirect URIs.
	s.listen = o.Listen
	if _, port, err := net.SplitHostPort(o.Listen); err != nil || port == "0" {
		if s.listen, err = proxy.FreeAddr(); err != nil {
			return nil, fmt.Errorf("stack: proxy address: %w", err)
		}
	}
	s.URL = "http://" + s.listen

	opCfg := op.Config{
		Addr: o.OPListen, ClientID: ClientID, ClientSecret: ClientSecret,
		RedirectURIs:           []string{s.URL + "/oauth2/callback"},
		PostLogoutRedirectURIs: []string{s.URL + "/oauth2/signed_out", s.URL + "/"},
		AccessTokenLifetime:    o.AccessTTL, IDTokenLifetime: o.IDTTL, RefreshTokenLifetime: o.RefreshTTL,
	}
	if o.OP != nil {
		o.OP(&opCfg)
	}
	var err error
	s.OP, err = op.Start(opCfg)
	if err != nil {
		return nil, fmt.Errorf("stack: provider: %w", err)
	}
	s.closers = append(s.closers, func() { s.OP.Close() })

	al, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("stack: app listener: %w", err)
	}
	s.AppURL = "http://" + al.Addr().String()
	app := demoapp.Handler(demoapp.Config{Issuer: s.OP.Issuer(), Keys: func(context.Context) (*jose.JSONWebKeySet, error) {
		ks := s.OP.JWKS()
		return &ks, nil
	}})
	if o.Upstream != nil {
		app = o.Upstream(app)
	}
	s.app = &http.Server{Handler: app, ReadHeaderTimeout: 10 * time.Second}
	go s.app.Serve(al)
	s.closers = append(s.closers, func() { s.app.Close() })

	s.Keys = o.Keys
	if len(s.Keys) == 0 {
		k, err := NewKey("k1")
		if err != nil {
			return nil, err
		}
		s.Keys = []Key{k}
	}
	s.Config = o.PluginConfig
	if s.Config == nil {
		cfg := PluginConfig(s.OP.Issuer(), s.Keys)
		if o.Configure != nil {
			o.Configure(cfg)
		}
		if s.Config, err = json.Marshal(cfg); err != nil {
			return nil, err
		}
	}
	s.opts = o
	if err := s.startProxy(ctx); err != nil {
		return nil, err
	}
	s.closers = append(s.closers, func() {
		if s.Proxy != nil {
			s.Proxy.Close()
		}
	})
	ok = true
	return s, nil
}

func (s *Stack) startProxy(ctx context.Context) error {
	o := s.opts
	p, err := proxy.Start(ctx, o.Proxy, proxy.Config{
		WasmPath: o.PluginWasm, PluginConfig: s.Config, VMs: o.VMs, Listen: s.listen,
		Clusters: s.clusters(), Upstream: s.AppURL,
		LogWriter: o.LogWriter, CacheDir: o.CacheDir, Env: o.Env, StopAllOnHeaderPause: o.StopAllOnHeaderPause,
	})
	if err != nil {
		return fmt.Errorf("stack: %s: %w", o.Proxy, err)
	}
	s.Proxy, s.Host = p, p.Host
	return nil
}

// Restart replaces the proxy with a new one (new VMs: empty caches and shared data) on the
// same address, provider and app, as an Envoy restart or another replica would. With keys,
// the plugin configuration is generated again with that key ring; without, it is kept. The
// old proxy is stopped first; an error from it (Envoy had crashed) is returned.
func (s *Stack) Restart(ctx context.Context, keys ...Key) error {
	if len(keys) > 0 {
		if s.opts.PluginConfig != nil {
			return errors.New("stack: Restart with keys needs a generated plugin configuration")
		}
		cfg := PluginConfig(s.OP.Issuer(), keys)
		if s.opts.Configure != nil {
			s.opts.Configure(cfg)
		}
		b, err := json.Marshal(cfg)
		if err != nil {
			return err
		}
		s.Config, s.Keys = b, keys
	}
	old := s.Proxy
	s.Proxy, s.Host = nil, nil
	if err := old.Close(); err != nil {
		return err
	}
	return s.startProxy(ctx)
}

// StartReplica starts another proxy with the same plugin configuration (so the same key
// ring), provider and app on an address of its own, as a second replica behind a load
// balancer would be: nothing is shared with the first but the keys. The stack stops it.
func (s *Stack) StartReplica(ctx context.Context) (*proxy.Proxy, error) {
	o := s.opts
	p, err := proxy.Start(ctx, o.Proxy, proxy.Config{
		WasmPath: o.PluginWasm, PluginConfig: s.Config, VMs: o.VMs,
		Clusters: s.clusters(), Upstream: s.AppURL,
		LogWriter: o.LogWriter, CacheDir: o.CacheDir, Env: o.Env, StopAllOnHeaderPause: o.StopAllOnHeaderPause,
	})
	if err != nil {
		return nil, fmt.Errorf("stack: replica: %w", err)
	}
	s.closers = append(s.closers, func() { p.Close() })
	return p, nil
}

// clusters are the proxy's callout clusters: the provider's and Options.Clusters.
func (s *Stack) clusters() map[string]string {
	cl := map[string]string{"oidc": s.OP.Issuer()}
	for k, v := range s.opts.Clusters {
		cl[k] = v
	}
	return cl
}

// Logs are the plugin's log lines, "[level] message"; LogText the proxy's whole log.
func (s *Stack) Logs() []string { return s.Proxy.Logs() }

// LogText is the proxy's log (on Envoy, Envoy's own lines too).
func (s *Stack) LogText() string { return s.Proxy.LogText() }

// Metric is the value of one of the plugin's counters.
func (s *Stack) Metric(name string) (int64, bool) { return s.Proxy.Metric(name) }

// WaitReady waits until the plugin has loaded the provider's metadata and keys: a protected
// navigation then gets a redirect instead of a 503.
func (s *Stack) WaitReady(ctx context.Context) error {
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", s.URL+"/", nil)
		req.Header.Set("Accept", "text/html")
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusFound {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return errors.New("stack: the plugin did not become ready (provider metadata not loaded)")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Close stops everything, in reverse order of starting.
func (s *Stack) Close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
}

// NewKey returns a random 32-byte session key.
func NewKey(id string) (Key, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return Key{}, err
	}
	return Key{ID: id, Secret: base64.RawURLEncoding.EncodeToString(b)}, nil
}

// PluginConfig is the plugin configuration for the embedded provider: http on loopback,
// cookies without Secure (the demo is plain http), tokens and claims forwarded to the app.
func PluginConfig(issuer string, keys []Key) map[string]any {
	ks := make([]any, len(keys))
	for i, k := range keys {
		ks[i] = map[string]any{"id": k.ID, "secret": k.Secret}
	}
	return map[string]any{
		"provider": map[string]any{
			"issuer": issuer, "insecure_allow_http": true, "cluster": "oidc", "timeout": "3s",
			"jwks_min_refetch_interval": "2s",
		},
		"client": map[string]any{"id": ClientID, "secret": ClientSecret},
		"scopes": []any{"openid", "profile", "email", "offline_access"},
		"keys":   ks,
		"cookie": map[string]any{"secure": false},
		// After sign-out the provider sends the browser to the plugin's signed-out page.
		"post_logout_redirect_url": "/oauth2/signed_out",
		"forward": map[string]any{
			"access_token_header": "X-Forwarded-Access-Token",
			"id_token_header":     "X-Forwarded-Id-Token",
		},
		"pass_through": []any{map[string]any{"path": "/healthz"}},
		"api":          map[string]any{"prefixes": []any{"/api/"}, "detect": true},
		// As the shipped envoy.yaml: both proxies hold only the headers on a pause (unless
		// Options.StopAllOnHeaderPause), so the plugin may read a body with its headers held.
		// token: the demo page's live panel keeps its socket's server supplied with fresh
		// tokens through {prefix}/tokens.js.
		"endpoints": map[string]any{"allow_on_headers_stop_iteration": true, "token": true},
	}
}
