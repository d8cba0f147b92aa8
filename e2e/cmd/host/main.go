// Command host runs a proxy-wasm plugin in front of an upstream, the way an
// Envoy listener with the plugin as an HTTP filter would:
//
//	host -wasm plugin.wasm -plugin-config config.json \
//	     -cluster idp=http://127.0.0.1:9000 -upstream http://127.0.0.1:9001 \
//	     -listen 127.0.0.1:8080 -vms 2 -env OIDC_CLIENT_SECRET -env LOG_MODE=debug
//
// The plugin's VMs see only the environment variables given by -env, as with
// Envoy's vm_config.environment_variables: -env NAME passes the host's own
// variable (host_env_keys), -env NAME=value sets one (key_values).
//
// Plugin logs go to stderr. SIGINT or SIGTERM stops it cleanly: the listener
// drains, then each VM's root context gets proxy_on_done and proxy_on_delete.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/host"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr, nil); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "host:", err)
		}
		os.Exit(1)
	}
}

// clusterFlags collects repeated -cluster name=url flags.
type clusterFlags map[string]string

func (c clusterFlags) String() string { return fmt.Sprint(map[string]string(c)) }

func (c clusterFlags) Set(s string) error {
	name, url, ok := strings.Cut(s, "=")
	if !ok || name == "" || url == "" {
		return fmt.Errorf("want name=url, got %q", s)
	}
	if _, dup := c[name]; dup {
		return fmt.Errorf("cluster %q given twice", name)
	}
	c[name] = url
	return nil
}

// upgradeFlags collects repeated -upgrade TYPE flags: the connection manager's
// upgrade_configs.
type upgradeFlags []string

func (u *upgradeFlags) String() string { return strings.Join(*u, ",") }

func (u *upgradeFlags) Set(s string) error {
	if s == "" || strings.ContainsAny(s, " ,") {
		return fmt.Errorf("want one upgrade type such as websocket, got %q", s)
	}
	*u = append(*u, s)
	return nil
}

// envFlags collects repeated -env NAME or NAME=value flags: the VMs' environment.
type envFlags map[string]string

func (e envFlags) String() string {
	names := make([]string, 0, len(e))
	for n := range e {
		names = append(names, n)
	}
	return strings.Join(names, ",") // names only: values may be secrets
}

func (e envFlags) Set(s string) error {
	name, val, literal := strings.Cut(s, "=")
	if name == "" {
		return fmt.Errorf("want NAME or NAME=value, got %q", s)
	}
	if _, dup := e[name]; dup {
		return fmt.Errorf("environment variable %q given twice", name)
	}
	if !literal {
		// Like Envoy's host_env_keys: a variable the host does not have is left out.
		v, ok := os.LookupEnv(name)
		if !ok {
			return nil
		}
		val = v
	}
	e[name] = val
	return nil
}

var levels = map[string]host.LogLevel{
	"trace": host.LogTrace, "debug": host.LogDebug, "info": host.LogInfo,
	"warn": host.LogWarn, "error": host.LogError, "critical": host.LogCritical,
}

// run serves until ctx is done. ready, if set, receives the listening address.
func run(ctx context.Context, args []string, stderr io.Writer, ready func(addr string)) error {
	fs := flag.NewFlagSet("host", flag.ContinueOnError)
	fs.SetOutput(stderr)
	clusters := clusterFlags{}
	env := envFlags{}
	var upgrades upgradeFlags
	var (
		wasm         = fs.String("wasm", "plugin.wasm", "plugin module")
		pluginConfig = fs.String("plugin-config", "", "file with the plugin configuration (JSON)")
		vmConfig     = fs.String("vm-config", "", "file with the VM configuration")
		upstream     = fs.String("upstream", "", "base URL of the app behind the proxy")
		listen       = fs.String("listen", "127.0.0.1:8080", "address to listen on")
		vms          = fs.Int("vms", 2, "number of VMs (simulated worker threads)")
		pin          = fs.Bool("pin", false, "pin each client connection to one VM instead of round-robin")
		holdHeaders  = fs.Bool("allow-on-headers-stop-iteration", false, "as Envoy's PluginConfig allow_on_headers_stop_iteration: a pause in the request headers holds only them, the body callback still comes")
		name         = fs.String("name", "oidc", "plugin name (the plugin_name property)")
		rootID       = fs.String("root-id", "", "plugin root id")
		cacheDir     = fs.String("cache", "", "wazero compilation cache directory")
		level        = fs.String("log-level", "info", "lowest plugin log level shown: trace, debug, info, warn, error, critical")
	)
	fs.Var(clusters, "cluster", "a cluster for proxy_http_call, as name=url (repeatable)")
	fs.Var(&upgrades, "upgrade", "an upgrade type let through, as the connection manager's upgrade_configs (repeatable; envoy.yaml has websocket); others get Envoy's 403")
	fs.Var(env, "env", "an environment variable for the VMs: NAME passes the host's value, NAME=value sets it (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	lvl, ok := levels[*level]
	if !ok {
		return fmt.Errorf("-log-level %q: want one of trace, debug, info, warn, error, critical", *level)
	}
	cfg := host.Config{
		WasmPath: *wasm, Upstream: *upstream, VMs: *vms, PinPerConnection: *pin,
		PluginName: *name, RootID: *rootID, Clusters: clusters, CacheDir: *cacheDir,
		LogWriter: stderr, LogLevel: lvl, Env: env, AllowOnHeadersStopIteration: *holdHeaders,
		UpgradeTypes: upgrades,
	}
	for _, f := range []struct {
		path string
		dst  *[]byte
	}{{*pluginConfig, &cfg.PluginConfig}, {*vmConfig, &cfg.VMConfig}} {
		if f.path == "" {
			continue
		}
		b, err := os.ReadFile(f.path)
		if err != nil {
			return err
		}
		*f.dst = b
	}

	logger := log.New(stderr, "host: ", log.LstdFlags)
	start := time.Now()
	h, err := host.New(ctx, cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		_ = h.Close(context.Background())
		return err
	}
	logger.Printf("%s: %d VMs ready in %v; listening on http://%s, upstream %s, clusters %v",
		*wasm, *vms, time.Since(start).Round(time.Millisecond), ln.Addr(), *upstream, clusters)
	if ready != nil {
		ready(ln.Addr().String())
	}

	srv := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second, ErrorLog: logger}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		_ = h.Close(context.Background())
		return err
	case <-ctx.Done():
	}
	logger.Print("shutting down")
	// Drain for a moment; streams still paused after that are cancelled by Close.
	drain, cancelDrain := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancelDrain()
	shutdownErr := srv.Shutdown(drain)
	closing, cancelClose := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelClose()
	if err := h.Close(closing); err != nil {
		return err
	}
	if shutdownErr != nil && !errors.Is(shutdownErr, context.DeadlineExceeded) {
		return shutdownErr
	}
	return nil
}
