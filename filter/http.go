package filter

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/config"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/engine"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/oidc"
)

// httpContext is one request. Its callbacks read the request, take a decision and apply it.
type httpContext struct {
	types.DefaultHttpContext
	p         *pluginContext
	contextID uint32

	req        engine.Request
	corr       string
	setCookies [][2]string // Set-Cookie headers for the response (local or upstream)
	api        int8        // 0 unknown, 1 API, -1 navigation
	route      *config.Route
	// onBody, when set, takes the request body (an endpoint that reads one): called by
	// OnHttpRequestBody with the buffered size.
	onBody func(size int, endOfStream bool) types.Action
	// paused: OnHttpRequestHeaders returned Pause (a callout, a flight, a body to read).
	paused bool
}

func (h *httpContext) OnHttpRequestHeaders(n int, endOfStream bool) types.Action {
	a := h.requestHeaders(n, endOfStream)
	h.paused = a == types.ActionPause
	return a
}

func (h *httpContext) requestHeaders(_ int, endOfStream bool) types.Action {
	pairs, err := proxywasm.GetHttpRequestHeaders()
	if err != nil {
		logAt(levelError, "reading request headers failed", "err", err)
		return h.respond(failure{status: 500, code: "internal_error", msg: "The request could not be read.", err: err})
	}
	cfg := h.p.cfg
	h.req = engine.ReadRequest(pairs, h.p.identityHeaders())
	h.stripIdentityHeaders()

	switch h.req.PathOnly {
	case cfg.CallbackPath():
		if a := h.callback(); h.onBody == nil || !endOfStream {
			return a
		}
		return h.formPostEmpty()
	case cfg.SignInPath():
		return h.signIn()
	case cfg.SignOutPath():
		return h.signOut()
	case cfg.SignedOutPath():
		return h.signedOut()
	case cfg.UserinfoPath():
		if cfg.Endpoints.Userinfo {
			return h.userinfo()
		}
	case cfg.TokenPath():
		if cfg.Endpoints.Token {
			return h.tokenEndpoint()
		}
	case cfg.TokenScriptPath():
		if cfg.Endpoints.Token {
			return h.tokenScript()
		}
	case cfg.BackchannelLogoutPath():
		if cfg.Endpoints.BackchannelLogout {
			return h.backchannelLogout(endOfStream)
		}
	}
	if cfg.IsPassThrough(h.req.Method, h.req.PathOnly) {
		return types.ActionContinue
	}
	h.route = cfg.Route(h.req.Authority, h.req.Method, h.req.PathOnly)
	switch h.route.Auth {
	case config.AuthNone:
		return types.ActionContinue
	case config.AuthBearer, config.AuthSessionOrBearer:
		if a, handled := h.bearer(h.route); handled {
			return a
		}
	}
	return h.authenticate()
}

// OnHttpRequestBody hands the body to the endpoint that asked for it (onBody); any other
// request's body goes upstream untouched, once its headers did. While the headers are held
// (only under allow_on_headers_stop_iteration does a body come then: holdbody.go) the body
// waits too, since Continue here would send the headers before the plugin decided on them.
func (h *httpContext) OnHttpRequestBody(size int, endOfStream bool) types.Action {
	h.p.bodyArrived(h.contextID)
	if h.onBody == nil {
		if h.paused {
			if headersStillHeld() {
				return actionBodyWatermark
			}
			h.paused = false // continued headers are never held again: no more host reads
		}
		return types.ActionContinue
	}
	return h.onBody(size, endOfStream)
}

// OnHttpResponseHeaders adds the cookies the request phase decided on (a re-sealed session
// after a refresh) to the upstream's response.
func (h *httpContext) OnHttpResponseHeaders(int, bool) types.Action {
	for _, c := range h.setCookies {
		if err := proxywasm.AddHttpResponseHeader(c[0], c[1]); err != nil {
			logAt(levelWarn, "adding set-cookie failed", "err", err)
		}
	}
	return types.ActionContinue
}

// isAPI reports whether the request is an API/XHR call (401, never a login redirect). A
// WebSocket upgrade always is, whatever Sec-Fetch-Mode says: a handshake cannot follow a
// redirect, and a login started for it would only spend a state.
func (h *httpContext) isAPI() bool {
	if h.api == 0 {
		if h.req.Upgrade != "" {
			h.api = 1
			return true
		}
		cfg := h.p.cfg
		info := oidc.RequestInfo{Method: h.req.Method, Path: h.req.PathOnly, Accept: h.req.Accept,
			SecFetchMode: h.req.SecFetchMode, XRequestedWith: h.req.XRequestedWith, Authorization: h.req.Authorization}
		h.api = -1
		if oidc.IsAPIRequest(info, cfg.API.Detect, cfg.API.Prefixes) {
			h.api = 1
		}
	}
	return h.api == 1
}

// addCookie queues a Set-Cookie header for whatever response this request gets.
func (h *httpContext) addCookie(v string) {
	h.setCookies = append(h.setCookies, [2]string{"set-cookie", v})
}

// stripIdentityHeaders removes every identity header the client sent: only the filter sets them.
func (h *httpContext) stripIdentityHeaders() {
	for name := range h.req.Present {
		if err := proxywasm.RemoveHttpRequestHeader(name); err != nil {
			logAt(levelWarn, "removing a header failed", "header", name, "err", err)
		}
	}
	if len(h.req.Present) > 0 {
		auditInfo("identity_header_stripped", "count", len(h.req.Present), "path", h.req.PathOnly)
	}
}

// OnHttpStreamDone forgets a request that was waiting for a flight or for its body.
func (h *httpContext) OnHttpStreamDone() {
	h.p.bodyArrived(h.contextID)
	if h.req.Upgrade != "" && h.p.sockets != nil {
		h.p.sockets.done(h.contextID)
	}
	if b := h.p.broker; b != nil {
		b.flights.unwait(h.contextID)
	}
}
