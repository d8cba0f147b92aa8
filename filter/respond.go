package filter

import (
	"encoding/hex"
	"io"
	"strconv"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/engine"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

// failure is a request the filter answers itself with an error. It is the one shape every
// error on the request path is turned into; respond renders it.
type failure struct {
	status     int
	code       string // stable machine code, e.g. "invalid_state"; also the JSON "error"
	msg        string // what the user is told; never holds a token or provider raw text
	reason     string // login failure reason for metrics, when this ends a login
	err        error  // logged with the correlation id; never holds a token
	retryAfter int    // seconds, for 429 and 503
	reload     bool   // a browser's page reloads itself after retryAfter (engine.RetryPage)
	// challenge makes it an RFC 6750 answer of a bearer route: always JSON, a Bearer
	// challenge carrying code (none when no token was sent: code "") and scope, and a
	// bearer_rejected audit line instead of login_failed.
	challenge bool
	scope     string // scopes the resource needs, for insufficient_scope
}

// respond sends f as a local response: JSON for API clients, a small HTML page for browsers.
// It logs one line with the correlation id shown to the user.
func (h *httpContext) respond(f failure) types.Action {
	if f.challenge {
		return h.bearerRespond(f)
	}
	corr := h.correlationID()
	if f.reason != "" {
		h.p.metrics.loginFail(f.reason)
	}
	var detail []any
	if f.err != nil {
		detail = []any{"err", f.err}
	}
	if f.reason != "" {
		// A login that ends here is a security event: one audit line.
		auditWarn("login_failed", append([]any{"reason", f.reason, "code", f.code, "status", f.status, "corr", corr,
			"method", h.req.Method, "path", h.req.PathOnly}, detail...)...)
	} else {
		logAt(levelWarn, f.code, append([]any{"status", f.status, "corr", corr, "method", h.req.Method, "path", h.req.PathOnly}, detail...)...)
	}
	headers := [][2]string{
		{"cache-control", "no-store"},
		{"x-correlation-id", corr},
	}
	if f.retryAfter > 0 {
		headers = append(headers, [2]string{"retry-after", strconv.Itoa(f.retryAfter)})
	}
	if f.status == 401 {
		headers = append(headers, [2]string{"www-authenticate", `Bearer realm="oidc-proxy"`})
	}
	headers = append(headers, h.setCookies...)
	var body []byte
	if h.isAPI() {
		headers = append(headers, [2]string{"content-type", "application/json"})
		body = engine.ErrorJSON(f.code, f.msg, corr)
	} else {
		headers = append(headers, [2]string{"content-type", "text/html; charset=utf-8"})
		if f.reload && f.retryAfter > 0 {
			body = engine.RetryPage(f.msg, corr, f.retryAfter)
		} else {
			body = engine.ErrorPage(f.status, f.msg, corr, h.p.cfg.SignInPath())
		}
	}
	return h.sendLocal(f.status, headers, body)
}

// redirect answers with a 302 to location, with any cookies the request has set.
func (h *httpContext) redirect(location string) types.Action {
	headers := make([][2]string, 0, 3+len(h.setCookies))
	headers = append(headers, [2]string{"location", location}, [2]string{"cache-control", "no-store"})
	headers = append(headers, h.setCookies...)
	return h.sendLocal(302, headers, nil)
}

// sendJSON answers 200 with a JSON body that must not be cached.
func (h *httpContext) sendJSON(body []byte) types.Action {
	headers := [][2]string{
		{"content-type", "application/json"},
		{"cache-control", "no-store"},
		{"pragma", "no-cache"},
	}
	headers = append(headers, h.setCookies...)
	return h.sendLocal(200, headers, body)
}

// sendLocal sends a local response. The cookies queued so far go with it and are then
// dropped: like Envoy, the host runs a local reply through this filter's response callbacks,
// which must not add them a second time.
func (h *httpContext) sendLocal(status int, headers [][2]string, body []byte) types.Action {
	h.setCookies = nil
	if err := proxywasm.SendHttpResponse(uint32(status), headers, body, -1); err != nil {
		logAt(levelError, "sending a local response failed", "status", status, "corr", h.correlationID(), "err", err)
	}
	return types.ActionPause
}

// correlationID is the request's x-request-id when it is a sane token (Envoy sets one), else
// a random id; it is fixed for the request once chosen.
func (h *httpContext) correlationID() string {
	if h.corr != "" {
		return h.corr
	}
	if id := h.req.RequestID; engine.CorrelationID(id) {
		h.corr = id
		return id
	}
	var b [8]byte
	if _, err := io.ReadFull(h.p.rand, b[:]); err != nil {
		h.corr = "unknown"
		return h.corr
	}
	h.corr = hex.EncodeToString(b[:])
	return h.corr
}
