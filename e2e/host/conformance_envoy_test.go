package host

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/envoy"
)

// TestEnvoyConformance runs the observations of conformance_test.go against the
// conformance plugin in the real Envoy (e2e/envoy), which is the judge of what
// this host copies. One Envoy serves every observation: starting one costs seconds.
// Where Envoy's answer differs from the host test's, the subtest asserts Envoy's and
// e2e/README.md ("Differences found by running on Envoy") says why.
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
			// /down/ goes to a cluster that refuses connections (TestUpstreamDown).
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
	ev := &envoyConf{t: t, e: e, f: f, fresh: fresh}

	// Counters are read as deltas; these run before the parallel ones.
	t.Run("MetricsAddAcrossVMs", ev.metrics)
	t.Run("all", func(t *testing.T) {
		for _, s := range []struct {
			name string
			fn   func(*testing.T)
		}{
			{"CalloutArguments", ev.calloutArguments},
			{"CalloutResponse", ev.calloutResponse},
			{"CalloutFailures", ev.calloutFailures},
			{"PausedRequestResumesAfterCallout", ev.resume},
			{"LocalResponse", ev.localResponse},
			{"HeaderEdits", ev.headerEdits},
			{"RequestHeaderMap", ev.requestHeaderMap},
			{"Bodies", ev.bodies},
			{"SharedDataCAS", ev.sharedCAS},
			{"SharedDataAcrossVMs", ev.sharedAcrossVMs},
			{"ClockAndRandomness", ev.clock},
			{"Environ", ev.environ},
			{"Properties", ev.properties},
			{"TickFires", ev.tick},
			{"SharedQueue", ev.queue},
			{"PinPerConnection", ev.pin},
			{"UpstreamDown", ev.upstreamDown},
			{"ConcurrentCallouts", ev.concurrentCallouts},
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

type envoyConf struct {
	t        *testing.T
	e        *envoy.Envoy
	f, fresh *fixture
}

func (ev *envoyConf) metric(name string) uint64 {
	v, _ := ev.e.Metric(name)
	return v
}

func (ev *envoyConf) metrics(t *testing.T) {
	before := ev.metric("conf_hits")
	histBefore := ev.metric("conf_path_len")
	vms := map[any]bool{}
	var last map[string]any
	n := 0
	for n < 6 || len(vms) < 2 && n < 40 {
		last = ev.fresh.conf(t, "/conf/metrics")
		vms[last["vm"]] = true
		n++
	}
	if len(vms) != 2 {
		t.Fatalf("%d requests on fresh connections ran on %d VMs, want the 2 workers'", n, len(vms))
	}
	if got := uint64(last["hits"].(float64)); got != before+uint64(n) {
		t.Errorf("the plugin read conf_hits = %d, want %d: a metric is shared by all VMs", got, before+uint64(n))
	}
	if got := ev.metric("conf_hits"); got != before+uint64(n) {
		t.Errorf("Envoy's wasmcustom.conf_hits = %d, want %d", got, before+uint64(n))
	}
	// Histogram samples reach the admin interface at the stats flush (Metric waits for one).
	if got := ev.metric("conf_path_len"); got != histBefore+uint64(n) {
		t.Errorf("histogram conf_path_len count = %d, want %d", got, histBefore+uint64(n))
	}
	eventually(t, 2*time.Second, "conf_inflight back to 0", func() bool { return ev.metric("conf_inflight") == 0 })
}

func (ev *envoyConf) calloutArguments(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		headers []string
		want    string
	}{
		{"unknown cluster", []string{"x-cluster", "no-such-cluster"}, errBadArgument},
		{"missing :authority", []string{"x-cluster", "ok", "x-authority", "-"}, errBadArgument},
		{"missing :path", []string{"x-cluster", "ok", "x-path", "-"}, errBadArgument},
		{"missing :method", []string{"x-cluster", "ok", "x-method", "-"}, errBadArgument},
		{"known cluster and required headers", []string{"x-cluster", "ok"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ev.f.conf(t, "/conf/callout", tt.headers...)
			if got["dispatch_err"] != nil && got["dispatch_err"] != tt.want || got["dispatch_err"] == nil && tt.want != "" {
				t.Fatalf("dispatch error = %v, want %q", got["dispatch_err"], tt.want)
			}
		})
	}
}

func (ev *envoyConf) calloutResponse(t *testing.T) {
	t.Parallel()
	got := ev.f.conf(t, "/conf/callout", "x-cluster", "ok", "x-path", "/token?x=1", "x-method", "POST", "x-body", "grant=1")
	if got["status"] != "200" {
		t.Fatalf("callout :status = %v, want 200 (%v)", got["status"], got)
	}
	headers := got["headers"].([]any)
	if first := headers[0].([]any); first[0] != ":status" {
		t.Errorf("first callout response header = %v, want :status", first)
	}
	body := got["body"].(string)
	for _, want := range []string{`"path":"/token?x=1"`, `"host":"callout.test"`, `"method":"POST"`,
		`"x_callout":"1"`, `"body":"grant=1"`, `"user_agent":null`} {
		if !strings.Contains(body, want) {
			t.Errorf("callout body %s lacks %s", body, want)
		}
	}
	if int(got["body_size"].(float64)) != len(body) {
		t.Errorf("body_size %v != len(body) %d", got["body_size"], len(body))
	}
	// The ok cluster sends a trailer over HTTP/1.1; Envoy's HTTP/1 codec drops it (the
	// cluster has no http_protocol_options.enable_trailers), so the plugin sees none.
	if trailers, _ := got["trailers"].([]any); len(trailers) != 0 || got["num_trailers"].(float64) != 0 {
		t.Errorf("callout trailers = %v (num_trailers %v), want none", got["trailers"], got["num_trailers"])
	}
}

func (ev *envoyConf) calloutFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		headers    []string
		wantStatus string
		wantBody   string
		zero       bool
	}{
		{"timeout before headers", []string{"x-cluster", "slow", "x-timeout-ms", "150"}, "504", "upstream request timeout", false},
		{"connect failure", []string{"x-cluster", "down"}, "503", "upstream connect error or disconnect/reset before headers. reset reason: remote connection failure", false},
		{"timeout after headers", []string{"x-cluster", "slowbody", "x-timeout-ms", "300"}, "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			got := ev.f.conf(t, "/conf/callout", tt.headers...)
			if elapsed := time.Since(start); elapsed > 2*time.Second {
				t.Errorf("took %v: the timeout was not honoured", elapsed)
			}
			if tt.zero {
				if got["num_headers"].(float64) != 0 || got["headers_err"] != errNotFound || got["body_err"] != errNotFound {
					t.Fatalf("want zero headers and no body, got %v", got)
				}
				return
			}
			if got["status"] != tt.wantStatus || !strings.HasPrefix(got["body"].(string), tt.wantBody) {
				t.Fatalf("got status %v body %q, want %s %q", got["status"], got["body"], tt.wantStatus, tt.wantBody)
			}
		})
	}
}

func (ev *envoyConf) resume(t *testing.T) {
	t.Parallel()
	resp := ev.f.do(t, "GET", "/conf/resume", "")
	e := readEcho(t, resp)
	if got := e.Headers["x-callout-status"]; !slices.Equal(got, []string{"200"}) {
		t.Errorf("upstream saw x-callout-status %v, want [200] (added in the callout callback before resuming)", got)
	}
	if _, ok := e.Headers["x-after-resume"]; ok {
		t.Error("a header added after proxy_continue_stream reached the upstream")
	}
	if got := resp.Header.Get("X-Post-Resume-Add"); got != errBadArgument {
		t.Errorf("adding a request header after resume returned %q, want %q", got, errBadArgument)
	}
}

func (ev *envoyConf) localResponse(t *testing.T) {
	t.Parallel()
	resp := ev.f.do(t, "GET", "/conf/local", "")
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 403 || string(body) != "denied by plugin" {
		t.Fatalf("got %d %q, want 403 %q", resp.StatusCode, body, "denied by plugin")
	}
	if got := resp.Header.Values("Set-Cookie"); !slices.Equal(got, []string{"a=1; Path=/", "b=2; Path=/"}) {
		t.Errorf("Set-Cookie = %q, want both cookies", got)
	}
	if resp.Header.Get("X-Local") != "yes" || resp.Header.Get("Content-Type") != "text/plain" {
		t.Errorf("headers = %v, want x-local and Envoy's text/plain content-type", resp.Header)
	}
	if got := resp.Header.Get("X-On-Response-Headers"); got != "403" {
		t.Errorf("proxy_on_response_headers saw status %q for the local reply, want 403", got)
	}
}

func (ev *envoyConf) headerEdits(t *testing.T) {
	t.Parallel()
	resp := ev.f.do(t, "GET", "/app/page?q=1", "", "User-Agent", "conf-client",
		"X-Conf-Replace", "old", "X-Conf-Remove", "gone", "X-Conf-Rewrite-Path", "/rewritten?z=2")
	e := readEcho(t, resp)
	if e.Path != "/rewritten?z=2" {
		t.Errorf("upstream path = %q, want the plugin's :path", e.Path)
	}
	if !slices.Equal(e.Headers["x-conf-added"], []string{"1"}) || !slices.Equal(e.Headers["x-conf-replace"], []string{"new"}) {
		t.Errorf("upstream headers = %v, want x-conf-added: 1 and x-conf-replace: new", e.Headers)
	}
	if _, ok := e.Headers["x-conf-remove"]; ok {
		t.Error("a removed header reached the upstream")
	}
	if len(e.Headers["x-request-id"]) != 1 || !slices.Equal(e.Headers["x-forwarded-proto"], []string{"http"}) {
		t.Errorf("upstream lacks the connection manager's x-request-id / x-forwarded-proto: %v", e.Headers)
	}
	if got := e.Headers["user-agent"]; !slices.Equal(got, []string{"conf-client"}) {
		t.Errorf("upstream User-Agent = %q, want only the client's", got)
	}
	wantCookies := []string{"up=1; Path=/", "plugin1=a; Path=/", "plugin2=b; Path=/"}
	if got := resp.Header.Values("Set-Cookie"); !slices.Equal(got, wantCookies) {
		t.Errorf("client Set-Cookie = %q, want %q", got, wantCookies)
	}
	if resp.Header.Get("X-Upstream-Secret") != "" {
		t.Error("a response header the plugin removed reached the client")
	}
	if got := resp.Header.Get("X-Response-Phase-Request-Path"); got != errNotFound {
		t.Errorf("request.path in proxy_on_response_headers: %q, want %q", got, errNotFound)
	}
	if got := resp.Header.Get("X-Response-Phase-Request-Header"); got != errBadArgument {
		t.Errorf("reading a request header in proxy_on_response_headers: %q, want %q", got, errBadArgument)
	}
}

func (ev *envoyConf) requestHeaderMap(t *testing.T) {
	t.Parallel()
	got := ev.f.conf(t, "/conf/headers?a=b", "User-Agent", "conf-test", "X-Multi", "1", "X-Multi", "2")
	pairs := got["pairs"].([]any)
	var names []string
	for _, p := range pairs {
		names = append(names, p.([]any)[0].(string))
	}
	if !slices.Equal(names[:4], []string{":authority", ":path", ":method", ":scheme"}) {
		t.Errorf("header map starts %v, want the pseudo-headers", names)
	}
	if pairs[1].([]any)[1] != "/conf/headers?a=b" || pairs[2].([]any)[1] != "GET" || pairs[3].([]any)[1] != "http" {
		t.Errorf("pseudo-headers = %v", pairs[:4])
	}
	for _, want := range []string{"user-agent", "x-multi", "x-request-id", "x-forwarded-proto"} {
		if !slices.Contains(names, want) {
			t.Errorf("header map lacks %s: %v", want, names)
		}
	}
	for _, name := range names {
		if name != strings.ToLower(name) || name == "connection" {
			t.Errorf("header %q: names are lowercase and hop-by-hop headers are removed", name)
		}
	}
	if got["num_headers"].(float64) != float64(len(pairs)) || got["end_of_stream"] != true {
		t.Errorf("num_headers %v / end_of_stream %v for a GET with %d headers", got["num_headers"], got["end_of_stream"], len(pairs))
	}
	if got["missing_err"] != errNotFound {
		t.Errorf("a missing header: %v, want %q", got["missing_err"], errNotFound)
	}
	t.Logf("Envoy's request header map: %v", names)
}

func (ev *envoyConf) bodies(t *testing.T) {
	t.Parallel()
	resp := ev.f.do(t, "POST", "/conf/body", "hello body", "Content-Type", "text/plain")
	b, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(b), `"body":"HELLO BODY!"`) {
		t.Errorf("upstream did not get the plugin's request body: %s", b)
	}
	if !strings.HasSuffix(string(b), "\n-- appended by plugin") {
		t.Errorf("client did not get the plugin's appended response body: %q", b)
	}
}

func (ev *envoyConf) sharedCAS(t *testing.T) {
	t.Parallel()
	f := ev.f
	set := func(value, cas string) any {
		return f.conf(t, "/conf/shared", "x-op", "set", "x-key", "k", "x-value", value, "x-cas", cas)["err"]
	}
	get := func() map[string]any { return f.conf(t, "/conf/shared", "x-op", "get", "x-key", "k") }
	if e := get()["err"]; e != errNotFound {
		t.Fatalf("get of a missing key: %v, want not found", e)
	}
	if e := set("v1", "0"); e != "" {
		t.Fatalf("set with cas 0: %v", e)
	}
	g := get()
	cas := uint32(g["cas"].(float64))
	if g["value"] != "v1" || cas == 0 {
		t.Fatalf("get = %v", g)
	}
	if e := set("v2", strconv.FormatUint(uint64(cas+1), 10)); e != errCasMismatch {
		t.Fatalf("set with a stale cas: %v, want cas mismatch", e)
	}
	if e := set("v2", strconv.FormatUint(uint64(cas), 10)); e != "" {
		t.Fatalf("set with the current cas: %v", e)
	}
	if g := get(); g["value"] != "v2" || uint32(g["cas"].(float64)) == cas {
		t.Errorf("after the CAS set: %v (old cas %d)", g, cas)
	}
}

// onOtherVM repeats a request on fresh connections until a VM other than vm answers.
func (ev *envoyConf) onOtherVM(t *testing.T, vm any, path string, headers ...string) map[string]any {
	t.Helper()
	for i := 0; i < 40; i++ {
		if r := ev.fresh.conf(t, path, headers...); r["vm"] != vm {
			return r
		}
	}
	t.Fatalf("40 fresh connections all ran on VM %v", vm)
	return nil
}

func (ev *envoyConf) sharedAcrossVMs(t *testing.T) {
	t.Parallel()
	a := ev.fresh.conf(t, "/conf/shared", "x-op", "set", "x-key", "shared", "x-value", "from-a")
	b := ev.onOtherVM(t, a["vm"], "/conf/shared", "x-op", "get", "x-key", "shared")
	if b["value"] != "from-a" {
		t.Errorf("VM %v read %v, want the value VM %v wrote", b["vm"], b, a["vm"])
	}
}

func (ev *envoyConf) clock(t *testing.T) {
	t.Parallel()
	a := ev.fresh.conf(t, "/conf/clock")
	b := ev.onOtherVM(t, a["vm"], "/conf/clock")
	for _, r := range []map[string]any{a, b} {
		guest := time.Unix(0, int64(r["now_unix_nano"].(float64)))
		if d := time.Since(guest); d < -time.Second || d > time.Second {
			t.Errorf("guest time.Now() is %v off the test's", d)
		}
		if _, err := hex.DecodeString(r["rand"].(string)); err != nil || r["rand_err"] != "" {
			t.Errorf("guest crypto/rand: %v", r)
		}
	}
	if a["rand"] == b["rand"] {
		t.Errorf("two VMs drew the same random bytes %v", a["rand"])
	}
}

func (ev *envoyConf) environ(t *testing.T) {
	t.Parallel()
	want := []any{"B_EMPTY=", "C_EQ=a=b c", "OIDC_CLIENT_SECRET=s3cret"}
	a := ev.fresh.conf(t, "/conf/env")
	b := ev.onOtherVM(t, a["vm"], "/conf/env")
	for _, r := range []map[string]any{a, b} {
		got, _ := r["environ"].([]any)
		slices.SortFunc(got, func(x, y any) int { return strings.Compare(x.(string), y.(string)) })
		if !slices.Equal(got, want) {
			t.Errorf("VM %v environ %q, want %q", r["vm"], got, want)
		}
	}
}

func (ev *envoyConf) properties(t *testing.T) {
	t.Parallel()
	hostport := strings.TrimPrefix(ev.e.URL, "http://")
	got := ev.f.conf(t, "/conf/props?x=1", "User-Agent", "conf-test", "X-Multi", "a", "X-Multi", "b")
	want := map[string]any{
		"request.path":            "/conf/props?x=1",
		"request.url_path":        "/conf/props",
		"request.query":           "x=1",
		"request.host":            hostport,
		"request.method":          "GET",
		"request.scheme":          "http",
		"request.protocol":        "HTTP/1.1",
		"request.useragent":       "conf-test",
		"request.headers.x-multi": "a,b",
		"plugin_name":             "conformance",
		"plugin_root_id":          "conf_root",
		"plugin_vm_id":            "conf_vm",
		"no.such.property.err":    errNotFound,
		"conf_state":              "kept",
		"connection.mtls":         false,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(fmt.Sprint(got["request.id"])) {
		t.Errorf("request.id = %v, want the generated x-request-id", got["request.id"])
	}
	src, _ := got["source.address"].(string)
	port, _ := got["source.port"].(float64)
	if !strings.HasPrefix(src, "127.0.0.1:") || !strings.HasSuffix(src, ":"+strconv.Itoa(int(port))) {
		t.Errorf("source.address %q / source.port %v (%v)", src, got["source.port"], got["source.port.err"])
	}
	if got["destination.address"] != hostport {
		t.Errorf("destination.address = %v, want the listener %s", got["destination.address"], hostport)
	}
	rt, _ := got["request.time"].(float64)
	if d := time.Since(time.Unix(0, int64(rt))); d < 0 || d > 5*time.Second {
		t.Errorf("request.time is %v ago (%v)", d, got["request.time.err"])
	}
	var sawPath bool
	hs, _ := got["request.headers"].([]any)
	for _, p := range hs {
		if p.([]any)[0] == ":path" {
			sawPath = true
		}
	}
	if !sawPath || got["request.headers.err"] != "" {
		t.Errorf("request.headers map = %v (%v)", got["request.headers"], got["request.headers.err"])
	}
}

func (ev *envoyConf) tick(t *testing.T) {
	t.Parallel()
	before := ev.metric("conf_ticks")
	eventually(t, 3*time.Second, "proxy_on_tick (50 ms) on the VMs", func() bool {
		return ev.metric("conf_ticks") >= before+6
	})
}

func (ev *envoyConf) queue(t *testing.T) {
	t.Parallel()
	before := ev.metric("conf_dequeued")
	if got := ev.f.conf(t, "/conf/enqueue", "x-queue", "jobs", "x-item", "hello")["err"]; got != "" {
		t.Fatalf("enqueue: %v", got)
	}
	if got := ev.f.conf(t, "/conf/enqueue", "x-queue", "nope", "x-item", "x")["err"]; got != errNotFound {
		t.Errorf("resolving an unknown queue: %v, want not found", got)
	}
	eventually(t, 2*time.Second, "proxy_on_queue_ready", func() bool {
		return ev.metric("conf_dequeued") == before+1
	})
	// Which thread dequeued: Envoy's log line carries the thread id. Every VM registers
	// "jobs" in proxy_on_configure; the last registration is the owner.
	var lastRegistrar, dequeuer string
	for _, line := range strings.Split(ev.e.Log(), "\n") {
		if m := logThread.FindStringSubmatch(line); m != nil {
			switch {
			case strings.Contains(line, "conformance: plugin start root="):
				lastRegistrar = m[1]
			case strings.Contains(line, `conformance: dequeued "hello"`):
				dequeuer = m[1]
			}
		}
	}
	if dequeuer == "" || dequeuer != lastRegistrar {
		t.Errorf("thread %q dequeued, want the last VM to register the queue (thread %q)", dequeuer, lastRegistrar)
	}
}

// logThread finds the thread id in Envoy's "[time][thread][level][wasm] ..." lines.
var logThread = regexp.MustCompile(`^\[[^\]]*\]\[([0-9]+)\]\[[a-z]+\]\[wasm\] `)

// pin: Envoy keeps a downstream connection on the worker that accepted it (the host
// round-robins unless PinPerConnection).
func (ev *envoyConf) pin(t *testing.T) {
	t.Parallel()
	c := &fixture{srv: ev.f.srv, client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}}
	first := c.conf(t, "/conf/clock")["vm"]
	for i := 0; i < 5; i++ {
		if vm := c.conf(t, "/conf/clock")["vm"]; vm != first {
			t.Fatalf("request %d on one keep-alive connection ran on VM %v, not %v", i, vm, first)
		}
	}
}

func (ev *envoyConf) upstreamDown(t *testing.T) {
	t.Parallel()
	resp := ev.f.do(t, "GET", "/down/anything", "")
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 503 || !strings.HasPrefix(string(b), "upstream connect error") {
		t.Errorf("got %d %q, want the router's 503", resp.StatusCode, b)
	}
	if resp.Header.Get("X-On-Response-Headers") != "503" {
		t.Error("the plugin did not see the router's local reply in proxy_on_response_headers")
	}
}

func (ev *envoyConf) concurrentCallouts(t *testing.T) {
	t.Parallel()
	const n = 64
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			resp, err := ev.fresh.client.Get(ev.f.srv.URL + "/conf/resume")
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 || !strings.Contains(string(b), `"x-callout-status":["200"]`) {
				errs <- fmt.Errorf("status %d body %s", resp.StatusCode, b)
				return
			}
			errs <- nil
		}()
	}
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

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
