// Package proxy starts plugin.wasm behind one of the two proxies the end-to-end suites run
// on: real Envoy (e2e/envoy, the judge) or e2e/host (our wazero host: fast, and able to
// inject faults Envoy cannot). Scenarios are written once against Proxy; E2E_PROXY=envoy
// (or host, the default for `go test`) picks the implementation.
package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/envoy"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/host"
)

// Kind names an implementation.
type Kind string

// The implementations.
const (
	Host  Kind = "host"
	Envoy Kind = "envoy"
)

// FromEnv is $E2E_PROXY ("envoy" or "host"); host when unset.
func FromEnv() Kind {
	switch k := Kind(strings.ToLower(os.Getenv("E2E_PROXY"))); k {
	case Envoy:
		return Envoy
	default:
		return Host
	}
}

// Config is what both proxies take.
type Config struct {
	WasmPath     string
	PluginConfig []byte
	// VMs is the number of plugin VMs: host VMs, or Envoy's worker threads (--concurrency).
	VMs int
	// Clusters are the callout clusters, name -> base URL; Upstream the app.
	Clusters map[string]string
	Upstream string
	// Env is the plugin VM's environment (vm_config.environment_variables).
	Env       map[string]string
	LogWriter io.Writer
	// Listen is the proxy's address; 127.0.0.1:0 by default.
	Listen string
	// StopAllOnHeaderPause runs the proxy as Envoy does without the shipped envoy.yaml's
	// allow_on_headers_stop_iteration (Envoy's default, and Istio's): a pause in the request
	// headers stops the body callbacks too. Both proxies hold only the headers otherwise.
	StopAllOnHeaderPause bool
	// CacheDir (wazero's compilation cache) and MaxLogEntries apply to the host only.
	CacheDir      string
	MaxLogEntries int
}

// Proxy is a running proxy with the plugin.
type Proxy struct {
	URL   string // what a client opens: http://127.0.0.1:PORT
	Kind  Kind
	Host  *host.Host   // set on the host
	Envoy *envoy.Envoy // set on Envoy
	srv   *http.Server
}

// Start starts the plugin behind the proxy of kind k. An error quotes the plugin's log when
// the plugin refused to start.
func Start(ctx context.Context, k Kind, c Config) (*Proxy, error) {
	if c.Listen == "" {
		c.Listen = "127.0.0.1:0"
	}
	if c.VMs == 0 {
		c.VMs = 2
	}
	switch k {
	case Envoy:
		e, err := envoy.Start(ctx, envoy.Config{Bootstrap: envoy.Bootstrap{
			Listen: c.Listen, WasmPath: c.WasmPath, PluginConfig: c.PluginConfig,
			Clusters: c.Clusters, Upstream: c.Upstream, Env: c.Env, StopAllOnHeaderPause: c.StopAllOnHeaderPause,
		}, Concurrency: c.VMs, LogWriter: c.LogWriter})
		if err != nil {
			return nil, err
		}
		return &Proxy{URL: e.URL, Kind: Envoy, Envoy: e}, nil
	case Host, "":
		h, err := host.New(ctx, host.Config{
			WasmPath: c.WasmPath, PluginConfig: c.PluginConfig, PluginName: "oidc-proxy", RootID: "oidc-proxy",
			VMs: c.VMs, Clusters: c.Clusters, Upstream: c.Upstream, Env: c.Env, LogWriter: c.LogWriter,
			CacheDir: c.CacheDir, MaxLogEntries: c.MaxLogEntries,
			AllowOnHeadersStopIteration: !c.StopAllOnHeaderPause, // as the shipped envoy.yaml
			UpgradeTypes:                []string{"websocket"},   // envoy.yaml's upgrade_configs
		})
		if err != nil {
			return nil, err
		}
		ln, err := net.Listen("tcp", c.Listen)
		if err != nil {
			h.Close(ctx)
			return nil, fmt.Errorf("proxy: listener: %w", err)
		}
		p := &Proxy{URL: "http://" + ln.Addr().String(), Kind: Host, Host: h,
			srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}}
		go p.srv.Serve(ln)
		return p, nil
	}
	return nil, fmt.Errorf("proxy: unknown kind %q", k)
}

// FreeAddr returns a loopback address with a port that was free a moment ago: for a proxy
// whose address must be known before it starts (a provider's redirect URI).
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// Logs are the plugin's log lines, each "[level] message" (levels trace, debug, info, warn,
// error, critical on both proxies).
func (p *Proxy) Logs() []string {
	var out []string
	if p.Host != nil {
		for _, e := range p.Host.Logs() {
			out = append(out, "["+e.Level.String()+"] "+e.Message)
		}
		return out
	}
	for _, l := range p.Envoy.Logs() {
		lvl := l.Level
		if lvl == "warning" {
			lvl = "warn"
		}
		out = append(out, "["+lvl+"] "+l.Message)
	}
	return out
}

// LogText is Logs joined by newlines (on Envoy, the whole of Envoy's log: its own lines
// explain a failure too).
func (p *Proxy) LogText() string {
	if p.Envoy != nil {
		return p.Envoy.Log()
	}
	return strings.Join(p.Logs(), "\n")
}

// Metric is the value of a counter or gauge the plugin defined.
func (p *Proxy) Metric(name string) (int64, bool) {
	if p.Host != nil {
		return p.Host.Metric(name)
	}
	v, ok := p.Envoy.Metric(name)
	return int64(v), ok
}

// Close stops the proxy. On Envoy it reports a crash before Close.
func (p *Proxy) Close() error {
	if p.Host != nil {
		p.srv.Close()
		return p.Host.Close(context.Background())
	}
	if p.Envoy != nil {
		return p.Envoy.Close()
	}
	return errors.New("proxy: nothing to close")
}
