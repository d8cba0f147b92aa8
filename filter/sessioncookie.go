package filter

import (
	"errors"
	"strconv"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/config"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/engine"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/state"
)

// The session cookie: sealing a session into its chunks, writing and clearing them.

// setSessionCookies seals s into the session cookie chunks and expires chunks the browser
// holds from a larger, older session.
func (h *httpContext) setSessionCookies(s *state.Session) error {
	chunks, err := h.p.sealSession(s)
	if err != nil {
		return err
	}
	h.writeSessionCookies(s, chunks)
	return nil
}

// writeSessionCookies sets the chunks s was sealed into (sealSession) and expires chunks the
// browser holds from a larger, older session.
func (h *httpContext) writeSessionCookies(s *state.Session, chunks []state.Cookie) {
	p := h.p
	maxAge := s.Expiry.Sub(p.now())
	if maxAge < time.Second {
		maxAge = time.Second
	}
	set := map[string]bool{}
	for _, c := range chunks {
		h.addCookie(engine.SetCookie(p.cfg.Cookie, c.Name, c.Value, maxAge))
		set[c.Name] = true
	}
	for _, name := range p.sessions.Names() {
		if _, had := h.req.CookieValue(name); had && !set[name] {
			h.addCookie(engine.ClearCookie(p.cfg.Cookie, name))
		}
	}
}

// clearSessionCookies expires every session chunk the browser sent.
func (h *httpContext) clearSessionCookies() {
	for _, name := range h.p.sessions.Names() {
		if _, had := h.req.CookieValue(name); had {
			h.addCookie(engine.ClearCookie(h.p.cfg.Cookie, name))
		}
	}
}

// sealSession seals s into its cookie chunks. A session over the cookie budget
// (cookie.max_chunks x cookie.max_chunk_size) is state.ErrTooLarge.
func (p *pluginContext) sealSession(s *state.Session) ([]state.Cookie, error) {
	plain, err := s.MarshalBinary()
	if err != nil {
		return nil, err
	}
	sealed, err := p.sealer.Seal(state.PurposeSession, p.cfg.Cookie.Name, plain, s.Expiry)
	if err != nil {
		return nil, err
	}
	return p.sessions.Split(sealed)
}

// sessionStoreFailure is the page for a session that could not be sealed: tokens too large
// for the cookie budget are the provider's doing (a 502 that says so), anything else ours.
func sessionStoreFailure(cfg *config.Config, err error) failure {
	if errors.Is(err, state.ErrTooLarge) {
		return failure{status: 502, code: "provider_error", reason: "session_too_large", err: err,
			msg: "The identity provider's tokens are too large to keep in this site's session cookies (at most " +
				strconv.Itoa(cfg.Cookie.MaxChunks) + " cookies of " + strconv.Itoa(cfg.Cookie.MaxChunkSize) +
				" bytes). Too many group memberships or claims in the tokens cause this; the site's administrator can raise cookie.max_chunks or ask the provider for smaller tokens."}
	}
	return failure{status: 500, code: "internal_error", reason: "session", err: err, msg: "The session could not be stored."}
}
