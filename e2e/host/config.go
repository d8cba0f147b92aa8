package host

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"
)

// Config configures a Host. The zero value of every optional field selects the
// documented default.
type Config struct {
	// Wasm is the plugin module; if empty, WasmPath is read.
	Wasm     []byte
	WasmPath string

	// PluginConfig is the plugin configuration (JSON for our filter), readable in
	// proxy_on_configure. VMConfig is the VM configuration, readable in
	// proxy_on_vm_start.
	PluginConfig []byte
	VMConfig     []byte

	// Env is each VM's environment, read by the plugin through WASI environ
	// (Go's os.Getenv), as Envoy's vm_config.environment_variables: the VM
	// sees these variables and nothing else, none of the host process's own.
	// (Envoy's host_env_keys copies chosen variables of its process; here the
	// caller does that, e.g. Env: map[string]string{"K": os.Getenv("K")}.)
	// Names must be non-empty and hold no '=' or NUL; values no NUL.
	Env map[string]string

	// PluginName, RootID and VMID are the plugin's name, root id and vm id, as
	// Envoy's `name`, `root_id` and `vm_config.vm_id`; they are visible as the
	// plugin_name, plugin_root_id and plugin_vm_id properties.
	PluginName, RootID, VMID string

	// VMs is the number of VMs (simulated worker threads). Default 2.
	VMs int
	// PinPerConnection sends every request of one client connection to the same
	// VM instead of round-robin across VMs.
	PinPerConnection bool

	// Clusters maps a cluster name, as passed to proxy_http_call, to a base URL
	// (http://127.0.0.1:port or https://...).
	Clusters map[string]string
	// Upstream is the base URL of the app behind the proxy. Without it, requests
	// the plugin lets through get Envoy's 503 "no healthy upstream".
	Upstream string
	// TLSClientConfig is used for https upstreams and clusters.
	TLSClientConfig *tls.Config

	// UpstreamTimeout is the route timeout: from the request being forwarded to
	// the response being complete, as Envoy's route `timeout`. Default 15s, like
	// Envoy; negative disables it. Upgraded (websocket) streams are exempt.
	UpstreamTimeout time.Duration
	// StreamIdleTimeout ends a stream paused with no progress, as Envoy's
	// stream_idle_timeout (408 "stream timeout"). Default 5m.
	StreamIdleTimeout time.Duration
	// AllowOnHeadersStopIteration is Envoy's PluginConfig
	// allow_on_headers_stop_iteration (Envoy >= 1.35): a pause in
	// proxy_on_request_headers of a request with a body holds only the headers,
	// and proxy_on_request_body comes at once (the headers still readable and
	// writable); Continue from it or proxy_continue_stream sends both upstream.
	// Off, as Envoy's default, a pause stops the whole stream: no body callback
	// until the plugin continues, and continued headers go upstream before the
	// body callback runs (the app sees them even when the plugin then answers).
	AllowOnHeadersStopIteration bool
	// UpgradeTypes are the connection manager's upgrade_configs: the upgrade
	// types (the Upgrade header's value, compared case-insensitively) it lets
	// through to the filters and the upstream. Any other upgrade is answered 403
	// (empty body, details upgrade_failed) before the plugin's request callbacks,
	// as Envoy does; the plugin sees only proxy_on_log and proxy_on_done. The
	// shipped envoy.yaml has ["websocket"]; the default, none, is Envoy's.
	UpgradeTypes []string
	// MaxRequestBody caps the buffered request body (413 beyond it), as Envoy's
	// per-connection buffer limit would when a filter buffers. Default 32 MiB.
	MaxRequestBody int64
	// MaxCalloutResponse caps a callout response body; beyond it the callout is
	// reset and delivered with zero headers, like Envoy's async client.
	// Default 16 MiB.
	MaxCalloutResponse int64

	// LogWriter receives every plugin log line (they are also kept in memory,
	// see Host.Logs). LogLevel is what proxy_get_log_level reports and the
	// lowest level kept; the default, LogTrace, keeps everything (Envoy's own
	// default is info). MaxLogEntries bounds the in-memory log (default 10000,
	// oldest dropped).
	LogWriter     io.Writer
	LogLevel      LogLevel
	MaxLogEntries int

	// CacheDir, if set, holds wazero's compilation cache so later runs skip
	// compiling plugin.wasm.
	CacheDir string
}

const (
	defaultVMs                = 2
	defaultUpstreamTimeout    = 15 * time.Second
	defaultStreamIdleTimeout  = 5 * time.Minute
	defaultMaxRequestBody     = 32 << 20
	defaultMaxCalloutResponse = 16 << 20
	defaultMaxLogEntries      = 10000
)

// ErrConfig is wrapped by every configuration error New returns.
var ErrConfig = errors.New("host: invalid config")

// resolved is a validated Config with defaults applied.
type resolved struct {
	Config
	wasm     []byte
	upstream *url.URL
	clusters map[string]*url.URL
}

func resolve(cfg Config) (*resolved, error) {
	r := &resolved{Config: cfg, clusters: map[string]*url.URL{}}
	var errs []error
	r.wasm = cfg.Wasm
	if len(r.wasm) == 0 {
		if cfg.WasmPath == "" {
			errs = append(errs, fmt.Errorf("%w: Wasm or WasmPath is required", ErrConfig))
		} else if b, err := os.ReadFile(cfg.WasmPath); err != nil {
			errs = append(errs, fmt.Errorf("%w: WasmPath: %v", ErrConfig, err))
		} else {
			r.wasm = b
		}
	}
	if r.VMs == 0 {
		r.VMs = defaultVMs
	}
	if r.VMs < 0 {
		errs = append(errs, fmt.Errorf("%w: VMs must be positive, got %d", ErrConfig, r.VMs))
	}
	if cfg.Upstream != "" {
		u, err := parseBaseURL(cfg.Upstream)
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: Upstream: %v", ErrConfig, err))
		}
		r.upstream = u
	}
	for name, val := range cfg.Env {
		if name == "" || strings.ContainsAny(name, "=\x00") || strings.ContainsRune(val, 0) {
			errs = append(errs, fmt.Errorf("%w: Env[%q]: a name must be non-empty without '=' or NUL, a value without NUL", ErrConfig, name))
		}
	}
	for name, raw := range cfg.Clusters {
		u, err := parseBaseURL(raw)
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: Clusters[%q]: %v", ErrConfig, name, err))
			continue
		}
		r.clusters[name] = u
	}
	if r.UpstreamTimeout == 0 {
		r.UpstreamTimeout = defaultUpstreamTimeout
	}
	if r.StreamIdleTimeout <= 0 {
		r.StreamIdleTimeout = defaultStreamIdleTimeout
	}
	if r.MaxRequestBody <= 0 {
		r.MaxRequestBody = defaultMaxRequestBody
	}
	if r.MaxCalloutResponse <= 0 {
		r.MaxCalloutResponse = defaultMaxCalloutResponse
	}
	if r.MaxLogEntries <= 0 {
		r.MaxLogEntries = defaultMaxLogEntries
	}
	if r.LogLevel > LogCritical {
		errs = append(errs, fmt.Errorf("%w: LogLevel %d is not a proxy-wasm log level", ErrConfig, r.LogLevel))
	}
	return r, errors.Join(errs...)
}

func parseBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%q: scheme must be http or https", raw)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("%q: no host", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%q: a base URL has no query or fragment", raw)
	}
	return u, nil
}
