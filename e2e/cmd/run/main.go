// Command run is `make run`: the embedded OpenID Provider, the demo app, and plugin.wasm in
// real Envoy in front of it (or in e2e/host with -proxy host), on loopback. It prints where to
// click and stops on Ctrl-C.
//
// To put the plugin in front of your own app and provider instead, render an Envoy bootstrap
// for them with cmd/envoy-bootstrap.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/envoy"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/proxy"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/stack"
)

func main() {
	var o stack.Options
	flag.StringVar(&o.PluginWasm, "wasm", "plugin.wasm", "the compiled plugin")
	flag.StringVar(&o.Listen, "listen", envOr("LISTEN", "127.0.0.1:8080"), "the proxy's address (env LISTEN)")
	flag.StringVar(&o.OPListen, "op-listen", envOr("OP_LISTEN", "127.0.0.1:9000"), "the OpenID Provider's address (env OP_LISTEN)")
	flag.IntVar(&o.VMs, "vms", 2, "plugin VMs (Envoy worker threads)")
	kind := flag.String("proxy", "envoy", "the proxy: envoy (the official Envoy binary) or host (e2e/host, our wazero test host)")
	flag.DurationVar(&o.AccessTTL, "access-ttl", 0, "access token lifetime at the provider (default: the provider's)")
	flag.DurationVar(&o.IDTTL, "id-ttl", 0, "ID token lifetime at the provider")
	flag.DurationVar(&o.RefreshTTL, "refresh-ttl", 0, "refresh token lifetime at the provider")
	configFile := flag.String("plugin-config", "", "a plugin configuration file to use instead of the generated one (its provider cluster must be named \"oidc\")")
	quiet := flag.Bool("quiet", false, "do not print the plugin's log")
	flag.Parse()

	if *configFile != "" {
		b, err := os.ReadFile(*configFile)
		if err != nil {
			fatal(err)
		}
		o.PluginConfig = b
	}
	if !*quiet {
		o.LogWriter = os.Stderr
	}
	o.CacheDir = cacheDir()
	o.Proxy = proxy.Kind(*kind)
	if o.Proxy != proxy.Envoy && o.Proxy != proxy.Host {
		fatal(fmt.Errorf("-proxy %q: want envoy or host", *kind))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := stack.Start(ctx, o)
	if err != nil {
		fatal(err)
	}
	defer s.Close()
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	if err := s.WaitReady(wctx); err != nil {
		cancel()
		fatal(err)
	}
	cancel()
	where := "e2e/host (the wazero test host)"
	if e := s.Proxy.Envoy; e != nil {
		v, _ := envoyVersion()
		where = fmt.Sprintf("Envoy %s, pid %d; admin (stats, config): %s", v, e.PID(), e.AdminURL)
	}
	fmt.Printf(`
oidc-proxy-wasm is running in %s.

  Open:        %s/            (the demo app, behind the plugin)
  Also:        %s/app1/  and  %s/app2/
  Sign in as:  demo / demo
  Provider:    %s
  Sign out:    %s/oauth2/sign_out

The page's "Live" panel keeps a WebSocket open, as a Shiny or Streamlit app does, and shows the
access token its server holds and how long it has left: the page renews it through
/oauth2/tokens.js before it expires, without a reload (-access-ttl 1m to watch it happen).

Ctrl-C stops it.
`, where, s.URL, s.URL, s.URL, s.OP.Issuer(), s.URL)
	<-ctx.Done()
	fmt.Println("\nstopping")
}

func envoyVersion() (string, error) { return envoy.Version() }

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func cacheDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return d + "/oidc-proxy-wasm/wazero"
	}
	return ""
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "make run:", err)
	os.Exit(1)
}
