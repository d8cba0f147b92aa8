package filter

import "github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"

// userinfo serves {prefix}/userinfo: the session's claims as JSON, or 401.
func (h *httpContext) userinfo() types.Action {
	ls, err := h.loadSession()
	if err != nil {
		h.api = 1
		return h.respond(failure{status: 401, code: "unauthorized", msg: "Authentication required."})
	}
	return h.sendJSON(ls.s.Claims)
}
