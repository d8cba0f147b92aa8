package main

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
)

// Upgraded streams (WebSockets): a request under /ws with an x-ws-tag header is tracked by
// its tag. What the plugin saw of it is kept in shared data under "ws/<tag>" (JSON, rewritten
// at every callback), so a test reads it with /conf/shared from any VM. Setting "close/<tag>"
// asks the tick of the VM that holds the stream to close it as filter/sockets.go does:
// proxy_set_effective_context(stream), then proxy_close_stream(request); what those two
// returned lands in "closed/<tag>".

// wsSeen is what the plugin observed of one tracked stream.
type wsSeen struct {
	VM         string `json:"vm"`
	Headers    bool   `json:"headers"`     // proxy_on_request_headers ran
	HeadersEOS bool   `json:"headers_eos"` // its end_of_stream
	Upgrade    string `json:"upgrade"`     // the upgrade and connection request headers there
	Connection string `json:"connection"`  //
	Status     string `json:"status"`      // :status in proxy_on_response_headers
	// Req and Resp are the proxy_on_request_body and proxy_on_response_body calls, one
	// entry each: the chunk's size, "+eos" when end_of_stream was set.
	Req  []string `json:"req"`
	Resp []string `json:"resp"`
	// Calls is every callback in order: "headers", "req <chunk>", "response_headers",
	// "resp <chunk>".
	Calls       []string `json:"calls"`
	Done        bool     `json:"done"`         // proxy_on_log / proxy_on_done ran
	DoneStatus  string   `json:"done_status"`  // :status readable at the end
	DoneDetails string   `json:"done_details"` // response.code_details at the end
}

func chunk(size int, eos bool) string {
	s := strconv.Itoa(size)
	if eos {
		s += "+eos"
	}
	return s
}

// wsTrack starts tracking the stream if it carries a tag. With x-ws-hold it also holds the
// headers on a callout (as the plugin does to refresh a session before forwarding an
// upgrade) and reports true: proxy_on_request_headers then pauses, and the callout's answer
// resumes the request ("callout" in Calls).
func (c *httpContext) wsTrack(endOfStream bool) (hold bool) {
	tag := c.header("x-ws-tag")
	if tag == "" || !strings.HasPrefix(c.path, "/ws") {
		return false
	}
	c.ws = &wsSeen{VM: c.plugin.vm.id, Headers: true, HeadersEOS: endOfStream, Calls: []string{"headers"},
		Upgrade: c.header("upgrade"), Connection: c.header("connection")}
	c.wsTag = tag
	if c.plugin.sockets == nil {
		c.plugin.sockets = map[string]uint32{}
	}
	c.plugin.sockets[tag] = c.id
	c.wsSave()
	if c.header("x-ws-hold") == "" {
		return false
	}
	headers := [][2]string{{":method", "GET"}, {":path", "/echo"}, {":authority", "callout.test"}}
	if _, err := proxywasm.DispatchHttpCall("ok", headers, nil, nil, 5000, func(int, int, int) {
		c.ws.Calls = append(c.ws.Calls, "callout")
		c.wsSave()
		if err := proxywasm.ResumeHttpRequest(); err != nil {
			proxywasm.LogErrorf("conformance: resume ws: %v", err)
		}
	}); err != nil {
		proxywasm.LogErrorf("conformance: ws callout: %v", err)
		return false
	}
	return true
}

// wsLate tracks a tagged stream whose request headers callback never ran (a reply Envoy's
// connection manager made before the filters), from the headers readable at its end.
func (c *httpContext) wsLate() {
	if c.ws != nil {
		return
	}
	tag, _ := proxywasm.GetHttpRequestHeader("x-ws-tag")
	if tag == "" {
		return
	}
	c.ws, c.wsTag = &wsSeen{VM: c.plugin.vm.id}, tag
}

func (c *httpContext) wsSave() {
	if c.ws == nil {
		return
	}
	b, _ := json.Marshal(c.ws)
	if err := proxywasm.SetSharedData("ws/"+c.wsTag, b, 0); err != nil {
		proxywasm.LogErrorf("conformance: save ws/%s: %v", c.wsTag, err)
	}
}

// wsRequestBody records a request body chunk, " held" when the request headers are still
// readable (held by a pause); it reports whether to pause the body too, as the plugin does
// while the headers it holds wait for a callout.
func (c *httpContext) wsRequestBody(size int, eos bool) (pause bool) {
	if c.ws == nil {
		return false
	}
	call := "req " + chunk(size, eos)
	_, err := proxywasm.GetHttpRequestHeader(":path")
	if err == nil {
		call += " held"
	}
	c.ws.Req = append(c.ws.Req, chunk(size, eos))
	c.ws.Calls = append(c.ws.Calls, call)
	c.wsSave()
	return err == nil
}

func (c *httpContext) wsResponseBody(size int, eos bool) {
	if c.ws == nil {
		return
	}
	c.ws.Resp = append(c.ws.Resp, chunk(size, eos))
	c.ws.Calls = append(c.ws.Calls, "resp "+chunk(size, eos))
	c.wsSave()
}

func (c *httpContext) wsDone() {
	c.wsLate()
	if c.ws == nil {
		return
	}
	delete(c.plugin.sockets, c.wsTag)
	c.ws.Done = true
	c.ws.DoneStatus, _ = proxywasm.GetHttpResponseHeader(":status")
	c.ws.DoneDetails, _ = property("response", "code_details")
	c.wsSave()
}

// tickSockets closes the tracked streams a test asked to close.
func (p *pluginContext) tickSockets() {
	for tag, id := range p.sockets {
		if v, _, err := proxywasm.GetSharedData("close/" + tag); err != nil || len(v) == 0 {
			continue
		}
		delete(p.sockets, tag)
		res := errString(proxywasm.SetEffectiveContext(id))
		if res == "" {
			res = "close_stream:" + statusString(proxyCloseStream(0))
		}
		if err := proxywasm.SetSharedData("closed/"+tag, []byte(res), 0); err != nil {
			proxywasm.LogErrorf("conformance: save closed/%s: %v", tag, err)
		}
	}
}

func statusString(st uint32) string {
	if st == 0 {
		return "ok"
	}
	return "status " + strconv.FormatUint(uint64(st), 10)
}

// proxy_close_stream: the SDK offers it for TCP streams only.
//
//go:wasmimport env proxy_close_stream
func proxyCloseStream(streamType uint32) uint32
