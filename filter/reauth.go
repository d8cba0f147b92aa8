package filter

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/oidc"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/state"
)

// interactiveAfterSilent handles the provider's answer to a silent login (prompt=none, sent
// by session.id_token_expired "reauthenticate") that needs the user: login_required,
// interaction_required, consent_required or account_selection_required. It starts a normal
// login back to the same page. It reports false, leaving the error to the caller, for any
// other error, or when the state does not open or belongs to another browser.
func (h *httpContext) interactiveAfterSilent(ae *oidc.AuthorizationError) (types.Action, bool) {
	p := h.p
	cfg := p.cfg
	if !ae.InteractionRequired() || ae.State == "" || len(ae.State) > cfg.Limits.MaxStateBytes {
		return types.ActionContinue, false
	}
	bindName := cfg.BindingCookieName()
	plain, err := p.sealer.Open(state.PurposeState, bindName, ae.State, p.now())
	if err != nil {
		return types.ActionContinue, false
	}
	ls := new(state.LoginState)
	if ls.UnmarshalBinary(plain) != nil {
		return types.ActionContinue, false
	}
	binding, ok := h.req.CookieValue(bindName)
	if !ok || !state.EqualBindingHash(state.BindingHash(binding), ls.BindingHash) {
		return types.ActionContinue, false
	}
	auditInfo("silent_login_needs_user", "corr", h.correlationID(), "code", ae.Code, "action", "interactive_login")
	return h.startLogin(ls.ReturnPath, ""), true
}
