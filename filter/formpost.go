package filter

import (
	"strings"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/oidc"
)

// parseCallback parses the authorization response in the configured response mode: plain
// parameters (RFC 6749 4.1.2, RFC 9207 iss) or a JARM JWT verified with the provider's keys.
func (h *httpContext) parseCallback(raw string) (*oidc.Callback, error) {
	p := h.p
	cfg := p.cfg
	if !oidc.ResponseMode(cfg.Login.ResponseMode).IsJWT() {
		return oidc.ParseCallback(raw, cfg.Limits.MaxQueryBytes, p.provider.md)
	}
	v := &oidc.JARMValidator{Issuer: cfg.Provider.Issuer, ClientID: cfg.Client.ID,
		Verifier: p.provider.verifier, Now: p.now, Leeway: cfg.JWT.Leeway}
	return v.ParseJARMCallback(raw, cfg.Limits.MaxQueryBytes)
}

// formPostCallback starts a form post callback (form_post, form_post.jwt): only a POST of
// an application/x-www-form-urlencoded body is accepted, under the same cap as a callback
// query. OnHttpRequestBody handles the body once it is complete.
//
// With endpoints.allow_on_headers_stop_iteration the headers are held until the body is
// answered, and nothing of the request reaches the upstream. Without it the headers
// continue: Envoy's default delivers no body to a filter that paused the headers (Pause is
// StopAllIteration there: holdbody.go), so the upstream may see this request's headers,
// without its cookies (removed here; they were read already), and then a reset when the
// plugin answers from the body callback. The body, which carries the code, never goes
// upstream.
func (h *httpContext) formPostCallback() types.Action {
	cfg := h.p.cfg
	if h.req.Method != "POST" {
		return h.respond(failure{status: 400, code: "invalid_request", reason: "bad_callback",
			msg: "The sign-in response must be a form post (login.response_mode is " + cfg.Login.ResponseMode + ")."})
	}
	ct, _ := proxywasm.GetHttpRequestHeader("content-type")
	if !isFormContentType(ct) {
		return h.respond(failure{status: 400, code: "invalid_request", reason: "bad_callback",
			msg: "The sign-in response must be an application/x-www-form-urlencoded form."})
	}
	if cl, _ := proxywasm.GetHttpRequestHeader("content-length"); cl != "" && (len(cl) > 9 || atoiOr(cl, 0) > cfg.Limits.MaxQueryBytes) {
		return h.respond(failure{status: 400, code: "invalid_request", reason: "bad_callback", msg: "The sign-in response is too large."})
	}
	if err := proxywasm.RemoveHttpRequestHeader("cookie"); err != nil {
		return h.respond(failure{status: 500, code: "internal_error", msg: "The request could not be read.", err: err})
	}
	h.onBody = h.formPostBody
	return h.awaitBody()
}

// formPostBody collects a form post callback's body (h.onBody, from OnHttpRequestBody).
func (h *httpContext) formPostBody(bodySize int, endOfStream bool) types.Action {
	if bodySize > h.p.cfg.Limits.MaxQueryBytes {
		h.onBody = nil
		return h.respond(failure{status: 400, code: "invalid_request", reason: "bad_callback", msg: "The sign-in response is too large."})
	}
	if !endOfStream {
		return types.ActionPause // Envoy buffers until the end of the stream
	}
	h.onBody = nil
	body, err := proxywasm.GetHttpRequestBody(0, bodySize)
	if err != nil && bodySize > 0 {
		return h.respond(failure{status: 400, code: "invalid_request", reason: "bad_callback", err: err, msg: "The sign-in response could not be read."})
	}
	return h.callbackParams(strings.TrimSpace(string(body)), false)
}

// formPostEmpty answers a form post callback whose headers ended the stream (no body).
func (h *httpContext) formPostEmpty() types.Action {
	h.onBody = nil
	return h.respond(failure{status: 400, code: "invalid_request", reason: "bad_callback", msg: "The sign-in response is empty."})
}
