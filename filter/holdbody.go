package filter

import (
	"errors"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

// Requests with a body the plugin reads (the back-channel logout and a form post callback)
// and what Envoy does with a pause in the request headers.
//
// By default (proxy-wasm ABI 0.2) Envoy turns a pause in proxy_on_request_headers into
// StopAllIteration: the body is buffered but no body callback comes until the headers
// continue, and continuing them lets the router send them upstream. With
// allow_on_headers_stop_iteration on the Wasm filter's PluginConfig (Envoy >= 1.35) the pause
// is a plain StopIteration: the headers are held and proxy_on_request_body still comes, so
// the plugin answers from the body and nothing of the request reaches the upstream.
//
// Which of the two an Envoy does cannot be seen when the headers arrive (a body callback
// during the pause is the only sign, and it never comes under the default), so
// endpoints.allow_on_headers_stop_iteration says it. A held request whose body has not begun
// within holdBodyWait (a slow client, or an Envoy whose filter lacks the field, where the body
// never comes while the headers wait) is answered 408 there (tickHeld): letting its headers
// continue would hand the app a header-only POST to the plugin's endpoint.

// actionBodyWatermark is proxy-wasm's FilterDataStatus StopIterationAndWatermark, which the
// SDK has no name for: Envoy buffers the body under flow control (the client is slowed down,
// as under the default StopAllIteration) instead of answering 413 past its buffer limit, as
// StopIterationAndBuffer (ActionPause) would for a large upload that comes while the headers
// wait for a refresh.
const actionBodyWatermark types.Action = 2

// holdBodyWait is how long headers held for a body wait for the first body callback.
const holdBodyWait = 2 * time.Second

// heldHeaders are this VM's requests whose headers are held for their body, by context id.
type heldHeaders map[uint32]heldRequest

type heldRequest struct {
	h     *httpContext
	until time.Time // when to stop waiting for the body
}

// awaitBody returns the action of an endpoint that has set h.onBody: hold the headers when
// this Envoy delivers the body to held headers, else let them continue (the body follows).
func (h *httpContext) awaitBody() types.Action {
	if !h.p.cfg.Endpoints.HoldHeadersForBody {
		return types.ActionContinue
	}
	if h.p.held == nil {
		h.p.held = heldHeaders{}
	}
	h.p.held[h.contextID] = heldRequest{h: h, until: h.p.now().Add(holdBodyWait)}
	return types.ActionPause
}

// bodyArrived forgets the wait of a request whose body came (or that ended).
func (p *pluginContext) bodyArrived(contextID uint32) {
	if len(p.held) > 0 {
		delete(p.held, contextID)
	}
}

// headersStillHeld reports whether this request's headers are held: Envoy shows the request
// headers to a body callback only when they have not continued (continuing drops them).
// Under allow_on_headers_stop_iteration a body may come while the plugin waits on a callout
// with the headers paused; continuing then would send them before the plugin's decision.
func headersStillHeld() bool {
	_, err := proxywasm.GetHttpRequestHeader(":method")
	return err == nil
}

// tickHeld answers 408 to the requests whose body did not begin in time; nothing of them
// reaches the app.
func (p *pluginContext) tickHeld(now time.Time) {
	if len(p.held) == 0 {
		return
	}
	resumed := false
	for id, r := range p.held {
		if now.Before(r.until) {
			continue
		}
		delete(p.held, id)
		if err := proxywasm.SetEffectiveContext(id); err != nil {
			continue // the request is gone
		}
		resumed = true
		logAt(levelWarn, "no request body began while the headers were held: answered 408 (a slow client; if every such request ends so, this Envoy's Wasm filter lacks allow_on_headers_stop_iteration: true, which endpoints.allow_on_headers_stop_iteration says it has)",
			"corr", r.h.correlationID(), "path", r.h.req.PathOnly, "waited", holdBodyWait.String())
		r.h.bodyTimedOut()
	}
	if resumed {
		_ = proxywasm.SetEffectiveContext(p.contextID)
	}
}

// errBodyTimeout: a held request's body did not begin within holdBodyWait.
var errBodyTimeout = errors.New("filter: the request body did not begin within " + holdBodyWait.String())

// bodyTimedOut answers a held request whose body did not come: 408, as a back-channel logout
// answer (JSON) or as a page; the body, should any still come, is ignored.
func (h *httpContext) bodyTimedOut() {
	h.onBody = func(int, bool) types.Action { return types.ActionPause }
	if h.req.PathOnly == h.p.cfg.BackchannelLogoutPath() {
		h.p.metrics.backchannel("invalid")
		h.logoutAnswer(408, errBodyTimeout)
		return
	}
	h.respond(failure{status: 408, code: "request_timeout", reason: "bad_callback", err: errBodyTimeout,
		msg: "The request's body did not arrive in time. Please try again."})
}
