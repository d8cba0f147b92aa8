// Package stack starts the whole demo on loopback: the embedded OpenID Provider, the demo app
// and the proxy-wasm host running plugin.wasm in front of it. `make run` and the end-to-end
// tests both use it, so what a newcomer clicks through is what the tests check.
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
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/demoapp"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/host"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/op"
)

// Options configure a Stack. The zero value gives the defaults of `make run`.
type Options struct {
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
	// CacheDir holds wazero's compilation cache.
	CacheDir string
	// Upstream, when set, wraps the demo app: tests count or inspect what reaches the upstream.
	Upstream func(http.Handler) http.Handler
}

// Key is one entry of the plugin's key ring.
type Key struct{ ID, Secret string }

// Stack is a running demo.
type Stack struct {
	OP      *op.Server
	Host    *host.Host
	URL     string // the proxy's base URL: what a browser opens
	AppURL  string // the demo app directly (bypassing the proxy)
	Config  []byte // the plugin configuration in use
	Keys    []Key
	proxy   *http.Server
	app     *http.Server
	closers []func()
	opts    Options
	current atomic.Pointer[host.Host]
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
	pl, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return nil, fmt.Errorf("stack: proxy listener: %w", err)
	}
	s.closers = append(s.closers, func() { pl.Close() })
	s.URL = "http://" + pl.Addr().String()

	opCfg := op.Config{
		Addr: o.OPListen, ClientID: ClientID, ClientSecret: ClientSecret,
		RedirectURIs:           []string{s.URL + "/oauth2/callback"},
		PostLogoutRedirectURIs: []string{s.URL + "/"},
		AccessTokenLifetime:    o.AccessTTL, IDTokenLifetime: o.IDTTL, RefreshTokenLifetime: o.RefreshTTL,
	}
	if o.OP != nil {
		o.OP(&opCfg)
	}
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
	if s.Host, err = s.newHost(ctx); err != nil {
		return nil, err
	}
	s.current.Store(s.Host)
	s.closers = append(s.closers, func() { s.current.Load().Close(context.Background()) })
	s.proxy = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.current.Load().ServeHTTP(w, r)
	}), ReadHeaderTimeout: 10 * time.Second}
	go s.proxy.Serve(pl)
	s.closers = append(s.closers, func() { s.proxy.Close() })
	ok = true
	return s, nil
}

func (s *Stack) newHost(ctx context.Context) (*host.Host, error) {
	o := s.opts
	return host.New(ctx, host.Config{
		WasmPath: o.PluginWasm, PluginConfig: s.Config, PluginName: "oidc-proxy", RootID: "oidc-proxy",
		VMs: o.VMs, Clusters: map[string]string{"oidc": s.OP.Issuer()}, Upstream: s.AppURL,
		LogWriter: o.LogWriter, CacheDir: o.CacheDir, Env: o.Env,
	})
}

// RestartHost replaces the proxy-wasm host with a new one (new VMs: empty caches and shared
// data) on the same address, provider and app, as an Envoy restart or another replica would.
// With keys, the plugin configuration is generated again with that key ring; without, it is
// kept. The old host is closed first.
func (s *Stack) RestartHost(ctx context.Context, keys ...Key) error {
	if len(keys) > 0 {
		if s.opts.PluginConfig != nil {
			return errors.New("stack: RestartHost with keys needs a generated plugin configuration")
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
	s.current.Load().Close(ctx)
	h, err := s.newHost(ctx)
	if err != nil {
		return err
	}
	s.Host = h
	s.current.Store(h)
	return nil
}

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
		// After sign-out the provider sends the browser back to the app.
		"post_logout_redirect_url": "/",
		"forward": map[string]any{
			"access_token_header": "X-Forwarded-Access-Token",
			"id_token_header":     "X-Forwarded-Id-Token",
		},
		"pass_through": []any{map[string]any{"path": "/healthz"}},
		"api":          map[string]any{"prefixes": []any{"/api/"}, "detect": true},
	}
}
