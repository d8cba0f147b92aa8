package e2e

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/op"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/stack"
)

// TestSessionAcrossVMs: requests reach both VMs (the host sends them in turn; Envoy keeps a
// connection on one worker, so each request comes on a connection of its own, which the
// kernel spreads over the workers); each VM opens the same session cookie on its own
// (nothing is kept per VM but a cache).
func TestSessionAcrossVMs(t *testing.T) {
	s, up := startRecorded(t, stack.Options{VMs: 2})
	b := newBrowser(t)
	if _, r := b.login(s, "/"); r.status != http.StatusFound {
		t.Fatalf("login: %d", r.status)
	}
	b.c.Transport = &http.Transport{DisableKeepAlives: true}
	const n = 20 // all on one worker by chance: 2^-19
	before := up.count()
	for i := range n {
		w, r := b.whoami(s)
		if r.status != http.StatusOK || w.User.Subject != "demo-user-0001" {
			t.Fatalf("request %d: %d, user %q", i, r.status, w.User.Subject)
		}
	}
	if got := up.count() - before; got != n {
		t.Errorf("%d requests reached the app, want %d", got, n)
	}
	if s.Host != nil { // Envoy does not say which worker served a request
		for _, v := range s.Host.VMStats() {
			if v.Calls == 0 || v.Failed {
				t.Errorf("VM %d served nothing (or failed): %+v", v.Index, v)
			}
		}
	}
	// Each VM opened the cookie once and then served it from its cache.
	if miss, hit := metric(s, "oidc_proxy.session.cache_miss"), metric(s, "oidc_proxy.session.cache_hit"); miss != 2 || hit < 3 {
		t.Errorf("session cache: %d misses, %d hits; want a miss on each of the 2 VMs, hits after", miss, hit)
	}
}

// restart replaces the host (new VMs, empty caches and shared data) with the given key
// ring, or the same configuration, and waits until it is ready.
func restart(t testing.TB, s *stack.Stack, keys ...stack.Key) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := s.Restart(ctx, keys...); err != nil {
		t.Fatalf("restarting the proxy: %v", err)
	}
	if err := s.WaitReady(ctx); err != nil {
		t.Fatalf("%v\n%s", err, logText(s))
	}
}

// TestSessionAcrossHostRestart: a restarted Envoy (or another replica) with the same key
// ring serves existing sessions, and finishes logins the old one started.
func TestSessionAcrossHostRestart(t *testing.T) {
	s, _ := startRecorded(t, stack.Options{})
	b := newBrowser(t)
	if _, r := b.login(s, "/"); r.status != http.StatusFound {
		t.Fatalf("login: %d", r.status)
	}
	pending := newBrowser(t)
	cb := providerLogin(t, s, pending.authorize(s, "/app2/later"))

	restart(t, s)
	if w, r := b.whoami(s); r.status != http.StatusOK || w.User.Subject != "demo-user-0001" {
		t.Errorf("the session after the restart: %d %q", r.status, w.User.Subject)
	}
	if r := pending.get(cb); r.status != http.StatusFound || r.header.Get("Location") != "/app2/later" {
		t.Errorf("a login started before the restart, finished after it: %d %q; body %.300s", r.status, r.header.Get("Location"), r.body)
	}
	if _, r := pending.whoami(s); r.status != http.StatusOK {
		t.Errorf("whoami after that login: %d", r.status)
	}
}

// TestSessionKeyRing rotates the plugin's own sealing keys: a session sealed with a key that
// is retired but still listed opens; once the key is removed, the session is refused
// cleanly (a new login for a navigation, 401 for an API call, never a 500).
func TestSessionKeyRing(t *testing.T) {
	k1, err := stack.NewKey("k1")
	if err != nil {
		t.Fatal(err)
	}
	k2, err := stack.NewKey("k2")
	if err != nil {
		t.Fatal(err)
	}
	s, up := startRecorded(t, stack.Options{Keys: []stack.Key{k1}})
	old := newBrowser(t)
	if _, r := old.login(s, "/"); r.status != http.StatusFound {
		t.Fatalf("login: %d", r.status)
	}

	restart(t, s, k2, k1) // k2 seals now; k1 is retired but listed
	if _, r := old.whoami(s); r.status != http.StatusOK {
		t.Errorf("a session sealed with the retired, listed key: %d, want 200", r.status)
	}
	fresh := newBrowser(t)
	if _, r := fresh.login(s, "/"); r.status != http.StatusFound {
		t.Fatalf("login with the new key: %d", r.status)
	}

	restart(t, s, k2) // k1 removed
	before := up.count()
	r := old.api(s.URL + "/api/whoami")
	if r.status != http.StatusUnauthorized || !strings.Contains(r.header.Get("Content-Type"), "json") {
		t.Errorf("API call with a session sealed by a removed key: %d %q, want 401 JSON", r.status, r.header.Get("Content-Type"))
	}
	r = old.get(s.URL + "/app1/")
	if r.status != http.StatusFound || !strings.HasPrefix(r.header.Get("Location"), s.OP.Issuer()) {
		t.Errorf("navigation with a session sealed by a removed key: %d to %q, want 302 to the provider", r.status, r.header.Get("Location"))
	}
	up.untouched(t, before)
	if _, r := fresh.whoami(s); r.status != http.StatusOK {
		t.Errorf("a session sealed with the current key: %d", r.status)
	}
	// The refused browser logs in again, and its stale cookie is replaced.
	if _, r := old.login(s, "/app1/"); r.status != http.StatusFound || r.header.Get("Location") != "/app1/" {
		t.Fatalf("logging in again: %d %q", r.status, r.header.Get("Location"))
	}
	if _, r := old.whoami(s); r.status != http.StatusOK {
		t.Errorf("after logging in again: %d", r.status)
	}
	for _, l := range s.Logs() {
		if strings.Contains(l, "status=500") {
			t.Errorf("a 500 was logged: %s", l)
		}
	}
}

// opBrowser is the browser's view of the provider: it keeps the provider's session cookie
// and stops at redirects that leave the provider.
func opBrowser(s *stack.Stack) *http.Client {
	jar, _ := cookiejar.New(nil)
	host := strings.TrimPrefix(s.OP.Issuer(), "http://")
	return &http.Client{Jar: jar, Timeout: 15 * time.Second, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if req.URL.Host != host || len(via) > 10 {
			return http.ErrUseLastResponse
		}
		return nil
	}}
}

// TestSignOutEndsProviderSession: sign-out clears the session, revokes the refresh token and
// sends the browser to the provider's end_session endpoint, after which the provider asks
// for credentials again.
func TestSignOutEndsProviderSession(t *testing.T) {
	s, _ := startRecorded(t, stack.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	opc := opBrowser(s)
	loginAt := func(b *browser, path string) (formShown bool) {
		t.Helper()
		n := s.OP.Counts().Login
		cb, err := s.OP.LoginAs(ctx, opc, b.authorize(s, path), op.DemoUsername, op.DemoPassword)
		if err != nil {
			t.Fatalf("login at the provider: %v", err)
		}
		if r := b.get(cb); r.status != http.StatusFound || r.header.Get("Location") != path {
			t.Fatalf("callback: %d %q; body %.300s", r.status, r.header.Get("Location"), r.body)
		}
		// The provider counts GET and POST of its form page; the GET completes at once when
		// its session suffices, so a POST (a second request) means the form was shown.
		return s.OP.Counts().Login-n >= 2
	}

	b := newBrowser(t)
	if !loginAt(b, "/app1/") {
		t.Fatal("the first login did not show the provider's form")
	}
	// Single sign-on: while the provider session lives, another login needs no form.
	if loginAt(newBrowser(t), "/app2/") {
		t.Fatal("a second login showed the form: the provider session was not kept")
	}
	w, _ := b.whoami(s)
	idToken := w.Tokens["X-Forwarded-Id-Token"]
	sess, _ := b.cookie(s, "_oidc_session")

	c0 := s.OP.Counts()
	r := b.get(s.URL + "/oauth2/sign_out")
	loc, _ := url.Parse(r.header.Get("Location"))
	if r.status != http.StatusFound || loc == nil || loc.String() == "" || !strings.HasPrefix(loc.String(), s.OP.Endpoints().EndSession) {
		t.Fatalf("sign-out: %d to %q, want 302 to the end_session endpoint", r.status, r.header.Get("Location"))
	}
	q := loc.Query()
	if idToken == nil || q.Get("id_token_hint") != idToken.Raw || q.Get("post_logout_redirect_uri") != s.URL+"/oauth2/signed_out" || q.Get("client_id") != stack.ClientID {
		t.Errorf("end_session parameters: hint matches %v, post_logout_redirect_uri %q, client_id %q",
			idToken != nil && q.Get("id_token_hint") == idToken.Raw, q.Get("post_logout_redirect_uri"), q.Get("client_id"))
	}
	if got := s.OP.Counts().Revocation - c0.Revocation; got != 1 {
		t.Errorf("%d revocation requests at sign-out, want 1 (the refresh token)", got)
	}
	if got := metric(s, "oidc_proxy.callout.revoke.ok"); got != 1 {
		t.Errorf("callout.revoke.ok = %d, want 1", got)
	}
	if _, ok := b.cookie(s, "_oidc_session"); ok {
		t.Error("the session cookie survived sign-out")
	}
	if _, r := b.whoami(s); r.status != http.StatusUnauthorized {
		t.Errorf("whoami after sign-out: %d, want 401", r.status)
	}

	// The browser follows the redirect to the provider, which ends its session and sends it
	// back to the app.
	resp, err := opc.Get(loc.String())
	if err != nil {
		t.Fatalf("end_session: %v", err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || got != s.URL+"/oauth2/signed_out" {
		t.Errorf("end_session: %d to %q, want a redirect back to the plugin's signed-out page", resp.StatusCode, got)
	}
	if r := b.get(s.URL + "/oauth2/signed_out"); r.status != http.StatusOK || !strings.Contains(r.body, "You are signed out") ||
		!strings.Contains(r.body, `href="/oauth2/sign_in?rd=%2F"`) {
		t.Errorf("the signed-out page: %d %.300s", r.status, r.body)
	}
	if s.OP.Counts().EndSession == c0.EndSession {
		t.Error("the provider's end_session endpoint was not reached")
	}
	if !loginAt(b, "/app1/") {
		t.Error("after sign-out, the next login did not show the provider's form: the provider session lives on")
	}
	assertNoSecretsInLogs(t, s, sess, idToken.Raw)
}
