package filter

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestMaxAgeLogin(t *testing.T) {
	maxAge := func(c map[string]any) { c["session"] = map[string]any{"max_age": "1h"} }
	tests := []struct {
		name     string
		authTime any // nil: no auth_time claim
		want     int
		text     string
	}{
		{"recent auth_time", -10 * time.Minute, 302, ""},
		{"no auth_time", nil, 401, "does not say when you signed in (auth_time)"},
		{"auth_time older than max_age", -2 * time.Hour, 401, "longer ago than this site allows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLH(t, maxAge)
			l.ready()
			r := l.navigate("/app/")
			u, _ := url.Parse(r.header("location"))
			if got := u.Query().Get("max_age"); got != "3600" {
				t.Fatalf("authorization request max_age = %q, want 3600", got)
			}
			ls, q := l.openState(r.header("location"))
			lg := lhLogin{cookie: lhCookies(r.headers("set-cookie")), state: q.Get("state"), nonce: ls.Nonce}
			cb, c := l.callback(lg, "code-1")
			claims := l.claims(lg.nonce)
			if d, ok := tt.authTime.(time.Duration); ok {
				claims["auth_time"] = time.Now().Add(d).Unix()
			}
			l.answer(*c, "200", "application/json", lhTokenJSON(l.idToken(claims)))
			r = l.reply(cb.id)
			if r.status() != tt.want {
				t.Fatalf("callback: %d, want %d", r.status(), tt.want)
			}
			if tt.text != "" && !strings.Contains(string(r.local.Data), tt.text) {
				t.Errorf("page %q lacks %q", r.local.Data, tt.text)
			}
		})
	}
}

// TestMaxAgeEndsTheSession: once auth_time + max_age passes the session ends, however fresh
// its tokens: a new login for navigations (carrying max_age), a 401 for API calls.
func TestMaxAgeEndsTheSession(t *testing.T) {
	l := newLH(t, func(c map[string]any) { c["session"] = map[string]any{"max_age": "1h"} })
	l.ready()
	authTime := time.Now().Add(-30 * time.Minute)
	cookie := l.login("/app/", func(nonce string) string {
		c := l.claims(nonce)
		c["auth_time"] = authTime.Unix()
		c["exp"] = time.Now().Add(3 * time.Hour).Unix()
		return tokenBody(map[string]any{"access_token": "at-1", "token_type": "Bearer", "expires_in": 7200,
			"refresh_token": "rt-1", "id_token": l.idToken(c)})
	})
	if r := l.request("GET", "/app/", "cookie", cookie); r.local != nil {
		t.Fatalf("fresh session refused: %d", r.status())
	}
	// 31 minutes on, auth_time is 61 minutes old. The session would live 24h and its tokens
	// are not due for refresh: max_age alone ends it.
	l.advance(31 * time.Minute)
	api := l.request("GET", "/api/data", "cookie", cookie, "accept", "application/json")
	if api.status() != 401 || !strings.Contains(string(api.local.Data), "The session has expired.") {
		t.Fatalf("api: %d %s", api.status(), api.local.Data)
	}
	nav := l.navigate("/app/", "cookie", cookie)
	if nav.status() != 302 || !strings.Contains(nav.header("location"), "max_age=3600") {
		t.Fatalf("navigation: %d %q, want a new login with max_age", nav.status(), nav.header("location"))
	}
	if got := l.counter("oidc_proxy.session.max_age_ended"); got != 2 {
		t.Errorf("session.max_age_ended = %d, want 2", got)
	}
}

// TestMaxAgeOffKeepsOldSessions: without max_age, a session whose auth_time is old lives on.
func TestMaxAgeOffKeepsOldSessions(t *testing.T) {
	l := newLH(t, nil)
	l.ready()
	cookie := l.login("/app/", func(nonce string) string {
		c := l.claims(nonce)
		c["auth_time"] = time.Now().Add(-48 * time.Hour).Unix()
		return lhTokenJSON(l.idToken(c))
	})
	if r := l.request("GET", "/app/", "cookie", cookie); r.local != nil {
		t.Fatalf("session refused: %d", r.status())
	}
}
