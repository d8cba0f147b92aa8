package host

import (
	"context"
	"encoding/hex"
	"fmt"

	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The assertions below are what Envoy (source/extensions/common/wasm and
// proxy-wasm-cpp-host) does for the same plugin calls; the plugin is
// e2e/testdata/conformance.

const (
	errBadArgument = "error status returned by host: bad argument"
	errNotFound    = "error status returned by host: not found"
	errCasMismatch = "error status returned by host: cas mismatch"
)

func TestCalloutArguments(t *testing.T) {
	f := newFixture(t, nil)
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
			got := f.conf(t, "/conf/callout", tt.headers...)
			if got["dispatch_err"] != nil && got["dispatch_err"] != tt.want || got["dispatch_err"] == nil && tt.want != "" {
				t.Fatalf("dispatch error = %v, want %q", got["dispatch_err"], tt.want)
			}
		})
	}
	if n := f.upstream.hits.Load(); n != 0 {
		t.Errorf("the upstream got %d requests; every answer here is a local response", n)
	}
}

func TestCalloutResponse(t *testing.T) {
	f := newFixture(t, nil)
	got := f.conf(t, "/conf/callout", "x-cluster", "ok", "x-path", "/token?x=1", "x-method", "POST", "x-body", "grant=1")
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

// Envoy's async client turns a timeout or a connect failure before response
// headers into the router's local reply (504, 503); only a reset after the
// headers reaches the plugin as zero headers.
func TestCalloutFailures(t *testing.T) {
	f := newFixture(t, nil)
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
			got := f.conf(t, "/conf/callout", tt.headers...)
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

func TestPausedRequestResumesAfterCallout(t *testing.T) {
	f := newFixture(t, nil)
	resp := f.do(t, "GET", "/conf/resume", "")
	e := readEcho(t, resp)
	if got := e.Headers["x-callout-status"]; !slices.Equal(got, []string{"200"}) {
		t.Errorf("upstream saw x-callout-status %v, want [200] (added in the callout callback before resuming)", got)
	}
	if _, ok := e.Headers["x-after-resume"]; ok {
		t.Error("a header added after proxy_continue_stream reached the upstream; Envoy refuses it")
	}
	if got := resp.Header.Get("X-Post-Resume-Add"); got != errBadArgument {
		t.Errorf("adding a request header after resume returned %q, want %q", got, errBadArgument)
	}
}

func TestLocalResponse(t *testing.T) {
	f := newFixture(t, nil)
	resp := f.do(t, "GET", "/conf/local", "")
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
	// Envoy sends a filter's local reply through the encoder filters, the
	// plugin's own proxy_on_response_headers included.
	if got := resp.Header.Get("X-On-Response-Headers"); got != "403" {
		t.Errorf("proxy_on_response_headers saw status %q for the local reply, want 403", got)
	}
	if n := f.upstream.hits.Load(); n != 0 {
		t.Errorf("a local response reached the upstream (%d requests)", n)
	}
}

func TestHeaderEdits(t *testing.T) {
	f := newFixture(t, nil)
	resp := f.do(t, "GET", "/app/page?q=1", "", "User-Agent", "conf-client",
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
	// Envoy's request.* properties read the live request headers, which are
	// gone once the request has continued.
	if got := resp.Header.Get("X-Response-Phase-Request-Path"); got != errNotFound {
		t.Errorf("request.path in proxy_on_response_headers: %q, want %q", got, errNotFound)
	}
	if got := resp.Header.Get("X-Response-Phase-Request-Header"); got != errBadArgument {
		t.Errorf("reading a request header in proxy_on_response_headers: %q, want %q", got, errBadArgument)
	}
}

func TestRequestHeaderMap(t *testing.T) {
	f := newFixture(t, nil)
	got := f.conf(t, "/conf/headers?a=b", "User-Agent", "conf-test", "X-Multi", "1", "X-Multi", "2")
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
}

func TestBodies(t *testing.T) {
	f := newFixture(t, nil)
	resp := f.do(t, "POST", "/conf/body", "hello body", "Content-Type", "text/plain")
	b, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(b), `"body":"HELLO BODY!"`) {
		t.Errorf("upstream did not get the plugin's request body: %s", b)
	}
	if !strings.HasSuffix(string(b), "\n-- appended by plugin") {
		t.Errorf("client did not get the plugin's appended response body: %q", b)
	}
}

func TestSharedDataCAS(t *testing.T) {
	f := newFixture(t, nil)
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
	v, newCas, ok := f.h.SharedData("k")
	if !ok || string(v) != "v2" || newCas == cas {
		t.Errorf("host sees %q cas %d (old cas %d)", v, newCas, cas)
	}
}

func TestSharedDataAcrossVMs(t *testing.T) {
	f := newFixture(t, nil)
	a := f.conf(t, "/conf/shared", "x-op", "set", "x-key", "shared", "x-value", "from-a")
	b := f.conf(t, "/conf/shared", "x-op", "get", "x-key", "shared")
	if a["vm"] == b["vm"] {
		t.Fatalf("both requests ran on VM %v; round-robin should alternate", a["vm"])
	}
	if b["value"] != "from-a" {
		t.Errorf("VM %v read %v, want the value VM %v wrote", b["vm"], b, a["vm"])
	}
}

func TestClockAndRandomness(t *testing.T) {
	f := newFixture(t, nil)
	a := f.conf(t, "/conf/clock")
	b := f.conf(t, "/conf/clock")
	for _, r := range []map[string]any{a, b} {
		guest := time.Unix(0, int64(r["now_unix_nano"].(float64)))
		if d := time.Since(guest); d < -time.Second || d > time.Second {
			t.Errorf("guest time.Now() is %v off the host's: the guest must see the real wall clock", d)
		}
		if _, err := hex.DecodeString(r["rand"].(string)); err != nil || r["rand_err"] != "" {
			t.Errorf("guest crypto/rand: %v", r)
		}
	}
	if a["vm"] == b["vm"] {
		t.Fatalf("both requests ran on VM %v", a["vm"])
	}
	if a["rand"] == b["rand"] {
		t.Errorf("two VMs drew the same random bytes %v: the guest's randomness is deterministic", a["rand"])
	}
}

// TestEnviron: each VM's WASI environ is exactly Config.Env, as Envoy's
// vm_config.environment_variables: nothing of the host process leaks in.
func TestEnviron(t *testing.T) {
	t.Setenv("CONFORMANCE_HOST_ONLY", "must-not-leak")
	f := newFixture(t, func(c *Config) {
		c.Env = map[string]string{"OIDC_CLIENT_SECRET": "s3cret", "B_EMPTY": "", "C_EQ": "a=b c"}
	})
	want := []any{"B_EMPTY=", "C_EQ=a=b c", "OIDC_CLIENT_SECRET=s3cret"}
	seen := map[any]bool{}
	for range 2 {
		r := f.conf(t, "/conf/env")
		seen[r["vm"]] = true
		if got, _ := r["environ"].([]any); !slices.Equal(got, want) {
			t.Errorf("VM %v environ %q, want %q", r["vm"], got, want)
		}
	}
	if len(seen) != 2 {
		t.Errorf("only VMs %v answered; want both", seen)
	}
	if got, _ := newFixture(t, nil).conf(t, "/conf/env")["environ"].([]any); len(got) != 0 {
		t.Errorf("without Env the environ is %q, want empty", got)
	}
}

func TestMetricsAddAcrossVMs(t *testing.T) {
	f := newFixture(t, nil)
	const n = 6
	vms := map[any]bool{}
	var last map[string]any
	for i := 0; i < n; i++ {
		last = f.conf(t, "/conf/metrics")
		vms[last["vm"]] = true
	}
	if len(vms) != 2 {
		t.Fatalf("requests ran on %d VMs, want 2", len(vms))
	}
	if last["hits"].(float64) != n {
		t.Errorf("the plugin read conf_hits = %v, want %d: a metric is shared by all VMs", last["hits"], n)
	}
	if got, _ := f.h.Metric("conf_hits"); got != n {
		t.Errorf("host Metric(conf_hits) = %d, want %d", got, n)
	}
	m := f.h.Metrics()
	if h := m["conf_path_len"]; h.Kind != Histogram || h.Value != n || h.Sum != n*uint64(len("/conf/metrics")) {
		t.Errorf("histogram conf_path_len = %+v", h)
	}
	eventually(t, time.Second, "conf_inflight back to 0", func() bool {
		g, _ := f.h.Metric("conf_inflight")
		return g == 0
	})
}

func TestProperties(t *testing.T) {
	f := newFixture(t, nil)
	got := f.conf(t, "/conf/props?x=1", "User-Agent", "conf-test", "X-Multi", "a", "X-Multi", "b")
	want := map[string]any{
		"request.path":            "/conf/props?x=1",
		"request.url_path":        "/conf/props",
		"request.query":           "x=1",
		"request.host":            strings.TrimPrefix(f.srv.URL, "http://"),
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
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(got["request.id"].(string)) {
		t.Errorf("request.id = %v, want the generated x-request-id", got["request.id"])
	}
	src := got["source.address"].(string)
	if !strings.HasPrefix(src, "127.0.0.1:") || !strings.HasSuffix(src, ":"+strconv.Itoa(int(got["source.port"].(float64)))) {
		t.Errorf("source.address %q / source.port %v", src, got["source.port"])
	}
	if got["destination.address"] != strings.TrimPrefix(f.srv.URL, "http://") {
		t.Errorf("destination.address = %v, want the listener %s", got["destination.address"], f.srv.URL)
	}
	reqTime := time.Unix(0, int64(got["request.time"].(float64)))
	if d := time.Since(reqTime); d < 0 || d > 5*time.Second {
		t.Errorf("request.time is %v ago", d)
	}
	var sawPath bool
	for _, p := range got["request.headers"].([]any) {
		if p.([]any)[0] == ":path" {
			sawPath = true
		}
	}
	if !sawPath || got["request.headers.err"] != "" {
		t.Errorf("request.headers map = %v (%v)", got["request.headers"], got["request.headers.err"])
	}
}

func TestConfigureFailureRefusesStart(t *testing.T) {
	_, err := New(context.Background(), Config{
		Wasm:         conformancePlugin(t),
		PluginConfig: []byte(`{"fail":"issuer is not https"}`),
		CacheDir:     cacheDir,
	})
	if err == nil {
		t.Fatal("New accepted a plugin whose proxy_on_configure returned false")
	}
	for _, want := range []string{"proxy_on_configure returned false", "refusing to start: issuer is not https"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no wasm", Config{}, "Wasm or WasmPath is required"},
		{"bad cluster", Config{Wasm: []byte{0}, Clusters: map[string]string{"idp": "ftp://x"}}, `Clusters["idp"]`},
		{"bad upstream", Config{Wasm: []byte{0}, Upstream: "127.0.0.1:80"}, "Upstream"},
		{"not proxy-wasm", Config{Wasm: []byte("\x00asm\x01\x00\x00\x00")}, "proxy_abi_version"},
		{"env name with =", Config{Wasm: []byte{0}, Env: map[string]string{"A=B": "c"}}, `Env["A=B"]`},
		{"empty env name", Config{Wasm: []byte{0}, Env: map[string]string{"": "c"}}, `Env[""]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(context.Background(), tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestTickFires(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.PluginConfig = []byte(`{"tick_ms":20}`) })
	eventually(t, 3*time.Second, "proxy_on_tick on both VMs", func() bool {
		n, _ := f.h.Metric("conf_ticks")
		return n >= 6
	})
}

func TestSharedQueue(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.PluginConfig = []byte(`{"queue":"jobs"}`) })
	if got := f.conf(t, "/conf/enqueue", "x-queue", "jobs", "x-item", "hello")["err"]; got != "" {
		t.Fatalf("enqueue: %v", got)
	}
	if got := f.conf(t, "/conf/enqueue", "x-queue", "nope", "x-item", "x")["err"]; got != errNotFound {
		t.Errorf("resolving an unknown queue: %v, want not found", got)
	}
	eventually(t, 2*time.Second, "proxy_on_queue_ready", func() bool {
		n, _ := f.h.Metric("conf_dequeued")
		return n == 1
	})
	// Each VM registers the queue in proxy_on_configure; as in Envoy, the last
	// registration owns it (VM 1: the VMs start in order).
	if e, ok := hasLog(f.h, `dequeued "hello"`); !ok || e.VM != 1 {
		t.Errorf("the queue's owner (VM 1, last to register) should dequeue: %+v %v", e, ok)
	}
}

func TestLifecycleAndLogs(t *testing.T) {
	f := newFixture(t, nil)
	f.conf(t, "/conf/clock")
	eventually(t, time.Second, "proxy_on_log", func() bool {
		_, ok := hasLog(f.h, "stream done id=2 path=/conf/clock status=200")
		return ok
	})
	for vm := 0; vm < 2; vm++ {
		for _, want := range []string{"conformance: init", `vm_config="vm-config"`} {
			var seen bool
			for _, e := range f.h.Logs() {
				seen = seen || e.VM == vm && strings.Contains(e.Message, want)
			}
			if !seen {
				t.Errorf("VM %d did not log %q (from _initialize, then proxy_on_vm_start)", vm, want)
			}
		}
	}
	for _, s := range f.h.VMStats() {
		if s.MemoryBytes == 0 || s.Calls == 0 || s.Failed {
			t.Errorf("VMStats = %+v", s)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f.h.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := hasLog(f.h, "plugin done root=1"); !ok {
		t.Error("Close did not call proxy_on_done on the root context")
	}
}

// A trap in the guest fails that VM, as in Envoy: its streams get 503 and no
// more callbacks, while the other VM keeps serving.
func TestTrapFailsTheVM(t *testing.T) {
	f := newFixture(t, nil)
	resp := f.do(t, "GET", "/conf/panic", "")
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status %d after a guest panic, want 503", resp.StatusCode)
	}
	if _, ok := hasLog(f.h, "conformance: boom"); !ok {
		t.Error("the guest's panic message (stderr) is not in the logs")
	}
	failed := 0
	for _, s := range f.h.VMStats() {
		if s.Failed {
			failed++
		}
	}
	if failed != 1 {
		t.Fatalf("%d failed VMs, want 1", failed)
	}
	codes := map[int]int{}
	for i := 0; i < 4; i++ {
		codes[f.do(t, "GET", "/conf/clock", "").StatusCode]++
	}
	if codes[200] != 2 || codes[503] != 2 {
		t.Errorf("statuses across VMs = %v, want two 200 and two 503", codes)
	}
}

func TestStreamIdleTimeout(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.StreamIdleTimeout = 200 * time.Millisecond })
	resp := f.do(t, "GET", "/conf/callout", "", "x-cluster", "slow", "x-timeout-ms", "0")
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Errorf("a stream paused past the idle timeout got %d, want 408", resp.StatusCode)
	}
}

func TestPinPerConnection(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.PinPerConnection = true })
	first := f.conf(t, "/conf/clock")["vm"]
	for i := 0; i < 3; i++ {
		if vm := f.conf(t, "/conf/clock")["vm"]; vm != first {
			t.Fatalf("request %d on one keep-alive connection ran on VM %v, not %v", i, vm, first)
		}
	}
}

func TestNoUpstream(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Upstream = "" })
	resp := f.do(t, "GET", "/anything", "")
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 503 || string(b) != "no healthy upstream" {
		t.Errorf("got %d %q, want Envoy's 503 no healthy upstream", resp.StatusCode, b)
	}
}

func TestUpstreamDown(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Upstream = c.Clusters["down"] })
	resp := f.do(t, "GET", "/anything", "")
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 503 || !strings.HasPrefix(string(b), "upstream connect error") {
		t.Errorf("got %d %q, want the router's 503", resp.StatusCode, b)
	}
	if resp.Header.Get("X-On-Response-Headers") != "503" {
		t.Error("the plugin did not see the router's local reply in proxy_on_response_headers")
	}
}

// Many paused streams on two VMs: every callout re-enters its VM under the
// lock and resumes the right stream.
func TestConcurrentCallouts(t *testing.T) {
	f := newFixture(t, nil)
	const n = 64
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			resp, err := f.client.Get(f.srv.URL + "/conf/resume")
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
	eventually(t, 2*time.Second, "every stream context deleted", func() bool {
		for _, s := range f.h.VMStats() {
			if s.Streams != 0 {
				return false
			}
		}
		return true
	})
}
