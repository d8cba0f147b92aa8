package filter

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/engine"
)

// tokenScript serves GET {prefix}/tokens.js (with endpoints.token): the script a page of a
// long-lived app includes to keep its app supplied with fresh tokens (engine.TokenScript).
// It holds nothing of the user's, so it needs no session; it may be cached but revalidated,
// so a new plugin version's script reaches open browsers.
func (h *httpContext) tokenScript() types.Action {
	p := h.p
	if h.req.Method != "GET" && h.req.Method != "HEAD" {
		h.api = 1
		return h.respond(failure{status: 405, code: "method_not_allowed", msg: "Use GET."})
	}
	if p.tokenJS == nil {
		p.tokenJS = engine.TokenScript(p.cfg.TokenPath(), p.cfg.Session.RefreshMargin)
	}
	headers := [][2]string{
		{"content-type", "text/javascript; charset=utf-8"},
		{"cache-control", "no-cache"},
		{"x-content-type-options", "nosniff"},
	}
	body := p.tokenJS
	if h.req.Method == "HEAD" {
		body = nil
	}
	return h.sendLocal(200, headers, body)
}
