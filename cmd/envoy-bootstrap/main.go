// Command envoy-bootstrap writes an Envoy bootstrap that puts plugin.wasm in front of your own app,
// and can run it.
//
// The bootstrap is the shipped envoy.yaml with your plugin configuration, your provider, your
// app and your addresses (package e2e/envoy renders it). The plugin configuration is checked
// first with package config, so every problem is reported with its JSON path before Envoy
// ever sees it.
//
//	go run ./cmd/envoy-bootstrap -plugin-config my.json -provider https://login.example.com \
//	    -upstream http://127.0.0.1:3000 -env OIDC_CLIENT_SECRET -o envoy.local.yaml
//	.cache/envoy/envoy -c envoy.local.yaml
//
// or, with -run, it starts Envoy itself (installed into .cache/envoy by
// scripts/ensure-envoy.sh) and stops it on Ctrl-C. Secrets named with -env are read by the
// plugin's VM from Envoy's environment (host_env_keys), so they never land in the file.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/config"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/envoy"
	"sigs.k8s.io/yaml"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "envoy-bootstrap:", err)
		}
		os.Exit(1)
	}
}

// envList is a repeatable -env flag.
type envList []string

func (e *envList) String() string { return strings.Join(*e, ",") }
func (e *envList) Set(s string) error {
	*e = append(*e, s)
	return nil
}

// options are the parsed flags.
type options struct {
	pluginConfig, provider, upstream, listen, admin, wasm, out string
	env                                                        envList
	run                                                        bool
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("envoy-bootstrap", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.pluginConfig, "plugin-config", "", "the plugin's JSON configuration `file` (its provider cluster must be \"oidc\")")
	fs.StringVar(&o.provider, "provider", "", "base `URL` of the provider (the \"oidc\" cluster); https keeps TLS with SNI = host")
	fs.StringVar(&o.upstream, "upstream", "http://127.0.0.1:3000", "base `URL` of your app")
	fs.StringVar(&o.listen, "listen", "127.0.0.1:8080", "listener `address`")
	fs.StringVar(&o.admin, "admin", "127.0.0.1:9901", "admin interface `address`")
	fs.StringVar(&o.wasm, "wasm", "plugin.wasm", "the plugin `file`")
	fs.Var(&o.env, "env", "`NAME` of an environment variable the plugin reads from Envoy's environment (repeatable)")
	fs.StringVar(&o.out, "o", "", "write the bootstrap (YAML) to `FILE`; stdout by default")
	fs.BoolVar(&o.run, "run", false, "start Envoy with the bootstrap; stop it on Ctrl-C")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if o.pluginConfig == "" {
		return nil, errors.New("-plugin-config is required")
	}
	if o.provider == "" {
		return nil, errors.New("-provider is required")
	}
	for _, f := range []struct{ name, val string }{{"provider", o.provider}, {"upstream", o.upstream}} {
		u, err := url.Parse(f.val)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, fmt.Errorf("-%s %q: want an http:// or https:// URL", f.name, f.val)
		}
	}
	for _, f := range []struct{ name, val string }{{"listen", o.listen}, {"admin", o.admin}} {
		if _, _, err := net.SplitHostPort(f.val); err != nil {
			return nil, fmt.Errorf("-%s %q: want host:port", f.name, f.val)
		}
	}
	if o.wasm == "" {
		return nil, errors.New("-wasm must name the plugin file")
	}
	for _, n := range o.env {
		if n == "" || strings.ContainsAny(n, "= \t") {
			return nil, fmt.Errorf("-env %q: want an environment variable name", n)
		}
	}
	return o, nil
}

// checkPlugin validates the plugin configuration, with the -env names looked up in lookup.
func checkPlugin(data []byte, names []string, lookup func(string) (string, bool)) error {
	allowed := map[string]bool{}
	for _, n := range names {
		allowed[n] = true
	}
	env := func(name string) (string, bool) {
		if !allowed[name] {
			return "", false
		}
		return lookup(name)
	}
	cfg, err := config.ParseWithEnv(data, env)
	if err != nil {
		var b strings.Builder
		fmt.Fprintln(&b, "the plugin configuration has problems:")
		if fes := config.FieldErrors(err); len(fes) > 0 {
			for _, fe := range fes {
				fmt.Fprintf(&b, "  %s\n", fe)
			}
		} else {
			fmt.Fprintf(&b, "  %v\n", err)
		}
		if len(names) == 0 && strings.Contains(err.Error(), "secret_env") {
			fmt.Fprintln(&b, "  (name each secret_env variable with -env NAME, and set it in this environment)")
		}
		return errors.New(strings.TrimRight(b.String(), "\n"))
	}
	if cfg.Provider.Cluster != "oidc" {
		return fmt.Errorf("provider.cluster: is %q; the bootstrap's provider cluster is \"oidc\"", cfg.Provider.Cluster)
	}
	if j := cfg.Provider.JWKSCluster; j != "" && j != "oidc" {
		return fmt.Errorf("provider.jwks_cluster: is %q; the bootstrap's provider cluster is \"oidc\"", j)
	}
	return nil
}

func bootstrapOf(o *options, plugin []byte) envoy.Bootstrap {
	return envoy.Bootstrap{
		Listen: o.listen, Admin: o.admin, WasmPath: o.wasm, PluginConfig: plugin,
		Clusters: map[string]string{"oidc": o.provider}, Upstream: o.upstream,
		HostEnvKeys: o.env,
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, lookup func(string) (string, bool)) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	plugin, err := os.ReadFile(o.pluginConfig)
	if err != nil {
		return err
	}
	if err := checkPlugin(plugin, o.env, lookup); err != nil {
		return fmt.Errorf("%s: %w", o.pluginConfig, err)
	}
	if _, err := os.Stat(o.wasm); err != nil {
		return fmt.Errorf("-wasm: %w (build it with make build)", err)
	}
	b := bootstrapOf(o, plugin)
	js, err := envoy.Render(b)
	if err != nil {
		return err
	}
	y, err := yaml.JSONToYAML(js)
	if err != nil {
		return err
	}
	if o.out != "" {
		if err := os.WriteFile(o.out, y, 0o644); err != nil {
			return err
		}
	} else if !o.run {
		_, err := stdout.Write(y)
		return err
	}
	if !o.run {
		return nil
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	e, err := envoy.Start(ctx, envoy.Config{Bootstrap: b, LogWriter: stderr})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Envoy is listening on %s (admin %s); Ctrl-C stops it\n", e.URL, e.AdminURL)
	return wait(ctx, e)
}

// wait returns when ctx is done (Ctrl-C, SIGTERM), then stops Envoy, or when Envoy exits on
// its own, which is an error. Ctrl-C in a terminal signals Envoy too (same process group), so
// an Envoy that ended after the signal is a clean stop.
func wait(ctx context.Context, e *envoy.Envoy) error {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			deadline := time.Now().Add(500 * time.Millisecond)
			for !e.Exited() && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			if e.Exited() {
				_ = e.Close() // removes its files; its "ended before Close" is the signal
				return nil
			}
			return e.Close()
		case <-tick.C:
			if e.Exited() {
				return e.Close() // quotes Envoy's log
			}
		}
	}
}
