package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coder/websocket"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/demoapp"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/stack"
)

// dialLive opens the demo app's live socket through the proxy with the jar's cookies (and any
// headers), and returns the connection and the HTTP answer to the upgrade.
func dialLive(t *testing.T, s *stack.Stack, b *browser, headers ...string) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	h := http.Header{"Origin": {s.URL}}
	for i := 0; i+1 < len(headers); i += 2 {
		h.Set(headers[i], headers[i+1])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	opts := &websocket.DialOptions{HTTPHeader: h}
	if b != nil {
		opts.HTTPClient = &http.Client{Jar: b.jar, Timeout: 10 * time.Second}
	}
	return websocket.Dial(ctx, "ws"+strings.TrimPrefix(s.URL, "http")+"/ws", opts)
}

// readLive reads the next status the app's server sends on the live socket.
func readLive(t *testing.T, c *websocket.Conn) (demoapp.LiveStatus, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var st demoapp.LiveStatus
	_, data, err := c.Read(ctx)
	if err != nil {
		return st, err
	}
	return st, json.Unmarshal(data, &st)
}

// A WebSocket upgrade without a session gets 401 with a JSON body and a challenge, whatever
// Sec-Fetch-Mode says, and starts no login; with a session it reaches the app with the user's
// identity (a forged identity header stripped) and the session's access token.
func TestWebSocketUpgrade(t *testing.T) {
	s := start(t, stack.Options{})
	started, _ := s.Metric("oidc_proxy.login.started")
	for _, mode := range []string{"", "websocket", "navigate"} {
		before := s.OP.Counts()
		var hdrs []string
		if mode != "" {
			hdrs = []string{"Sec-Fetch-Mode", mode}
		}
		c, resp, err := dialLive(t, s, nil, hdrs...)
		if err == nil {
			c.CloseNow()
			t.Fatalf("sec-fetch-mode %q: the upgrade without a session was let through", mode)
		}
		if resp == nil || resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Location") != "" ||
			!strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer ") || resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("sec-fetch-mode %q: %v %v, want 401 JSON with a challenge", mode, resp, err)
		}
		if after := s.OP.Counts(); after.Authorize != before.Authorize {
			t.Errorf("sec-fetch-mode %q: the upgrade started a login at the provider", mode)
		}
	}
	if got, _ := s.Metric("oidc_proxy.login.started"); got != started {
		t.Errorf("login.started went from %d to %d with upgrades without a session", started, got)
	}

	b := newBrowser(t)
	b.login(s, "/")
	c, resp, err := dialLive(t, s, b, "X-Auth-Request-User", "forged-admin")
	if err != nil {
		t.Fatalf("upgrade with a session: %v %v", resp, err)
	}
	defer c.CloseNow()
	st, err := readLive(t, c)
	if err != nil {
		t.Fatal(err)
	}
	if st.Subject == "" || st.Subject == "forged-admin" || st.Held == nil || !st.Held.Verified || st.Source != "upgrade" {
		t.Fatalf("the app's server holds %+v", st)
	}
}

// The seed scenario of long-lived apps, in a real browser: one page keeps one WebSocket open
// past the tokens' lifetime; the app's server always holds an access token that verifies,
// for the same user, renewed through the plugin's token script without a reload and without
// a login. Signing out closes the open socket and the page is told the session ended.
func TestBrowserWebSocketFreshTokens(t *testing.T) {
	const ttl = 8 * time.Second
	s := start(t, stack.Options{AccessTTL: ttl, IDTTL: ttl, RefreshTTL: time.Hour,
		Configure: func(cfg map[string]any) {
			cfg["session"] = map[string]any{"refresh": true, "refresh_margin": "3s"}
		}})
	b := newTab(t, s)
	b.login("/")
	live := func() demoapp.LiveStatus {
		raw := run(b, "reading the live panel", chromedp.Evaluate[string](`document.getElementById("live").dataset.status || ""`))
		var st demoapp.LiveStatus
		if raw != "" {
			if err := json.Unmarshal([]byte(raw), &st); err != nil {
				b.fatalf("live panel status %q: %v", raw, err)
			}
		}
		return st
	}
	waitLive := func(what string, ok func(demoapp.LiveStatus) bool) demoapp.LiveStatus {
		deadline := time.Now().Add(30 * time.Second)
		for {
			st := live()
			if ok(st) {
				return st
			}
			if time.Now().After(deadline) {
				b.fatalf("the live panel never showed %s; last status %+v", what, st)
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	first := waitLive("a verified token", func(st demoapp.LiveStatus) bool { return st.Held != nil && st.Held.Verified })
	if first.Held.ExpiresAt == nil {
		b.fatalf("the held token has no exp: %+v", first.Held)
	}
	before := s.OP.Counts()
	// Past the first token's expiry (and then some), on the same socket.
	time.Sleep(time.Until(first.Held.ExpiresAt.Add(2 * time.Second)))
	later := waitLive("a renewed token", func(st demoapp.LiveStatus) bool {
		return st.Held != nil && st.Held.Verified && st.Renewals >= 1 && st.Held.ExpiresAt.After(*first.Held.ExpiresAt)
	})
	if later.Socket != first.Socket || later.Subject != first.Subject || later.Source != "page" {
		b.fatalf("socket %d -> %d, sub %q -> %q, source %q: want the same socket and user, token from the page",
			first.Socket, later.Socket, first.Subject, later.Subject, later.Source)
	}
	if sub, _ := later.Held.Claims["sub"].(string); sub != first.Subject {
		b.fatalf("the renewed token is for %q, the socket's user is %q", sub, first.Subject)
	}
	after := s.OP.Counts()
	if after.Refresh <= before.Refresh || after.Authorize != before.Authorize {
		b.fatalf("renewal: counts before %+v, after %+v: want refreshes and no login", before, after)
	}

	// Sign out with the browser's cookies: the plugin closes the socket, and the page's next
	// token request is refused, which the app's server hears.
	run(b, "signing out", chromedp.Evaluate[int](`fetch("/oauth2/sign_out", {credentials: "same-origin", redirect: "manual"}).then(() => 1)`,
		chromedp.EvalAwaitPromise))
	var closed string
	deadline := time.Now().Add(10 * time.Second)
	for closed != "1" {
		closed = run(b, "reading the socket state", chromedp.Evaluate[string](`document.getElementById("live").dataset.closed || ""`))
		if time.Now().After(deadline) {
			b.fatalf("the open socket was not closed after sign-out")
		}
		time.Sleep(200 * time.Millisecond)
	}
	ended := run(b, "asking for a token after sign-out", chromedp.Evaluate[string](`new Promise(function (ok) {
		window.oidcProxy.onToken(function (t) { if (t.error) ok(t.error); });
		window.oidcProxy.refresh();
	})`, chromedp.EvalAwaitPromise))
	if ended == "" {
		b.fatalf("the page got no error for a token after sign-out")
	}
	// A new socket from the same page, with the browser's cookies, is refused now.
	reopened := run(b, "opening a socket after sign-out", chromedp.Evaluate[string](`new Promise(function (ok) {
		const ws = new WebSocket("ws://" + location.host + "/ws");
		ws.onopen = function () { ok("open"); ws.close(); };
		ws.onclose = function () { ok("refused"); };
	})`, chromedp.EvalAwaitPromise))
	if reopened != "refused" {
		b.fatalf("a socket opened after sign-out: %s", reopened)
	}
}

// A bearer route takes a WebSocket upgrade with a valid bearer token like any request (the
// app gets the claim headers), and answers one without a token 401, never a redirect.
func TestWebSocketUpgradeOnBearerRoute(t *testing.T) {
	e := startSecEnv(t, 2, nil)
	rs := e.issuers["rs"]
	upgrade := []string{"Connection", "Upgrade", "Upgrade", "websocket", "Sec-WebSocket-Version", "13",
		"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==", "Sec-Fetch-Mode", "websocket"}
	before := e.up.count()
	r := e.bearerGet(t, "/api/rs/ws", e.token(t, rs, nil), upgrade...)
	if r.status == http.StatusUnauthorized || e.up.count() != before+1 {
		t.Fatalf("an upgrade with a valid bearer token: %d, %d request(s) reached the app; %v %.300s", r.status, e.up.count()-before, r.header, r.body)
	}
	if got := e.up.since(before)[0].Get("X-Auth-Request-User"); got != "api-user-rs" {
		t.Errorf("the app got X-Auth-Request-User %q", got)
	}
	r = e.bearerGet(t, "/api/rs/ws", "", upgrade...)
	if r.status != http.StatusUnauthorized || r.header.Get("Location") != "" || e.up.count() != before+1 {
		t.Errorf("an upgrade without a token: %d (location %q)", r.status, r.header.Get("Location"))
	}
}
