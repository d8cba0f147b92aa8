package filter

import (
	"strings"
	"testing"
)

// An ID token signed by an unknown key waits for one JWKS refetch; when that refetch fails,
// the login fails with a page that says the keys could not be loaded.
func TestCallbackKeysRefetchFails(t *testing.T) {
	for _, tc := range []struct {
		name, status, body string
		want               int
		text               string
	}{
		{"provider 500", "500", "boom", 502, "signing keys could not be loaded"},
		{"unreachable", "503", "no healthy upstream", 502, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLH(t, nil)
			l.ready()
			lg := l.startLogin("/after")
			r, c := l.callback(lg, "code")
			l.kid = "kid-unknown"
			l.answer(*c, "200", "application/json", lhTokenJSON(l.idToken(l.claims(lg.nonce))))
			if l.reply(r.id).local != nil {
				t.Fatal("answered before the refetch")
			}
			l.host.Tick()
			l.answer(l.expectCallout("/jwks"), tc.status, "text/plain", tc.body)
			r = l.reply(r.id)
			if r.status() != tc.want || !strings.Contains(string(r.local.Data), tc.text) {
				t.Fatalf("status %d, want %d; page %s", r.status(), tc.want, r.local.Data)
			}
			if strings.Contains(lhCookies(r.headers("set-cookie")), "_oidc_session=") {
				t.Errorf("a session was set")
			}
		})
	}
}

// Tokens too large for the session cookie budget fail the login with a 502 that says why.
func TestCallbackSessionTooLarge(t *testing.T) {
	l := newLH(t, func(c map[string]any) { c["cookie"] = map[string]any{"max_chunks": 2} })
	l.ready()
	lg := l.startLogin("/")
	r, c := l.callback(lg, "code")
	l.answer(*c, "200", "application/json", tokenBody(map[string]any{"access_token": strings.Repeat("A", 12000),
		"token_type": "Bearer", "expires_in": 300, "id_token": l.idToken(l.claims(lg.nonce))}))
	r = l.reply(r.id)
	if r.status() != 502 || !strings.Contains(string(r.local.Data), "too large") || !strings.Contains(string(r.local.Data), "2 cookies") {
		t.Fatalf("status %d; page %s", r.status(), r.local.Data)
	}
	if got := l.counter("oidc_proxy.login.failed.session_too_large"); got != 1 {
		t.Errorf("login.failed.session_too_large = %d", got)
	}
}
