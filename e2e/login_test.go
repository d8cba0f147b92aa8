package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/stack"
)

// TestLoginOverHTTP runs the code flow through plugin.wasm in the host against the embedded
// provider, and checks what the app receives.
func TestLoginOverHTTP(t *testing.T) {
	s := start(t, stack.Options{})
	b := newBrowser(t)
	callback, final := b.login(s, "/app1/page?x=1")
	if final.status != http.StatusFound || final.header.Get("Location") != "/app1/page?x=1" {
		t.Fatalf("callback: status %d location %q, want 302 to the original URL; body %.300s\n%s",
			final.status, final.header.Get("Location"), final.body, logText(s))
	}
	if _, ok := b.cookie(s, "_oidc_session"); !ok {
		t.Fatalf("no session cookie after the callback")
	}

	w, r := b.whoami(s)
	if r.status != http.StatusOK {
		t.Fatalf("whoami with the session: %d %.300s", r.status, r.body)
	}
	if w.User.Subject == "" || w.User.Email != "demo@example.com" {
		t.Errorf("app saw user %+v, want the demo user", w.User)
	}
	at := w.Tokens["X-Forwarded-Access-Token"]
	if at == nil || !at.Verified {
		t.Errorf("access token forwarded and verified at the app: %+v", at)
	}
	idt := w.Tokens["X-Forwarded-Id-Token"]
	if idt == nil || !idt.Verified {
		t.Errorf("ID token forwarded and verified at the app: %+v", idt)
	}

	// Without the session: an API call gets 401 JSON, never a redirect.
	anon := newBrowser(t)
	r = anon.api(s.URL + "/api/whoami")
	if r.status != http.StatusUnauthorized || !strings.Contains(r.header.Get("Content-Type"), "json") || r.header.Get("Www-Authenticate") == "" {
		t.Errorf("anonymous API call: %d %q %q, want 401 JSON with WWW-Authenticate", r.status, r.header.Get("Content-Type"), r.header.Get("Www-Authenticate"))
	}

	// The same callback again is refused and sets no session.
	replay := newBrowser(t)
	u, _ := url.Parse(s.URL)
	replay.jar.SetCookies(u, b.jar.Cookies(u))
	if r := replay.get(callback); r.status != http.StatusBadRequest {
		t.Errorf("replayed callback: status %d, want 400", r.status)
	}

	sess, _ := b.cookie(s, "_oidc_session")
	assertNoSecretsInLogs(t, s, sess, at.Raw, idt.Raw)
}
