package filter

import (
	"encoding/base64"
	"errors"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/engine"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/oidc"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/pkce"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/state"
)

const maxReturnPath = 2048

// signIn serves {prefix}/sign_in?rd=/path: start a login that returns to rd.
func (h *httpContext) signIn() types.Action {
	rd := "/"
	if q, err := url.ParseQuery(h.req.Query); err == nil && q.Get("rd") != "" {
		rd = q.Get("rd")
	}
	return h.startLogin(rd, "")
}

// startLogin answers with a redirect to the provider's authorization endpoint.
//
// The state parameter is a sealed LoginState: PKCE verifier, nonce, return path, issue time,
// and the hash of a browser-binding cookie set with this redirect. Every tab of a browser
// shares one binding cookie, so parallel logins do not break each other and cookies do not
// grow with the number of tabs.
func (h *httpContext) startLogin(returnPath, prompt string) types.Action {
	p := h.p
	cfg := p.cfg
	now := p.now()
	if !p.provider.readyNow(now) {
		return h.respond(failure{status: 503, code: "provider_not_ready", reason: "not_ready", retryAfter: 2,
			msg: "The identity provider's configuration is not loaded yet. Try again in a moment.",
			err: errString(p.provider.notReadyReason())})
	}
	if !h.ownHost() {
		return h.respond(unknownHost())
	}
	if f, blocked := h.loopGuard(now); blocked {
		return h.respond(f)
	}
	rp, ok := oidc.SafeReturnPath(returnPath, maxReturnPath)
	if !ok {
		auditInfo("return_path_rejected", "path", h.req.PathOnly)
		rp = "/"
	}
	binding, ok := h.req.CookieValue(cfg.BindingCookieName())
	if !ok || !engine.ValidBinding(binding) {
		var err error
		if binding, err = randomString(p.rand, 32); err != nil {
			return h.respond(failure{status: 500, code: "internal_error", msg: "The login could not be started.", err: err})
		}
	}
	verifier, err := pkce.NewVerifier(p.rand)
	if err != nil {
		return h.respond(failure{status: 500, code: "internal_error", msg: "The login could not be started.", err: err})
	}
	nonce, err := randomString(p.rand, 24)
	if err != nil {
		return h.respond(failure{status: 500, code: "internal_error", msg: "The login could not be started.", err: err})
	}
	ls := state.LoginState{Verifier: verifier, Nonce: nonce, ReturnPath: rp, IssuedAt: now, BindingHash: state.BindingHash(binding)}
	plain, err := ls.MarshalBinary()
	if err == nil {
		var sealed string
		sealed, err = p.sealer.Seal(state.PurposeState, cfg.BindingCookieName(), plain, now.Add(cfg.Login.StateLifetime))
		if err == nil {
			ap := oidc.AuthParams{
				ClientID: cfg.Client.ID, RedirectURI: h.redirectURI(), Scopes: cfg.Scopes,
				State: sealed, Nonce: nonce, CodeChallenge: pkce.Challenge(verifier),
				Extra: cfg.ExtraAuthParams, Prompt: prompt, MaxAge: cfg.Session.MaxAge, ACRValues: cfg.Login.ACRValues,
				ResponseMode: oidc.ResponseMode(cfg.Login.ResponseMode),
				DPoPJKT:      p.dpopJKT(), // dpop.go
			}
			md := p.provider.md
			push, perr := engine.PushAuthorization(cfg.Login.PAR, md.PushedAuthorizationRequestEndpoint, md.RequirePushedAuthorizationRequests)
			if perr != nil {
				return h.respond(failure{status: 502, code: "par_endpoint", reason: "par", err: perr,
					msg: "The login could not be started: login.par asks for a pushed authorization request and the identity provider names no endpoint for it."})
			}
			var requestObject string
			if requestObject, err = h.signRequestObject(ap, now); err != nil {
				return h.respond(failure{status: 500, code: "internal_error", msg: "The login could not be started.", err: err})
			}
			bc := cfg.Cookie
			if cfg.Login.BindingCookieCrossSite() {
				// The provider's form post is a cross-site POST: a Lax cookie is not sent.
				bc.SameSite, bc.Secure = "None", true
			}
			h.addCookie(engine.SetCookie(bc, cfg.BindingCookieName(), binding, cfg.Login.StateLifetime))
			if push {
				return h.pushAuthorization(ap, requestObject)
			}
			var authURL string
			if requestObject != "" {
				authURL, err = oidc.RequestObjectURL(md.AuthorizationEndpoint, ap, requestObject)
			} else {
				authURL, err = oidc.AuthorizeURL(md.AuthorizationEndpoint, ap)
			}
			if err == nil {
				p.metrics.loginStarted.Increment(1)
				auditInfo("login_started", "corr", h.correlationID())
				return h.redirect(authURL)
			}
		}
	}
	return h.respond(failure{status: 500, code: "internal_error", msg: "The login could not be started.", err: err})
}

// loopGuard counts logins started by this browser in a window (a cookie) and stops redirecting
// once there were too many: a provider or config problem must not become a redirect loop.
// The cookie is not sealed: a client can only lower its own count.
func (h *httpContext) loopGuard(now time.Time) (failure, bool) {
	cfg := h.p.cfg
	lg := cfg.Login.LoopGuard
	if lg.MaxAttempts <= 0 {
		return failure{}, false
	}
	name := cfg.LoopCookieName()
	count, first := 0, now
	if v, ok := h.req.CookieValue(name); ok {
		c, f, _ := strings.Cut(v, ".")
		n, err1 := strconv.Atoi(c)
		t, err2 := strconv.ParseInt(f, 10, 64)
		if err1 == nil && err2 == nil && n >= 0 && now.Sub(time.Unix(t, 0)) < lg.Window {
			count, first = n, time.Unix(t, 0)
		}
	}
	if count >= lg.MaxAttempts {
		wait := int(first.Add(lg.Window).Sub(now)/time.Second) + 1
		auditWarn("login_loop", "corr", h.correlationID(), "attempts", count, "window", lg.Window)
		return failure{status: 429, code: "login_loop", reason: "loop", retryAfter: min(max(wait, 1), int(lg.Window/time.Second)),
			msg: "Too many sign-in attempts in a short time. Wait a few minutes, then try again; if this keeps happening, contact the site's administrator."}, true
	}
	h.addCookie(engine.SetCookie(cfg.Cookie, name, strconv.Itoa(count+1)+"."+strconv.FormatInt(first.Unix(), 10), lg.Window))
	return failure{}, false
}

// ownHost reports whether the filter may build absolute URLs (the redirect_uri) from this
// request's :authority: with redirect_url it never needs to; otherwise allowed_hosts decides
// (config.HostAllowed).
func (h *httpContext) ownHost() bool {
	return h.p.cfg.RedirectURL != "" || h.p.cfg.HostAllowed(h.req.Authority)
}

// unknownHost is the answer to a login for a Host not in allowed_hosts.
func unknownHost() failure {
	return failure{status: 400, code: "unknown_host", err: errUnknownHost,
		msg: "This site is not served under the host name this request named."}
}

var errUnknownHost = errors.New("filter: the request's :authority is not in allowed_hosts")

// redirectURI is the configured redirect URL, or the callback on the request's own origin
// (a host ownHost allowed).
func (h *httpContext) redirectURI() string {
	cfg := h.p.cfg
	if cfg.RedirectURL != "" {
		return cfg.RedirectURL
	}
	return h.req.Scheme + "://" + h.req.Authority + cfg.CallbackPath()
}

func randomString(r io.Reader, n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

type errString string

func (e errString) Error() string { return string(e) }
