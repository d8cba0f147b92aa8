package host

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/envoy"
)

// TestEnvoyConformance runs the conformance table (conformance_test.go) against the
// conformance plugin in the real Envoy (e2e/envoy), which is the judge of what
// this host copies, and then what only Envoy's configuration can show (a second Envoy
// without allow_on_headers_stop_iteration or without upgrade_configs, the refused start,
// the VMs' lifecycle). One Envoy serves every case: starting one costs seconds.
func TestEnvoyConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Envoy")
	}
	if _, err := envoy.Binary(); err != nil {
		t.Fatalf("no Envoy binary (Envoy is the judge; scripts/ensure-envoy.sh installs it): %v", err)
	}
	start := time.Now()
	dir := t.TempDir()
	wasmPath := filepath.Join(dir, "conformance.wasm")
	if err := os.WriteFile(wasmPath, conformancePlugin(t), 0o600); err != nil {
		t.Fatal(err)
	}
	up := newUpstream(t)
	cl := clusters(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// A plugin whose proxy_on_configure returns false: Envoy refuses the configuration
	// (the main thread's validation VM fails) and exits. Started alongside the main one.
	refused := make(chan error, 1)
	go func() {
		rdir := filepath.Join(dir, "refused")
		if err := os.MkdirAll(rdir, 0o700); err != nil {
			refused <- err
			return
		}
		e, err := envoy.Start(ctx, envoy.Config{Dir: rdir, Bootstrap: envoy.Bootstrap{
			WasmPath: wasmPath, PluginConfig: []byte(`{"fail":"issuer is not https"}`),
			PluginName: "conformance", RootID: "conf_root", VMID: "conf_vm",
			Clusters: cl, Upstream: up.URL,
		}})
		if err == nil {
			e.Close()
			err = nil
			refused <- fmt.Errorf("Envoy started with a plugin whose proxy_on_configure returned false")
			return
		}
		refused <- err
	}()

	edir := filepath.Join(dir, "envoy")
	if err := os.MkdirAll(edir, 0o700); err != nil {
		t.Fatal(err)
	}
	e, err := envoy.Start(ctx, envoy.Config{Dir: edir, Bootstrap: envoy.Bootstrap{
		WasmPath:     wasmPath,
		PluginConfig: []byte(`{"tick_ms":50,"queue":"jobs"}`),
		PluginName:   "conformance", RootID: "conf_root", VMID: "conf_vm",
		Clusters: cl, Upstream: up.URL,
		Env: map[string]string{"OIDC_CLIENT_SECRET": "s3cret", "B_EMPTY": "", "C_EQ": "a=b c"},
		Edit: func(doc map[string]any) error {
			hcm := envoyPath(doc, "static_resources", "listeners", "0", "filter_chains", "0", "filters", "0", "typed_config").(map[string]any)
			for _, h := range hcm["http_filters"].([]any) {
				if m := h.(map[string]any); m["name"] == "envoy.filters.http.wasm" {
					vm := envoyPath(m, "typed_config", "config", "vm_config").(map[string]any)
					vm["configuration"] = map[string]any{"@type": "type.googleapis.com/google.protobuf.StringValue", "value": "vm-config"}
				}
			}
			// /down/ goes to a cluster that refuses connections (the UpstreamDown case).
			vh := envoyPath(hcm, "route_config", "virtual_hosts", "0").(map[string]any)
			vh["routes"] = append([]any{map[string]any{
				"match": map[string]any{"prefix": "/down/"},
				"route": map[string]any{"cluster": "down", "timeout": "5s"},
			}}, vh["routes"].([]any)...)
			return nil
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Envoy ready after %v", time.Since(start))
	closed := false
	defer func() {
		if !closed {
			e.Close()
		}
	}()
	f := &fixture{srv: &httptest.Server{URL: e.URL}, upstream: up, client: &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	// fresh: a new connection per request, so the listener may hand it to another worker
	// (Envoy keeps a connection on one worker).
	fresh := &fixture{srv: f.srv, upstream: up, client: &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{DisableKeepAlives: true},
	}}
	ev := &envoyConf{t: t, e: e, f: f, perRequest: fresh}

	// Counters are read as deltas: the serial cases run before the parallel ones.
	for _, c := range conformanceCases {
		if c.serial {
			t.Run(c.name, func(t *testing.T) { c.run(t, ev) })
		}
	}
	t.Run("all", func(t *testing.T) {
		for _, c := range conformanceCases {
			if !c.serial {
				t.Run(c.name, func(t *testing.T) { t.Parallel(); c.run(t, ev) })
			}
		}
		for _, s := range []struct {
			name string
			fn   func(*testing.T)
		}{
			{"HeaderPauseWithAllowOnHeadersStopIteration", func(t *testing.T) {
				t.Parallel()
				checkStopIteration(t, ev.f.holdBody(t, false))
			}},
			{"HeaderPauseStopsTheBody", func(t *testing.T) {
				t.Parallel()
				ev.stopAll(t, filepath.Join(dir, "stopall"), wasmPath, cl, up)
			}},
			{"Upgrade", ev.upgrade},
			{"UpgradeNotConfigured", func(t *testing.T) {
				t.Parallel()
				ev.upgradeNotConfigured(t, filepath.Join(dir, "noupgrades"), wasmPath, cl, up)
			}},
			{"ConfigureFailureRefusesStart", func(t *testing.T) {
				t.Parallel()
				err := <-refused
				if err == nil {
					t.Fatal("no error")
				}
				for _, want := range []string{"refusing to start: issuer is not https", "exited before it was ready"} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error lacks %q:\n%v", want, err)
					}
				}
			}},
		} {
			t.Run(s.name, s.fn)
		}
	})
	t.Run("LifecycleAndLogs", func(t *testing.T) {
		ev.lifecycle(t)
		closed = true
	})
	t.Logf("Envoy conformance: %v", time.Since(start))
}

// startSecondEnvoy starts another Envoy with the conformance plugin for b (its plugin names
// and an empty configuration filled in), closed at the end of the test.
func startSecondEnvoy(t *testing.T, dir string, b envoy.Bootstrap) *envoy.Envoy {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b.PluginConfig, b.PluginName, b.RootID, b.VMID = []byte(`{}`), "conformance", "conf_root", "conf_vm"
	e, err := envoy.Start(ctx, envoy.Config{Dir: dir, Bootstrap: b})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

// stopAll starts a second Envoy without the shipped allow_on_headers_stop_iteration (its
// default) and checks a header pause there.
func (ev *envoyConf) stopAll(t *testing.T, dir, wasmPath string, cl map[string]string, up *upstream) {
	e := startSecondEnvoy(t, dir, envoy.Bootstrap{WasmPath: wasmPath, Clusters: cl, Upstream: up.URL, StopAllOnHeaderPause: true})
	f := &fixture{srv: &httptest.Server{URL: e.URL}, upstream: up, client: &http.Client{Timeout: 10 * time.Second}}
	r := f.holdBody(t, false)
	checkStopAll(t, r, false)
	t.Logf("without allow_on_headers_stop_iteration the upstream saw the request %d time(s)", r.reached)
	t.Run("UpgradeHeldHeaders", func(t *testing.T) { checkUpgradeHeld(t, f, false) })
}

// upgrade: the shipped upgrade_configs (websocket) and upgrade route.
func (ev *envoyConf) upgrade(t *testing.T) {
	t.Parallel()
	t.Run("Bodies", func(t *testing.T) { t.Parallel(); checkUpgradeBodies(t, ev.f) })
	t.Run("HalfClose", func(t *testing.T) { t.Parallel(); checkUpgradeHalfClose(t, ev.f) })
	t.Run("AppCloses", func(t *testing.T) { t.Parallel(); checkUpgradeAppCloses(t, ev.f) })
	t.Run("ClosedByPlugin", func(t *testing.T) { t.Parallel(); checkUpgradeClosedByPlugin(t, ev.f) })
	t.Run("OtherTypeRefused", func(t *testing.T) { t.Parallel(); checkUpgradeRefused(t, ev.f, "echo") })
	t.Run("LocalReply", func(t *testing.T) { t.Parallel(); checkUpgradeLocalReply(t, ev.f) })
	t.Run("HeldHeaders", func(t *testing.T) { t.Parallel(); checkUpgradeHeld(t, ev.f, true) })
}

// upgradeNotConfigured starts a second Envoy without the connection manager's
// upgrade_configs (Envoy's default) and sends a WebSocket upgrade there.
func (ev *envoyConf) upgradeNotConfigured(t *testing.T, dir, wasmPath string, cl map[string]string, up *upstream) {
	e := startSecondEnvoy(t, dir, envoy.Bootstrap{WasmPath: wasmPath, Clusters: cl, Upstream: up.URL,
		Edit: func(doc map[string]any) error {
			hcm := envoyPath(doc, "static_resources", "listeners", "0", "filter_chains", "0", "filters", "0", "typed_config").(map[string]any)
			if _, ok := hcm["upgrade_configs"]; !ok {
				return fmt.Errorf("the shipped envoy.yaml has no upgrade_configs to remove")
			}
			delete(hcm, "upgrade_configs")
			return nil
		},
	})
	f := &fixture{srv: &httptest.Server{URL: e.URL}, upstream: up, client: &http.Client{Timeout: 10 * time.Second}}
	checkUpgradeRefused(t, f, "websocket")
	st, err := e.Stats(`^http\.ingress_http\.downstream_rq_ws_on_non_ws_route$`)
	if n := st["http.ingress_http.downstream_rq_ws_on_non_ws_route"]; err != nil || n != 1 {
		t.Errorf("downstream_rq_ws_on_non_ws_route = %d (%v), want 1: the connection manager refused it", n, err)
	}
}

func envoyPath(v any, path ...string) any {
	for _, p := range path {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			i, _ := strconv.Atoi(p)
			v = x[i]
		}
	}
	return v
}

// envoyConf is the conformance backend on Envoy: two workers, a connection kept on the
// worker that accepted it (f keeps its connection; perRequest opens one per request, which the
// listener may hand to either worker).
type envoyConf struct {
	t             *testing.T
	e             *envoy.Envoy
	f, perRequest *fixture
}

func (ev *envoyConf) keepAlive() *fixture { return ev.f }
func (ev *envoyConf) fresh() *fixture     { return ev.perRequest }
func (ev *envoyConf) host() *Host         { return nil }
func (ev *envoyConf) listener() string    { return strings.TrimPrefix(ev.e.URL, "http://") }

// pinned is a client of its own, with its own keep-alive connection.
func (ev *envoyConf) pinned(*testing.T) *fixture {
	return &fixture{srv: ev.f.srv, client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}}
}

// down: the bootstrap routes /down/ to the cluster "down".
func (ev *envoyConf) down(*testing.T) (*fixture, string) { return ev.f, "/down/anything" }

func (ev *envoyConf) metric(name string) uint64 {
	v, _ := ev.e.Metric(name)
	return v
}

// logs are Envoy's wasm log lines, each with the thread that wrote it.
func (ev *envoyConf) logs() []logLine {
	var out []logLine
	for _, line := range strings.Split(ev.e.Log(), "\n") {
		if m := logThread.FindStringSubmatch(line); m != nil {
			out = append(out, logLine{vm: m[1], msg: line})
		}
	}
	return out
}

// onOtherVM repeats a request on fresh connections until a VM other than vm answers.
func (ev *envoyConf) onOtherVM(t *testing.T, vm any, path string, headers ...string) map[string]any {
	t.Helper()
	for i := 0; i < 40; i++ {
		if r := ev.perRequest.conf(t, path, headers...); r["vm"] != vm {
			return r
		}
	}
	t.Fatalf("40 fresh connections all ran on VM %v", vm)
	return nil
}

// logThread finds the thread id in Envoy's "[time][thread][level][wasm] ..." lines.
var logThread = regexp.MustCompile(`^\[[^\]]*\]\[([0-9]+)\]\[[a-z]+\]\[wasm\] `)

// lifecycle runs last: it stops Envoy to see proxy_on_done.
func (ev *envoyConf) lifecycle(t *testing.T) {
	ev.f.conf(t, "/conf/clock")
	eventually(t, 2*time.Second, "proxy_on_log", func() bool {
		return strings.Contains(ev.e.Log(), "path=/conf/clock status=200")
	})
	// Every VM logs init (from _initialize), then vm start (proxy_on_vm_start) with the
	// vm_config. Envoy loads a base VM that is never started, then starts a throwaway VM on
	// the main thread to validate the configuration, the main thread's long-lived VM and
	// one per worker. _initialize has no plugin context yet: its lines are "wasm log: ".
	var inits, starts, configures int
	for _, line := range strings.Split(ev.e.Log(), "\n") {
		switch {
		case strings.HasSuffix(line, "] wasm log: conformance: init"):
			inits++
		case strings.Contains(line, "] wasm log conf_root conf_vm: conformance: vm start ") && strings.Contains(line, `vm_config="vm-config"`):
			starts++
		case strings.Contains(line, "] wasm log conf_root conf_vm: conformance: plugin start root=1"):
			configures++
		}
	}
	t.Logf("Envoy (2 workers): %d _initialize, %d proxy_on_vm_start, %d proxy_on_configure", inits, starts, configures)
	if starts != 4 || configures != 4 || inits != 5 {
		t.Errorf("%d _initialize, %d proxy_on_vm_start, %d proxy_on_configure: want 5, 4, 4 (base, validation, main, 2 workers)", inits, starts, configures)
	}
	if err := ev.e.Close(); err != nil {
		t.Fatal(err)
	}
	var done int
	for _, line := range strings.Split(ev.e.Log(), "\n") {
		if strings.Contains(line, "conformance: plugin done root=1") {
			t.Log(line)
			done++
		}
	}
	// The validation VM is destroyed without proxy_on_done; the main thread's and the
	// workers' root contexts get it at shutdown.
	if done != 3 {
		t.Errorf("proxy_on_done on %d root contexts, want 3 (main thread, 2 workers)", done)
	}
}
