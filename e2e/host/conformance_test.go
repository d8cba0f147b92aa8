package host

import (
	"encoding/hex"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The conformance suite: one table of observations of the conformance plugin
// (e2e/testdata/conformance), each asserted the same way on two backends: this host
// (TestConformance, conformance_host_test.go) and the real Envoy (TestEnvoyConformance,
// conformance_envoy_test.go), which is the judge of what this host copies. The
// assertions are what Envoy (source/extensions/common/wasm and proxy-wasm-cpp-host)
// does for the same plugin calls. Where only the host can look (its upstream to
// itself, its shared data and metrics from the outside, its VM stats), a case asserts
// more through backend.host(); e2e/README.md ("Differences found by running on Envoy")
// says where the two differed.

const (
	errBadArgument = "error status returned by host: bad argument"
	errNotFound    = "error status returned by host: not found"
	errCasMismatch = "error status returned by host: cas mismatch"
)

// A backend is a proxy running the conformance plugin on two VMs (two workers), with the
// plugin configuration {"tick_ms":50,"queue":"jobs"}, the vm_config "vm-config", and the
// environment OIDC_CLIENT_SECRET=s3cret, B_EMPTY= and C_EQ=a=b c.
type backend interface {
	// keepAlive is a client that keeps its connection; fresh one that may reach another
	// VM with each request.
	keepAlive() *fixture
	fresh() *fixture
	// onOtherVM sends a request until a VM other than vm answers it.
	onOtherVM(t *testing.T, vm any, path string, headers ...string) map[string]any
	// pinned is a client whose requests share one connection, for a backend that keeps
	// a connection on one VM.
	pinned(t *testing.T) *fixture
	// down is a client and a path routed to the cluster "down" (connections refused).
	down(t *testing.T) (*fixture, string)
	// metric is a metric's value (a histogram's count), as the proxy reports it.
	metric(name string) uint64
	// listener is the proxy's host:port.
	listener() string
	// logs are the plugin's log lines, each with the VM (or thread) that wrote it.
	logs() []logLine
	// host is the emulator itself, for the assertions only it can make; nil on Envoy.
	host() *Host
}

type logLine struct{ vm, msg string }

// A conformanceCase is one observation. serial cases read counters as deltas, so on a
// backend shared by all cases they run before the others, which run in parallel.
type conformanceCase struct {
	name   string
	serial bool
	run    func(*testing.T, backend)
}

var conformanceCases = []conformanceCase{
	{name: "MetricsAddAcrossVMs", serial: true, run: confMetrics},
	{name: "CalloutArguments", run: confCalloutArguments},
	{name: "CalloutResponse", run: confCalloutResponse},
	{name: "CalloutFailures", run: confCalloutFailures},
	{name: "PausedRequestResumesAfterCallout", run: confResume},
	{name: "LocalResponse", run: confLocalResponse},
	{name: "HeaderEdits", run: confHeaderEdits},
	{name: "RequestHeaderMap", run: confRequestHeaderMap},
	{name: "Bodies", run: confBodies},
	{name: "SharedDataCAS", run: confSharedCAS},
	{name: "SharedDataAcrossVMs", run: confSharedAcrossVMs},
	{name: "ClockAndRandomness", run: confClock},
	{name: "Environ", run: confEnviron},
	{name: "Properties", run: confProperties},
	{name: "TickFires", run: confTick},
	{name: "SharedQueue", run: confQueue},
	{name: "PinPerConnection", run: confPin},
	{name: "UpstreamDown", run: confUpstreamDown},
	{name: "ConcurrentCallouts", run: confConcurrentCallouts},
}

// upstreamUntouched: on the host, where the upstream serves this case alone, nothing
// reached it.
func upstreamUntouched(t *testing.T, b backend, why string) {
	if b.host() == nil {
		return
	}
	if n := b.keepAlive().upstream.hits.Load(); n != 0 {
		t.Errorf("the upstream got %d requests; %s", n, why)
	}
}

func confMetrics(t *testing.T, b backend) {
	before, histBefore := b.metric("conf_hits"), b.metric("conf_path_len")
	vms := map[any]bool{}
	var last map[string]any
	n := 0
	for n < 6 || len(vms) < 2 && n < 40 {
		last = b.fresh().conf(t, "/conf/metrics")
		vms[last["vm"]] = true
		n++
	}
	if len(vms) != 2 {
		t.Fatalf("%d requests ran on %d VMs, want the 2 workers'", n, len(vms))
	}
	if got := uint64(last["hits"].(float64)); got != before+uint64(n) {
		t.Errorf("the plugin read conf_hits = %d, want %d: a metric is shared by all VMs", got, before+uint64(n))
	}
	if got := b.metric("conf_hits"); got != before+uint64(n) {
		t.Errorf("the proxy's conf_hits = %d, want %d", got, before+uint64(n))
	}
	// Envoy's histogram samples reach the admin interface at the stats flush (Metric waits for one).
	if got := b.metric("conf_path_len"); got != histBefore+uint64(n) {
		t.Errorf("histogram conf_path_len count = %d, want %d", got, histBefore+uint64(n))
	}
	if h := b.host(); h != nil {
		if m := h.Metrics()["conf_path_len"]; m.Kind != Histogram || m.Sum != uint64(n)*uint64(len("/conf/metrics")) {
			t.Errorf("histogram conf_path_len = %+v", m)
		}
	}
	eventually(t, 2*time.Second, "conf_inflight back to 0", func() bool { return b.metric("conf_inflight") == 0 })
}

func confCalloutArguments(t *testing.T, b backend) {
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
			got := b.keepAlive().conf(t, "/conf/callout", tt.headers...)
			if got["dispatch_err"] != nil && got["dispatch_err"] != tt.want || got["dispatch_err"] == nil && tt.want != "" {
				t.Fatalf("dispatch error = %v, want %q", got["dispatch_err"], tt.want)
			}
		})
	}
	upstreamUntouched(t, b, "every answer here is a local response")
}

func confCalloutResponse(t *testing.T, b backend) {
	got := b.keepAlive().conf(t, "/conf/callout", "x-cluster", "ok", "x-path", "/token?x=1", "x-method", "POST", "x-body", "grant=1")
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
func confCalloutFailures(t *testing.T, b backend) {
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
			got := b.keepAlive().conf(t, "/conf/callout", tt.headers...)
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

func confResume(t *testing.T, b backend) {
	resp := b.keepAlive().do(t, "GET", "/conf/resume", "")
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

func confLocalResponse(t *testing.T, b backend) {
	resp := b.keepAlive().do(t, "GET", "/conf/local", "")
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
	upstreamUntouched(t, b, "a local response does not reach the upstream")
}

func confHeaderEdits(t *testing.T, b backend) {
	resp := b.keepAlive().do(t, "GET", "/app/page?q=1", "", "User-Agent", "conf-client",
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

func confRequestHeaderMap(t *testing.T, b backend) {
	got := b.keepAlive().conf(t, "/conf/headers?a=b", "User-Agent", "conf-test", "X-Multi", "1", "X-Multi", "2")
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
	t.Logf("request header map: %v", names)
}

func confBodies(t *testing.T, b backend) {
	resp := b.keepAlive().do(t, "POST", "/conf/body", "hello body", "Content-Type", "text/plain")
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), `"body":"HELLO BODY!"`) {
		t.Errorf("upstream did not get the plugin's request body: %s", body)
	}
	if !strings.HasSuffix(string(body), "\n-- appended by plugin") {
		t.Errorf("client did not get the plugin's appended response body: %q", body)
	}
}

func confSharedCAS(t *testing.T, b backend) {
	f := b.keepAlive()
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
	if h := b.host(); h != nil {
		if v, newCas, ok := h.SharedData("k"); !ok || string(v) != "v2" || newCas == cas {
			t.Errorf("host sees %q cas %d (old cas %d)", v, newCas, cas)
		}
	}
}

func confSharedAcrossVMs(t *testing.T, b backend) {
	a := b.fresh().conf(t, "/conf/shared", "x-op", "set", "x-key", "shared", "x-value", "from-a")
	r := b.onOtherVM(t, a["vm"], "/conf/shared", "x-op", "get", "x-key", "shared")
	if r["value"] != "from-a" {
		t.Errorf("VM %v read %v, want the value VM %v wrote", r["vm"], r, a["vm"])
	}
}

func confClock(t *testing.T, b backend) {
	a := b.fresh().conf(t, "/conf/clock")
	r := b.onOtherVM(t, a["vm"], "/conf/clock")
	for _, r := range []map[string]any{a, r} {
		guest := time.Unix(0, int64(r["now_unix_nano"].(float64)))
		if d := time.Since(guest); d < -time.Second || d > time.Second {
			t.Errorf("guest time.Now() is %v off the test's: the guest must see the real wall clock", d)
		}
		if _, err := hex.DecodeString(r["rand"].(string)); err != nil || r["rand_err"] != "" {
			t.Errorf("guest crypto/rand: %v", r)
		}
	}
	if a["rand"] == r["rand"] {
		t.Errorf("two VMs drew the same random bytes %v: the guest's randomness is deterministic", a["rand"])
	}
}

// confEnviron: each VM's WASI environ is exactly the configured environment (Envoy's
// vm_config.environment_variables): nothing of the proxy process leaks in.
func confEnviron(t *testing.T, b backend) {
	want := []any{"B_EMPTY=", "C_EQ=a=b c", "OIDC_CLIENT_SECRET=s3cret"}
	a := b.fresh().conf(t, "/conf/env")
	r := b.onOtherVM(t, a["vm"], "/conf/env")
	for _, r := range []map[string]any{a, r} {
		got, _ := r["environ"].([]any)
		slices.SortFunc(got, func(x, y any) int { return strings.Compare(x.(string), y.(string)) })
		if !slices.Equal(got, want) {
			t.Errorf("VM %v environ %q, want %q", r["vm"], got, want)
		}
	}
	if b.host() != nil {
		if got, _ := newFixture(t, nil).conf(t, "/conf/env")["environ"].([]any); len(got) != 0 {
			t.Errorf("without Env the environ is %q, want empty", got)
		}
	}
}

func confProperties(t *testing.T, b backend) {
	hostport := b.listener()
	got := b.keepAlive().conf(t, "/conf/props?x=1", "User-Agent", "conf-test", "X-Multi", "a", "X-Multi", "b")
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

func confTick(t *testing.T, b backend) {
	before := b.metric("conf_ticks")
	eventually(t, 3*time.Second, "proxy_on_tick (50 ms) on the VMs", func() bool {
		return b.metric("conf_ticks") >= before+6
	})
}

func confQueue(t *testing.T, b backend) {
	before := b.metric("conf_dequeued")
	if got := b.keepAlive().conf(t, "/conf/enqueue", "x-queue", "jobs", "x-item", "hello")["err"]; got != "" {
		t.Fatalf("enqueue: %v", got)
	}
	if got := b.keepAlive().conf(t, "/conf/enqueue", "x-queue", "nope", "x-item", "x")["err"]; got != errNotFound {
		t.Errorf("resolving an unknown queue: %v, want not found", got)
	}
	eventually(t, 2*time.Second, "proxy_on_queue_ready", func() bool {
		return b.metric("conf_dequeued") == before+1
	})
	// Every VM registers "jobs" in proxy_on_configure; the last registration owns the
	// queue, so that VM dequeues.
	var lastRegistrar, dequeuer string
	for _, l := range b.logs() {
		switch {
		case strings.Contains(l.msg, "conformance: plugin start root="):
			lastRegistrar = l.vm
		case strings.Contains(l.msg, `conformance: dequeued "hello"`):
			dequeuer = l.vm
		}
	}
	if dequeuer == "" || dequeuer != lastRegistrar {
		t.Errorf("VM %q dequeued, want the last VM to register the queue (%q)", dequeuer, lastRegistrar)
	}
}

// confPin: Envoy keeps a downstream connection on the worker that accepted it (the host
// round-robins unless PinPerConnection).
func confPin(t *testing.T, b backend) {
	c := b.pinned(t)
	first := c.conf(t, "/conf/clock")["vm"]
	for i := 0; i < 5; i++ {
		if vm := c.conf(t, "/conf/clock")["vm"]; vm != first {
			t.Fatalf("request %d on one keep-alive connection ran on VM %v, not %v", i, vm, first)
		}
	}
}

func confUpstreamDown(t *testing.T, b backend) {
	f, path := b.down(t)
	resp := f.do(t, "GET", path, "")
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 503 || !strings.HasPrefix(string(body), "upstream connect error") {
		t.Errorf("got %d %q, want the router's 503", resp.StatusCode, body)
	}
	if resp.Header.Get("X-On-Response-Headers") != "503" {
		t.Error("the plugin did not see the router's local reply in proxy_on_response_headers")
	}
}

// confConcurrentCallouts: many paused streams on two VMs; every callout re-enters its VM
// and resumes the right stream.
func confConcurrentCallouts(t *testing.T, b backend) {
	const n = 64
	f := b.fresh()
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			resp, err := f.client.Get(f.srv.URL + "/conf/resume")
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 || !strings.Contains(string(body), `"x-callout-status":["200"]`) {
				errs <- fmt.Errorf("status %d body %s", resp.StatusCode, body)
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
	if h := b.host(); h != nil {
		eventually(t, 2*time.Second, "every stream context deleted", func() bool {
			for _, s := range h.VMStats() {
				if s.Streams != 0 {
					return false
				}
			}
			return true
		})
	}
}
