package filter

import (
	"net/url"
	"strings"
	"testing"
)

func withIntrospect(scopes ...string) func(map[string]any) {
	return func(c map[string]any) {
		c["provider"].(map[string]any)["introspection_endpoint"] = lhIssuer + "/introspect"
		in := map[string]any{"enabled": true}
		if len(scopes) > 0 {
			in["require_scopes"] = scopes
		}
		c["login"] = map[string]any{"introspect": in}
	}
}

// introspectLogin runs a login up to the introspection callout, checks that callout, answers
// it with answer, and returns the callback's reply.
func (l *lh) introspectLogin(t *testing.T, answer string) lhReply {
	t.Helper()
	lg := l.startLogin("/app/")
	r, c := l.callback(lg, "code-"+lg.state[:10])
	l.answer(*c, "200", "application/json", lhTokenJSON(l.idToken(l.claims(lg.nonce))))
	if r = l.reply(r.id); r.local != nil {
		t.Fatalf("answered before introspection: %d %s", r.status(), r.local.Data)
	}
	cs := l.host.GetCalloutAttributesFromContext(r.id)
	in := cs[len(cs)-1]
	if lhHeader(in.Headers, ":path") != "/introspect" || lhHeader(in.Headers, ":method") != "POST" {
		t.Fatalf("callout %v, want POST /introspect", in.Headers)
	}
	// The token endpoint's client authentication (client_secret_basic here).
	if got, want := lhHeader(in.Headers, "authorization"), lhHeader(c.Headers, "authorization"); got == "" || got != want {
		t.Errorf("introspection authorization %q, want the token endpoint's %q", got, want)
	}
	q, _ := url.ParseQuery(string(in.Body))
	if q.Get("token") != "at-123" || q.Get("token_type_hint") != "access_token" {
		t.Errorf("introspection body %s", in.Body)
	}
	l.answer(in, "200", "application/json", answer)
	return l.reply(r.id)
}

func TestIntrospectionAtLogin(t *testing.T) {
	tests := []struct {
		name   string
		scopes []string
		answer string
		status int
		inPage string
	}{
		{"active", nil, `{"active":true,"sub":"user-1","client_id":"app","iss":"https://op.example.com","scope":"openid email"}`, 302, ""},
		{"active with the scopes required", []string{"email"}, `{"active":true,"sub":"user-1","client_id":"app","scope":"openid email"}`, 302, ""},
		{"inactive", nil, `{"active":false}`, 403, "not active"},
		{"another subject", nil, `{"active":true,"sub":"user-2","client_id":"app"}`, 403, "does not match"},
		{"no subject", nil, `{"active":true,"client_id":"app"}`, 403, "does not match"},
		{"another client", nil, `{"active":true,"sub":"user-1","client_id":"other"}`, 403, "does not match"},
		{"another issuer", nil, `{"active":true,"sub":"user-1","client_id":"app","iss":"https://evil.example.com"}`, 403, "does not match"},
		{"a scope missing", []string{"email"}, `{"active":true,"sub":"user-1","client_id":"app","scope":"openid"}`, 403, "does not match"},
		{"garbage", nil, `{"active":"yes"}`, 502, "invalid answer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLH(t, withIntrospect(tt.scopes...))
			l.ready()
			r := l.introspectLogin(t, tt.answer)
			if r.status() != tt.status {
				t.Fatalf("%d %s, want %d", r.status(), r.local.Data, tt.status)
			}
			if tt.status == 302 {
				if len(r.headers("set-cookie")) == 0 || l.counter("oidc_proxy.login.succeeded") != 1 {
					t.Errorf("no session after an active answer")
				}
				return
			}
			if body := string(r.local.Data); !strings.Contains(body, tt.inPage) || !strings.Contains(body, r.header("x-correlation-id")) {
				t.Errorf("page %s, want it to say %q with the correlation id", body, tt.inPage)
			}
			for _, c := range r.headers("set-cookie") {
				if strings.HasPrefix(c, "_oidc_session=") && !strings.HasPrefix(c, "_oidc_session=;") {
					t.Errorf("a session cookie was set: %s", c)
				}
			}
			if l.counter("oidc_proxy.login.failed.introspection") != 1 || l.counter("oidc_proxy.login.succeeded") != 0 {
				t.Errorf("metrics failed.introspection=%d succeeded=%d", l.counter("oidc_proxy.login.failed.introspection"), l.counter("oidc_proxy.login.succeeded"))
			}
			if !strings.Contains(strings.Join(l.allLogs(), "\n"), "event=login_failed reason=introspection") {
				t.Errorf("no login_failed audit line with reason=introspection")
			}
		})
	}
}

// Off by default: no introspection callout, the login ends with the token response.
func TestIntrospectionOffByDefault(t *testing.T) {
	l := newLH(t, nil)
	l.ready()
	lg := l.startLogin("/app/")
	r, c := l.callback(lg, "code-1")
	l.answer(*c, "200", "application/json", lhTokenJSON(l.idToken(l.claims(lg.nonce))))
	if r = l.reply(r.id); r.status() != 302 {
		t.Fatalf("login: %d", r.status())
	}
	if n := len(l.host.GetCalloutAttributesFromContext(r.id)); n != 1 {
		t.Errorf("%d callouts, want only the token request", n)
	}
}

// A provider that advertises no introspection endpoint, with login.introspect on: 502.
func TestIntrospectionWithoutEndpoint(t *testing.T) {
	l := newLH(t, func(c map[string]any) { c["login"] = map[string]any{"introspect": map[string]any{"enabled": true}} })
	l.ready()
	lg := l.startLogin("/app/")
	r, c := l.callback(lg, "code-1")
	l.answer(*c, "200", "application/json", lhTokenJSON(l.idToken(l.claims(lg.nonce))))
	if r = l.reply(r.id); r.status() != 502 || !strings.Contains(string(r.local.Data), "no introspection endpoint") {
		t.Fatalf("login: %d %s", r.status(), r.local.Data)
	}
}
