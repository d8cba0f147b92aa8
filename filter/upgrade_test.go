package filter

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// A WebSocket upgrade without a session gets 401 with a challenge and a JSON body, never a
// login redirect, whatever Sec-Fetch-Mode says (a script's client sends none, a browser's
// "websocket", a confused one "navigate"); no login state is spent on it.
func TestUpgradeWithoutSessionIs401(t *testing.T) {
	l := newLH(t, nil)
	l.ready()
	for _, mode := range []string{"", "websocket", "navigate"} {
		hdrs := []string{"connection", "Upgrade", "upgrade", "websocket", "accept", "text/html"}
		if mode != "" {
			hdrs = append(hdrs, "sec-fetch-mode", mode)
		}
		r := l.request("GET", "/app/websocket/", hdrs...)
		if r.status() != 401 || r.header("location") != "" {
			t.Fatalf("sec-fetch-mode %q: %d location %q, want 401", mode, r.status(), r.header("location"))
		}
		if !strings.HasPrefix(r.header("www-authenticate"), "Bearer ") || r.header("content-type") != "application/json" {
			t.Errorf("sec-fetch-mode %q: challenge %q, content-type %q", mode, r.header("www-authenticate"), r.header("content-type"))
		}
		var body map[string]string
		if err := json.Unmarshal(r.local.Data, &body); err != nil || body["error"] == "" || body["correlation_id"] == "" {
			t.Errorf("sec-fetch-mode %q: body %s", mode, r.local.Data)
		}
	}
	if got := l.counter("oidc_proxy.login.started"); got != 0 {
		t.Errorf("login.started = %d, want 0", got)
	}
	// The same request without the upgrade is a navigation: a login.
	if r := l.navigate("/app/websocket/"); r.status() != 302 {
		t.Errorf("the navigation: %d, want 302", r.status())
	}
}

// An upgrade with a session whose tokens are due is refreshed before it is forwarded, so the
// socket starts with fresh tokens; the app gets the identity headers and the new cookie rides
// on the 101 response.
func TestUpgradeRefreshesFirst(t *testing.T) {
	l := newLH(t, nil)
	l.ready()
	cookies := l.loginDefault()
	l.advance(295 * time.Second) // within the refresh margin of expires_in 300
	l.inRequest()
	r := l.request("GET", "/app/websocket/", "cookie", cookies, "connection", "Upgrade", "upgrade", "websocket",
		"sec-fetch-mode", "websocket", "x-auth-request-user", "forged")
	c := l.requestCallout(r.id, "/token")
	l.answer(c, "200", "application/json", tokenBody(map[string]any{"access_token": "at-new", "token_type": "Bearer",
		"expires_in": 300, "refresh_token": "rt-new"}))
	if r = l.reply(r.id); r.local != nil {
		t.Fatalf("upgrade: %d %s", r.status(), r.local.Data)
	}
	if got := l.upstream(r.id, "x-forwarded-access-token"); got != "at-new" {
		t.Errorf("the socket's access token %q, want the refreshed one", got)
	}
	if got := l.upstream(r.id, "x-auth-request-user"); got != "user-1" {
		t.Errorf("x-auth-request-user %q, want the session's user", got)
	}
	if cs := l.responseCookies(r.id); len(cs) == 0 {
		t.Error("no Set-Cookie on the upgrade's response: the browser would keep a spent refresh token")
	}
	if got := l.counter("oidc_proxy.websocket.opened"); got != 1 {
		t.Errorf("websocket.opened = %d", got)
	}
}

// An open socket whose session is signed out is closed by the next tick; one whose session
// lives on is left open, and a socket that ended is forgotten.
func TestSignOutClosesOpenSockets(t *testing.T) {
	l := newLH(t, nil)
	l.ready()
	mine, other := l.loginDefault(), l.loginDefault()
	open := func(cookies string) uint32 {
		r := l.request("GET", "/app/websocket/", "cookie", cookies, "connection", "Upgrade", "upgrade", "websocket")
		if r.local != nil {
			t.Fatalf("upgrade: %d", r.status())
		}
		return r.id
	}
	a, b, done := open(mine), open(other), open(mine)
	l.host.CompleteHttpContext(done)
	if len(l.p.sockets.open) != 2 {
		t.Fatalf("%d open sockets, want 2", len(l.p.sockets.open))
	}
	closedStreams = 0
	l.host.Tick()
	if closedStreams != 0 {
		t.Fatal("a tick closed a socket whose session lives")
	}
	r := l.navigate("/oauth2/sign_out", "cookie", mine)
	if cs := l.host.GetCalloutAttributesFromContext(r.id); len(cs) == 1 {
		l.answer(cs[0], "200", "text/plain", "")
	}
	l.host.Tick()
	if closedStreams != 1 || l.p.sockets.open[a] != nil || l.p.sockets.open[b] == nil {
		t.Fatalf("closed %d; open %v", closedStreams, l.p.sockets.open)
	}
	if got := l.counter("oidc_proxy.websocket.closed_signed_out"); got != 1 {
		t.Errorf("websocket.closed_signed_out = %d", got)
	}
	// The session's lifetime passing closes the other.
	l.advance(25 * time.Hour) // session.lifetime 24h
	l.host.Tick()
	if closedStreams != 2 || l.counter("oidc_proxy.websocket.closed_session_end") != 1 {
		t.Errorf("after the session's end: closed %d, closed_session_end %d", closedStreams, l.counter("oidc_proxy.websocket.closed_session_end"))
	}
}

// {prefix}/tokens.js is served with endpoints.token, to anyone (it holds nothing of the
// user's), naming the token endpoint and the refresh margin; without endpoints.token it is
// an ordinary path.
func TestTokenScript(t *testing.T) {
	l := newLH(t, func(c map[string]any) { c["endpoints"] = map[string]any{"token": true} })
	l.ready()
	r := l.request("GET", "/oauth2/tokens.js")
	if r.status() != 200 || !strings.HasPrefix(r.header("content-type"), "text/javascript") || r.header("x-content-type-options") != "nosniff" {
		t.Fatalf("%d %q", r.status(), r.header("content-type"))
	}
	js := string(r.local.Data)
	if !strings.Contains(js, `tokenURL = "/oauth2/token", marginS = 60;`) {
		t.Errorf("script does not name the endpoint and margin:\n%.300s", js)
	}
	if r := l.request("POST", "/oauth2/tokens.js"); r.status() != 405 {
		t.Errorf("POST: %d", r.status())
	}
}

func TestTokenScriptOff(t *testing.T) {
	l := newLH(t, nil)
	l.ready()
	if r := l.navigate("/oauth2/tokens.js"); r.status() != 302 {
		t.Errorf("without endpoints.token: %d, want a login like any page", r.status())
	}
}
