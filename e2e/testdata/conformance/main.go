// Command conformance is a proxy-wasm plugin that exercises one host call per
// request, so the e2e/host conformance tests can assert what a plugin observes.
// It is built by the tests with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o conformance.wasm .
//
// Requests under /conf/ are answered by the plugin itself with a JSON local
// response describing what the host returned; other paths are proxied, with
// header edits the tests look for upstream and downstream.
package main

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

func init() {
	proxywasm.LogInfo("conformance: init")
	proxywasm.SetVMContext(&vmContext{})
}

func main() {}

type pluginConfig struct {
	Fail   string `json:"fail"`
	TickMS uint32 `json:"tick_ms"`
	Queue  string `json:"queue"`
}

type vmContext struct {
	types.DefaultVMContext
	id string // random per VM, so tests can tell VMs apart
}

func (v *vmContext) OnVMStart(vmConfigurationSize int) types.OnVMStartStatus {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return false
	}
	v.id = hex.EncodeToString(b)
	cfg, _ := proxywasm.GetVMConfiguration()
	proxywasm.LogInfof("conformance: vm start %s vm_config=%q size=%d", v.id, cfg, vmConfigurationSize)
	return true
}

func (v *vmContext) NewPluginContext(contextID uint32) types.PluginContext {
	return &pluginContext{vm: v, id: contextID}
}

type pluginContext struct {
	types.DefaultPluginContext
	vm       *vmContext
	id       uint32
	hits     proxywasm.MetricCounter
	inflight proxywasm.MetricGauge
	sizes    proxywasm.MetricHistogram
	ticks    proxywasm.MetricCounter
	queued   proxywasm.MetricCounter
	queueID  uint32
	sockets  map[string]uint32 // tracked upgraded streams by tag (ws.go)
}

func (p *pluginContext) OnPluginStart(size int) types.OnPluginStartStatus {
	raw, err := proxywasm.GetPluginConfiguration()
	if err != nil && size > 0 {
		proxywasm.LogErrorf("conformance: read plugin config: %v", err)
		return types.OnPluginStartStatusFailed
	}
	var cfg pluginConfig
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &cfg); err != nil {
			proxywasm.LogErrorf("conformance: plugin config: %v", err)
			return types.OnPluginStartStatusFailed
		}
	}
	if cfg.Fail != "" {
		proxywasm.LogCriticalf("conformance: refusing to start: %s", cfg.Fail)
		return types.OnPluginStartStatusFailed
	}
	p.hits = proxywasm.DefineCounterMetric("conf_hits")
	p.inflight = proxywasm.DefineGaugeMetric("conf_inflight")
	p.sizes = proxywasm.DefineHistogramMetric("conf_path_len")
	p.ticks = proxywasm.DefineCounterMetric("conf_ticks")
	p.queued = proxywasm.DefineCounterMetric("conf_dequeued")
	if cfg.TickMS > 0 {
		if err := proxywasm.SetTickPeriodMilliSeconds(cfg.TickMS); err != nil {
			proxywasm.LogErrorf("conformance: tick: %v", err)
			return types.OnPluginStartStatusFailed
		}
	}
	if cfg.Queue != "" {
		id, err := proxywasm.RegisterSharedQueue(cfg.Queue)
		if err != nil {
			proxywasm.LogErrorf("conformance: queue: %v", err)
			return types.OnPluginStartStatusFailed
		}
		p.queueID = id
	}
	proxywasm.LogInfof("conformance: plugin start root=%d", p.id)
	return types.OnPluginStartStatusOK
}

func (p *pluginContext) OnTick() {
	p.ticks.Increment(1)
	p.tickSockets()
}

func (p *pluginContext) OnQueueReady(queueID uint32) {
	for {
		item, err := proxywasm.DequeueSharedQueue(queueID)
		if err != nil {
			return
		}
		proxywasm.LogInfof("conformance: dequeued %q", item)
		p.queued.Increment(1)
	}
}

func (p *pluginContext) OnPluginDone() bool {
	proxywasm.LogInfof("conformance: plugin done root=%d", p.id)
	return true
}

func (p *pluginContext) NewHttpContext(contextID uint32) types.HttpContext {
	return &httpContext{plugin: p, id: contextID}
}

type httpContext struct {
	types.DefaultHttpContext
	plugin *pluginContext
	id     uint32
	path   string
	// postResume records what adding a request header after ResumeHttpRequest returned.
	postResume string
	bodyEdit   bool
	// holdBody: /conf/holdbody paused its headers on a callout (resumed once it answered)
	// and answers from the body what it saw there.
	holdBody, resumed bool
	// ws, wsTag: a tracked upgraded stream (ws.go).
	ws    *wsSeen
	wsTag string
}

// result is the JSON body of every /conf/ local response.
type result map[string]any

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func (c *httpContext) reply(status uint32, r result) types.Action {
	r["vm"] = c.plugin.vm.id
	r["context_id"] = c.id
	body, _ := json.Marshal(r)
	if err := proxywasm.SendHttpResponse(status, [][2]string{{"content-type", "application/json"}}, body, -1); err != nil {
		proxywasm.LogErrorf("conformance: send local response: %v", err)
	}
	return types.ActionPause
}

func (c *httpContext) header(name string) string {
	v, _ := proxywasm.GetHttpRequestHeader(name)
	return v
}

func (c *httpContext) OnHttpRequestHeaders(numHeaders int, endOfStream bool) types.Action {
	c.path = c.header(":path")
	c.plugin.hits.Increment(1)
	c.plugin.inflight.Add(1)
	c.plugin.sizes.Record(uint64(len(c.path)))
	route, _, _ := strings.Cut(c.path, "?")
	switch route {
	case "/conf/headers":
		return c.headers(numHeaders, endOfStream)
	case "/conf/callout":
		return c.callout()
	case "/conf/resume":
		return c.resume()
	case "/conf/shared":
		return c.shared()
	case "/conf/clock":
		return c.clock()
	case "/conf/local":
		return c.local()
	case "/conf/metrics":
		return c.metrics()
	case "/conf/props":
		return c.props()
	case "/conf/enqueue":
		return c.enqueue()
	case "/conf/env":
		return c.reply(200, result{"environ": os.Environ()})
	case "/conf/panic":
		panic("conformance: boom")
	case "/conf/holdbody":
		return c.holdHeaders()
	case "/conf/body":
		c.bodyEdit = true
		_ = proxywasm.RemoveHttpRequestHeader("content-length")
		return types.ActionContinue
	}
	hold := c.wsTrack(endOfStream)
	// Passthrough: edits the upstream must see.
	_ = proxywasm.AddHttpRequestHeader("x-conf-added", "1")
	_ = proxywasm.ReplaceHttpRequestHeader("x-conf-replace", "new")
	_ = proxywasm.RemoveHttpRequestHeader("x-conf-remove")
	if p := c.header("x-conf-rewrite-path"); p != "" {
		_ = proxywasm.ReplaceHttpRequestHeader(":path", p)
	}
	if hold {
		return types.ActionPause
	}
	return types.ActionContinue
}

// headers reports the request header map the plugin sees.
func (c *httpContext) headers(numHeaders int, endOfStream bool) types.Action {
	pairs, err := proxywasm.GetHttpRequestHeaders()
	missing, missErr := proxywasm.GetHttpRequestHeader("x-not-there")
	return c.reply(200, result{
		"num_headers":   numHeaders,
		"end_of_stream": endOfStream,
		"pairs":         pairs,
		"err":           errString(err),
		"missing":       missing,
		"missing_err":   errString(missErr),
	})
}

func (c *httpContext) callout() types.Action {
	cluster := c.header("x-cluster")
	headers := [][2]string{}
	if m := c.header("x-method"); m != "-" {
		if m == "" {
			m = "GET"
		}
		headers = append(headers, [2]string{":method", m})
	}
	if p := c.header("x-path"); p != "-" {
		if p == "" {
			p = "/echo"
		}
		headers = append(headers, [2]string{":path", p})
	}
	if a := c.header("x-authority"); a != "-" {
		if a == "" {
			a = "callout.test"
		}
		headers = append(headers, [2]string{":authority", a})
	}
	headers = append(headers, [2]string{"x-callout", "1"})
	timeout := uint32(5000)
	if t := c.header("x-timeout-ms"); t != "" {
		n, _ := strconv.Atoi(t)
		timeout = uint32(n)
	}
	var body []byte
	if b := c.header("x-body"); b != "" {
		body = []byte(b)
	}
	_, err := proxywasm.DispatchHttpCall(cluster, headers, body, nil, timeout, func(numHeaders, bodySize, numTrailers int) {
		hs, hErr := proxywasm.GetHttpCallResponseHeaders()
		b, bErr := proxywasm.GetHttpCallResponseBody(0, bodySize)
		ts, _ := proxywasm.GetHttpCallResponseTrailers()
		status := lookup(hs, ":status")
		c.reply(200, result{
			"num_headers":  numHeaders,
			"body_size":    bodySize,
			"num_trailers": numTrailers,
			"headers":      hs,
			"headers_err":  errString(hErr),
			"status":       status,
			"body":         string(b),
			"body_err":     errString(bErr),
			"trailers":     ts,
		})
	})
	if err != nil {
		return c.reply(200, result{"dispatch_err": err.Error()})
	}
	return types.ActionPause
}

// resume pauses on a callout, then edits the request and resumes it.
func (c *httpContext) resume() types.Action {
	headers := [][2]string{{":method", "GET"}, {":path", "/echo"}, {":authority", "callout.test"}}
	_, err := proxywasm.DispatchHttpCall("ok", headers, nil, nil, 5000, func(numHeaders, bodySize, numTrailers int) {
		hs, _ := proxywasm.GetHttpCallResponseHeaders()
		status := lookup(hs, ":status")
		if err := proxywasm.AddHttpRequestHeader("x-callout-status", status); err != nil {
			proxywasm.LogErrorf("conformance: add before resume: %v", err)
		}
		if err := proxywasm.ResumeHttpRequest(); err != nil {
			proxywasm.LogErrorf("conformance: resume: %v", err)
		}
		c.postResume = errString(proxywasm.AddHttpRequestHeader("x-after-resume", "1"))
	})
	if err != nil {
		return c.reply(500, result{"dispatch_err": err.Error()})
	}
	return types.ActionPause
}

func (c *httpContext) shared() types.Action {
	key := c.header("x-key")
	switch c.header("x-op") {
	case "set":
		cas, _ := strconv.ParseUint(c.header("x-cas"), 10, 32)
		err := proxywasm.SetSharedData(key, []byte(c.header("x-value")), uint32(cas))
		return c.reply(200, result{"err": errString(err)})
	default:
		v, cas, err := proxywasm.GetSharedData(key)
		return c.reply(200, result{"value": string(v), "cas": cas, "err": errString(err)})
	}
}

func (c *httpContext) clock() types.Action {
	b := make([]byte, 16)
	_, err := rand.Read(b)
	return c.reply(200, result{
		"now_unix_nano": time.Now().UnixNano(),
		"rand":          hex.EncodeToString(b),
		"rand_err":      errString(err),
	})
}

func (c *httpContext) local() types.Action {
	err := proxywasm.SendHttpResponse(403, [][2]string{
		{"set-cookie", "a=1; Path=/"},
		{"set-cookie", "b=2; Path=/"},
		{"x-local", "yes"},
	}, []byte("denied by plugin"), -1)
	if err != nil {
		proxywasm.LogErrorf("conformance: local: %v", err)
	}
	// Returning Continue must not let the request reach the upstream.
	return types.ActionContinue
}

func (c *httpContext) metrics() types.Action {
	return c.reply(200, result{"hits": c.plugin.hits.Value(), "inflight": c.plugin.inflight.Value()})
}

func (c *httpContext) enqueue() types.Action {
	id, err := proxywasm.ResolveSharedQueue("", c.header("x-queue"))
	if err != nil {
		return c.reply(200, result{"err": err.Error()})
	}
	err = proxywasm.EnqueueSharedQueue(id, []byte(c.header("x-item")))
	return c.reply(200, result{"err": errString(err)})
}

func lookup(pairs [][2]string, key string) string {
	for _, p := range pairs {
		if p[0] == key {
			return p[1]
		}
	}
	return ""
}

func property(path ...string) (string, string) {
	v, err := proxywasm.GetProperty(path)
	return string(v), errString(err)
}

func (c *httpContext) props() types.Action {
	r := result{}
	for _, p := range []string{
		"request.path", "request.url_path", "request.host", "request.method", "request.scheme",
		"request.id", "request.protocol", "request.query", "request.useragent", "request.headers.x-multi",
		"source.address", "destination.address", "plugin_name", "plugin_root_id", "plugin_vm_id",
		"no.such.property",
	} {
		v, err := property(strings.Split(p, ".")...)
		r[p] = v
		if err != "" {
			r[p+".err"] = err
		}
	}
	for _, p := range []string{"source.port", "destination.port", "request.time"} {
		v, err := proxywasm.GetProperty(strings.Split(p, "."))
		if err == nil && len(v) == 8 {
			r[p] = int64(binary.LittleEndian.Uint64(v))
		} else {
			r[p+".err"] = errString(err)
		}
	}
	if v, err := proxywasm.GetProperty([]string{"connection", "mtls"}); err == nil && len(v) == 1 {
		r["connection.mtls"] = v[0] == 1
	}
	hs, err := proxywasm.GetPropertyMap([]string{"request", "headers"})
	r["request.headers"] = hs
	r["request.headers.err"] = errString(err)
	if err := proxywasm.SetProperty([]string{"conf_state"}, []byte("kept")); err != nil {
		r["set_property.err"] = err.Error()
	}
	r["conf_state"], _ = property("conf_state")
	return c.reply(200, r)
}

// holdHeaders pauses the headers of a request with a body on a callout and resumes them
// when it answers. Envoy's default delivers the body only after that (the headers gone
// upstream); with allow_on_headers_stop_iteration the body comes while they are held.
func (c *httpContext) holdHeaders() types.Action {
	c.holdBody = true
	headers := [][2]string{{":method", "GET"}, {":path", "/echo"}, {":authority", "callout.test"}}
	_, err := proxywasm.DispatchHttpCall("ok", headers, nil, nil, 5000, func(int, int, int) {
		c.resumed = true
		if err := proxywasm.ResumeHttpRequest(); err != nil {
			proxywasm.LogErrorf("conformance: resume: %v", err)
		}
	})
	if err != nil {
		return c.reply(500, result{"dispatch_err": err.Error()})
	}
	return types.ActionPause
}

// heldBody answers /conf/holdbody from its body: whether the headers had been resumed and
// whether they are still readable (Envoy drops them once they continue).
func (c *httpContext) heldBody(bodySize int, endOfStream bool) types.Action {
	if !endOfStream {
		return types.ActionPause
	}
	b, _ := proxywasm.GetHttpRequestBody(0, bodySize)
	_, herr := proxywasm.GetHttpRequestHeader(":path")
	return c.reply(200, result{"resumed": c.resumed, "headers_err": errString(herr), "body": string(b)})
}

func (c *httpContext) OnHttpRequestBody(bodySize int, endOfStream bool) types.Action {
	if c.wsRequestBody(bodySize, endOfStream) {
		return types.ActionPause
	}
	if c.holdBody {
		return c.heldBody(bodySize, endOfStream)
	}
	if !c.bodyEdit {
		return types.ActionContinue
	}
	if !endOfStream {
		return types.ActionPause
	}
	b, err := proxywasm.GetHttpRequestBody(0, bodySize)
	if err != nil {
		proxywasm.LogErrorf("conformance: request body: %v", err)
		return types.ActionContinue
	}
	_ = proxywasm.ReplaceHttpRequestBody([]byte(strings.ToUpper(string(b)) + "!"))
	return types.ActionContinue
}

func (c *httpContext) OnHttpResponseHeaders(numHeaders int, endOfStream bool) types.Action {
	status, _ := proxywasm.GetHttpResponseHeader(":status")
	_ = proxywasm.AddHttpResponseHeader("x-on-response-headers", status)
	c.wsLate()
	if c.ws != nil {
		c.ws.Status = status
		c.ws.Calls = append(c.ws.Calls, "response_headers")
		c.wsSave()
	}
	if c.postResume != "" {
		_ = proxywasm.AddHttpResponseHeader("x-post-resume-add", c.postResume)
	}
	_, pathErr := property("request", "path")
	if pathErr != "" {
		_ = proxywasm.AddHttpResponseHeader("x-response-phase-request-path", pathErr)
	}
	if _, err := proxywasm.GetHttpRequestHeader(":path"); err != nil {
		_ = proxywasm.AddHttpResponseHeader("x-response-phase-request-header", err.Error())
	}
	if strings.HasPrefix(c.path, "/conf/") && c.path != "/conf/body" {
		return types.ActionContinue
	}
	_ = proxywasm.AddHttpResponseHeader("set-cookie", "plugin1=a; Path=/")
	_ = proxywasm.AddHttpResponseHeader("set-cookie", "plugin2=b; Path=/")
	_ = proxywasm.RemoveHttpResponseHeader("x-upstream-secret")
	if c.bodyEdit {
		_ = proxywasm.RemoveHttpResponseHeader("content-length")
	}
	return types.ActionContinue
}

func (c *httpContext) OnHttpResponseBody(bodySize int, endOfStream bool) types.Action {
	c.wsResponseBody(bodySize, endOfStream)
	if !c.bodyEdit {
		return types.ActionContinue
	}
	if !endOfStream {
		return types.ActionPause
	}
	_ = proxywasm.AppendHttpResponseBody([]byte("\n-- appended by plugin"))
	return types.ActionContinue
}

func (c *httpContext) OnHttpStreamDone() {
	c.plugin.inflight.Add(-1)
	hs, _ := proxywasm.GetHttpResponseHeaders()
	status := lookup(hs, ":status")
	proxywasm.LogInfof("conformance: stream done id=%d path=%s status=%s", c.id, c.path, status)
	c.wsDone()
}
