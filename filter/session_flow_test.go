package filter

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

// Routes' authorization rules applied to a session: 403 for a user who is signed in but may
// not pass, the request forwarded for one who may.
func TestSessionRouteAuthorization(t *testing.T) {
	l := newLH(t, func(c map[string]any) {
		c["routes"] = []any{
			map[string]any{"name": "admins", "match": map[string]any{"prefix": "/admin/"}, "auth": "session",
				"authorization": map[string]any{"claims": []any{map[string]any{"claim": "groups", "contains": "admins"}}}},
			map[string]any{"name": "group-a", "match": map[string]any{"prefix": "/a/"}, "auth": "session",
				"authorization": map[string]any{"claims": []any{map[string]any{"claim": "groups", "contains": "a"}}}},
			map[string]any{"name": "openid-scope", "match": map[string]any{"prefix": "/scoped/"}, "auth": "session",
				"authorization": map[string]any{"scopes": []any{"openid"}}},
			map[string]any{"name": "write-scope", "match": map[string]any{"prefix": "/write/"}, "auth": "session",
				"authorization": map[string]any{"scopes": []any{"write"}}},
		}
	})
	l.ready()
	cookies := l.loginDefault() // groups a, b; scopes as requested (the access token is opaque)
	for _, tc := range []struct {
		path string
		want int // 0: forwarded
	}{
		{"/admin/x", 403}, {"/a/x", 0}, {"/scoped/x", 0}, {"/write/x", 403},
	} {
		r := l.navigate(tc.path, "cookie", cookies)
		if r.status() != tc.want {
			t.Errorf("%s: status %d, want %d", tc.path, r.status(), tc.want)
			continue
		}
		if tc.want == 0 && l.upstream(r.id, "x-auth-request-user") != "user-1" {
			t.Errorf("%s: forwarded without the identity", tc.path)
		}
		if tc.want == 403 && !strings.Contains(string(r.local.Data), "do not have access") {
			t.Errorf("%s: page %s", tc.path, r.local.Data)
		}
	}
}

// session.id_token_expired "reauthenticate": a navigation whose forwarded ID token expired
// (and cannot be refreshed) does a silent login; API calls are forwarded without it. When
// the provider answers that the silent login needs the user, a normal login starts back to
// the same page.
func TestIDTokenExpiredReauthenticates(t *testing.T) {
	l := newLH(t, func(c map[string]any) {
		c["forward"].(map[string]any)["id_token_header"] = "X-Forwarded-Id-Token"
		c["session"] = map[string]any{"id_token_expired": "reauthenticate"}
	})
	l.ready()
	cookies := l.login("/app/", func(nonce string) string { // no refresh token; the access token outlives the ID token
		return tokenBody(map[string]any{"access_token": "at-123", "token_type": "Bearer", "expires_in": 3600, "id_token": l.idToken(l.claims(nonce))})
	})
	l.advance(6 * time.Minute)

	api := l.request("GET", "/api/x", "cookie", cookies)
	if api.local != nil || l.upstream(api.id, "x-forwarded-id-token") != "" || l.upstream(api.id, "x-forwarded-access-token") != "at-123" {
		t.Fatalf("API call: status %d, id token %q", api.status(), l.upstream(api.id, "x-forwarded-id-token"))
	}
	if got := l.counter("oidc_proxy.id_token.omitted"); got != 1 {
		t.Errorf("id_token.omitted = %d", got)
	}

	nav := l.navigate("/app/page", "cookie", cookies)
	loc, _ := url.Parse(nav.header("location"))
	if nav.status() != 302 || loc.Query().Get("prompt") != "none" {
		t.Fatalf("navigation: %d to %q, want a silent login", nav.status(), nav.header("location"))
	}
	if got := l.counter("oidc_proxy.id_token.reauthenticate"); got != 1 {
		t.Errorf("id_token.reauthenticate = %d", got)
	}
	browser := cookies + "; " + lhCookies(nav.headers("set-cookie"))
	st := loc.Query().Get("state")
	for _, tc := range []struct {
		name, cookie string
		want         int
	}{
		{"another browser", cookies, 403},
		{"the same browser", browser, 302},
	} {
		r := l.navigate("/oauth2/callback?error=login_required&state="+url.QueryEscape(st), "cookie", tc.cookie)
		if r.status() != tc.want {
			t.Fatalf("%s: status %d, want %d", tc.name, r.status(), tc.want)
		}
		if tc.want != 302 {
			continue
		}
		ls, q := l.openState(r.header("location"))
		if q.Get("prompt") != "" || ls.ReturnPath != "/app/page" {
			t.Errorf("%s: prompt %q, return path %q; want an interactive login back to /app/page", tc.name, q.Get("prompt"), ls.ReturnPath)
		}
	}
	// Any other provider error after a silent login is an error page.
	r := l.navigate("/oauth2/callback?error=access_denied&state="+url.QueryEscape(st), "cookie", browser)
	if r.status() != 403 {
		t.Errorf("access_denied after a silent login: %d, want 403", r.status())
	}
}
