package filter

import (
	"strings"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/engine"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/oidc"
)

// signOut serves {prefix}/sign_out: clear every session cookie, revoke the refresh token at
// the provider (RFC 7009) when it has a revocation endpoint, then send the browser to the
// provider's end_session_endpoint (RP-initiated logout) or to the post-logout page. A
// request from another site (engine.CrossSite) only gets a page that asks to confirm.
func (h *httpContext) signOut() types.Action {
	p := h.p
	if engine.CrossSite(h.req.SecFetchSite, h.req.Origin, h.req.Scheme, h.req.Authority) {
		// An <img src> or a link on another site must not sign the user out (nor revoke the
		// refresh token and end the provider session): the user confirms with a same-origin
		// POST, which is not cross-site and proceeds below.
		auditInfo("sign_out_confirm", "corr", h.correlationID(), "method", h.req.Method)
		return h.sendLocal(200, [][2]string{{"cache-control", "no-store"}, {"content-type", "text/html; charset=utf-8"},
			{"content-security-policy", "frame-ancestors 'none'"}, {"x-frame-options", "DENY"}},
			engine.SignOutConfirmPage(p.cfg.SignOutPath()))
	}
	ls, _ := h.loadSession()
	h.clearSessionCookies()
	h.addCookie(engine.ClearCookie(p.cfg.Cookie, p.cfg.BindingCookieName()))
	if _, ok := h.req.CookieValue(p.cfg.LoopCookieName()); ok {
		h.addCookie(engine.ClearCookie(p.cfg.Cookie, p.cfg.LoopCookieName()))
	}
	md := p.provider.md
	if ls != nil {
		auditInfo("sign_out", "corr", h.correlationID(), "sub", ls.s.Subject)
		// From now on every VM of this Envoy refuses the session, copied cookies included.
		if err := p.signedOut.add(ls, ls.s.Expiry, p.now()); err != nil {
			logAt(levelWarn, "recording the sign-out failed", "corr", h.correlationID(), "err", err)
		}
		if p.store != nil { // and every other replica, through the store
			p.store.deny(denySignOut, ls.ref(), ls.s.Expiry)
		}
	}
	if ls != nil && ls.s.RefreshToken != "" && md != nil && md.RevocationEndpoint != "" {
		req := oidc.Revoke(md.RevocationEndpoint, p.client, ls.s.RefreshToken, "refresh_token")
		dispatch(p.provider.backchannelTarget(), req, 64<<10, p.now, func(r *calloutResponse, err error) {
			p.metrics.callout("revoke", err, r)
			if err != nil || r.status != 200 {
				status := 0
				if r != nil {
					status = r.status
				}
				logAt(levelWarn, "revocation failed", "corr", h.correlationID(), "status", status, "err", err)
			}
			h.finishSignOut(ls)
		})
		return types.ActionPause
	}
	return h.finishSignOut(ls)
}

func (h *httpContext) finishSignOut(ls *liveSession) types.Action {
	p := h.p
	md := p.provider.md
	if md != nil && md.EndSessionEndpoint != "" {
		hint := ""
		if ls != nil {
			hint = ls.s.IDToken
		}
		// A path-form post_logout_redirect_url goes on redirect_url's origin, else on the
		// request's own when allowed_hosts allows it; for another Host none is sent.
		post := p.cfg.PostLogoutRedirectURL
		if strings.HasPrefix(post, "/") {
			post = ""
			if p.cfg.RedirectURL != "" || p.cfg.HostAllowed(h.req.Authority) {
				post = p.cfg.PostLogoutURL(h.req.Scheme, h.req.Authority)
			}
		}
		// Without a configured post_logout_redirect_url none is sent: the provider shows
		// its own signed-out page (an unregistered one would make it refuse the logout).
		u, err := oidc.EndSessionURL(md.EndSessionEndpoint, hint, post, p.cfg.Client.ID, "")
		if err == nil {
			return h.redirect(u)
		}
		logAt(levelWarn, "end session URL", "corr", h.correlationID(), "err", err)
	}
	// Without the provider's logout the browser goes straight there: a path stays a
	// relative Location, never one on the client's Host.
	post := p.cfg.PostLogoutRedirectURL
	if post == "" {
		post = p.cfg.SignedOutPath()
	}
	return h.redirect(post)
}

// signedOut serves {prefix}/signed_out: a small page that says the user is signed out, with
// a link to sign in again. Without it the browser would land on a protected page and go
// straight to the provider's login form, which looks as if sign-out had failed.
func (h *httpContext) signedOut() types.Action {
	return h.sendLocal(200, [][2]string{{"cache-control", "no-store"}, {"content-type", "text/html; charset=utf-8"}},
		engine.SignedOutPage(h.p.cfg.SignInPath()+"?rd=%2F"))
}
